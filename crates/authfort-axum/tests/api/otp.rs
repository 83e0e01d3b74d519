//! `POST /auth/otp` and `POST /auth/otp/verify` over HTTP.

use std::sync::{Arc, Mutex};

use authfort_core::events::{Event, EventKind};
use authfort_core::AuthConfig;
use authfort_test_support::{on_both_backends, Backend};
use serde_json::{json, Value};

use crate::helpers::{tokens, TestApp, TestResponse};

const REQUESTED: &str = "If an account exists, a verification code has been sent.";

async fn app(backend: Backend, tweak: impl FnOnce(&mut AuthConfig)) -> TestApp {
    TestApp::with_config(backend, tweak).await
}

/// Codes seen by an `email_otp_requested` hook, in order.
fn capture(app: &TestApp) -> Arc<Mutex<Vec<String>>> {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let s = seen.clone();
    app.auth.on(EventKind::EmailOtpRequested, move |e| {
        let s = s.clone();
        async move {
            if let Event::EmailOtpRequested(e) = e {
                s.lock().unwrap().push(e.code.expose().to_owned());
            }
        }
    });
    seen
}

async fn request_code(app: &TestApp, seen: &Mutex<Vec<String>>, email: &str) -> String {
    let r = app.post("/auth/otp", json!({ "email": email })).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    app.auth.flush_events().await;
    seen.lock().unwrap().last().cloned().expect("a code was issued")
}

async fn verify(app: &TestApp, email: &str, code: &str) -> TestResponse {
    app.post("/auth/otp/verify", json!({ "email": email, "code": code }))
        .await
}

fn claims(access: &str) -> Value {
    use base64::Engine;
    let payload = access.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

async fn request_answers_the_same_for_every_kind_of_address(backend: Backend) {
    let app = app(backend, |_| {}).await;
    let banned = app.signup("banned@example.com").await;
    app.auth
        .ban_user(banned["user"]["id"].as_str().unwrap().parse().unwrap())
        .await
        .unwrap();
    app.signup("known@example.com").await;
    let expected = json!({ "message": REQUESTED }).to_string();
    for email in ["known@example.com", "unknown@example.com", "banned@example.com"] {
        let r = app.post("/auth/otp", json!({ "email": email })).await;
        assert_eq!(r.status.as_u16(), 200);
        assert_eq!(r.text, expected, "{email}");
        assert!(r.set_cookies().is_empty());
    }
    app.post("/auth/otp", json!({"email": "not-an-email"}))
        .await
        .assert_error(400, "invalid_email");
}

async fn a_code_signs_in_once_with_cookies_and_email_otp_amr(backend: Backend) {
    let app = app(backend, |c| c.cookie.enabled = true).await;
    let seen = capture(&app);
    app.signup("otp@example.com").await;
    let code = request_code(&app, &seen, "otp@example.com").await;
    let r = verify(&app, "OTP@Example.com", &code).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.body["user"]["email"], "otp@example.com");
    assert_eq!(r.body["user"]["email_verified"], true);
    assert_eq!(r.set_cookies().len(), 2);
    let (access, _) = tokens(&r.body);
    assert_eq!(claims(&access)["amr"], json!(["email_otp"]));
    assert_eq!(app.me(&access).await.status.as_u16(), 200);
    verify(&app, "otp@example.com", &code)
        .await
        .assert_error(400, "invalid_otp");
}

async fn the_fifth_wrong_code_kills_it(backend: Backend) {
    let app = app(backend, |_| {}).await;
    let seen = capture(&app);
    app.signup("guess@example.com").await;
    let code = request_code(&app, &seen, "guess@example.com").await;
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    for _ in 0..5 {
        verify(&app, "guess@example.com", &wrong)
            .await
            .assert_error(400, "invalid_otp");
    }
    verify(&app, "guess@example.com", &code)
        .await
        .assert_error(400, "invalid_otp");
}

async fn a_new_request_invalidates_the_older_code(backend: Backend) {
    let app = app(backend, |_| {}).await;
    let seen = capture(&app);
    app.signup("again@example.com").await;
    let first = request_code(&app, &seen, "again@example.com").await;
    let mut second = request_code(&app, &seen, "again@example.com").await;
    while second == first {
        second = request_code(&app, &seen, "again@example.com").await;
    }
    verify(&app, "again@example.com", &first)
        .await
        .assert_error(400, "invalid_otp");
    assert_eq!(verify(&app, "again@example.com", &second).await.status.as_u16(), 200);
}

async fn codes_expire(backend: Backend) {
    let app = app(backend, |c| c.email_otp_ttl_seconds = 120).await;
    let seen = capture(&app);
    app.signup("late@example.com").await;
    let code = request_code(&app, &seen, "late@example.com").await;
    app.clock.advance(time::Duration::seconds(121));
    verify(&app, "late@example.com", &code)
        .await
        .assert_error(400, "invalid_otp");
}

async fn bad_inputs_get_4xx(backend: Backend) {
    let app = app(backend, |_| {}).await;
    for body in [
        json!({}),
        json!({"email": 5}),
        json!({"email": "a@example.com"}),
        json!({"email": "a@example.com", "code": 123456}),
        json!({"email": null, "code": "123456"}),
        json!(["a@example.com", "123456"]),
    ] {
        let r = app.post("/auth/otp/verify", body.clone()).await;
        assert_eq!(r.status.as_u16(), 422, "{body}: {}", r.text);
    }
    for code in ["", "abc", "1234567", &"1".repeat(60_000)] {
        let r = verify(&app, "a@example.com", code).await;
        assert!(matches!(r.status.as_u16(), 400 | 413), "{}", r.text);
    }
    verify(&app, "a@example.com", "12345")
        .await
        .assert_error(400, "invalid_otp");
    verify(&app, "", "123456").await.assert_error(400, "invalid_email");
    verify(&app, &"a".repeat(300), "123456")
        .await
        .assert_error(400, "invalid_email");
    let r = app.post("/auth/otp", json!({"email": ["a@example.com"]})).await;
    assert_eq!(r.status.as_u16(), 422);
    assert_eq!(app.get("/auth/otp/verify", &[]).await.status.as_u16(), 405);
}

async fn otp_and_verify_share_one_rate_limit(backend: Backend) {
    let app = app(backend, |c| {
        c.rate_limit.enabled = true;
        c.rate_limit.otp = Some("4/min".into());
        c.rate_limit.otp_verify = Some("100/min".into());
    })
    .await;
    for _ in 0..2 {
        assert_eq!(
            app.post("/auth/otp", json!({"email": "a@example.com"}))
                .await
                .status
                .as_u16(),
            200
        );
    }
    for _ in 0..2 {
        verify(&app, "b@example.com", "000000")
            .await
            .assert_error(400, "invalid_otp");
    }
    // Four hits from this IP in all: both endpoints are refused now.
    verify(&app, "c@example.com", "000000")
        .await
        .assert_error(429, "rate_limit_exceeded");
    app.post("/auth/otp", json!({"email": "d@example.com"}))
        .await
        .assert_error(429, "rate_limit_exceeded");
}

on_both_backends!(
    request_answers_the_same_for_every_kind_of_address,
    a_code_signs_in_once_with_cookies_and_email_otp_amr,
    the_fifth_wrong_code_kills_it,
    a_new_request_invalidates_the_older_code,
    codes_expire,
    bad_inputs_get_4xx,
    otp_and_verify_share_one_rate_limit,
);
