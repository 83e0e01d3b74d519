//! Password login: credentials, bans, case-insensitive emails.

use authfort_core::ClientInfo;
use authfort_test_support::{on_both_backends, Backend};

use crate::common::{code, create, harness, signed_in, PASSWORD};

async fn wrong_password_and_unknown_user_both_give_invalid_credentials(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    create(&h.auth, "alice@example.com").await;

    // Act
    let wrong_password = h
        .auth
        .login("alice@example.com", "not the password", &ClientInfo::default())
        .await;
    let unknown_user = h
        .auth
        .login("nobody@example.com", PASSWORD, &ClientInfo::default())
        .await;

    // Assert
    assert_eq!(code(wrong_password), "invalid_credentials");
    assert_eq!(code(unknown_user), "invalid_credentials");
}

async fn correct_password_signs_in_with_a_new_session(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let created = create(&h.auth, "alice@example.com").await;

    // Act
    let response = signed_in(
        h.auth
            .login("alice@example.com", PASSWORD, &ClientInfo::default())
            .await,
    );

    // Assert
    assert_eq!(response.user.id, created.user.id);
    assert!(response.user.session_id.is_some());
    assert_ne!(response.user.session_id, created.user.session_id);
    assert!(h.auth.authenticate(&response.tokens.access_token).await.is_ok());
}

async fn banned_user_with_the_correct_password_gets_user_banned(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let created = create(&h.auth, "alice@example.com").await;
    h.auth.ban_user(created.user.id).await.unwrap();

    // Act
    let result = h
        .auth
        .login("alice@example.com", PASSWORD, &ClientInfo::default())
        .await;

    // Assert
    assert_eq!(code(result), "user_banned");
}

async fn banned_user_with_a_wrong_password_gets_invalid_credentials(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let created = create(&h.auth, "alice@example.com").await;
    h.auth.ban_user(created.user.id).await.unwrap();

    // Act
    let result = h
        .auth
        .login("alice@example.com", "not the password", &ClientInfo::default())
        .await;

    // Assert
    assert_eq!(code(result), "invalid_credentials");
}

async fn unbanned_user_can_sign_in_again(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let created = create(&h.auth, "alice@example.com").await;
    h.auth.ban_user(created.user.id).await.unwrap();
    h.auth.unban_user(created.user.id).await.unwrap();

    // Act
    let result = h
        .auth
        .login("alice@example.com", PASSWORD, &ClientInfo::default())
        .await;

    // Assert
    let response = signed_in(result);
    assert!(!response.user.banned);
}

async fn login_email_is_case_insensitive(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let created = create(&h.auth, "alice@example.com").await;

    // Act
    let response = signed_in(
        h.auth
            .login("  ALICE@Example.COM ", PASSWORD, &ClientInfo::default())
            .await,
    );

    // Assert
    assert_eq!(response.user.id, created.user.id);
    assert_eq!(response.user.email, "alice@example.com");
}

async fn user_created_with_a_mixed_case_email_is_stored_lower_case(backend: Backend) {
    // Arrange
    let h = harness(backend).await;

    // Act
    let created = create(&h.auth, "Bob.Smith@Example.COM").await;

    // Assert
    assert_eq!(created.user.email, "bob.smith@example.com");
    let stored = h.auth.store().user_by_email("bob.smith@example.com").await.unwrap();
    assert_eq!(stored.map(|u| u.id), Some(created.user.id));
    let again = signed_in(
        h.auth
            .login("bob.smith@example.com", PASSWORD, &ClientInfo::default())
            .await,
    );
    assert_eq!(again.user.id, created.user.id);
}

on_both_backends!(
    wrong_password_and_unknown_user_both_give_invalid_credentials,
    correct_password_signs_in_with_a_new_session,
    banned_user_with_the_correct_password_gets_user_banned,
    banned_user_with_a_wrong_password_gets_invalid_credentials,
    unbanned_user_can_sign_in_again,
    login_email_is_case_insensitive,
    user_created_with_a_mixed_case_email_is_stored_lower_case,
);
