//! Two AuthFort instances (separate pools) over one database.

use std::sync::Arc;

use authfort_core::clock::ManualClock;
use authfort_core::{AuthFort, ClientInfo};
use authfort_test_support::{on_both_backends, test_config, Backend, CachedKeys, TestDb};
use time::Duration;

use crate::common::{create, harness, refresh_row};

async fn second_instance(url: &str, clock: Arc<ManualClock>) -> AuthFort {
    AuthFort::builder(url.to_owned())
        .config(test_config())
        .clock(clock)
        .key_generator(Arc::new(CachedKeys::default()))
        .build()
        .await
        .expect("build second instance")
}

async fn two_instances_share_one_signing_key_and_accept_each_others_tokens(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let other = second_instance(&h.db.url, h.clock.clone()).await;

    // Act
    let from_first = create(&h.auth, "alice@example.com").await;
    let from_second = create(&other, "bob@example.com").await;

    // Assert
    assert_eq!(other.current_kid().await.unwrap(), h.auth.current_kid().await.unwrap());
    let stored = h.auth.store().signing_keys().await.unwrap();
    assert_eq!(stored.iter().filter(|k| k.is_current).count(), 1);
    assert_eq!(stored.iter().filter(|k| k.is_next()).count(), 1, "one next key too");
    assert_eq!(stored.len(), 2);
    let me = other.authenticate(&from_first.tokens.access_token).await.unwrap();
    assert_eq!(me.user.id, from_first.user.id);
    let me = h.auth.authenticate(&from_second.tokens.access_token).await.unwrap();
    assert_eq!(me.user.id, from_second.user.id);
}

async fn refresh_token_from_one_instance_rotates_on_the_other(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let other = second_instance(&h.db.url, h.clock.clone()).await;
    let first = create(&h.auth, "alice@example.com").await;

    // Act
    let second = other
        .refresh(&first.tokens.refresh_token, None, &ClientInfo::default())
        .await
        .unwrap();
    let third = h
        .auth
        .refresh(&second.tokens.refresh_token, None, &ClientInfo::default())
        .await
        .unwrap();

    // Assert
    assert_eq!(second.user.session_id, first.user.session_id);
    assert_eq!(third.user.session_id, first.user.session_id);
    assert!(refresh_row(&h.auth, &first.tokens.refresh_token).await.revoked);
    assert!(refresh_row(&other, &second.tokens.refresh_token).await.revoked);
    assert!(!refresh_row(&other, &third.tokens.refresh_token).await.revoked);
    let replay = other
        .refresh(&first.tokens.refresh_token, None, &ClientInfo::default())
        .await;
    assert_eq!(replay.unwrap_err().code(), "refresh_token_revoked");
}

async fn instances_started_together_on_an_empty_database_agree_on_one_key(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let clock = Arc::new(ManualClock::starting_now());

    // Act
    let (a, b) = tokio::join!(
        second_instance(&db.url, clock.clone()),
        second_instance(&db.url, clock.clone())
    );

    // Assert
    let stored = db.store.signing_keys().await.unwrap();
    assert_eq!(stored.len(), 2, "one current and one next key: {stored:?}");
    assert!(stored[0].is_current && stored[1].is_next());
    assert_eq!(a.current_kid().await.unwrap(), stored[0].kid);
    assert_eq!(b.current_kid().await.unwrap(), stored[0].kid);
}

async fn rotation_by_one_instance_is_picked_up_by_the_other(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let other = second_instance(&h.db.url, h.clock.clone()).await;
    h.clock.advance(Duration::minutes(1));
    let new_kid = h.auth.rotate_key().await.unwrap();

    // Act: a token under the new kid reaches the instance that has not reloaded yet.
    let fresh = create(&h.auth, "alice@example.com").await;
    h.clock.advance(Duration::seconds(2));
    let accepted = other.authenticate(&fresh.tokens.access_token).await;

    // Assert
    assert!(accepted.is_ok(), "{accepted:?}");
    h.clock.advance(Duration::seconds(31));
    assert_eq!(other.current_kid().await.unwrap(), new_kid);
}

on_both_backends!(
    two_instances_share_one_signing_key_and_accept_each_others_tokens,
    refresh_token_from_one_instance_rotates_on_the_other,
    instances_started_together_on_an_empty_database_agree_on_one_key,
    rotation_by_one_instance_is_picked_up_by_the_other,
);
