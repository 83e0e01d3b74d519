use authfort_test_support::{on_both_backends, Backend};
use serde_json::json;

use crate::helpers::{tokens, TestApp};

async fn cookie_app(backend: Backend) -> TestApp {
    TestApp::with_config(backend, |c| {
        c.cookie.enabled = true;
        c.cookie.domain = Some("example.test".into());
    })
    .await
}

async fn token_responses_set_both_cookies_with_exact_attributes(backend: Backend) {
    let app = cookie_app(backend).await;
    let r = app
        .post(
            "/auth/signup",
            json!({"email": "c@example.com", "password": "correct horse battery"}),
        )
        .await;
    let (access, refresh) = tokens(&r.body);
    assert_eq!(
        r.set_cookies(),
        [
            format!("access_token={access}; Domain=example.test; HttpOnly; Max-Age=900; Path=/; SameSite=lax; Secure"),
            format!(
                "refresh_token={refresh}; Domain=example.test; HttpOnly; Max-Age=2592000; Path=/; SameSite=lax; Secure"
            ),
        ]
    );
}

async fn cookies_authenticate_me_and_refresh_and_logout_clears_them(backend: Backend) {
    let app = cookie_app(backend).await;
    let (access, refresh) = tokens(&app.signup("jar@example.com").await);
    let jar = format!("access_token={access}; refresh_token={refresh}");
    assert_eq!(app.get("/auth/me", &[("cookie", &jar)]).await.status.as_u16(), 200);
    let r = app.post_with("/auth/refresh", json!({}), &[("cookie", &jar)]).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.set_cookies().len(), 2);
    let (_, refresh2) = tokens(&r.body);
    let out = app
        .post_with(
            "/auth/logout",
            json!({}),
            &[("cookie", &format!("refresh_token={refresh2}"))],
        )
        .await;
    assert_eq!(out.status.as_u16(), 204);
    let cleared = out.set_cookies();
    assert_eq!(cleared.len(), 2);
    assert!(
        cleared[0].starts_with("access_token=\"\"; Domain=example.test; expires="),
        "{}",
        cleared[0]
    );
    assert!(
        cleared[0].ends_with("GMT; Max-Age=0; Path=/; SameSite=lax"),
        "{}",
        cleared[0]
    );
    assert!(cleared[1].starts_with("refresh_token=\"\""));
    app.post("/auth/refresh", json!({"refresh_token": refresh2}))
        .await
        .assert_error(401, "refresh_token_revoked");
}

async fn failed_refresh_clears_cookies_but_missing_token_does_not(backend: Backend) {
    let app = cookie_app(backend).await;
    let r = app.post("/auth/refresh", json!({})).await;
    r.assert_error(401, "refresh_token_missing");
    assert!(r.set_cookies().is_empty());
    let r = app
        .post_with("/auth/refresh", json!({}), &[("cookie", "refresh_token=bogus")])
        .await;
    r.assert_error(401, "refresh_token_invalid");
    assert_eq!(r.set_cookies().len(), 2);
}

async fn swapped_cookie_pair_is_refused_and_the_refresh_token_revoked(backend: Backend) {
    let app = cookie_app(backend).await;
    let (victim_access, _) = tokens(&app.signup("victim@example.com").await);
    let (_, attacker_refresh) = tokens(&app.signup("attacker@example.com").await);
    let jar = format!("access_token={victim_access}; refresh_token={attacker_refresh}");
    let r = app.post_with("/auth/refresh", json!({}), &[("cookie", &jar)]).await;
    r.assert_error(401, "refresh_token_mismatch");
    app.post("/auth/refresh", json!({"refresh_token": attacker_refresh}))
        .await
        .assert_error(401, "refresh_token_revoked");
}

async fn bearer_mode_ignores_cookies(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (access, refresh) = tokens(&app.signup("bearer@example.com").await);
    let jar = format!("access_token={access}; refresh_token={refresh}");
    app.get("/auth/me", &[("cookie", &jar)])
        .await
        .assert_error(401, "token_missing");
    app.post_with("/auth/refresh", json!({}), &[("cookie", &jar)])
        .await
        .assert_error(401, "refresh_token_missing");
}

on_both_backends!(
    token_responses_set_both_cookies_with_exact_attributes,
    cookies_authenticate_me_and_refresh_and_logout_clears_them,
    failed_refresh_clears_cookies_but_missing_token_does_not,
    swapped_cookie_pair_is_refused_and_the_refresh_token_revoked,
    bearer_mode_ignores_cookies,
);
