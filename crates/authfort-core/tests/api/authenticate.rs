//! authenticate(): signature, expiry, ban, token version, fresh roles.

use authfort_core::clock::ManualClock;
use authfort_test_support::{on_both_backends, test_config, Backend};
use time::Duration;

use crate::common::{code, create, harness, harness_with, login};

async fn valid_access_token_authenticates_with_fresh_roles(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let created = create(&h.auth, "alice@example.com").await;
    h.auth.add_role(created.user.id, "editor", false).await.unwrap();

    // Act
    let me = h.auth.authenticate(&created.tokens.access_token).await.unwrap();

    // Assert
    assert_eq!(me.user.id, created.user.id);
    assert_eq!(me.user.email, "alice@example.com");
    assert_eq!(
        me.roles,
        vec!["editor".to_owned()],
        "roles come from storage, not the token"
    );
    assert!(me.claims.roles.is_empty());
    assert_eq!(me.session_id, created.user.session_id);
    assert!(me.has_any_role(&["admin", "editor"]));
    assert_eq!(me.response().session_id, created.user.session_id);
}

async fn access_token_past_its_exp_is_token_expired(backend: Backend) {
    // Arrange: expiry is judged by the injected clock, so moving it past `exp` expires the token.
    let h = harness_with(backend, test_config(), ManualClock::starting_now()).await;
    let created = create(&h.auth, "alice@example.com").await;
    h.clock.advance(Duration::seconds(900));

    // Act
    let result = h.auth.authenticate(&created.tokens.access_token).await;

    // Assert
    assert_eq!(code(result), "token_expired");
}

async fn access_token_just_inside_its_lifetime_authenticates(backend: Backend) {
    // Arrange: 899 s after minting, one second of life left.
    let h = harness_with(backend, test_config(), ManualClock::starting_now()).await;
    let created = create(&h.auth, "alice@example.com").await;
    h.clock.advance(Duration::seconds(899));

    // Act
    let result = h.auth.authenticate(&created.tokens.access_token).await;

    // Assert
    assert!(result.is_ok(), "{result:?}");
}

async fn access_token_of_a_banned_user_is_user_banned(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let created = create(&h.auth, "alice@example.com").await;
    h.auth.ban_user(created.user.id).await.unwrap();

    // Act
    let result = h.auth.authenticate(&created.tokens.access_token).await;

    // Assert
    assert_eq!(code(result), "user_banned");
}

async fn unbanning_does_not_revive_old_access_tokens(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let created = create(&h.auth, "alice@example.com").await;
    h.auth.ban_user(created.user.id).await.unwrap();
    h.auth.unban_user(created.user.id).await.unwrap();

    // Act
    let old = h.auth.authenticate(&created.tokens.access_token).await;
    let fresh = login(&h.auth, "alice@example.com").await;

    // Assert
    assert_eq!(code(old), "token_version_mismatch");
    assert!(h.auth.authenticate(&fresh.tokens.access_token).await.is_ok());
}

async fn immediate_role_change_invalidates_outstanding_access_tokens(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let created = create(&h.auth, "alice@example.com").await;
    h.auth.add_role(created.user.id, "admin", true).await.unwrap();

    // Act
    let old = h.auth.authenticate(&created.tokens.access_token).await;
    let fresh = login(&h.auth, "alice@example.com").await;
    let me = h.auth.authenticate(&fresh.tokens.access_token).await.unwrap();

    // Assert
    assert_eq!(code(old), "token_version_mismatch");
    assert_eq!(me.claims.ver, 1);
    assert_eq!(me.claims.roles, vec!["admin".to_owned()]);
}

async fn non_immediate_role_change_keeps_outstanding_access_tokens_valid(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let created = create(&h.auth, "alice@example.com").await;
    h.auth.add_role(created.user.id, "admin", false).await.unwrap();
    h.auth.remove_role(created.user.id, "admin", false).await.unwrap();

    // Act
    let me = h.auth.authenticate(&created.tokens.access_token).await.unwrap();

    // Assert
    assert!(me.roles.is_empty());
    assert_eq!(me.user.token_version, 0);
}

async fn tampered_or_garbage_tokens_are_token_invalid(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let created = create(&h.auth, "alice@example.com").await;
    let token = &created.tokens.access_token;
    let mut parts: Vec<&str> = token.split('.').collect();
    let other = create(&h.auth, "mallory@example.com").await;
    let other_payload = other.tokens.access_token.split('.').nth(1).unwrap().to_owned();
    parts[1] = &other_payload;
    let spliced = parts.join(".");

    // Act
    let garbage = h.auth.authenticate("not.a.jwt").await;
    let empty = h.auth.authenticate("").await;
    let swapped = h.auth.authenticate(&spliced).await;

    // Assert
    assert_eq!(code(garbage), "token_invalid");
    assert_eq!(code(empty), "token_invalid");
    assert_eq!(code(swapped), "token_invalid");
}

async fn token_from_another_deployment_with_an_unknown_kid_is_token_invalid(backend: Backend) {
    // Arrange: a second deployment (own database, own key) issues a token.
    let ours = harness(backend).await;
    let theirs = harness(backend).await;
    let foreign = create(&theirs.auth, "alice@example.com").await;
    create(&ours.auth, "alice@example.com").await;

    // Act
    let result = ours.auth.authenticate(&foreign.tokens.access_token).await;

    // Assert
    assert_eq!(code(result), "token_invalid");
}

on_both_backends!(
    valid_access_token_authenticates_with_fresh_roles,
    access_token_past_its_exp_is_token_expired,
    access_token_just_inside_its_lifetime_authenticates,
    access_token_of_a_banned_user_is_user_banned,
    unbanning_does_not_revive_old_access_tokens,
    immediate_role_change_invalidates_outstanding_access_tokens,
    non_immediate_role_change_keeps_outstanding_access_tokens_valid,
    tampered_or_garbage_tokens_are_token_invalid,
    token_from_another_deployment_with_an_unknown_kid_is_token_invalid,
);
