//! Event hooks: delivered after commit, in registration order, isolated from panics.

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use authfort_core::events::{Event, EventKind};
use authfort_core::ClientInfo;
use authfort_test_support::{on_both_backends, Backend};

use crate::common::{code, create, harness, login, PASSWORD};

/// `(email, reason, ip_address)` of a `login_failed` event.
type FailureRecord = (Option<String>, String, Option<String>);

async fn login_hook_sees_the_user_already_committed(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let seen: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
    let (store, log) = (h.auth.store().clone(), seen.clone());
    h.auth.on(EventKind::Login, move |event| {
        let (store, log) = (store.clone(), log.clone());
        async move {
            if let Event::Login(login) = event {
                let committed = store.user_by_email(&login.email).await.ok().flatten().is_some();
                log.lock().unwrap().push((login.email, committed));
            }
        }
    });

    // Act
    create(&h.auth, "alice@example.com").await;
    login(&h.auth, "alice@example.com").await;
    h.auth.flush_events().await;

    // Assert
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            ("alice@example.com".to_owned(), true),
            ("alice@example.com".to_owned(), true)
        ]
    );
}

async fn hooks_run_in_registration_order(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let order: Arc<Mutex<Vec<u32>>> = Arc::default();
    for n in 1..=3u32 {
        let log = order.clone();
        h.auth.on(EventKind::UserCreated, move |_| {
            let log = log.clone();
            async move {
                // The first hook is the slowest: order must still hold.
                tokio::time::sleep(StdDuration::from_millis(u64::from(4 - n) * 10)).await;
                log.lock().unwrap().push(n);
            }
        });
    }

    // Act
    create(&h.auth, "alice@example.com").await;
    create(&h.auth, "bob@example.com").await;
    h.auth.flush_events().await;

    // Assert
    assert_eq!(*order.lock().unwrap(), vec![1, 2, 3, 1, 2, 3]);
}

async fn events_of_one_operation_are_delivered_in_emission_order(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let names: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    for kind in [EventKind::Login, EventKind::UserCreated] {
        let log = names.clone();
        h.auth.on(kind, move |event| {
            let log = log.clone();
            async move { log.lock().unwrap().push(event.kind().as_str()) }
        });
    }

    // Act
    create(&h.auth, "alice@example.com").await;
    h.auth.flush_events().await;

    // Assert
    assert_eq!(*names.lock().unwrap(), vec!["user_created", "login"]);
}

async fn a_panicking_hook_does_not_fail_the_operation_and_later_hooks_still_run(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let ran: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    let before = ran.clone();
    h.auth.on(EventKind::UserCreated, move |_| {
        let log = before.clone();
        async move { log.lock().unwrap().push("before") }
    });
    h.auth.on(EventKind::UserCreated, |_| async move {
        panic!("hook exploded (expected by this test)")
    });
    let after = ran.clone();
    h.auth.on(EventKind::UserCreated, move |_| {
        let log = after.clone();
        async move { log.lock().unwrap().push("after") }
    });

    // Act
    let first = h
        .auth
        .create_user(authfort_core::CreateUser::new("alice@example.com", PASSWORD))
        .await;
    let second = h
        .auth
        .create_user(authfort_core::CreateUser::new("bob@example.com", PASSWORD))
        .await;
    h.auth.flush_events().await;

    // Assert
    assert!(first.is_ok(), "{first:?}");
    assert!(second.is_ok(), "{second:?}");
    assert_eq!(*ran.lock().unwrap(), vec!["before", "after", "before", "after"]);
}

async fn login_failed_is_emitted_with_reason_invalid_credentials(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    create(&h.auth, "alice@example.com").await;
    let failures: Arc<Mutex<Vec<FailureRecord>>> = Arc::default();
    let log = failures.clone();
    h.auth.on(EventKind::LoginFailed, move |event| {
        let log = log.clone();
        async move {
            if let Event::LoginFailed(f) = event {
                log.lock().unwrap().push((f.email, f.reason, f.ip_address));
            }
        }
    });
    let client = ClientInfo {
        ip_address: Some("203.0.113.50".into()),
        user_agent: None,
    };

    // Act
    let wrong = h.auth.login(" alice@example.com ", "wrong password", &client).await;
    let unknown = h.auth.login("nobody@example.com", PASSWORD, &client).await;
    h.auth.flush_events().await;

    // Assert
    assert_eq!(code(wrong), "invalid_credentials");
    assert_eq!(code(unknown), "invalid_credentials");
    let ip = Some("203.0.113.50".to_owned());
    assert_eq!(
        *failures.lock().unwrap(),
        vec![
            (
                Some("alice@example.com".to_owned()),
                "invalid_credentials".to_owned(),
                ip.clone()
            ),
            (
                Some("nobody@example.com".to_owned()),
                "invalid_credentials".to_owned(),
                ip
            ),
        ]
    );
}

async fn successful_login_emits_no_login_failed(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    create(&h.auth, "alice@example.com").await;
    let count = Arc::new(Mutex::new(0u32));
    let log = count.clone();
    h.auth.on(EventKind::LoginFailed, move |_| {
        let log = log.clone();
        async move { *log.lock().unwrap() += 1 }
    });

    // Act
    login(&h.auth, "alice@example.com").await;
    h.auth.flush_events().await;

    // Assert
    assert_eq!(*count.lock().unwrap(), 0);
}

on_both_backends!(
    login_hook_sees_the_user_already_committed,
    hooks_run_in_registration_order,
    events_of_one_operation_are_delivered_in_emission_order,
    a_panicking_hook_does_not_fail_the_operation_and_later_hooks_still_run,
    login_failed_is_emitted_with_reason_invalid_credentials,
    successful_login_emits_no_login_failed,
);
