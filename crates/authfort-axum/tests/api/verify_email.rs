//! `POST /auth/verify-email`, `POST /auth/verify-email/resend` and the confirm page.

use std::sync::{Arc, Mutex};

use authfort_core::events::{Event, EventKind};
use authfort_test_support::{on_both_backends, Backend};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{tokens, TestApp, TestResponse};

async fn app(backend: Backend) -> TestApp {
    TestApp::with_config(backend, |c| c.public_url = Some("https://auth.example.test".into())).await
}

/// (raw token, link) of every `email_verification_requested`.
fn capture(app: &TestApp) -> Arc<Mutex<Vec<(String, String)>>> {
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let s = seen.clone();
    app.auth.on(EventKind::EmailVerificationRequested, move |e| {
        let s = s.clone();
        async move {
            if let Event::EmailVerificationRequested(e) = e {
                let link = e.link.map(|l| l.expose().to_owned()).unwrap_or_default();
                s.lock().unwrap().push((e.token.expose().to_owned(), link));
            }
        }
    });
    seen
}

async fn verify(app: &TestApp, token: &str) -> TestResponse {
    app.post("/auth/verify-email", json!({ "token": token })).await
}

async fn resend(app: &TestApp, access: &str) -> TestResponse {
    app.post_with(
        "/auth/verify-email/resend",
        json!({}),
        &[("authorization", &format!("Bearer {access}"))],
    )
    .await
}

fn user_id(body: &serde_json::Value) -> Uuid {
    body["user"]["id"].as_str().unwrap().parse().unwrap()
}

async fn a_token_verifies_once_and_issues_nothing(backend: Backend) {
    let app = app(backend).await;
    let seen = capture(&app);
    let body = app.signup("v@example.com").await;
    let (access, _) = tokens(&body);
    let token = app
        .auth
        .create_email_verification_token(user_id(&body))
        .await
        .unwrap()
        .unwrap();
    app.auth.flush_events().await;
    assert_eq!(
        seen.lock().unwrap()[0].1,
        format!("https://auth.example.test/auth/verify-email/confirm#token={token}")
    );
    let r = verify(&app, &token).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.text, json!({"message": "Email verified successfully."}).to_string());
    assert!(r.set_cookies().is_empty());
    let me = app.me(&access).await;
    assert_eq!(me.status.as_u16(), 200, "token version unchanged");
    assert_eq!(me.body["email_verified"], true);
    verify(&app, &token)
        .await
        .assert_error(400, "invalid_verification_token");
}

async fn resend_needs_a_session_and_invalidates_older_links(backend: Backend) {
    let app = app(backend).await;
    let seen = capture(&app);
    let body = app.signup("again@example.com").await;
    let (access, _) = tokens(&body);
    app.post("/auth/verify-email/resend", json!({}))
        .await
        .assert_error(401, "token_missing");
    for _ in 0..2 {
        let r = resend(&app, &access).await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    }
    app.auth.flush_events().await;
    let (first, second) = {
        let seen = seen.lock().unwrap();
        (seen[0].0.clone(), seen[1].0.clone())
    };
    verify(&app, &first)
        .await
        .assert_error(400, "invalid_verification_token");
    assert_eq!(verify(&app, &second).await.status.as_u16(), 200);
    resend(&app, &access).await.assert_error(400, "email_already_verified");
}

async fn other_purposes_garbage_and_expired_tokens_are_refused(backend: Backend) {
    let app = app(backend).await;
    let body = app.signup("p@example.com").await;
    let reset = app
        .auth
        .create_password_reset_token("p@example.com")
        .await
        .unwrap()
        .unwrap();
    let magic = app
        .auth
        .create_magic_link_token("p@example.com")
        .await
        .unwrap()
        .unwrap();
    for bad in [reset.as_str(), magic.as_str(), "", "x", &"y".repeat(5000)] {
        verify(&app, bad).await.assert_error(400, "invalid_verification_token");
    }
    for body in [json!({}), json!({"token": 1}), json!({"token": null}), json!("token")] {
        assert_eq!(app.post("/auth/verify-email", body).await.status.as_u16(), 422);
    }
    let token = app
        .auth
        .create_email_verification_token(user_id(&body))
        .await
        .unwrap()
        .unwrap();
    app.post(
        "/auth/password/reset",
        json!({"token": token, "new_password": "a brand new password"}),
    )
    .await
    .assert_error(400, "invalid_reset_token");
    app.clock.advance(time::Duration::hours(24));
    verify(&app, &token)
        .await
        .assert_error(400, "invalid_verification_token");
}

async fn the_confirm_page_consumes_nothing(backend: Backend) {
    let app = app(backend).await;
    let body = app.signup("page@example.com").await;
    let token = app
        .auth
        .create_email_verification_token(user_id(&body))
        .await
        .unwrap()
        .unwrap();
    let page = app.get(&format!("/auth/verify-email/confirm?token={token}"), &[]).await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(page.text.contains("Confirm your email"));
    assert!(!page.text.contains(&token));
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(page.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    assert_eq!(app.get("/auth/verify-email", &[]).await.status.as_u16(), 405);
    assert_eq!(verify(&app, &token).await.status.as_u16(), 200);
}

on_both_backends!(
    a_token_verifies_once_and_issues_nothing,
    resend_needs_a_session_and_invalidates_older_links,
    other_purposes_garbage_and_expired_tokens_are_refused,
    the_confirm_page_consumes_nothing,
);
