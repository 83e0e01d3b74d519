//! `/auth/mfa/*` over HTTP, the MFA challenge from login, magic link and email OTP, cookie
//! mode, bad input, lockout, and the admin route.

use authfort_core::clock::Clock;
use authfort_core::crypto::mfa::{base32_decode, hotp, totp_step};
use authfort_test_support::{on_both_backends, Backend};
use serde_json::{json, Value};
use time::Duration;

use crate::admin_helpers::{admin, call, keyed};
use crate::helpers::{tokens, TestApp, TestResponse};

const EMAIL: &str = "mfa@example.com";
const PASSWORD: &str = "correct horse battery";

fn totp(app: &TestApp, secret: &str, offset: i64) -> String {
    let step = totp_step(app.clock.now().unix_timestamp()) + offset;
    hotp(&base32_decode(secret).unwrap(), step as u64)
}

async fn bearer_post(app: &TestApp, path: &str, access: &str, body: Option<Value>) -> TestResponse {
    call(app, "POST", path, Some(access), body).await
}

/// Signs up and enables MFA over HTTP; returns (refresh token, secret, backup codes). The
/// clock moves one step on so the confirming code is not current.
async fn enrol(app: &TestApp) -> (String, String, Vec<String>) {
    let (access, refresh) = tokens(&app.signup(EMAIL).await);
    let init = bearer_post(app, "/auth/mfa/init", &access, None).await;
    assert_eq!(init.status.as_u16(), 200, "{}", init.text);
    assert_eq!(init.headers["cache-control"], "no-store");
    let secret = init.body["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 32);
    assert_eq!(
        init.body["qr_uri"],
        format!("otpauth://totp/authfort:mfa%40example.com?secret={secret}&issuer=authfort")
    );
    let confirm = bearer_post(
        app,
        "/auth/mfa/confirm",
        &access,
        Some(json!({"code": totp(app, &secret, 0)})),
    )
    .await;
    assert_eq!(confirm.status.as_u16(), 200, "{}", confirm.text);
    let codes: Vec<String> = serde_json::from_value(confirm.body.clone()).unwrap();
    assert_eq!(codes.len(), 10);
    // The caller's access token is now stale (version bump); its refresh token is not.
    app.me(&access).await.assert_error(401, "token_version_mismatch");
    app.clock.advance(Duration::seconds(30));
    (refresh, secret, codes)
}

async fn login(app: &TestApp) -> TestResponse {
    app.post("/auth/login", json!({"email": EMAIL, "password": PASSWORD}))
        .await
}

fn assert_challenge(r: &TestResponse) -> String {
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let mut keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["expires_in", "mfa_required", "mfa_token"], "{}", r.text);
    assert_eq!(r.body["mfa_required"], true);
    assert_eq!(r.body["expires_in"], 300);
    assert!(r.set_cookies().is_empty(), "no cookies with a challenge");
    r.body["mfa_token"].as_str().unwrap().to_owned()
}

