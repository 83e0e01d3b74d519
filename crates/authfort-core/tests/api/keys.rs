//! Signing-key rotation through the API: the next key published ahead, new kid, old tokens,
//! JWKS, clean-up, and rotation when due (exactly one of several instances rotates).

use std::sync::{Arc, Mutex};

use authfort_core::clock::ManualClock;
use authfort_core::events::{Event, EventKind};
use authfort_core::AuthFort;
use authfort_test_support::{on_both_backends, test_config, Backend, CachedKeys};
use time::Duration;

use crate::common::{code, create, decode_claims, harness, harness_with, login, raw_header};

/// The published next key's kid.
async fn next_kid(auth: &AuthFort) -> String {
    let stored = auth.store().signing_keys().await.unwrap();
    let next: Vec<_> = stored.iter().filter(|k| k.is_next()).collect();
    assert_eq!(next.len(), 1, "exactly one next key");
    next[0].kid.clone()
}

async fn jwk_kids(auth: &AuthFort) -> Vec<String> {
    auth.get_jwks().await.unwrap().keys.into_iter().map(|k| k.kid).collect()
}

async fn the_next_key_is_published_before_it_signs(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let current = h.auth.current_kid().await.unwrap();
    let next = next_kid(&h.auth).await;

    // Act
    let published = jwk_kids(&h.auth).await;
    let issued = create(&h.auth, "alice@example.com").await;
    h.clock.advance(Duration::minutes(1));
    let rotated_in = h.auth.rotate_key().await.unwrap();

    // Assert
    assert_ne!(current, next);
    assert_eq!(
        published,
        vec![current.clone(), next.clone()],
        "current first, then next"
    );
    assert_eq!(
        raw_header(&issued.tokens.access_token)["kid"],
        current.as_str(),
        "next does not sign"
    );
    assert_eq!(rotated_in, next, "the rotation promotes the key verifiers already hold");
}

async fn rotated_key_signs_new_tokens_while_old_tokens_still_authenticate(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let old_kid = h.auth.current_kid().await.unwrap();
    let before = create(&h.auth, "alice@example.com").await;
    h.clock.advance(Duration::minutes(1));

    // Act
    let new_kid = h.auth.rotate_key().await.unwrap();
    let after = login(&h.auth, "alice@example.com").await;

    // Assert
    assert_ne!(new_kid, old_kid);
    assert_eq!(h.auth.current_kid().await.unwrap(), new_kid);
    assert_eq!(raw_header(&before.tokens.access_token)["kid"], old_kid.as_str());
    assert_eq!(raw_header(&after.tokens.access_token)["kid"], new_kid.as_str());
    assert!(h.auth.authenticate(&before.tokens.access_token).await.is_ok());
    assert!(h.auth.authenticate(&after.tokens.access_token).await.is_ok());
    decode_claims(&h.auth, &before.tokens.access_token).await;
    decode_claims(&h.auth, &after.tokens.access_token).await;
    let following = next_kid(&h.auth).await;
    assert!(
        ![&old_kid, &new_kid].contains(&&following),
        "a fresh next key is published"
    );
    assert_eq!(jwk_kids(&h.auth).await, vec![new_kid, following, old_kid]);
}

async fn retired_key_leaves_the_jwks_after_the_rotation_ttl_and_cleanup(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let old_kid = h.auth.current_kid().await.unwrap();
    h.clock.advance(Duration::minutes(1));
    let new_kid = h.auth.rotate_key().await.unwrap();
    let next = next_kid(&h.auth).await;
    h.clock.advance(Duration::hours(48) + Duration::seconds(1));

    // Act
    let deleted = h.auth.cleanup_expired_keys().await.unwrap();

    // Assert
    assert_eq!(deleted, 1);
    let kids = jwk_kids(&h.auth).await;
    assert_eq!(kids, vec![new_kid.clone(), next]);
    assert!(!kids.contains(&old_kid));
    let stored = h.auth.store().signing_keys().await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].kid, new_kid);
    assert_eq!(h.auth.cleanup_expired_keys().await.unwrap(), 0);
}

