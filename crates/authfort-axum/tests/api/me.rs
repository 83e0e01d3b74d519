use authfort_test_support::{on_both_backends, Backend};
use serde_json::json;

use crate::helpers::{tokens, TestApp};

async fn me_returns_the_user_with_session_id(backend: Backend) {
    let app = TestApp::new(backend).await;
    let body = app.signup("me@example.com").await;
    let (access, _) = tokens(&body);
    let r = app.me(&access).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.body["email"], "me@example.com");
    assert_eq!(r.body["session_id"], body["user"]["session_id"]);
    assert_eq!(r.body["mfa_enabled"], false);
}

async fn me_token_errors_are_401_with_the_reference_codes(backend: Backend) {
    let app = TestApp::new(backend).await;
    let body = app.signup("tok@example.com").await;
    let (access, _) = tokens(&body);
    app.get("/auth/me", &[]).await.assert_error(401, "token_missing");
    // Only "Bearer " (case-sensitive, one space) is recognised.
    app.get("/auth/me", &[("authorization", &format!("bearer {access}"))])
        .await
        .assert_error(401, "token_missing");
    let r = app.get("/auth/me", &[("authorization", "Bearer ")]).await;
    r.assert_error(401, "token_invalid");
    assert_eq!(r.body["detail"]["message"], "Malformed token");
    assert_eq!(r.headers["www-authenticate"], "Bearer");
    app.me("not.a.jwt").await.assert_error(401, "token_invalid");
    // Tampered payload: signature no longer matches.
    let mut parts: Vec<String> = access.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].chars().rev().collect();
    app.me(&parts.join(".")).await.assert_error(401, "token_invalid");
    // alg=none with our kid.
    let header = base64_url(&format!(
        r#"{{"alg":"none","kid":"{}","typ":"JWT"}}"#,
        app.auth.current_kid().await.unwrap()
    ));
    let none = format!("{header}.{}.", access.split('.').nth(1).unwrap());
    app.me(&none).await.assert_error(401, "token_invalid");
    // Unknown kid.
    let header = base64_url(r#"{"alg":"RS256","kid":"key-1999-01-deadbeef","typ":"JWT"}"#);
    let r = app.me(&format!("{header}.{}", access.split_once('.').unwrap().1)).await;
    r.assert_error(401, "token_invalid");
    assert_eq!(r.body["detail"]["message"], "Unknown signing key");
    // No kid.
    let header = base64_url(r#"{"alg":"RS256","typ":"JWT"}"#);
    let r = app.me(&format!("{header}.{}", access.split_once('.').unwrap().1)).await;
    assert_eq!(r.body["detail"]["message"], "Token missing kid header");
}

fn base64_url(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

async fn me_is_403_for_banned_and_401_after_version_bump(backend: Backend) {
    let app = TestApp::new(backend).await;
    let a = app.signup("ban@example.com").await;
    let b = app.signup("role@example.com").await;
    let a_id = a["user"]["id"].as_str().unwrap().parse().unwrap();
    let b_id = b["user"]["id"].as_str().unwrap().parse().unwrap();
    app.auth.ban_user(a_id).await.unwrap();
    app.me(&tokens(&a).0).await.assert_error(403, "user_banned");
    app.auth.add_role(b_id, "admin", true).await.unwrap();
    app.me(&tokens(&b).0).await.assert_error(401, "token_version_mismatch");
    // The refresh token survives a role change and yields the new roles.
    let r = app.post("/auth/refresh", json!({"refresh_token": tokens(&b).1})).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.body["user"]["roles"], json!(["admin"]));
    assert_eq!(app.me(&tokens(&r.body).0).await.status.as_u16(), 200);
    // A ban revokes every refresh token as well.
    app.post("/auth/refresh", json!({"refresh_token": tokens(&a).1}))
        .await
        .assert_error(401, "refresh_token_revoked");
}

async fn unban_does_not_revive_old_tokens(backend: Backend) {
    let app = TestApp::new(backend).await;
    let a = app.signup("unban@example.com").await;
    let id = a["user"]["id"].as_str().unwrap().parse().unwrap();
    app.auth.ban_user(id).await.unwrap();
    app.auth.unban_user(id).await.unwrap();
    app.me(&tokens(&a).0).await.assert_error(401, "token_version_mismatch");
    let r = app
        .post(
            "/auth/login",
            json!({"email": "unban@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200);
}

on_both_backends!(
    me_returns_the_user_with_session_id,
    me_token_errors_are_401_with_the_reference_codes,
    me_is_403_for_banned_and_401_after_version_bump,
    unban_does_not_revive_old_tokens,
);
