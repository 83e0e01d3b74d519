//! `/admin/users/{id}/sessions…` and `/admin/sessions/{id}`.

use authfort_test_support::{on_both_backends, Backend};
use serde_json::json;
use time::Duration;

use crate::admin_helpers::{admin, keyed, login, login_as, refresh, session_id, user_id};
use crate::helpers::tokens;

async fn lists_every_session_newest_first_with_revoked_flags(backend: Backend) {
    let app = keyed(backend).await;
    let first = app.signup("s@example.com").await;
    app.clock.advance(Duration::seconds(5));
    let second = login_as(&app, "s@example.com", "Agent/2").await;
    app.clock.advance(Duration::seconds(5));
    let third = login(&app, "s@example.com").await;
    app.auth
        .revoke_session(session_id(&second).parse().unwrap())
        .await
        .unwrap();
    app.signup("other@example.com").await;
    let id = user_id(&first);
    let r = admin(&app, "GET", &format!("/admin/users/{id}/sessions"), None).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let sessions = r.body["sessions"].as_array().unwrap();
    let ids: Vec<&str> = sessions.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [session_id(&third), session_id(&second), session_id(&first)]);
    let revoked: Vec<bool> = sessions.iter().map(|s| s["revoked"].as_bool().unwrap()).collect();
    assert_eq!(revoked, [false, true, false]);
    assert_eq!(sessions[1]["user_agent"], "Agent/2");
    assert_eq!(sessions[1]["ip_address"], "203.0.113.7");
    let mut keys: Vec<&str> = sessions[0].as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["created_at", "expires_at", "id", "ip_address", "revoked", "user_agent"]
    );
    // A user without sessions has an empty list; unknown and malformed ids are 404.
    let made = admin(
        &app,
        "POST",
        "/admin/users",
        Some(json!({"email": "nosess@example.com", "password": "correct horse battery"})),
    )
    .await;
    let r = admin(
        &app,
        "GET",
        &format!("/admin/users/{}/sessions", made.body["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(r.body, json!({"sessions": []}));
    admin(
        &app,
        "GET",
        &format!("/admin/users/{}/sessions", uuid::Uuid::new_v4()),
        None,
    )
    .await
    .assert_error(404, "user_not_found");
    admin(&app, "GET", "/admin/users/xyz/sessions", None)
        .await
        .assert_error(404, "user_not_found");
}

async fn revoking_one_session_leaves_the_others(backend: Backend) {
    let app = keyed(backend).await;
    let a = app.signup("one@example.com").await;
    let b = login(&app, "one@example.com").await;
    let r = admin(&app, "DELETE", &format!("/admin/sessions/{}", session_id(&b)), None).await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    assert!(r.text.is_empty());
    refresh(&app, &tokens(&b).1)
        .await
        .assert_error(401, "refresh_token_revoked");
    assert_eq!(refresh(&app, &tokens(&a).1).await.status.as_u16(), 200);
    let active = app.auth.get_sessions(user_id(&a), true).await.unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].id.to_string(), session_id(&a));
    // Already revoked: still known, still 204.
    let r = admin(&app, "DELETE", &format!("/admin/sessions/{}", session_id(&b)), None).await;
    assert_eq!(r.status.as_u16(), 204);
    for bad in [
        uuid::Uuid::new_v4().to_string(),
        "not-a-session".into(),
        "%E2%82".into(),
    ] {
        let r = admin(&app, "DELETE", &format!("/admin/sessions/{bad}"), None).await;
        r.assert_error(404, "session_not_found");
        assert_eq!(r.body["detail"]["message"], "Session not found");
    }
}

async fn revoke_all_ends_every_session_of_that_user_only(backend: Backend) {
    let app = keyed(backend).await;
    let a = app.signup("all@example.com").await;
    let b = login(&app, "all@example.com").await;
    let other = app.signup("bystander@example.com").await;
    let id = user_id(&a);
    let r = admin(&app, "POST", &format!("/admin/users/{id}/sessions/revoke-all"), None).await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    for body in [&a, &b] {
        refresh(&app, &tokens(body).1)
            .await
            .assert_error(401, "refresh_token_revoked");
    }
    assert_eq!(refresh(&app, &tokens(&other).1).await.status.as_u16(), 200);
    let r = admin(&app, "GET", &format!("/admin/users/{id}/sessions"), None).await;
    assert!(r.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["revoked"] == true));
    // The account itself is fine.
    assert_eq!(login(&app, "all@example.com").await["user"]["email"], "all@example.com");
    admin(
        &app,
        "POST",
        &format!("/admin/users/{}/sessions/revoke-all", uuid::Uuid::new_v4()),
        None,
    )
    .await
    .assert_error(404, "user_not_found");
    admin(&app, "POST", "/admin/users/bad-id/sessions/revoke-all", None)
        .await
        .assert_error(404, "user_not_found");
}

on_both_backends!(
    lists_every_session_newest_first_with_revoked_flags,
    revoking_one_session_leaves_the_others,
    revoke_all_ends_every_session_of_that_user_only,
);
