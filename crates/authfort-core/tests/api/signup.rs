//! create_user / signup: duplicates and the allow_signup switch.

use authfort_core::clock::ManualClock;
use authfort_core::{AuthConfig, ClientInfo, CreateUser};
use authfort_test_support::{on_both_backends, test_config, Backend};

use crate::common::{code, create, harness, harness_with, PASSWORD};

async fn creating_the_same_email_twice_is_user_exists(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let first = create(&h.auth, "alice@example.com").await;

    // Act
    let same = h.auth.create_user(CreateUser::new("alice@example.com", PASSWORD)).await;
    let other_case = h.auth.create_user(CreateUser::new("ALICE@example.com", PASSWORD)).await;

    // Assert
    assert_eq!(code(same), "user_exists");
    assert_eq!(code(other_case), "user_exists");
    let stored = h
        .auth
        .store()
        .user_by_email("alice@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.id, first.user.id);
}

async fn concurrent_creates_of_one_email_yield_one_user_and_user_exists_for_the_rest(backend: Backend) {
    // Arrange
    let h = harness(backend).await;

    // Act
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let auth = h.auth.clone();
            tokio::spawn(async move { auth.create_user(CreateUser::new("race@example.com", PASSWORD)).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task"));
    }

    // Assert
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for err in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(err.code(), "user_exists");
    }
}

async fn signup_is_refused_when_disabled_but_create_user_still_works(backend: Backend) {
    // Arrange
    let config = AuthConfig {
        allow_signup: false,
        ..test_config()
    };
    let h = harness_with(backend, config, ManualClock::starting_now()).await;

    // Act
    let signup = h
        .auth
        .signup(CreateUser::new("alice@example.com", PASSWORD), &ClientInfo::default())
        .await;
    let created = h.auth.create_user(CreateUser::new("alice@example.com", PASSWORD)).await;

    // Assert
    assert_eq!(code(signup), "signup_disabled");
    let created = created.expect("create_user ignores allow_signup");
    assert_eq!(created.user.email, "alice@example.com");
}

async fn signup_when_enabled_creates_the_user_and_records_the_client(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let client = ClientInfo {
        ip_address: Some("192.0.2.10".into()),
        user_agent: Some("SignupAgent/2.0".into()),
    };

    // Act
    let response = h
        .auth
        .signup(CreateUser::new("alice@example.com", PASSWORD), &client)
        .await
        .unwrap();

    // Assert
    let session = h
        .auth
        .store()
        .session(response.user.session_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.ip_address.as_deref(), Some("192.0.2.10"));
    assert_eq!(session.user_agent.as_deref(), Some("SignupAgent/2.0"));
    assert_eq!(
        h.auth.store().providers(response.user.id).await.unwrap(),
        vec!["email".to_owned()]
    );
}

async fn too_short_password_is_refused_and_nothing_is_stored(backend: Backend) {
    // Arrange
    let h = harness(backend).await;

    // Act
    let result = h.auth.create_user(CreateUser::new("alice@example.com", "short")).await;

    // Assert
    assert_eq!(code(result), "password_too_short");
    assert!(h
        .auth
        .store()
        .user_by_email("alice@example.com")
        .await
        .unwrap()
        .is_none());
}

on_both_backends!(
    creating_the_same_email_twice_is_user_exists,
    concurrent_creates_of_one_email_yield_one_user_and_user_exists_for_the_rest,
    signup_is_refused_when_disabled_but_create_user_still_works,
    signup_when_enabled_creates_the_user_and_records_the_client,
    too_short_password_is_refused_and_nothing_is_stored,
);
