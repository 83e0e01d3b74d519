//! Signing keys: one current key, one published next key, rotation (exactly one winner),
//! listing order, expiry clean-up.

use std::sync::Arc;

use authfort_core::model::SigningKey;
use authfort_core::store::{KeyRotation, Store};
use authfort_test_support::{on_both_backends, Backend, CachedKeys, TestDb};
use time::{Duration, OffsetDateTime};

use crate::common::{key_record, T0};

async fn first_signing_key_is_inserted_and_a_second_current_key_is_refused(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let keys = CachedKeys::default();
    let first = key_record(&keys, T0);
    let second = key_record(&keys, T0 + Duration::seconds(1));

    // Act
    let inserted_first = db.store.insert_first_signing_key(&first).await.unwrap();
    let inserted_second = db.store.insert_first_signing_key(&second).await.unwrap();

    // Assert
    assert!(inserted_first);
    assert!(!inserted_second);
    let stored = db.store.signing_keys().await.unwrap();
    assert_eq!(stored, vec![first.clone()]);
    assert!(stored[0].is_current);
    assert_eq!(stored[0].algorithm, "RS256");
    assert_eq!(stored[0].private_key_pem, first.private_key_pem);
    assert_eq!(stored[0].public_key_pem, first.public_key_pem);
}

/// Publishes `next` and promotes it over `current` at `now`, retiring `current` until `retire_until`.
async fn rotate(
    db: &TestDb,
    current: &SigningKey,
    next: &SigningKey,
    now: OffsetDateTime,
    retire_until: OffsetDateTime,
) {
    assert!(db.store.insert_next_signing_key(next).await.unwrap());
    let outcome = db
        .store
        .rotate_signing_key(&current.kid, now, retire_until)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        KeyRotation::Rotated {
            old_kid: current.kid.clone(),
            new_kid: next.kid.clone()
        }
    );
}

async fn first_signing_key_is_refused_after_a_rotation_too(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let keys = CachedKeys::default();
    let first = key_record(&keys, T0);
    db.store.insert_first_signing_key(&first).await.unwrap();
    let rotated_in = key_record(&keys, T0 + Duration::hours(1));
    rotate(
        &db,
        &first,
        &rotated_in,
        T0 + Duration::hours(1),
        T0 + Duration::hours(49),
    )
    .await;

    // Act
    let inserted = db
        .store
        .insert_first_signing_key(&key_record(&keys, T0 + Duration::hours(2)))
        .await
        .unwrap();

    // Assert
    assert!(!inserted);
    let current: Vec<_> = db
        .store
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.is_current)
        .collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].kid, rotated_in.kid);
}

async fn a_next_key_is_stored_not_signing_and_a_second_one_is_refused(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let keys = CachedKeys::default();
    let current = key_record(&keys, T0);
    db.store.insert_first_signing_key(&current).await.unwrap();
    let next = key_record(&keys, T0 + Duration::seconds(1));
    let another = key_record(&keys, T0 + Duration::seconds(2));

    // Act
    let first = db.store.insert_next_signing_key(&next).await.unwrap();
    let second = db.store.insert_next_signing_key(&another).await.unwrap();

    // Assert
    assert!(first);
    assert!(!second);
    let stored = db.store.signing_keys().await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].kid, current.kid);
    assert_eq!(stored[0].activated_at, Some(T0));
    assert_eq!(stored[1].kid, next.kid);
    assert!(stored[1].is_next());
    assert!(!stored[1].is_current);
    assert_eq!(stored[1].activated_at, None);
    assert_eq!(stored[1].expires_at, None);
}

async fn rotating_promotes_the_next_key_and_retires_the_old_one(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let keys = CachedKeys::default();
    let old = key_record(&keys, T0);
    db.store.insert_first_signing_key(&old).await.unwrap();
    let next = key_record(&keys, T0 + Duration::hours(1));
    db.store.insert_next_signing_key(&next).await.unwrap();
    let now = T0 + Duration::days(1);
    let retire_until = T0 + Duration::days(3);

    // Act
    let outcome = db.store.rotate_signing_key(&old.kid, now, retire_until).await.unwrap();

    // Assert
    assert_eq!(
        outcome,
        KeyRotation::Rotated {
            old_kid: old.kid.clone(),
            new_kid: next.kid.clone()
        }
    );
    let stored = db.store.signing_keys().await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].kid, next.kid);
    assert!(stored[0].is_current);
    assert_eq!(stored[0].expires_at, None);
    assert_eq!(stored[0].activated_at, Some(now));
    assert_eq!(stored[1].kid, old.kid);
    assert!(!stored[1].is_current);
    assert!(!stored[1].is_next());
    assert_eq!(stored[1].expires_at, Some(retire_until));
}

async fn rotating_without_a_next_key_changes_nothing(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let current = key_record(&CachedKeys::default(), T0);
    db.store.insert_first_signing_key(&current).await.unwrap();

    // Act
    let outcome = db
        .store
        .rotate_signing_key(&current.kid, T0 + Duration::days(1), T0 + Duration::days(2))
        .await
        .unwrap();

    // Assert
    assert_eq!(outcome, KeyRotation::NoNextKey);
    let stored = db.store.signing_keys().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].is_current);
    assert_eq!(stored[0].expires_at, None);
}

