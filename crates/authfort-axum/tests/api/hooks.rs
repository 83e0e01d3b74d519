use std::sync::{Arc, Mutex};
use std::time::Duration;

use authfort_core::events::{Event, EventKind};
use authfort_test_support::{on_both_backends, Backend};
use serde_json::json;

use crate::helpers::TestApp;

async fn hooks_run_after_commit_in_order_and_failures_do_not_fail_requests(backend: Backend) {
    let app = TestApp::new(backend).await;
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let store = app.auth.store().clone();
    {
        let seen = seen.clone();
        app.auth.on(EventKind::UserCreated, move |event| {
            let seen = seen.clone();
            let store = store.clone();
            async move {
                if let Event::UserCreated(e) = event {
                    // After commit: the row is visible from another connection.
                    let committed = store.user_by_email(&e.email).await.unwrap().is_some();
                    seen.lock().unwrap().push(format!("created:{committed}"));
                }
            }
        });
    }
    app.auth.on(EventKind::Login, |_| async { panic!("a broken hook") });
    {
        let seen = seen.clone();
        app.auth.on(EventKind::Login, move |event| {
            let seen = seen.clone();
            async move {
                if let Event::Login(e) = event {
                    seen.lock().unwrap().push(format!("login:{}", e.provider));
                }
            }
        });
    }
    let r = app
        .post(
            "/auth/signup",
            json!({"email": "hook@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "a panicking hook must not fail the request");
    app.auth.flush_events().await;
    assert_eq!(*seen.lock().unwrap(), ["created:true", "login:email"]);
}

async fn slow_hooks_do_not_delay_responses(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.auth.on(EventKind::Login, |_| async {
        tokio::time::sleep(Duration::from_secs(3)).await
    });
    app.signup("slow@example.com").await;
    let started = std::time::Instant::now();
    let r = app
        .post(
            "/auth/login",
            json!({"email": "slow@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "hooks run off the request path"
    );
}

async fn failed_logins_emit_login_failed_with_the_reason(backend: Backend) {
    let app = TestApp::new(backend).await;
    let reasons: Arc<Mutex<Vec<String>>> = Arc::default();
    {
        let reasons = reasons.clone();
        app.auth.on(EventKind::LoginFailed, move |event| {
            let reasons = reasons.clone();
            async move {
                if let Event::LoginFailed(e) = event {
                    reasons.lock().unwrap().push(e.reason);
                }
            }
        });
    }
    app.post(
        "/auth/login",
        json!({"email": "ghost@example.com", "password": "whatever!"}),
    )
    .await;
    app.post("/auth/login", json!({"email": "bad", "password": "whatever!"}))
        .await;
    app.auth.flush_events().await;
    assert_eq!(*reasons.lock().unwrap(), ["invalid_credentials", "invalid_email"]);
}

on_both_backends!(
    hooks_run_after_commit_in_order_and_failures_do_not_fail_requests,
    slow_hooks_do_not_delay_responses,
    failed_logins_emit_login_failed_with_the_reason,
);