async fn retired_key_stays_in_the_jwks_until_the_rotation_ttl(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let old_kid = h.auth.current_kid().await.unwrap();
    h.clock.advance(Duration::minutes(1));
    let new_kid = h.auth.rotate_key().await.unwrap();
    let next = next_kid(&h.auth).await;
    h.clock.advance(Duration::hours(48) - Duration::seconds(1));

    // Act
    let deleted = h.auth.cleanup_expired_keys().await.unwrap();
    let kids = jwk_kids(&h.auth).await;

    // Assert
    assert_eq!(deleted, 0);
    assert_eq!(kids, vec![new_kid, next, old_kid]);
}

async fn token_signed_by_a_deleted_key_no_longer_authenticates(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let before = create(&h.auth, "alice@example.com").await;
    h.clock.advance(Duration::minutes(1));
    h.auth.rotate_key().await.unwrap();
    h.clock.advance(Duration::hours(48) + Duration::seconds(1));
    h.auth.cleanup_expired_keys().await.unwrap();

    // Act
    let result = h.auth.authenticate(&before.tokens.access_token).await;

    // Assert
    assert_eq!(code(result), "token_invalid");
}

async fn rotation_when_due_waits_for_the_rotation_ttl_and_emits_key_rotated(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let first = h.auth.current_kid().await.unwrap();
    let next = next_kid(&h.auth).await;
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let log = seen.clone();
    h.auth.on(EventKind::KeyRotated, move |event| {
        let log = log.clone();
        async move {
            if let Event::KeyRotated(e) = event {
                log.lock().unwrap().push((e.old_kid, e.new_kid));
            }
        }
    });

    // Act
    h.clock.advance(Duration::hours(48) - Duration::seconds(1));
    let early = h.auth.rotate_key_if_due().await.unwrap();
    h.clock.advance(Duration::seconds(1));
    let due = h.auth.rotate_key_if_due().await.unwrap();
    h.clock.advance(Duration::hours(47));
    let again = h.auth.rotate_key_if_due().await.unwrap();
    h.auth.flush_events().await;

    // Assert
    assert_eq!(early, None, "the key has not signed for the whole TTL yet");
    assert_eq!(due.as_deref(), Some(next.as_str()));
    assert_eq!(again, None, "the promoted key's age counts from its promotion");
    assert_eq!(h.auth.current_kid().await.unwrap(), next);
    assert_eq!(seen.lock().unwrap().clone(), vec![(first, next)]);
}

async fn of_several_instances_due_to_rotate_exactly_one_does(backend: Backend) {
    // Arrange: three instances over one database, all seeing the key as due.
    let h = harness_with(backend, test_config(), ManualClock::starting_now()).await;
    let mut others = Vec::new();
    for _ in 0..2 {
        others.push(
            AuthFort::builder(h.db.url.clone())
                .config(test_config())
                .clock(h.clock.clone())
                .key_generator(Arc::new(CachedKeys::default()))
                .build()
                .await
                .expect("another instance"),
        );
    }
    let first = h.auth.current_kid().await.unwrap();
    h.clock.advance(Duration::hours(49));

    // Act
    let mut instances = vec![h.auth.clone()];
    instances.extend(others.iter().cloned());
    let tasks: Vec<_> = instances
        .into_iter()
        .map(|auth| tokio::spawn(async move { auth.rotate_key_if_due().await }))
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("task").expect("rotation must not error"));
    }

    // Assert
    let rotated: Vec<_> = outcomes.iter().flatten().collect();
    assert_eq!(rotated.len(), 1, "{outcomes:?}");
    let stored = h.auth.store().signing_keys().await.unwrap();
    assert_eq!(stored.iter().filter(|k| k.is_current).count(), 1);
    assert_eq!(stored.iter().filter(|k| k.is_next()).count(), 1);
    assert_eq!(stored.len(), 3, "current, next and the retired first key");
    for auth in others.iter().chain([&h.auth]) {
        assert_eq!(&auth.current_kid().await.unwrap(), rotated[0]);
    }
    assert_ne!(&first, rotated[0]);
}

on_both_backends!(
    the_next_key_is_published_before_it_signs,
    rotated_key_signs_new_tokens_while_old_tokens_still_authenticate,
    retired_key_leaves_the_jwks_after_the_rotation_ttl_and_cleanup,
    retired_key_stays_in_the_jwks_until_the_rotation_ttl,
    token_signed_by_a_deleted_key_no_longer_authenticates,
    rotation_when_due_waits_for_the_rotation_ttl_and_emits_key_rotated,
    of_several_instances_due_to_rotate_exactly_one_does,
);
