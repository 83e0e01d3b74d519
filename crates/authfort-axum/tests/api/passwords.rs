//! `POST /auth/password/forgot|reset|change` and `POST /auth/set-password` over HTTP.

use authfort_test_support::{on_both_backends, Backend};
use serde_json::{json, Value};

use crate::helpers::{tokens, TestApp, TestResponse};

const PASSWORD: &str = "correct horse battery";
const NEW: &str = "a completely new passphrase";
const FORGOT: &str = "If an account exists, a password reset link has been sent.";

async fn app(backend: Backend) -> TestApp {
    TestApp::with_config(backend, |c| {
        c.public_url = Some("https://auth.example.test".into());
        c.allow_passwordless_signup = true;
    })
    .await
}

fn bearer(access: &str) -> String {
    format!("Bearer {access}")
}

async fn post_as(app: &TestApp, path: &str, access: &str, body: Value) -> TestResponse {
    app.post_with(path, body, &[("authorization", &bearer(access))]).await
}

async fn login(app: &TestApp, email: &str, password: &str) -> TestResponse {
    app.post("/auth/login", json!({"email": email, "password": password}))
        .await
}

async fn forgot_answers_the_same_and_reset_signs_out_everywhere(backend: Backend) {
    let app = app(backend).await;
    let body = app.signup("reset@example.com").await;
    let (access, refresh) = tokens(&body);
    let expected = json!({ "message": FORGOT }).to_string();
    for email in ["reset@example.com", "nobody@example.com"] {
        let r = app.post("/auth/password/forgot", json!({ "email": email })).await;
        assert_eq!(r.status.as_u16(), 200);
        assert_eq!(r.text, expected);
    }
    app.post("/auth/password/forgot", json!({"email": "nope"}))
        .await
        .assert_error(400, "invalid_email");
    let token = app
        .auth
        .create_password_reset_token("reset@example.com")
        .await
        .unwrap()
        .unwrap();
    app.post("/auth/password/reset", json!({"token": token, "new_password": "short"}))
        .await
        .assert_error(400, "password_too_short");
    let r = app
        .post("/auth/password/reset", json!({"token": token, "new_password": NEW}))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.text, json!({"message": "Password reset successfully."}).to_string());
    app.post("/auth/password/reset", json!({"token": token, "new_password": NEW}))
        .await
        .assert_error(400, "invalid_reset_token");
    app.me(&access).await.assert_error(401, "token_version_mismatch");
    app.post("/auth/refresh", json!({ "refresh_token": refresh }))
        .await
        .assert_error(401, "refresh_token_revoked");
    login(&app, "reset@example.com", PASSWORD)
        .await
        .assert_error(401, "invalid_credentials");
    assert_eq!(login(&app, "reset@example.com", NEW).await.status.as_u16(), 200);
}

