//! Who may call `/admin`, key rotation, and the audit log.

use authfort_test_support::{on_both_backends, Backend};
use serde_json::{json, Value};
use time::Duration;

use crate::admin_helpers::{admin, admin_token, api_key, call, keyed, login, user_id, PASSWORD};
use crate::helpers::{tokens, TestApp, TestResponse};

#[track_caller]
fn assert_unauthorized(r: &TestResponse, message: &str) {
    r.assert_error(401, "unauthorized");
    assert_eq!(r.body["detail"]["message"], message, "{}", r.text);
    assert_eq!(r.headers["www-authenticate"], "Bearer");
}

#[track_caller]
fn assert_not_admin(r: &TestResponse) {
    r.assert_error(403, "insufficient_role");
    assert_eq!(r.body["detail"]["message"], "Requires one of: admin");
}

async fn without_a_key_only_admin_role_tokens_get_in(backend: Backend) {
    let app = TestApp::new(backend).await;
    let user = app.signup("plain@example.com").await;
    let admin_access = admin_token(&app, "boss@example.com").await;

    let r = app.get("/admin/users", &[]).await;
    assert_unauthorized(&r, "Missing or invalid Authorization header");
    for header in ["Basic dXNlcjpwYXNz", "bearer abc", "Bearer ", "Bearer    ", "Token abc"] {
        let r = app.get("/admin/users", &[("authorization", header)]).await;
        assert_unauthorized(&r, "Missing or invalid Authorization header");
    }
    // The access cookie is never an admin credential.
    let r = app
        .get("/admin/users", &[("cookie", &format!("access_token={admin_access}"))])
        .await;
    assert_unauthorized(&r, "Missing or invalid Authorization header");
    // Token errors keep their own codes.
    call(&app, "GET", "/admin/users", Some("garbage"), None)
        .await
        .assert_error(401, "token_invalid");
    // With no key configured, a key-shaped credential is just a bad token.
    call(&app, "GET", "/admin/users", Some(&api_key()), None)
        .await
        .assert_error(401, "token_invalid");
    assert_not_admin(&call(&app, "GET", "/admin/users", Some(&tokens(&user).0), None).await);

    let r = call(&app, "GET", "/admin/users", Some(&admin_access), None).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.body["total"], 2);
}

async fn the_api_key_gets_in_and_wrong_keys_are_invalid_credentials(backend: Backend) {
    let app = keyed(backend).await;
    let user = app.signup("plain@example.com").await;
    let admin_access = admin_token(&app, "boss@example.com").await;

    let r = admin(&app, "GET", "/admin/users", None).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.body["total"], 2);
    let key = api_key();
    for wrong in [
        key[..39].to_owned(),
        format!("{key}x"),
        "y".repeat(40),
        key.to_uppercase(),
        format!(" {key}"),
    ] {
        let r = call(&app, "GET", "/admin/users", Some(&wrong), None).await;
        assert_unauthorized(&r, "Invalid admin credentials");
    }
    let r = app
        .get("/admin/users", &[("authorization", &format!("bearer {key}"))])
        .await;
    assert_unauthorized(&r, "Missing or invalid Authorization header");
    assert_unauthorized(
        &app.get("/admin/users", &[]).await,
        "Missing or invalid Authorization header",
    );
    // Tokens still work alongside the key.
    assert_not_admin(&call(&app, "GET", "/admin/users", Some(&tokens(&user).0), None).await);
    let r = call(&app, "GET", "/admin/users", Some(&admin_access), None).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
}

async fn admin_tokens_lose_access_when_expired_banned_or_demoted(backend: Backend) {
    let app = TestApp::new(backend).await;
    let a = admin_token(&app, "a@example.com").await;
    let b = admin_token(&app, "b@example.com").await;
    let c = admin_token(&app, "c@example.com").await;
    let b_id = app.auth.get_user_by_email("b@example.com").await.unwrap().id;
    let c_id = app.auth.get_user_by_email("c@example.com").await.unwrap().id;

    // Demoted through the API by another admin: the old token dies, a new one is not admin.
    let r = call(
        &app,
        "DELETE",
        &format!("/admin/users/{b_id}/roles/admin"),
        Some(&a),
        None,
    )
    .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    call(&app, "GET", "/admin/users", Some(&b), None)
        .await
        .assert_error(401, "token_version_mismatch");
    let b_new = login(&app, "b@example.com").await;
    assert_not_admin(&call(&app, "GET", "/admin/users", Some(&tokens(&b_new).0), None).await);

    // Banned admins are refused as banned.
    app.auth.ban_user(c_id).await.unwrap();
    call(&app, "GET", "/admin/users", Some(&c), None)
        .await
        .assert_error(403, "user_banned");

    // Expired admin tokens are expired.
    app.clock.advance(Duration::seconds(901));
    call(&app, "GET", "/admin/users", Some(&a), None)
        .await
        .assert_error(401, "token_expired");
}

/// Every admin endpoint, against one user (in an order that succeeds with the key).
fn endpoints(id: &str, session: &str) -> Vec<(&'static str, String, Option<Value>)> {
    vec![
        ("GET", "/admin/users".into(), None),
        (
            "POST",
            "/admin/users".into(),
            Some(json!({"email": "made@example.com", "password": PASSWORD})),
        ),
        ("GET", format!("/admin/users/{id}"), None),
        ("PATCH", format!("/admin/users/{id}"), Some(json!({"name": "Hacked"}))),
        (
            "POST",
            format!("/admin/users/{id}/roles"),
            Some(json!({"role": "admin"})),
        ),
        ("DELETE", format!("/admin/users/{id}/roles/member"), None),
        ("POST", format!("/admin/users/{id}/ban"), None),
        ("POST", format!("/admin/users/{id}/unban"), None),
        ("GET", format!("/admin/users/{id}/sessions"), None),
        ("POST", format!("/admin/users/{id}/sessions/revoke-all"), None),
        ("DELETE", format!("/admin/sessions/{session}"), None),
        ("POST", "/admin/keys/rotate".into(), None),
        ("DELETE", format!("/admin/users/{id}?hard=true"), None),
    ]
}

