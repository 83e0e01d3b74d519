//! OAuth through the real binary: a generic OpenID Connect provider configured only by
//! `AUTHFORT_OAUTH__PROVIDERS__<NAME>__*` variables, against `oidc-provider` on loopback.

use authfort_test_support::oidc::{self, Account, APP_URL};
use authfort_test_support::TempDir;
use serde_json::Value;

use crate::helpers::{verify_with_jwks, TestServer};

fn absolute(base: &str, location: &str) -> String {
    if location.starts_with('/') {
        format!("{base}{location}")
    } else {
        location.to_owned()
    }
}

#[tokio::test]
async fn a_generic_oidc_provider_configured_only_by_environment_signs_users_in() {
    // Arrange: the provider knows the callback under APP_URL, which is our public_url.
    let provider = oidc::provider();
    let discovery = provider.discovery_url();
    let dir = TempDir::new();
    let server = TestServer::start(
        &dir.0,
        &[
            ("AUTHFORT_PUBLIC_URL", APP_URL),
            ("AUTHFORT_OAUTH__PROVIDERS__ACME__DISCOVERY_URL", discovery.as_str()),
            ("AUTHFORT_OAUTH__PROVIDERS__ACME__CLIENT_ID", oidc::CLIENT_ID),
            ("AUTHFORT_OAUTH__PROVIDERS__ACME__CLIENT_SECRET", oidc::CLIENT_SECRET),
        ],
    )
    .await;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let location = |r: &reqwest::Response| r.headers()["location"].to_str().unwrap().to_owned();

    // Act: authorize → log in at the provider → callback.
    let r = browser
        .get(server.url("/auth/oauth/acme/authorize"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302, "{}", server.process.output());
    let to_provider = location(&r);
    assert!(to_provider.starts_with(&provider.issuer), "{to_provider}");
    assert!(to_provider.contains("redirect_uri=http%3A%2F%2Fauth.test%2Fauth%2Foauth%2Facme%2Fcallback"));
    let r = browser.get(&to_provider).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let interaction = absolute(&provider.issuer, &location(&r));
    let account = Account::new("env.user@example.com", true);
    let r = browser
        .get(format!("{interaction}/login?{}", account.login_query()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = browser
        .get(absolute(&provider.issuer, &location(&r)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let callback = location(&r).replacen(APP_URL, &server.base_url, 1);
    let r = browser.get(&callback).send().await.unwrap();

    // Assert: a verified user with an access token our JWKS verifies, amr ["oauth"].
    assert_eq!(r.status(), 200, "{}", server.process.output());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user"]["email"], "env.user@example.com");
    assert_eq!(body["user"]["email_verified"], true);
    let claims = verify_with_jwks(body["tokens"]["access_token"].as_str().unwrap(), &server.jwks().await);
    assert_eq!(claims["amr"], serde_json::json!(["oauth"]));

    // Replaying the callback is refused.
    let r = browser.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["detail"]["error"], "oauth_state_invalid");
}
