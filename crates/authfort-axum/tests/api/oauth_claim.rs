//! security.md §2.12.3 over HTTP: the first proof of an address (magic link, email code)
//! unlinks the provider identities attached while the account was unverified, so whoever
//! registered the address through his own provider account loses that way in. On SQLite and
//! PostgreSQL, against the real OIDC test provider.

use std::sync::{Arc, Mutex};

use authfort_core::events::{Event, EventKind, UnverifiedAccountClaimed};
use authfort_core::oauth::GenericProviderConfig;
use authfort_core::Secret;
use authfort_test_support::oidc::{self, Account, APP_URL};
use authfort_test_support::{on_both_backends, Backend};
use axum::http::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{tokens, TestApp, TestResponse};
use crate::oauth_browser::Browser;

async fn app(backend: Backend) -> TestApp {
    TestApp::with_config(backend, |c| {
        c.public_url = Some(APP_URL.into());
        c.oauth.providers.insert(
            "acme".into(),
            GenericProviderConfig {
                client_id: oidc::CLIENT_ID.into(),
                client_secret: Some(Secret::new(oidc::CLIENT_SECRET)),
                discovery_url: Some(oidc::provider().discovery_url()),
                ..GenericProviderConfig::default()
            },
        );
    })
    .await
}

fn record_claims(app: &TestApp) -> Arc<Mutex<Vec<UnverifiedAccountClaimed>>> {
    let seen: Arc<Mutex<Vec<UnverifiedAccountClaimed>>> = Arc::default();
    let sink = seen.clone();
    app.auth.on(EventKind::UnverifiedAccountClaimed, move |e: Event| {
        let sink = sink.clone();
        async move {
            if let Event::UnverifiedAccountClaimed(e) = e {
                sink.lock().unwrap().push(e);
            }
        }
    });
    seen
}

/// The attacker's move: his own provider account, claiming the victim's address without
/// verifying it, creates an unverified account with his identity linked.
async fn attacker_links(app: &TestApp, email: &str) -> (Account, TestResponse) {
    let attacker = Account::new(email, false);
    let r = Browser::new(app).sign_in("acme", "", &attacker).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user"]["email_verified"], false);
    (attacker, r)
}

/// After the owner's proof: the link, the attacker's session and his way back in are gone.
async fn assert_attacker_is_out(app: &TestApp, attacker: &Account, his: &TestResponse, user_id: Uuid) {
    assert_eq!(app.auth.get_provider_tokens(user_id, "acme").await.unwrap(), None);
    let (access, refresh) = tokens(&his.body);
    let r = app.post("/auth/refresh", json!({ "refresh_token": refresh })).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(app.me(&access).await.status, StatusCode::UNAUTHORIZED);
    // Signing in with the same provider identity no longer reaches the account: it is not
    // linked, and an unverified provider email is never linked to an existing account.
    let again = Browser::new(app).sign_in("acme", "", attacker).await;
    again.assert_error(400, "oauth_email_not_verified");
    assert_eq!(app.auth.get_provider_tokens(user_id, "acme").await.unwrap(), None);
}

async fn magic_link_proof_unlinks_identities_linked_while_unverified(backend: Backend) {
    // Arrange: the attacker's identity is linked to an unverified account for the address.
    let app = app(backend).await;
    let (attacker, his) = attacker_links(&app, "owner@example.com").await;
    let user_id: Uuid = his.body["user"]["id"].as_str().unwrap().parse().unwrap();
    assert!(app.auth.get_provider_tokens(user_id, "acme").await.unwrap().is_some());
    let claims = record_claims(&app);

    // Act: the real owner signs in with a link mailed to the address.
    let token = app
        .auth
        .create_magic_link_token("owner@example.com")
        .await
        .unwrap()
        .expect("a link for an existing account");
    let r = app.post("/auth/magic-link/verify", json!({ "token": token })).await;

    // Assert: the owner is in, verified, and the event says what was taken away.
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user"]["id"], his.body["user"]["id"]);
    assert_eq!(r.body["user"]["email_verified"], true);
    app.auth.flush_events().await;
    let claims = claims.lock().unwrap().clone();
    assert_eq!(claims.len(), 1, "{claims:?}");
    assert_eq!(claims[0].user_id, user_id);
    assert_eq!(claims[0].identities_unlinked, vec!["acme".to_owned()]);
    assert_eq!(claims[0].sessions_revoked, 1);
    assert!(!claims[0].password_cleared);
    assert_attacker_is_out(&app, &attacker, &his, user_id).await;
    // The owner's own session is untouched by all this.
    let (access, _) = tokens(&r.body);
    assert_eq!(app.me(&access).await.status, StatusCode::OK);
}

async fn email_code_proof_unlinks_identities_linked_while_unverified(backend: Backend) {
    // Arrange
    let app = app(backend).await;
    let (attacker, his) = attacker_links(&app, "coded@example.com").await;
    let user_id: Uuid = his.body["user"]["id"].as_str().unwrap().parse().unwrap();
    let claims = record_claims(&app);

    // Act: the owner signs in with the code mailed to the address.
    let code = app
        .auth
        .create_email_otp("coded@example.com")
        .await
        .unwrap()
        .expect("a code for an existing account");
    let r = app
        .post(
            "/auth/otp/verify",
            json!({ "email": "coded@example.com", "code": code }),
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user"]["email_verified"], true);
    app.auth.flush_events().await;
    assert_eq!(claims.lock().unwrap()[0].identities_unlinked, vec!["acme".to_owned()]);
    assert_attacker_is_out(&app, &attacker, &his, user_id).await;
}

async fn a_verified_accounts_identities_survive_a_magic_link(backend: Backend) {
    // Arrange: a provider that verified the address creates a verified account.
    let app = app(backend).await;
    let mine = Account::new("verified@example.com", true);
    let r = Browser::new(&app).sign_in("acme", "", &mine).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let user_id: Uuid = r.body["user"]["id"].as_str().unwrap().parse().unwrap();
    let claims = record_claims(&app);

    // Act
    let token = app
        .auth
        .create_magic_link_token("verified@example.com")
        .await
        .unwrap()
        .unwrap();
    let link = app.post("/auth/magic-link/verify", json!({ "token": token })).await;

    // Assert: nothing to claim; the identity and its session stay.
    assert_eq!(link.status, StatusCode::OK, "{}", link.text);
    app.auth.flush_events().await;
    assert!(claims.lock().unwrap().is_empty());
    assert!(app.auth.get_provider_tokens(user_id, "acme").await.unwrap().is_some());
    let (access, _) = tokens(&r.body);
    assert_eq!(app.me(&access).await.status, StatusCode::OK);
    let again = Browser::new(&app).sign_in("acme", "", &mine).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["user"]["id"], r.body["user"]["id"]);
}

on_both_backends!(
    magic_link_proof_unlinks_identities_linked_while_unverified,
    email_code_proof_unlinks_identities_linked_while_unverified,
    a_verified_accounts_identities_survive_a_magic_link,
);
