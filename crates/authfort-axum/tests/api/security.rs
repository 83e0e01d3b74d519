//! Cross-cutting properties: CORS, the bounded hashing pool, and no secret in logs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use authfort_core::config::PasswordHashingConfig;
use authfort_test_support::{on_both_backends, Backend};
use axum::body::Body;
use axum::http::Request;
use serde_json::json;

use crate::helpers::{tokens, TestApp};

async fn cors_allows_only_configured_origins_with_credentials(backend: Backend) {
    let app = TestApp::with_config(backend, |c| {
        c.cors.allowed_origins = vec!["https://app.example.test".into()]
    })
    .await;
    let preflight = |origin: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/auth/login")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .body(Body::empty())
            .unwrap()
    };
    let ok = app.send(preflight("https://app.example.test")).await;
    assert_eq!(ok.headers["access-control-allow-origin"], "https://app.example.test");
    assert_eq!(ok.headers["access-control-allow-credentials"], "true");
    let evil = app.send(preflight("https://evil.test")).await;
    assert!(evil.headers.get("access-control-allow-origin").is_none());
    let r = app
        .post_with(
            "/auth/login",
            json!({"email": "x@example.com", "password": "whatever!"}),
            &[("origin", "https://app.example.test")],
        )
        .await;
    assert_eq!(r.headers["access-control-allow-origin"], "https://app.example.test");
}

async fn a_login_burst_does_not_starve_other_requests(backend: Backend) {
    // Real argon2id cost, one hash at a time.
    let app = Arc::new(
        TestApp::with_config(backend, |c| {
            c.password_hashing = PasswordHashingConfig {
                max_concurrent: 1,
                ..PasswordHashingConfig::default()
            }
        })
        .await,
    );
    let (access, _) = tokens(&app.signup("burst@example.com").await);
    let mut burst = Vec::new();
    for _ in 0..6 {
        let app = app.clone();
        burst.push(tokio::spawn(async move {
            app.post(
                "/auth/login",
                json!({"email": "burst@example.com", "password": "correct horse battery"}),
            )
            .await
            .status
            .as_u16()
        }));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut worst = Duration::ZERO;
    for _ in 0..5 {
        let t = Instant::now();
        assert_eq!(app.me(&access).await.status.as_u16(), 200);
        assert_eq!(app.get("/healthz", &[]).await.status.as_u16(), 200);
        worst = worst.max(t.elapsed());
    }
    for b in burst {
        assert_eq!(b.await.unwrap(), 200);
    }
    assert!(worst < Duration::from_millis(500), "other requests waited {worst:?}");
}

on_both_backends!(
    cors_allows_only_configured_origins_with_credentials,
    a_login_burst_does_not_starve_other_requests,
);

async fn no_secret_reaches_the_logs(backend: Backend) {
    let (captured, _guard) = crate::helpers::capture_logs();

    let app = TestApp::with_config(backend, |c| {
        c.public_url = Some("https://auth.example.test".into());
        c.cookie.enabled = true;
    })
    .await;
    let password = "Sup3r-secret-passphrase";
    let signup = app
        .post(
            "/auth/signup",
            json!({"email": "logs@example.com", "password": password}),
        )
        .await;
    let (access, refresh) = tokens(&signup.body);
    let user_id = signup.body["user"]["id"].as_str().unwrap().parse().unwrap();
    let verify_token = app
        .auth
        .create_email_verification_token(user_id)
        .await
        .unwrap()
        .unwrap();
    app.post("/auth/verify-email", json!({ "token": verify_token })).await;
    let rotated = app.post("/auth/refresh", json!({"refresh_token": refresh})).await;
    let (_, refresh2) = tokens(&rotated.body);
    app.post("/auth/refresh", json!({"refresh_token": refresh})).await; // reuse: logged as a warning
    app.post(
        "/auth/login",
        json!({"email": "logs@example.com", "password": "wrong-but-secret-pw"}),
    )
    .await;
    let token = app
        .auth
        .create_magic_link_token("logs@example.com")
        .await
        .unwrap()
        .unwrap();
    let signed_in = app.post("/auth/magic-link/verify", json!({ "token": token })).await;
    app.post("/auth/magic-link/verify", json!({ "token": token })).await;
    // Email verification, sign-in codes, password reset, change and set.
    let otp = app.auth.create_email_otp("logs@example.com").await.unwrap().unwrap();
    let wrong_otp = format!("{:06}", (otp.parse::<u32>().unwrap() + 1) % 1_000_000);
    app.post(
        "/auth/otp/verify",
        json!({"email": "logs@example.com", "code": wrong_otp}),
    )
    .await;
    let by_code = app
        .post("/auth/otp/verify", json!({"email": "logs@example.com", "code": otp}))
        .await;
    let reset_token = app
        .auth
        .create_password_reset_token("logs@example.com")
        .await
        .unwrap()
        .unwrap();
    let reset_password = "Reset-secret-passphrase";
    app.post(
        "/auth/password/reset",
        json!({"token": reset_token, "new_password": "short"}),
    )
    .await;
    app.post(
        "/auth/password/reset",
        json!({"token": reset_token, "new_password": reset_password}),
    )
    .await;
    let relogin = app
        .post(
            "/auth/login",
            json!({"email": "logs@example.com", "password": reset_password}),
        )
        .await;
    let changed_password = "Changed-secret-passphrase";
    app.post_with(
        "/auth/password/change",
        json!({"old_password": reset_password, "new_password": changed_password}),
        &[("authorization", &format!("Bearer {}", tokens(&relogin.body).0))],
    )
    .await;
    app.auth.flush_events().await;

    let logs = captured.text();
    assert!(
        logs.contains("reuse detected"),
        "the subscriber captured the flows' logs"
    );
    let signature = access.rsplit('.').next().unwrap();
    for secret in [
        password,
        "wrong-but-secret-pw",
        signature,
        refresh.as_str(),
        refresh2.as_str(),
        token.as_str(),
        tokens(&signed_in.body).1.as_str(),
        verify_token.as_str(),
        tokens(&by_code.body).1.as_str(),
        reset_token.as_str(),
        reset_password,
        changed_password,
    ] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
    // Six digits can occur by chance (a timestamp's microseconds): look for the codes as
    // standalone numbers only.
    for code in [&otp, &wrong_otp] {
        let standalone = logs.match_indices(code.as_str()).any(|(i, _)| {
            let before = logs[..i].chars().next_back();
            let after = logs[i + code.len()..].chars().next();
            !before.is_some_and(|c| c.is_ascii_digit() || c == '.') && !after.is_some_and(|c| c.is_ascii_digit())
        });
        assert!(!standalone, "an email code reached the logs");
    }
}

#[tokio::test]
async fn no_secret_reaches_the_logs_sqlite() {
    no_secret_reaches_the_logs(Backend::Sqlite).await;
}

#[tokio::test]
async fn no_secret_reaches_the_logs_postgres() {
    if authfort_test_support::skip_postgres() {
        return;
    }
    no_secret_reaches_the_logs(Backend::Postgres).await;
}