async fn rotating_from_a_stale_current_key_changes_nothing(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let keys = CachedKeys::default();
    let first = key_record(&keys, T0);
    db.store.insert_first_signing_key(&first).await.unwrap();
    let second = key_record(&keys, T0 + Duration::hours(1));
    rotate(&db, &first, &second, T0 + Duration::hours(1), T0 + Duration::days(2)).await;
    let third = key_record(&keys, T0 + Duration::hours(2));
    db.store.insert_next_signing_key(&third).await.unwrap();

    // Act: a process that still believes `first` is current.
    let outcome = db
        .store
        .rotate_signing_key(&first.kid, T0 + Duration::hours(3), T0 + Duration::days(3))
        .await
        .unwrap();

    // Assert
    assert_eq!(outcome, KeyRotation::CurrentChanged);
    let stored = db.store.signing_keys().await.unwrap();
    let current: Vec<_> = stored.iter().filter(|k| k.is_current).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].kid, second.kid);
    assert!(stored.iter().any(|k| k.kid == third.kid && k.is_next()));
    let first_now = stored.iter().find(|k| k.kid == first.kid).unwrap();
    assert_eq!(first_now.expires_at, Some(T0 + Duration::days(2)));
}

async fn ten_concurrent_rotations_from_one_key_have_exactly_one_winner(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let keys = CachedKeys::default();
    let current = key_record(&keys, T0);
    db.store.insert_first_signing_key(&current).await.unwrap();
    let next = key_record(&keys, T0 + Duration::seconds(1));
    db.store.insert_next_signing_key(&next).await.unwrap();

    // Act
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store: Arc<dyn Store> = db.store.clone();
            let kid = current.kid.clone();
            tokio::spawn(async move {
                let now = T0 + Duration::minutes(i);
                store.rotate_signing_key(&kid, now, now + Duration::days(2)).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("task").expect("rotation must not error"));
    }

    // Assert
    let winners = outcomes
        .iter()
        .filter(|o| matches!(o, KeyRotation::Rotated { .. }))
        .count();
    assert_eq!(winners, 1, "outcomes: {outcomes:?}");
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, KeyRotation::Rotated { .. } | KeyRotation::CurrentChanged)));
    let stored = db.store.signing_keys().await.unwrap();
    assert_eq!(stored.iter().filter(|k| k.is_current).count(), 1);
    assert_eq!(stored[0].kid, next.kid);
    assert_eq!(stored.len(), 2);
}

async fn signing_keys_are_listed_current_then_next_then_retired_newest_first(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let keys = CachedKeys::default();
    let a = key_record(&keys, T0);
    let b = key_record(&keys, T0 + Duration::hours(1));
    let c = key_record(&keys, T0 + Duration::hours(2));
    let d = key_record(&keys, T0 + Duration::hours(3));

    // Act
    db.store.insert_first_signing_key(&a).await.unwrap();
    rotate(&db, &a, &b, T0 + Duration::hours(1), T0 + Duration::days(10)).await;
    rotate(&db, &b, &c, T0 + Duration::hours(2), T0 + Duration::days(10)).await;
    db.store.insert_next_signing_key(&d).await.unwrap();
    let kids: Vec<String> = db
        .store
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect();

    // Assert
    assert_eq!(kids, vec![c.kid, d.kid, b.kid, a.kid]);
}

async fn deleting_expired_signing_keys_removes_only_retired_keys_past_expiry(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let keys = CachedKeys::default();
    let old = key_record(&keys, T0);
    db.store.insert_first_signing_key(&old).await.unwrap();
    let current = key_record(&keys, T0 + Duration::hours(1));
    let retire_until = T0 + Duration::hours(49);
    rotate(&db, &old, &current, T0 + Duration::hours(1), retire_until).await;
    let next = key_record(&keys, T0 + Duration::hours(2));
    db.store.insert_next_signing_key(&next).await.unwrap();

    // Act
    let before_expiry = db
        .store
        .delete_expired_signing_keys(retire_until - Duration::microseconds(1))
        .await
        .unwrap();
    let at_expiry = db.store.delete_expired_signing_keys(retire_until).await.unwrap();

    // Assert
    assert_eq!(before_expiry, 0);
    assert_eq!(at_expiry, 1);
    let stored = db.store.signing_keys().await.unwrap();
    assert_eq!(stored.len(), 2, "the current and the next key stay");
    assert_eq!(stored[0].kid, current.kid);
    assert!(stored[0].is_current);
    assert_eq!(stored[1].kid, next.kid);
}

async fn deleting_expired_signing_keys_never_deletes_the_current_key(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let current = key_record(&CachedKeys::default(), T0);
    db.store.insert_first_signing_key(&current).await.unwrap();

    // Act
    let deleted = db
        .store
        .delete_expired_signing_keys(T0 + Duration::days(365 * 100))
        .await
        .unwrap();

    // Assert
    assert_eq!(deleted, 0);
    assert_eq!(db.store.signing_keys().await.unwrap(), vec![current]);
}

on_both_backends!(
    first_signing_key_is_inserted_and_a_second_current_key_is_refused,
    first_signing_key_is_refused_after_a_rotation_too,
    a_next_key_is_stored_not_signing_and_a_second_one_is_refused,
    rotating_promotes_the_next_key_and_retires_the_old_one,
    rotating_without_a_next_key_changes_nothing,
    rotating_from_a_stale_current_key_changes_nothing,
    ten_concurrent_rotations_from_one_key_have_exactly_one_winner,
    signing_keys_are_listed_current_then_next_then_retired_newest_first,
    deleting_expired_signing_keys_removes_only_retired_keys_past_expiry,
    deleting_expired_signing_keys_never_deletes_the_current_key,
);
