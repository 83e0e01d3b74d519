//! The caller's own sessions: `/auth/sessions`.

use authfort_test_support::{on_both_backends, Backend};
use axum::body::Body;
use axum::http::Request;
use serde_json::json;
use time::Duration;

use crate::admin_helpers::{call, login, login_as, refresh, session_id, user_id};
use crate::helpers::{tokens, TestApp};

async fn sessions_lists_active_sessions_newest_first_marking_the_current_one(backend: Backend) {
    let app = TestApp::new(backend).await;
    let first = app.signup("list@example.com").await;
    app.clock.advance(Duration::seconds(5));
    let second = login_as(&app, "list@example.com", "Second/1.0").await;
    app.clock.advance(Duration::seconds(5));
    let third = login_as(&app, "list@example.com", "Third/1.0").await;
    app.clock.advance(Duration::seconds(5));
    let gone = login(&app, "list@example.com").await;
    app.auth
        .revoke_session(session_id(&gone).parse().unwrap())
        .await
        .unwrap();
    // Someone else's sessions never show up.
    app.signup("other@example.com").await;

    let r = call(&app, "GET", "/auth/sessions", Some(&tokens(&second).0), None).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let sessions = r.body["sessions"].as_array().unwrap();
    let ids: Vec<&str> = sessions.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [session_id(&third), session_id(&second), session_id(&first)]);
    let current: Vec<bool> = sessions.iter().map(|s| s["current"].as_bool().unwrap()).collect();
    assert_eq!(current, [false, true, false]);
    let s = &sessions[0];
    assert_eq!(s["user_agent"], "Third/1.0");
    assert_eq!(s["ip_address"], "203.0.113.7");
    assert!(s["created_at"].as_str().unwrap() < s["expires_at"].as_str().unwrap());
    assert!(sessions[1]["created_at"].as_str().unwrap() < s["created_at"].as_str().unwrap());
    let mut keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["created_at", "current", "expires_at", "id", "ip_address", "user_agent"]
    );
    app.get("/auth/sessions", &[]).await.assert_error(401, "token_missing");
    call(&app, "GET", "/auth/sessions", Some("not.a.jwt"), None)
        .await
        .assert_error(401, "token_invalid");
}

async fn sessions_accept_the_access_cookie(backend: Backend) {
    let app = TestApp::with_config(backend, |c| c.cookie.enabled = true).await;
    let r = app
        .post(
            "/auth/signup",
            json!({"email": "cookie@example.com", "password": "correct horse battery"}),
        )
        .await;
    let name = &app.auth.config().cookie.access_cookie_name;
    let cookie = r
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap();
    let pair = cookie.split(';').next().unwrap().to_owned();
    let r = app.get("/auth/sessions", &[("cookie", &pair)]).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.body["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["sessions"][0]["current"], true);
    // Revoking the current session in cookie mode clears the cookies.
    let id = r.body["sessions"][0]["id"].as_str().unwrap().to_owned();
    let req = Request::builder()
        .method("DELETE")
        .uri(format!("/auth/sessions/{id}"))
        .header("cookie", &pair)
        .body(Body::empty())
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    let cleared = r.set_cookies();
    assert!(
        cleared
            .iter()
            .any(|c| c.starts_with(&format!("{name}=")) && c.contains("Max-Age=0")),
        "{cleared:?}"
    );
}

async fn deleting_an_own_session_revokes_only_that_session(backend: Backend) {
    let app = TestApp::new(backend).await;
    let a = app.signup("del@example.com").await;
    let b = login(&app, "del@example.com").await;
    let r = call(
        &app,
        "DELETE",
        &format!("/auth/sessions/{}", session_id(&b)),
        Some(&tokens(&a).0),
        None,
    )
    .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    assert!(r.text.is_empty());
    // a's session is untouched; b's refresh token is dead.
    assert_eq!(refresh(&app, &tokens(&a).1).await.status.as_u16(), 200);
    refresh(&app, &tokens(&b).1)
        .await
        .assert_error(401, "refresh_token_revoked");
    let r = call(&app, "GET", "/auth/sessions", Some(&tokens(&a).0), None).await;
    let ids: Vec<&str> = r.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [session_id(&a)]);
    // Revoking the already-revoked own session again is harmless.
    let again = call(
        &app,
        "DELETE",
        &format!("/auth/sessions/{}", session_id(&b)),
        Some(&tokens(&a).0),
        None,
    )
    .await;
    assert_eq!(again.status.as_u16(), 204);
}