async fn every_admin_endpoint_refuses_non_admins_and_changes_nothing(backend: Backend) {
    let app = keyed(backend).await;
    let victim = app.signup("victim@example.com").await;
    let id = user_id(&victim).to_string();
    app.auth.add_role(user_id(&victim), "member", false).await.unwrap();
    let kid = app.auth.current_kid().await.unwrap();
    let user_access = tokens(&victim).0;
    let sid = crate::admin_helpers::session_id(&victim);
    for (method, path, body) in endpoints(&id, &sid) {
        let none = call(&app, method, &path, None, body.clone()).await;
        assert_unauthorized(&none, "Missing or invalid Authorization header");
        let wrong = call(&app, method, &path, Some(&"z".repeat(40)), body.clone()).await;
        assert_unauthorized(&wrong, "Invalid admin credentials");
        let user = call(&app, method, &path, Some(&user_access), body.clone()).await;
        assert!(user.status.as_u16() == 403, "{method} {path}: {}", user.text);
        assert_not_admin(&user);
    }
    // Nothing happened.
    let after = app.auth.get_user(user_id(&victim)).await.unwrap();
    assert!(!after.banned);
    assert_eq!(after.name, None);
    assert_eq!(after.roles, ["member"]);
    assert_eq!(app.auth.current_kid().await.unwrap(), kid);
    assert_eq!(app.me(&user_access).await.status.as_u16(), 200);
    assert!(app.auth.get_user_by_email("made@example.com").await.is_err());
    // And every endpoint answers the key with a success.
    for (method, path, body) in endpoints(&id, &sid) {
        let r = admin(&app, method, &path, body).await;
        assert!(r.status.is_success(), "{method} {path}: {} {}", r.status, r.text);
    }
}

async fn key_rotation_publishes_a_second_key_and_signs_with_it(backend: Backend) {
    let app = keyed(backend).await;
    let before = app.signup("rot@example.com").await;
    let old_kid = app.auth.current_kid().await.unwrap();
    let r = admin(&app, "POST", "/admin/keys/rotate", None).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let kid = r.body["kid"].as_str().unwrap().to_owned();
    assert_ne!(kid, old_kid);
    assert_eq!(r.body.as_object().unwrap().len(), 1);
    let jwks = app.get("/.well-known/jwks.json", &[]).await;
    let kids: Vec<&str> = jwks.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 3, "current, next and retired: {}", jwks.text);
    assert!(kids.contains(&kid.as_str()) && kids.contains(&old_kid.as_str()));
    // Old tokens still verify; new ones carry the new kid.
    assert_eq!(app.me(&tokens(&before).0).await.status.as_u16(), 200);
    let after = login(&app, "rot@example.com").await;
    let header = tokens(&after).0.split('.').next().unwrap().to_owned();
    use base64::Engine;
    let header: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    assert_eq!(header["kid"], kid);
    // GET is not rotation.
    assert_eq!(app.get("/admin/keys/rotate", &[]).await.status.as_u16(), 405);
}

on_both_backends!(
    without_a_key_only_admin_role_tokens_get_in,
    the_api_key_gets_in_and_wrong_keys_are_invalid_credentials,
    admin_tokens_lose_access_when_expired_banned_or_demoted,
    every_admin_endpoint_refuses_non_admins_and_changes_nothing,
    key_rotation_publishes_a_second_key_and_signs_with_it,
);

/// Runs on a current-thread runtime so the thread-local subscriber sees every event.
async fn admin_actions_are_logged_with_principal_and_without_secrets(backend: Backend) {
    let (captured, _guard) = crate::helpers::capture_logs();

    let app = keyed(backend).await;
    let boss = admin_token(&app, "boss@example.com").await;
    let boss_id = app.auth.get_user_by_email("boss@example.com").await.unwrap().id;
    let password = "Admin-chosen-s3cret-pw";
    let r = admin(
        &app,
        "POST",
        "/admin/users",
        Some(json!({"email": "logged@example.com", "password": password})),
    )
    .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let r = call(&app, "POST", &format!("/admin/users/{id}/ban"), Some(&boss), None).await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    // Failed attempts are not actions, and their credentials are not logged either.
    let wrong_key = "w".repeat(40);
    call(&app, "GET", "/admin/users", Some(&wrong_key), None).await;

    let logs = captured.text();
    let created = logs
        .lines()
        .find(|l| l.contains("users.create"))
        .expect("create logged");
    assert!(created.contains("principal=\"api-key\""), "{created}");
    assert!(created.contains(&id), "{created}");
    let banned = logs.lines().find(|l| l.contains("users.ban")).expect("ban logged");
    assert!(banned.contains(&format!("user:{boss_id}")), "{banned}");
    assert!(banned.contains(&id), "{banned}");
    let signature = boss.rsplit('.').next().unwrap();
    for secret in [api_key().as_str(), wrong_key.as_str(), password, signature] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
}

#[tokio::test]
async fn admin_actions_are_logged_with_principal_and_without_secrets_sqlite() {
    admin_actions_are_logged_with_principal_and_without_secrets(Backend::Sqlite).await;
}

#[tokio::test]
async fn admin_actions_are_logged_with_principal_and_without_secrets_postgres() {
    if authfort_test_support::skip_postgres() {
        return;
    }
    admin_actions_are_logged_with_principal_and_without_secrets(Backend::Postgres).await;
}
