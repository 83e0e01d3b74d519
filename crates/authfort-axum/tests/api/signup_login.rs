use authfort_test_support::{on_both_backends, Backend};
use serde_json::json;

use crate::helpers::TestApp;

async fn signup_returns_201_with_the_reference_user_shape(backend: Backend) {
    let app = TestApp::new(backend).await;
    let r = app
        .post(
            "/auth/signup",
            json!({"email": "  Alice@Example.COM ", "password": "correct horse battery", "name": "Alice <b>A</b>", "extra": 1}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let user = &r.body["user"];
    let keys: Vec<&str> = user.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "id",
            "email",
            "name",
            "email_verified",
            "avatar_url",
            "phone",
            "banned",
            "is_deleted",
            "deleted_at",
            "roles",
            "created_at",
            "session_id",
            "mfa_enabled"
        ]
    );
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["name"], "Alice A");
    assert_eq!(user["email_verified"], false);
    assert_eq!(user["roles"], json!([]));
    assert!(user["avatar_url"].is_null() && user["phone"].is_null() && user["deleted_at"].is_null());
    assert!(user["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(r.body["tokens"]["expires_in"], 900);
    assert_eq!(r.body["tokens"]["refresh_token"].as_str().unwrap().len(), 86);
    assert_eq!(r.headers["cache-control"], "no-store");
    assert!(r.set_cookies().is_empty(), "bearer mode sets no cookies");
}

async fn duplicate_signup_is_409_user_exists(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.signup("bob@example.com").await;
    let r = app
        .post(
            "/auth/signup",
            json!({"email": "BOB@example.com", "password": "another password"}),
        )
        .await;
    r.assert_error(409, "user_exists");
    assert_eq!(r.body["detail"]["message"], "Email already registered");
}

async fn signup_disabled_is_403(backend: Backend) {
    let app = TestApp::with_config(backend, |c| c.allow_signup = false).await;
    let r = app
        .post(
            "/auth/signup",
            json!({"email": "c@example.com", "password": "correct horse battery"}),
        )
        .await;
    r.assert_error(403, "signup_disabled");
}

async fn signup_validation_errors_are_400(backend: Backend) {
    let app = TestApp::new(backend).await;
    for (body, code) in [
        (
            json!({"email": "not-an-email", "password": "correct horse"}),
            "invalid_email",
        ),
        (json!({"email": "a@b.com", "password": "short"}), "password_too_short"),
        (
            json!({"email": "a@b.com", "password": "correct horse", "phone": "call me"}),
            "invalid_phone",
        ),
        (
            json!({"email": "a@b.com", "password": "correct horse", "avatar_url": "javascript:alert(1)"}),
            "invalid_avatar_url",
        ),
        (
            json!({"email": "a@b.com", "password": "correct horse", "name": "x".repeat(300)}),
            "invalid_name",
        ),
    ] {
        let r = app.post("/auth/signup", body).await;
        r.assert_error(400, code);
    }
    assert_eq!(
        app.post("/auth/signup", json!({"email": "a@b.com", "password": "short"}))
            .await
            .body["detail"]["message"],
        "Password must be at least 8 characters"
    );
}

async fn login_succeeds_and_failures_are_indistinguishable(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.signup("dave@example.com").await;
    let ok = app
        .post(
            "/auth/login",
            json!({"email": "DAVE@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.text);
    assert_eq!(ok.body["user"]["email"], "dave@example.com");
    let wrong = app
        .post(
            "/auth/login",
            json!({"email": "dave@example.com", "password": "wrong password!"}),
        )
        .await;
    let unknown = app
        .post(
            "/auth/login",
            json!({"email": "nobody@example.com", "password": "wrong password!"}),
        )
        .await;
    wrong.assert_error(401, "invalid_credentials");
    unknown.assert_error(401, "invalid_credentials");
    assert_eq!(
        wrong.text, unknown.text,
        "same body for unknown user and wrong password"
    );
    assert_eq!(wrong.body["detail"]["message"], "Invalid email or password");
}

async fn banned_user_is_403_only_with_the_right_password(backend: Backend) {
    let app = TestApp::new(backend).await;
    let body = app.signup("eve@example.com").await;
    let id = body["user"]["id"].as_str().unwrap().parse().unwrap();
    app.auth.ban_user(id).await.unwrap();
    app.post(
        "/auth/login",
        json!({"email": "eve@example.com", "password": "wrong password!"}),
    )
    .await
    .assert_error(401, "invalid_credentials");
    app.post(
        "/auth/login",
        json!({"email": "eve@example.com", "password": "correct horse battery"}),
    )
    .await
    .assert_error(403, "user_banned");
}

async fn login_records_session_metadata(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.signup("meta@example.com").await;
    let r = app
        .post_with(
            "/auth/login",
            json!({"email": "meta@example.com", "password": "correct horse battery"}),
            &[("user-agent", "TestAgent/1.0")],
        )
        .await;
    let sid = r.body["user"]["session_id"].as_str().unwrap().parse().unwrap();
    let session = app.auth.store().session(sid).await.unwrap().unwrap();
    assert_eq!(session.ip_address.as_deref(), Some("203.0.113.7"));
    assert_eq!(session.user_agent.as_deref(), Some("TestAgent/1.0"));
}

on_both_backends!(
    signup_returns_201_with_the_reference_user_shape,
    duplicate_signup_is_409_user_exists,
    signup_disabled_is_403,
    signup_validation_errors_are_400,
    login_succeeds_and_failures_are_indistinguishable,
    banned_user_is_403_only_with_the_right_password,
    login_records_session_metadata,
);