async fn change_keeps_the_callers_session_only(backend: Backend) {
    let app = app(backend).await;
    let here = app.signup("change@example.com").await;
    let elsewhere = login(&app, "change@example.com", PASSWORD).await.body;
    let (access, refresh) = tokens(&here);
    app.post(
        "/auth/password/change",
        json!({"old_password": PASSWORD, "new_password": NEW}),
    )
    .await
    .assert_error(401, "token_missing");
    post_as(
        &app,
        "/auth/password/change",
        &access,
        json!({"old_password": "wrong one!", "new_password": NEW}),
    )
    .await
    .assert_error(400, "invalid_password");
    post_as(
        &app,
        "/auth/password/change",
        &access,
        json!({"old_password": PASSWORD, "new_password": PASSWORD}),
    )
    .await
    .assert_error(400, "password_unchanged");
    let r = post_as(
        &app,
        "/auth/password/change",
        &access,
        json!({"old_password": PASSWORD, "new_password": NEW}),
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    // The caller's access token is stale, but its refresh token still works.
    app.me(&access).await.assert_error(401, "token_version_mismatch");
    let refreshed = app.post("/auth/refresh", json!({ "refresh_token": refresh })).await;
    assert_eq!(refreshed.status.as_u16(), 200, "{}", refreshed.text);
    assert_eq!(app.me(&tokens(&refreshed.body).0).await.status.as_u16(), 200);
    app.post("/auth/refresh", json!({ "refresh_token": tokens(&elsewhere).1 }))
        .await
        .assert_error(401, "refresh_token_revoked");
}

async fn set_password_is_for_passwordless_accounts_as_the_wire_says(backend: Backend) {
    let app = app(backend).await;
    let code = app.auth.create_email_otp("nopw@example.com").await.unwrap().unwrap();
    let signed_in = app
        .post("/auth/otp/verify", json!({"email": "nopw@example.com", "code": code}))
        .await;
    let (access, refresh) = tokens(&signed_in.body);
    login(&app, "nopw@example.com", NEW)
        .await
        .assert_error(400, "no_password");
    post_as(&app, "/auth/set-password", &access, json!({"password": "short"}))
        .await
        .assert_error(400, "password_too_short");
    assert_eq!(
        post_as(&app, "/auth/set-password", &access, json!({"password": 12345678}))
            .await
            .status
            .as_u16(),
        422
    );
    let r = post_as(&app, "/auth/set-password", &access, json!({ "password": NEW })).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.text, json!({"message": "Password set successfully."}).to_string());
    app.me(&access).await.assert_error(401, "token_version_mismatch");
    app.post("/auth/refresh", json!({ "refresh_token": refresh }))
        .await
        .assert_error(401, "refresh_token_revoked");
    let again = login(&app, "nopw@example.com", NEW).await;
    assert_eq!(again.status.as_u16(), 200);
    post_as(
        &app,
        "/auth/set-password",
        &tokens(&again.body).0,
        json!({ "password": NEW }),
    )
    .await
    .assert_error(400, "password_already_set");
    post_as(
        &app,
        "/auth/password/change",
        &tokens(&again.body).0,
        json!({"old_password": NEW, "new_password": "x"}),
    )
    .await
    .assert_error(400, "password_too_short");
}

async fn bad_inputs_get_4xx(backend: Backend) {
    let app = app(backend).await;
    for (path, body) in [
        ("/auth/password/forgot", json!({})),
        ("/auth/password/forgot", json!({"email": 1})),
        ("/auth/password/reset", json!({"token": "x"})),
        ("/auth/password/reset", json!({"token": ["x"], "new_password": NEW})),
        ("/auth/password/reset", json!(null)),
    ] {
        let r = app.post(path, body.clone()).await;
        assert_eq!(r.status.as_u16(), 422, "{path} {body}: {}", r.text);
    }
    let r = app
        .post_raw("/auth/password/reset", Some("text/plain"), "token=x")
        .await;
    assert_eq!(r.status.as_u16(), 422);
    for token in ["", "garbage", &"z".repeat(50_000)] {
        app.post("/auth/password/reset", json!({"token": token, "new_password": NEW}))
            .await
            .assert_error(400, "invalid_reset_token");
    }
    let magic = {
        app.signup("m@example.com").await;
        app.auth
            .create_magic_link_token("m@example.com")
            .await
            .unwrap()
            .unwrap()
    };
    app.post("/auth/password/reset", json!({"token": magic, "new_password": NEW}))
        .await
        .assert_error(400, "invalid_reset_token");
    app.post(
        "/auth/password/reset",
        json!({"token": "garbage", "new_password": "x".repeat(2000)}),
    )
    .await
    .assert_error(400, "password_too_long");
    let page = app.get("/auth/password/reset/confirm", &[]).await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(page.text.contains("type=\"password\""));
}

on_both_backends!(
    forgot_answers_the_same_and_reset_signs_out_everywhere,
    change_keeps_the_callers_session_only,
    set_password_is_for_passwordless_accounts_as_the_wire_says,
    bad_inputs_get_4xx,
);
