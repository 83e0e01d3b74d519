//! Bad input: always a 4xx in the documented shape, never a 5xx, never a panic.

use authfort_test_support::{on_both_backends, Backend};
use serde_json::json;

use crate::helpers::TestApp;

async fn non_json_bodies_are_422(backend: Backend) {
    let app = TestApp::new(backend).await;
    for ct in [None, Some("text/plain"), Some("application/x-www-form-urlencoded")] {
        let r = app.post_raw("/auth/login", ct, "email=a@b.com&password=x").await;
        assert_eq!(r.status.as_u16(), 422, "{ct:?}: {}", r.text);
        assert_eq!(r.body["detail"][0]["type"], "model_attributes_type");
    }
    let r = app.post_raw("/auth/login", Some("application/json"), "{not json").await;
    assert_eq!(r.status.as_u16(), 422);
    assert_eq!(r.body["detail"][0]["type"], "json_invalid");
}

async fn schema_errors_are_fastapi_shaped_422(backend: Backend) {
    let app = TestApp::new(backend).await;
    let r = app.post("/auth/login", json!({"email": "a@b.com"})).await;
    assert_eq!(r.status.as_u16(), 422);
    assert_eq!(r.body["detail"][0]["type"], "missing");
    assert_eq!(r.body["detail"][0]["loc"], json!(["body", "password"]));
    assert_eq!(r.body["detail"][0]["msg"], "Field required");
    let r = app.post("/auth/signup", json!({"email": 5, "password": ["x"]})).await;
    assert_eq!(r.status.as_u16(), 422);
    assert_eq!(r.body["detail"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["detail"][0]["type"], "string_type");
    let r = app.post_raw("/auth/signup", Some("application/json"), "").await;
    assert_eq!(r.status.as_u16(), 422);
    assert_eq!(r.body["detail"][0]["loc"], json!(["body"]));
    assert_eq!(app.post("/auth/login", json!("string")).await.status.as_u16(), 422);
}

async fn oversized_bodies_are_413(backend: Backend) {
    let app = TestApp::new(backend).await;
    let big = json!({"email": "a@b.com", "password": "x".repeat(200_000)}).to_string();
    let r = app.post_raw("/auth/login", Some("application/json"), big).await;
    r.assert_error(413, "payload_too_large");
}

async fn hostile_inputs_never_produce_5xx(backend: Backend) {
    let app = TestApp::new(backend).await;
    let nasty = [
        "' OR 1=1 --",
        "\"; DROP TABLE authfort_users; --",
        "<script>alert(1)</script>@x.com",
        "a@b.com\r\nBcc: c@d.com",
        "\u{0000}",
        "ａ＠ｂ．ｃｏｍ",
        "😀@😀.com",
        "a@[127.0.0.1]",
        "a,b@c.com",
        &"x".repeat(5000),
        "",
    ];
    for email in nasty {
        for path in ["/auth/signup", "/auth/login"] {
            let r = app
                .post(
                    path,
                    json!({"email": email, "password": "correct horse battery", "name": email}),
                )
                .await;
            assert!(
                r.status.is_client_error(),
                "{path} {email:?} -> {} {}",
                r.status,
                r.text
            );
        }
    }
    // A unicode password and name work end to end.
    let r = app
        .post(
            "/auth/signup",
            json!({"email": "uni@example.com", "password": "pässwörd—🔐", "name": "Zoë 李 🚀"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    assert_eq!(r.body["user"]["name"], "Zoë 李 🚀");
    let r = app
        .post(
            "/auth/login",
            json!({"email": "uni@example.com", "password": "pässwörd—🔐"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200);
    // The injection attempt did not touch the table.
    assert!(app
        .auth
        .store()
        .user_by_email("uni@example.com")
        .await
        .unwrap()
        .is_some());
}

async fn unknown_routes_and_methods_keep_fastapi_shapes(backend: Backend) {
    let app = TestApp::new(backend).await;
    let r = app.get("/auth/nope", &[]).await;
    assert_eq!(r.status.as_u16(), 404);
    assert_eq!(r.body, json!({"detail": "Not Found"}));
    let r = app.get("/auth/login", &[]).await;
    assert_eq!(r.status.as_u16(), 405);
    assert_eq!(r.body, json!({"detail": "Method Not Allowed"}));
}

async fn health_endpoints_answer(backend: Backend) {
    let app = TestApp::new(backend).await;
    assert_eq!(app.get("/healthz", &[]).await.status.as_u16(), 200);
    let r = app.get("/readyz", &[]).await;
    assert_eq!(r.status.as_u16(), 200);
    assert_eq!(r.body["status"], "ready");
}

on_both_backends!(
    non_json_bodies_are_422,
    schema_errors_are_fastapi_shaped_422,
    oversized_bodies_are_413,
    hostile_inputs_never_produce_5xx,
    unknown_routes_and_methods_keep_fastapi_shapes,
    health_endpoints_answer,
);
