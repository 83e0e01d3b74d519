//! Signing-key rotation through the API: new kid, old tokens, JWKS, clean-up.

use authfort_test_support::{on_both_backends, Backend};
use time::Duration;

use crate::common::{code, create, decode_claims, harness, login, raw_header};

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
    let kids: Vec<String> = h
        .auth
        .get_jwks()
        .await
        .unwrap()
        .keys
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert_eq!(kids, vec![new_kid, old_kid]);
}

async fn retired_key_leaves_the_jwks_after_the_rotation_ttl_and_cleanup(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let old_kid = h.auth.current_kid().await.unwrap();
    h.clock.advance(Duration::minutes(1));
    let new_kid = h.auth.rotate_key().await.unwrap();
    h.clock.advance(Duration::hours(48) + Duration::seconds(1));

    // Act
    let deleted = h.auth.cleanup_expired_keys().await.unwrap();

    // Assert
    assert_eq!(deleted, 1);
    let kids: Vec<String> = h
        .auth
        .get_jwks()
        .await
        .unwrap()
        .keys
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert_eq!(kids, vec![new_kid.clone()]);
    assert!(!kids.contains(&old_kid));
    let stored = h.auth.store().signing_keys().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].kid, new_kid);
    assert_eq!(h.auth.cleanup_expired_keys().await.unwrap(), 0);
}

async fn retired_key_stays_in_the_jwks_until_the_rotation_ttl(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let old_kid = h.auth.current_kid().await.unwrap();
    h.clock.advance(Duration::minutes(1));
    let new_kid = h.auth.rotate_key().await.unwrap();
    h.clock.advance(Duration::hours(48) - Duration::seconds(1));

    // Act
    let deleted = h.auth.cleanup_expired_keys().await.unwrap();
    let kids: Vec<String> = h
        .auth
        .get_jwks()
        .await
        .unwrap()
        .keys
        .into_iter()
        .map(|k| k.kid)
        .collect();

    // Assert
    assert_eq!(deleted, 0);
    assert_eq!(kids, vec![new_kid, old_kid]);
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

on_both_backends!(
    rotated_key_signs_new_tokens_while_old_tokens_still_authenticate,
    retired_key_leaves_the_jwks_after_the_rotation_ttl_and_cleanup,
    retired_key_stays_in_the_jwks_until_the_rotation_ttl,
    token_signed_by_a_deleted_key_no_longer_authenticates,
);
