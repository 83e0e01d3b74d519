//! Shared helpers for the session and admin API tests.

use authfort_test_support::Backend;
use axum::body::Body;
use axum::http::{header, Method, Request};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{TestApp, TestResponse};

pub const PASSWORD: &str = "correct horse battery";

/// The admin API key the `keyed` apps use.
pub fn api_key() -> String {
    "x".repeat(40)
}

/// An app with `admin.api_key` configured.
pub async fn keyed(backend: Backend) -> TestApp {
    TestApp::with_config(backend, |c| c.admin.api_key = Some(api_key())).await
}

/// Any request, with an optional bearer credential and an optional JSON body.
pub async fn call(app: &TestApp, method: &str, path: &str, bearer: Option<&str>, body: Option<Value>) -> TestResponse {
    let mut req = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(path);
    if let Some(b) = bearer {
        req = req.header(header::AUTHORIZATION, format!("Bearer {b}"));
    }
    let body = match body {
        Some(v) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    app.send(req.body(body).unwrap()).await
}

/// An admin request authenticated with the API key.
pub async fn admin(app: &TestApp, method: &str, path: &str, body: Option<Value>) -> TestResponse {
    call(app, method, path, Some(&api_key()), body).await
}

/// Password login; returns the AuthResponse body.
pub async fn login(app: &TestApp, email: &str) -> Value {
    login_as(app, email, "test-agent").await
}

/// Password login with a given user agent.
pub async fn login_as(app: &TestApp, email: &str, user_agent: &str) -> Value {
    let r = app
        .post_with(
            "/auth/login",
            json!({"email": email, "password": PASSWORD}),
            &[("user-agent", user_agent)],
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    r.body
}

/// The user id of an AuthResponse body.
pub fn user_id(body: &Value) -> Uuid {
    body["user"]["id"].as_str().unwrap().parse().unwrap()
}

/// The session id of an AuthResponse body.
pub fn session_id(body: &Value) -> String {
    body["user"]["session_id"].as_str().unwrap().to_owned()
}

/// Signs up, grants `admin`, and returns a fresh access token for that admin.
pub async fn admin_token(app: &TestApp, email: &str) -> String {
    let body = app.signup(email).await;
    app.auth.add_role(user_id(&body), "admin", true).await.unwrap();
    let fresh = login(app, email).await;
    fresh["tokens"]["access_token"].as_str().unwrap().to_owned()
}

/// `POST /auth/refresh` with a body token.
pub async fn refresh(app: &TestApp, refresh_token: &str) -> TestResponse {
    app.post("/auth/refresh", json!({ "refresh_token": refresh_token }))
        .await
}
