//! GitHub's non-OIDC flow against a stand-in following GitHub's documented API shapes, a
//! generic OAuth 2.0 provider on the same stand-in, and Google's authorization request.

use authfort_core::oauth::{BuiltinProviderConfig, GenericProviderConfig};
use authfort_core::{AuthConfig, Secret};
use authfort_test_support::github::{self, GitHubStandIn, GitHubUser};
use authfort_test_support::oidc::APP_URL;
use authfort_test_support::{on_both_backends, Backend};
use axum::http::StatusCode;

use crate::helpers::{TestApp, TestResponse};
use crate::oauth_browser::Browser;

fn github_config(s: &GitHubStandIn) -> BuiltinProviderConfig {
    BuiltinProviderConfig {
        client_id: Some(github::CLIENT_ID.into()),
        client_secret: Some(Secret::new(github::CLIENT_SECRET)),
        authorize_url: Some(format!("{}/login/oauth/authorize", s.base)),
        token_url: Some(format!("{}/login/oauth/access_token", s.base)),
        userinfo_url: Some(format!("{}/user", s.base)),
        emails_url: Some(format!("{}/user/emails", s.base)),
        ..BuiltinProviderConfig::default()
    }
}

async fn app_with(backend: Backend, s: &GitHubStandIn) -> TestApp {
    let gh = github_config(s);
    let plain = GenericProviderConfig {
        client_id: github::CLIENT_ID.into(),
        client_secret: Some(Secret::new(github::CLIENT_SECRET)),
        authorize_url: gh.authorize_url.clone(),
        token_url: gh.token_url.clone(),
        userinfo_url: gh.userinfo_url.clone(),
        scopes: vec!["read:user".into()],
        ..GenericProviderConfig::default()
    };
    TestApp::with_config(backend, |c: &mut AuthConfig| {
        c.public_url = Some(APP_URL.into());
        c.oauth.github = gh;
        c.oauth.providers.insert("plain".into(), plain);
        c.oauth.google = BuiltinProviderConfig {
            client_id: Some("google-client".into()),
            ..BuiltinProviderConfig::default()
        };
    })
    .await
}

fn user(id: u64, public: Option<&str>, emails: &[(&str, bool, bool)]) -> GitHubUser {
    GitHubUser {
        id,
        login: format!("octo{id}"),
        name: None,
        email: public.map(str::to_owned),
        emails: emails.iter().map(|(e, p, v)| ((*e).to_owned(), *p, *v)).collect(),
        emails_status: 200,
    }
}

async fn sign_in(app: &TestApp, provider: &str) -> TestResponse {
    let mut browser = Browser::new(app);
    let url = browser.start(provider, "").await;
    assert!(!url.contains("code_verifier"), "{url}");
    let hop = browser.get(&url).await;
    assert_eq!(hop.status, 302, "{}", hop.body);
    browser.callback(&hop.location.unwrap()).await
}

async fn github_new_user_gets_the_primary_verified_email(backend: Backend) {
    let s = GitHubStandIn::start().await;
    let app = app_with(backend, &s).await;
    s.login_as(user(
        101,
        None,
        &[
            ("old@example.com", false, true),
            ("Main@Example.com", true, true),
            ("x@example.com", false, false),
        ],
    ));
    let r = sign_in(&app, "github").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user"]["email"], "main@example.com");
    assert_eq!(r.body["user"]["email_verified"], true);
    assert_eq!(r.body["user"]["name"], "octo101");
    assert_eq!(r.body["user"]["avatar_url"], "https://avatars.example/u/101");
    // The token request carried the PKCE verifier and the exact callback URL.
    let req = &s.token_requests()[0];
    assert!(req.get("code_verifier").is_some_and(|v| v.len() >= 43));
    assert_eq!(req["redirect_uri"], format!("{APP_URL}/auth/oauth/github/callback"));
    let id: uuid::Uuid = r.body["user"]["id"].as_str().unwrap().parse().unwrap();
    let stored = app.auth.get_provider_tokens(id, "github").await.unwrap().unwrap();
    assert!(stored.access_token.unwrap().starts_with("gho_"));

    // Same GitHub id again: same user.
    s.login_as(user(101, None, &[("main@example.com", true, true)]));
    let again = sign_in(&app, "github").await;
    assert_eq!(again.body["user"]["id"], r.body["user"]["id"]);
}

async fn github_public_email_counts_as_verified_only_when_the_emails_api_says_so(backend: Backend) {
    let s = GitHubStandIn::start().await;
    let app = app_with(backend, &s).await;
    app.signup("taken@example.com").await;
    // Public email that /user/emails does not show verified: no link to the existing account.
    s.login_as(user(
        202,
        Some("taken@example.com"),
        &[("taken@example.com", true, false)],
    ));
    sign_in(&app, "github")
        .await
        .assert_error(400, "oauth_email_not_verified");
    // /user/emails failing is tolerated: the public email is then unverified.
    let mut u = user(203, Some("taken@example.com"), &[]);
    u.emails_status = 403;
    s.login_as(u);
    sign_in(&app, "github")
        .await
        .assert_error(400, "oauth_email_not_verified");
    // Verified there: linked.
    s.login_as(user(
        204,
        Some("taken@example.com"),
        &[("taken@example.com", true, true)],
    ));
    let r = sign_in(&app, "github").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // No email at all.
    s.login_as(user(205, None, &[]));
    sign_in(&app, "github").await.assert_error(400, "oauth_no_email");
}

async fn generic_oauth2_provider_maps_fields_and_treats_missing_verification_as_unverified(backend: Backend) {
    let s = GitHubStandIn::start().await;
    let app = app_with(backend, &s).await;
    s.login_as(user(301, Some("plain@example.com"), &[]));
    let r = sign_in(&app, "plain").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user"]["email"], "plain@example.com");
    assert_eq!(r.body["user"]["email_verified"], false);
    let req = &s.token_requests()[0];
    assert_eq!(req["grant_type"], "authorization_code");
}

async fn google_authorization_request_has_its_scopes_and_offline_access(backend: Backend) {
    let s = GitHubStandIn::start().await;
    let app = app_with(backend, &s).await;
    let r = app.get("/auth/oauth/google/authorize?redirect_to=/x", &[]).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text);
    let location = r.headers["location"].to_str().unwrap();
    assert!(
        location.starts_with("https://accounts.google.com/o/oauth2/v2/auth?"),
        "{location}"
    );
    for part in [
        "client_id=google-client",
        "response_type=code",
        "access_type=offline",
        "prompt=consent",
        "code_challenge_method=S256",
        "scope=openid+email+profile",
        "redirect_uri=http%3A%2F%2Fauth.test%2Fauth%2Foauth%2Fgoogle%2Fcallback",
    ] {
        assert!(location.contains(part), "{part} missing from {location}");
    }
}

on_both_backends!(
    github_new_user_gets_the_primary_verified_email,
    github_public_email_counts_as_verified_only_when_the_emails_api_says_so,
    generic_oauth2_provider_maps_fields_and_treats_missing_verification_as_unverified,
    google_authorization_request_has_its_scopes_and_offline_access,
);