async fn enrol_login_verify_status_disable(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (refresh, secret, codes) = enrol(&app).await;
    let refreshed = app.post("/auth/refresh", json!({"refresh_token": refresh})).await;
    assert_eq!(refreshed.status.as_u16(), 200, "{}", refreshed.text);
    assert_eq!(refreshed.body["user"]["mfa_enabled"], true);
    let (access, _) = tokens(&refreshed.body);
    let status = app
        .get("/auth/mfa/status", &[("authorization", &format!("Bearer {access}"))])
        .await;
    assert_eq!(status.body, json!({"enabled": true, "backup_codes_remaining": 10}));
    let me = app.me(&access).await;
    assert_eq!(me.body["mfa_enabled"], true, "/me reports the real value");

    let mfa_token = assert_challenge(&login(&app).await);
    app.me(&mfa_token).await.assert_error(401, "token_invalid");
    let wrong = format!(
        "{:06}",
        (totp(&app, &secret, 0).parse::<u32>().unwrap() + 1) % 1_000_000
    );
    app.post("/auth/mfa/verify", json!({"mfa_token": mfa_token, "code": wrong}))
        .await
        .assert_error(401, "invalid_mfa_code");
    let ok = app
        .post(
            "/auth/mfa/verify",
            json!({"mfa_token": mfa_token, "code": totp(&app, &secret, 0)}),
        )
        .await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.text);
    assert_eq!(ok.body["user"]["mfa_enabled"], true);
    let (access, _) = tokens(&ok.body);
    assert_eq!(app.me(&access).await.status.as_u16(), 200);

    // Management: wrong codes are 400 there.
    let bearer = |p: &'static str, body: Value| {
        let access = access.clone();
        let app = &app;
        async move { bearer_post(app, p, &access, Some(body)).await }
    };
    bearer("/auth/mfa/backup-codes/regenerate", json!({"code": codes[0]}))
        .await
        .assert_error(400, "invalid_mfa_code");
    app.clock.advance(Duration::seconds(30));
    let regen = bearer(
        "/auth/mfa/backup-codes/regenerate",
        json!({"code": totp(&app, &secret, 0)}),
    )
    .await;
    assert_eq!(regen.status.as_u16(), 200, "{}", regen.text);
    let fresh: Vec<String> = serde_json::from_value(regen.body).unwrap();
    bearer("/auth/mfa/disable", json!({"code": "nope-nope"}))
        .await
        .assert_error(400, "invalid_mfa_code");
    let disabled = bearer("/auth/mfa/disable", json!({"code": fresh[0]})).await;
    assert_eq!(disabled.status.as_u16(), 204, "{}", disabled.text);
    app.me(&access).await.assert_error(401, "token_version_mismatch");
    let r = login(&app).await;
    assert!(r.body["tokens"]["access_token"].is_string(), "{}", r.text);
    let (access, _) = tokens(&r.body);
    bearer_post(&app, "/auth/mfa/disable", &access, Some(json!({"code": "123456"})))
        .await
        .assert_error(400, "mfa_not_enabled");
    let status = app
        .get("/auth/mfa/status", &[("authorization", &format!("Bearer {access}"))])
        .await;
    assert_eq!(status.body, json!({"enabled": false, "backup_codes_remaining": 0}));
}

async fn magic_link_and_otp_answer_the_challenge(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, secret, _) = enrol(&app).await;
    let link = app.auth.create_magic_link_token(EMAIL).await.unwrap().unwrap();
    let r = app.post("/auth/magic-link/verify", json!({"token": link})).await;
    let mfa_token = assert_challenge(&r);
    let ok = app
        .post(
            "/auth/mfa/verify",
            json!({"mfa_token": mfa_token, "code": totp(&app, &secret, 0)}),
        )
        .await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.text);
    app.post("/auth/magic-link/verify", json!({"token": link}))
        .await
        .assert_error(400, "invalid_magic_link");

    app.clock.advance(Duration::seconds(30));
    let otp = app.auth.create_email_otp(EMAIL).await.unwrap().unwrap();
    let r = app.post("/auth/otp/verify", json!({"email": EMAIL, "code": otp})).await;
    let mfa_token = assert_challenge(&r);
    let ok = app
        .post(
            "/auth/mfa/verify",
            json!({"mfa_token": mfa_token, "code": totp(&app, &secret, 0)}),
        )
        .await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.text);
}

async fn cookie_mode_sets_cookies_only_on_completion(backend: Backend) {
    let app = TestApp::with_config(backend, |c| c.cookie.enabled = true).await;
    let (_, secret, _) = enrol(&app).await;
    let mfa_token = assert_challenge(&login(&app).await);
    let ok = app
        .post(
            "/auth/mfa/verify",
            json!({"mfa_token": mfa_token, "code": totp(&app, &secret, 0)}),
        )
        .await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.text);
    let cookies = ok.set_cookies();
    assert!(cookies.iter().any(|c| c.starts_with("access_token=")), "{cookies:?}");
    assert!(cookies.iter().any(|c| c.starts_with("refresh_token=")), "{cookies:?}");
}