async fn another_users_or_unknown_or_malformed_session_is_404(backend: Backend) {
    let app = TestApp::new(backend).await;
    let me = app.signup("me@example.com").await;
    let victim = app.signup("victim@example.com").await;
    let (access, _) = tokens(&me);
    for id in [
        session_id(&victim),
        uuid::Uuid::new_v4().to_string(),
        "not-a-uuid".to_owned(),
        "%FF%FE".to_owned(),
        "1".repeat(300),
    ] {
        let r = call(&app, "DELETE", &format!("/auth/sessions/{id}"), Some(&access), None).await;
        r.assert_error(404, "session_not_found");
        assert_eq!(r.body["detail"]["message"], "Session not found");
    }
    // The victim's session survived.
    assert_eq!(refresh(&app, &tokens(&victim).1).await.status.as_u16(), 200);
    // Unauthenticated callers learn nothing either.
    call(
        &app,
        "DELETE",
        &format!("/auth/sessions/{}", session_id(&victim)),
        None,
        None,
    )
    .await
    .assert_error(401, "token_missing");
}

async fn revoke_all_keeps_the_current_session_by_default(backend: Backend) {
    let app = TestApp::new(backend).await;
    let current = app.signup("all@example.com").await;
    let other1 = login(&app, "all@example.com").await;
    let other2 = login(&app, "all@example.com").await;
    let stranger = app.signup("stranger@example.com").await;
    // No body at all: keep_current defaults to true.
    let r = call(
        &app,
        "POST",
        "/auth/sessions/revoke-all",
        Some(&tokens(&current).0),
        None,
    )
    .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    refresh(&app, &tokens(&other1).1)
        .await
        .assert_error(401, "refresh_token_revoked");
    refresh(&app, &tokens(&other2).1)
        .await
        .assert_error(401, "refresh_token_revoked");
    let rotated = refresh(&app, &tokens(&current).1).await;
    assert_eq!(rotated.status.as_u16(), 200, "{}", rotated.text);
    assert_eq!(refresh(&app, &tokens(&stranger).1).await.status.as_u16(), 200);

    // Explicit true behaves the same.
    let another = login(&app, "all@example.com").await;
    let r = call(
        &app,
        "POST",
        "/auth/sessions/revoke-all",
        Some(&tokens(&rotated.body).0),
        Some(json!({"keep_current": true})),
    )
    .await;
    assert_eq!(r.status.as_u16(), 204);
    refresh(&app, &tokens(&another).1)
        .await
        .assert_error(401, "refresh_token_revoked");
    assert_eq!(refresh(&app, &tokens(&rotated.body).1).await.status.as_u16(), 200);
}

async fn revoke_all_without_keep_current_revokes_the_current_session_too(backend: Backend) {
    let app = TestApp::new(backend).await;
    let current = app.signup("everything@example.com").await;
    let other = login(&app, "everything@example.com").await;
    let (access, refresh_token) = tokens(&current);
    let bad = call(
        &app,
        "POST",
        "/auth/sessions/revoke-all",
        Some(&access),
        Some(json!({"keep_current": "no"})),
    )
    .await;
    assert_eq!(bad.status.as_u16(), 422, "{}", bad.text);
    assert_eq!(bad.body["detail"][0]["type"], "bool_type");
    assert_eq!(bad.body["detail"][0]["loc"], json!(["body", "keep_current"]));
    let r = call(
        &app,
        "POST",
        "/auth/sessions/revoke-all",
        Some(&access),
        Some(json!({"keep_current": false})),
    )
    .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    refresh(&app, &refresh_token)
        .await
        .assert_error(401, "refresh_token_revoked");
    refresh(&app, &tokens(&other).1)
        .await
        .assert_error(401, "refresh_token_revoked");
    // Sessions are gone from the active list; the user and their password are untouched.
    let id = user_id(&current);
    assert!(app.auth.get_sessions(id, true).await.unwrap().is_empty());
    let fresh = login(&app, "everything@example.com").await;
    let r = call(&app, "GET", "/auth/sessions", Some(&tokens(&fresh).0), None).await;
    assert_eq!(r.body["sessions"].as_array().unwrap().len(), 1);
}

on_both_backends!(
    sessions_lists_active_sessions_newest_first_marking_the_current_one,
    sessions_accept_the_access_cookie,
    deleting_an_own_session_revokes_only_that_session,
    another_users_or_unknown_or_malformed_session_is_404,
    revoke_all_keeps_the_current_session_by_default,
    revoke_all_without_keep_current_revokes_the_current_session_too,
);
