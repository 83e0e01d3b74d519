//! Google's built-in provider end to end (authorize → token → userinfo) against a loopback
//! stand-in following Google's documented shapes, with its endpoints overridden by config;
//! and the `oauth_authorize` rate limit (10/min by IP, behavior.md §1.3). SQLite and PostgreSQL.

use authfort_core::clock::Clock;
use authfort_core::oauth::BuiltinProviderConfig;
use authfort_core::{AuthConfig, Secret};
use authfort_test_support::google::{self, GoogleStandIn, GoogleUser};
use authfort_test_support::oidc::APP_URL;
use authfort_test_support::{on_both_backends, Backend};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use std::net::SocketAddr;

use crate::helpers::{TestApp, TestResponse};
use crate::oauth_browser::Browser;

fn google_config(s: &GoogleStandIn) -> BuiltinProviderConfig {
    BuiltinProviderConfig {
        client_id: Some(google::CLIENT_ID.into()),
        client_secret: Some(Secret::new(google::CLIENT_SECRET)),
        authorize_url: Some(format!("{}/o/oauth2/v2/auth", s.base)),
        token_url: Some(format!("{}/token", s.base)),
        userinfo_url: Some(format!("{}/oauth2/v2/userinfo", s.base)),
        ..BuiltinProviderConfig::default()
    }
}

async fn app_with(backend: Backend, s: &GoogleStandIn, tweak: impl FnOnce(&mut AuthConfig)) -> TestApp {
    let g = google_config(s);
    TestApp::with_config(backend, |c: &mut AuthConfig| {
        c.public_url = Some(APP_URL.into());
        c.oauth.google = g;
        tweak(c);
    })
    .await
}

fn account(id: &str, email: &str, verified: bool) -> GoogleUser {
    GoogleUser {
        id: id.into(),
        email: email.into(),
        verified_email: verified,
        name: Some("Grace Hopper".into()),
        picture: Some(format!("https://lh3.googleusercontent.com/a/{id}")),
    }
}

async fn sign_in(app: &TestApp) -> TestResponse {
    let mut browser = Browser::new(app);
    let url = browser.start("google", "").await;
    let hop = browser.get(&url).await;
    assert_eq!(hop.status, 302, "{}", hop.body);
    browser.callback(&hop.location.unwrap()).await
}

async fn google_token_and_userinfo_sign_a_user_in(backend: Backend) {
    // Arrange
    let s = GoogleStandIn::start().await;
    let app = app_with(backend, &s, |_| {}).await;
    s.login_as(account("108234567890123456789", "Grace@Example.com", true));

    // Act
    let r = sign_in(&app).await;

    // Assert: the user comes from the userinfo answer (verified_email → email_verified).
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user"]["email"], "grace@example.com");
    assert_eq!(r.body["user"]["email_verified"], true);
    assert_eq!(r.body["user"]["name"], "Grace Hopper");
    assert_eq!(
        r.body["user"]["avatar_url"],
        "https://lh3.googleusercontent.com/a/108234567890123456789"
    );
    // The authorization request asked for offline access with consent, and PKCE S256.
    let auth = &s.authorize_requests()[0];
    assert_eq!(auth["access_type"], "offline");
    assert_eq!(auth["prompt"], "consent");
    assert_eq!(auth["scope"], "openid email profile");
    // The token request: authorization_code grant, client in the body, the verifier, the callback.
    let req = &s.token_requests()[0];
    assert_eq!(req["grant_type"], "authorization_code");
    assert_eq!(req["client_id"], google::CLIENT_ID);
    assert!(req.get("code_verifier").is_some_and(|v| v.len() >= 43));
    assert_eq!(req["redirect_uri"], format!("{APP_URL}/auth/oauth/google/callback"));
    // Google's access and refresh tokens are stored on the link.
    let id: uuid::Uuid = r.body["user"]["id"].as_str().unwrap().parse().unwrap();
    let stored = app.auth.get_provider_tokens(id, "google").await.unwrap().unwrap();
    assert!(stored.access_token.unwrap().starts_with("ya29."));
    assert!(stored.refresh_token.unwrap().starts_with("1//0g"));

    // The same Google id again is the same user, whatever the email now says.
    s.login_as(account("108234567890123456789", "other@example.com", true));
    let again = sign_in(&app).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["user"]["id"], r.body["user"]["id"]);
}

async fn google_unverified_email_is_not_linked_and_a_missing_one_is_refused(backend: Backend) {
    let s = GoogleStandIn::start().await;
    let app = app_with(backend, &s, |_| {}).await;
    app.signup("taken@example.com").await;
    // verified_email false: no link to the existing account.
    s.login_as(account("1001", "taken@example.com", false));
    sign_in(&app).await.assert_error(400, "oauth_email_not_verified");
    // A userinfo answer without an email.
    s.login_as(account("1002", "", true));
    let r = sign_in(&app).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.body["detail"]["error"].is_string(), "{}", r.text);
}

async fn authorize_from(app: &TestApp, ip: &str) -> TestResponse {
    let req = Request::builder()
        .method(Method::GET)
        .uri("/auth/oauth/google/authorize")
        .extension(ConnectInfo(SocketAddr::new(ip.parse().unwrap(), 40_000)))
        .body(Body::empty())
        .unwrap();
    app.send(req).await
}

async fn authorize_is_limited_to_ten_a_minute_per_ip(backend: Backend) {
    // Arrange: limits on, the default oauth_authorize = "10/min".
    let s = GoogleStandIn::start().await;
    let app = app_with(backend, &s, |c| c.rate_limit.enabled = true).await;
    assert_eq!(app.auth.config().rate_limit.oauth_authorize.as_deref(), Some("10/min"));
    let start = app.clock.now();

    // Act + assert: ten starts pass, the eleventh is refused with the exact 429.
    for _ in 0..10 {
        assert_eq!(authorize_from(&app, "203.0.113.7").await.status, StatusCode::FOUND);
    }
    let r = authorize_from(&app, "203.0.113.7").await;
    r.assert_error(429, "rate_limit_exceeded");
    assert_eq!(r.headers["retry-after"], "61");
    assert!(r.headers.get("location").is_none());
    // Further starts from that IP stay refused; another IP is not affected.
    authorize_from(&app, "203.0.113.7")
        .await
        .assert_error(429, "rate_limit_exceeded");
    assert_eq!(authorize_from(&app, "203.0.113.8").await.status, StatusCode::FOUND);
    // The callback is not limited (behavior.md §1.3: unlimited endpoints).
    let cb = app.get("/auth/oauth/google/callback?code=x&state=y", &[]).await;
    assert_ne!(cb.status, StatusCode::TOO_MANY_REQUESTS, "{}", cb.text);
    // A minute later the IP may start again.
    app.clock.set(start + time::Duration::seconds(61));
    assert_eq!(authorize_from(&app, "203.0.113.7").await.status, StatusCode::FOUND);
}

on_both_backends!(
    google_token_and_userinfo_sign_a_user_in,
    google_unverified_email_is_not_linked_and_a_missing_one_is_refused,
    authorize_is_limited_to_ten_a_minute_per_ip,
);