async fn bad_input_is_a_4xx_never_a_5xx(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (refresh, secret, _) = enrol(&app).await;
    let mfa_token = assert_challenge(&login(&app).await);
    let other = app.signup("other@example.com").await;
    let (other_access, _) = tokens(&other);
    for body in [
        json!({}),
        json!({"mfa_token": mfa_token}),
        json!({"mfa_token": 5, "code": "123456"}),
        json!({"mfa_token": mfa_token, "code": 123456}),
        json!([1]),
    ] {
        let r = app.post("/auth/mfa/verify", body.clone()).await;
        assert_eq!(r.status.as_u16(), 422, "{body}: {}", r.text);
    }
    for token in [refresh.as_str(), other_access.as_str(), "garbage", "a.b.c", ""] {
        app.post(
            "/auth/mfa/verify",
            json!({"mfa_token": token, "code": totp(&app, &secret, 0)}),
        )
        .await
        .assert_error(401, "invalid_mfa_token");
    }
    let huge = "9".repeat(30_000);
    app.post("/auth/mfa/verify", json!({"mfa_token": mfa_token, "code": huge}))
        .await
        .assert_error(401, "invalid_mfa_code");
    app.post(
        "/auth/mfa/verify",
        json!({"mfa_token": mfa_token, "code": "💥\u{0000}"}),
    )
    .await
    .assert_error(401, "invalid_mfa_code");
    // Management routes need an access token, and a body with a string code.
    call(&app, "POST", "/auth/mfa/init", None, None)
        .await
        .assert_error(401, "token_missing");
    call(&app, "POST", "/auth/mfa/init", Some(&mfa_token), None)
        .await
        .assert_error(401, "token_invalid");
    let r = bearer_post(&app, "/auth/mfa/confirm", &other_access, Some(json!({"code": 5}))).await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.text);
    bearer_post(
        &app,
        "/auth/mfa/confirm",
        &other_access,
        Some(json!({"code": "123456"})),
    )
    .await
    .assert_error(400, "mfa_not_initiated");
    bearer_post(
        &app,
        "/auth/mfa/backup-codes/regenerate",
        &other_access,
        Some(json!({"code": "123456"})),
    )
    .await
    .assert_error(400, "mfa_not_enabled");
}

async fn lockout_answers_429_without_retry_after(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, secret, _) = enrol(&app).await;
    let mfa_token = assert_challenge(&login(&app).await);
    for _ in 0..5 {
        app.post(
            "/auth/mfa/verify",
            json!({"mfa_token": mfa_token, "code": "zzzzz-zzzzz"}),
        )
        .await
        .assert_error(401, "invalid_mfa_code");
    }
    let fresh = assert_challenge(&login(&app).await);
    let r = app
        .post(
            "/auth/mfa/verify",
            json!({"mfa_token": fresh, "code": totp(&app, &secret, 0)}),
        )
        .await;
    r.assert_error(429, "mfa_locked");
    assert_eq!(
        r.body["detail"]["message"],
        "Too many failed attempts. Try again later."
    );
    assert!(r.headers.get("retry-after").is_none());
    app.clock.advance(Duration::seconds(901));
    let fresh = assert_challenge(&login(&app).await);
    let ok = app
        .post(
            "/auth/mfa/verify",
            json!({"mfa_token": fresh, "code": totp(&app, &secret, 0)}),
        )
        .await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.text);
}

async fn admins_disable_mfa(backend: Backend) {
    let app = keyed(backend).await;
    let (_, _, _) = enrol(&app).await;
    let id = app.auth.store().user_by_email(EMAIL).await.unwrap().unwrap().id;
    let r = admin(&app, "POST", &format!("/admin/users/{id}/mfa/disable"), None).await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    admin(&app, "POST", &format!("/admin/users/{id}/mfa/disable"), None)
        .await
        .assert_error(400, "mfa_not_enabled");
    admin(
        &app,
        "POST",
        &format!("/admin/users/{}/mfa/disable", uuid::Uuid::new_v4()),
        None,
    )
    .await
    .assert_error(404, "user_not_found");
    assert!(login(&app).await.body["tokens"].is_object());
}

on_both_backends!(
    enrol_login_verify_status_disable,
    magic_link_and_otp_answer_the_challenge,
    cookie_mode_sets_cookies_only_on_completion,
    bad_input_is_a_4xx_never_a_5xx,
    lockout_answers_429_without_retry_after,
    admins_disable_mfa,
);
