//! Races: the single conditional write picks exactly one winner.

use std::sync::Arc;

use authfort_core::store::Store;
use authfort_test_support::{on_both_backends, Backend, CachedKeys, TestDb};
use time::Duration;

use crate::common::{key_record, refresh_rows_in_session, token_in, user_with_session, REFRESH_TTL, T0};

async fn fifty_concurrent_rotations_of_one_token_have_exactly_one_winner(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let f = user_with_session(db.store.as_ref(), "alice@example.com", T0).await;
    let now = T0 + Duration::minutes(1);
    let candidates: Vec<_> = (0..50).map(|_| token_in(&f.session, now, now + REFRESH_TTL)).collect();

    // Act
    let tasks: Vec<_> = candidates
        .iter()
        .cloned()
        .map(|new| {
            let store: Arc<dyn Store> = db.store.clone();
            let old_id = f.first.id;
            tokio::spawn(async move { store.rotate_refresh_token(old_id, &new, now).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("task").expect("rotate must not error").is_some());
    }

    // Assert
    let winners: Vec<usize> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, won)| **won)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "outcomes: {outcomes:?}");
    let winner = &candidates[winners[0]];
    assert_eq!(refresh_rows_in_session(&db, f.session.id).await, 2);
    let old = db
        .store
        .refresh_token_by_hash(&f.first.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.replaced_by, Some(winner.id));
    for (i, candidate) in candidates.iter().enumerate() {
        let row = db.store.refresh_token_by_hash(&candidate.token_hash).await.unwrap();
        assert_eq!(row.is_some(), i == winners[0], "candidate {i}");
    }
}

async fn twenty_concurrent_revocations_of_one_token_report_exactly_one_success(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let f = user_with_session(db.store.as_ref(), "alice@example.com", T0).await;

    // Act
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store: Arc<dyn Store> = db.store.clone();
            let id = f.first.id;
            tokio::spawn(async move { store.revoke_refresh_token(id, T0 + Duration::seconds(i)).await })
        })
        .collect();
    let mut successes = 0;
    for task in tasks {
        if task.await.expect("task").expect("revoke must not error") {
            successes += 1;
        }
    }

    // Assert
    assert_eq!(successes, 1);
    assert!(
        db.store
            .refresh_token_by_hash(&f.first.token_hash)
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
}

async fn ten_concurrent_first_signing_key_inserts_have_exactly_one_winner(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let keys = CachedKeys::default();
    let records: Vec<_> = (0..10)
        .map(|i| key_record(&keys, T0 + Duration::microseconds(i)))
        .collect();

    // Act
    let tasks: Vec<_> = records
        .iter()
        .cloned()
        .map(|record| {
            let store: Arc<dyn Store> = db.store.clone();
            tokio::spawn(async move { store.insert_first_signing_key(&record).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("task").expect("insert must not error"));
    }

    // Assert
    let winners: Vec<usize> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, won)| **won)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "outcomes: {outcomes:?}");
    let stored = db.store.signing_keys().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].is_current);
    assert_eq!(stored[0].kid, records[winners[0]].kid);
}

on_both_backends!(
    fifty_concurrent_rotations_of_one_token_have_exactly_one_winner,
    twenty_concurrent_revocations_of_one_token_report_exactly_one_success,
    ten_concurrent_first_signing_key_inserts_have_exactly_one_winner,
);
