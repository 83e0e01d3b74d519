//! `POST /auth/introspect`, with the session check fixed (the whole chain, not its first row).

use authfort_core::Secret;
use authfort_test_support::{on_both_backends, Backend};
use serde_json::{json, Value};

use crate::helpers::{tokens, TestApp, TestResponse};

const SECRET: &str = "introspection-secret-for-tests";

async fn app(backend: Backend) -> TestApp {
    TestApp::with_config(backend, |c| c.introspect_secret = Some(Secret::new(SECRET))).await
}

async fn introspect(app: &TestApp, token: &str) -> TestResponse {
    app.post_with(
        "/auth/introspect",
        json!({ "token": token }),
        &[("authorization", &format!("Bearer {SECRET}"))],
    )
    .await
}

fn inactive() -> Value {
    json!({"active": false, "sub": null, "email": null, "name": null, "roles": null,
           "token_version": null, "exp": null, "iat": null, "iss": null})
}

async fn active_tokens_report_fresh_claims_and_survive_refreshes(backend: Backend) {
    let app = app(backend).await;
    let body = app.signup("intro@example.com").await;
    let (access, refresh) = tokens(&body);
    let id: uuid::Uuid = body["user"]["id"].as_str().unwrap().parse().unwrap();
    app.auth.add_role(id, "editor", false).await.unwrap();
    let r = introspect(&app, &access).await;
    assert_eq!(r.status.as_u16(), 200);
    let keys: Vec<&str> = r.body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "active",
            "sub",
            "email",
            "name",
            "roles",
            "token_version",
            "exp",
            "iat",
            "iss"
        ]
    );
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["sub"], body["user"]["id"]);
    assert_eq!(r.body["roles"], json!(["editor"]), "roles fresh from the database");
    assert_eq!(r.body["token_version"], 0);
    assert_eq!(r.body["iss"], "authfort");
    // The reference marks every token inactive after the session's first refresh; we do not.
    let rotated = app.post("/auth/refresh", json!({ "refresh_token": refresh })).await;
    let (access2, refresh2) = tokens(&rotated.body);
    let rotated_again = app.post("/auth/refresh", json!({ "refresh_token": refresh2 })).await;
    assert_eq!(introspect(&app, &access).await.body["active"], true);
    assert_eq!(introspect(&app, &access2).await.body["active"], true);
    assert_eq!(
        introspect(&app, &tokens(&rotated_again.body).0).await.body["active"],
        true
    );
}

async fn revoked_banned_bumped_expired_and_bad_tokens_are_inactive(backend: Backend) {
    let app = app(backend).await;
    // Revoked session (logout).
    let (access, refresh) = tokens(&app.signup("out@example.com").await);
    app.post("/auth/logout", json!({ "refresh_token": refresh })).await;
    assert_eq!(introspect(&app, &access).await.body, inactive());
    // Banned.
    let b = app.signup("ban@example.com").await;
    app.auth
        .ban_user(b["user"]["id"].as_str().unwrap().parse().unwrap())
        .await
        .unwrap();
    assert_eq!(introspect(&app, &tokens(&b).0).await.body, inactive());
    // Version bumped.
    let v = app.signup("ver@example.com").await;
    app.auth
        .add_role(v["user"]["id"].as_str().unwrap().parse().unwrap(), "admin", true)
        .await
        .unwrap();
    assert_eq!(introspect(&app, &tokens(&v).0).await.body, inactive());
    // Garbage, tampered and expired.
    let (fresh, _) = tokens(&app.signup("fresh@example.com").await);
    assert_eq!(introspect(&app, "not-a-jwt").await.body, inactive());
    let tampered = format!("{}x", &fresh[..fresh.len() - 1]);
    assert_eq!(introspect(&app, &tampered).await.body, inactive());
    app.clock.advance(time::Duration::seconds(901));
    assert_eq!(introspect(&app, &fresh).await.body, inactive());
}

async fn the_secret_is_required_and_the_endpoint_is_off_without_one(backend: Backend) {
    let app = app(backend).await;
    let (access, _) = tokens(&app.signup("sec@example.com").await);
    let r = app.post("/auth/introspect", json!({ "token": access })).await;
    r.assert_error(401, "unauthorized");
    assert_eq!(r.body["detail"]["message"], "Missing or invalid Authorization header");
    let r = app
        .post_with(
            "/auth/introspect",
            json!({ "token": access }),
            &[("authorization", "Bearer wrong-secret-of-some-length")],
        )
        .await;
    r.assert_error(401, "unauthorized");
    assert_eq!(r.body["detail"]["message"], "Invalid introspection secret");
    assert_eq!(app.post("/auth/introspect", json!({})).await.status.as_u16(), 422);

    let off = TestApp::new(backend).await;
    let r = off
        .post_with(
            "/auth/introspect",
            json!({ "token": access }),
            &[("authorization", &format!("Bearer {SECRET}"))],
        )
        .await;
    assert_eq!(r.status.as_u16(), 404);
}

on_both_backends!(
    active_tokens_report_fresh_claims_and_survive_refreshes,
    revoked_banned_bumped_expired_and_bad_tokens_are_inactive,
    the_secret_is_required_and_the_endpoint_is_off_without_one,
);
