use std::sync::{Arc, Mutex};

use authfort_core::events::{Event, EventKind};
use authfort_core::AuthConfig;
use authfort_test_support::{on_both_backends, Backend};
use serde_json::{json, Value};

use crate::helpers::{tokens, TestApp, TestResponse};

const REQUESTED: &str = "If an account exists, a magic link has been sent.";

async fn app(backend: Backend, tweak: impl FnOnce(&mut AuthConfig)) -> TestApp {
    TestApp::with_config(backend, |c| {
        c.public_url = Some("https://auth.example.test".into());
        c.links.allowed_redirects = vec!["/dashboard".into(), "https://app.example.test".into()];
        tweak(c);
    })
    .await
}

/// (raw token, link) pairs seen by a `magic_link_requested` hook.
type Captured = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// Records raw tokens from `magic_link_requested`.
fn capture(app: &TestApp) -> Captured {
    let seen: Captured = Arc::default();
    let s = seen.clone();
    app.auth.on(EventKind::MagicLinkRequested, move |e| {
        let s = s.clone();
        async move {
            if let Event::MagicLinkRequested(e) = e {
                s.lock()
                    .unwrap()
                    .push((e.token.expose().to_owned(), e.link.map(|l| l.expose().to_owned())));
            }
        }
    });
    seen
}

async fn verify(app: &TestApp, token: &str) -> TestResponse {
    app.post("/auth/magic-link/verify", json!({ "token": token })).await
}

async fn request_answers_the_same_for_every_kind_of_address(backend: Backend) {
    let app = app(backend, |_| {}).await;
    let banned = app.signup("banned@example.com").await;
    app.auth
        .ban_user(banned["user"]["id"].as_str().unwrap().parse().unwrap())
        .await
        .unwrap();
    app.signup("known@example.com").await;
    let mut bodies = Vec::new();
    for email in ["known@example.com", "unknown@example.com", "banned@example.com"] {
        let r = app.post("/auth/magic-link", json!({ "email": email })).await;
        assert_eq!(r.status.as_u16(), 200);
        assert!(r.set_cookies().is_empty());
        bodies.push(r.text);
    }
    let expected = json!({ "message": REQUESTED }).to_string();
    assert!(bodies.iter().all(|b| *b == expected), "{bodies:?}");
    app.post("/auth/magic-link", json!({"email": "not-an-email"}))
        .await
        .assert_error(400, "invalid_email");
}

async fn link_signs_in_once_with_email_link_amr_and_verifies_the_address(backend: Backend) {
    let app = app(backend, |c| c.cookie.enabled = true).await;
    let seen = capture(&app);
    app.signup("ml@example.com").await;
    app.post("/auth/magic-link", json!({"email": "ML@example.com"})).await;
    app.auth.flush_events().await;
    let (token, link) = seen.lock().unwrap()[0].clone();
    assert_eq!(token.len(), 86);
    assert_eq!(
        link.unwrap(),
        format!("https://auth.example.test/auth/magic-link/confirm#token={token}")
    );
    let r = verify(&app, &token).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.body["user"]["email"], "ml@example.com");
    assert_eq!(r.body["user"]["email_verified"], true);
    assert_eq!(r.set_cookies().len(), 2, "cookie mode sets both cookies");
    let (access, _) = tokens(&r.body);
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            access.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["amr"], json!(["email_link"]));
    assert_eq!(app.me(&access).await.status.as_u16(), 200);
    // Single use.
    verify(&app, &token).await.assert_error(400, "invalid_magic_link");
}

async fn a_new_request_invalidates_earlier_links(backend: Backend) {
    let app = app(backend, |_| {}).await;
    app.signup("twice@example.com").await;
    let first = app
        .auth
        .create_magic_link_token("twice@example.com")
        .await
        .unwrap()
        .unwrap();
    let second = app
        .auth
        .create_magic_link_token("twice@example.com")
        .await
        .unwrap()
        .unwrap();
    verify(&app, &first).await.assert_error(400, "invalid_magic_link");
    assert_eq!(verify(&app, &second).await.status.as_u16(), 200);
}

async fn links_expire(backend: Backend) {
    let app = app(backend, |c| c.magic_link_ttl_seconds = 600).await;
    app.signup("late@example.com").await;
    let token = app
        .auth
        .create_magic_link_token("late@example.com")
        .await
        .unwrap()
        .unwrap();
    app.clock.advance(time::Duration::seconds(601));
    verify(&app, &token).await.assert_error(400, "invalid_magic_link");
}

async fn banned_and_unknown_users_get_no_link_and_cannot_verify(backend: Backend) {
    let app = app(backend, |_| {}).await;
    assert_eq!(
        app.auth.create_magic_link_token("nobody@example.com").await.unwrap(),
        None
    );
    let body = app.signup("soon-banned@example.com").await;
    let token = app
        .auth
        .create_magic_link_token("soon-banned@example.com")
        .await
        .unwrap()
        .unwrap();
    let id = body["user"]["id"].as_str().unwrap().parse().unwrap();
    app.auth.ban_user(id).await.unwrap();
    verify(&app, &token).await.assert_error(403, "user_banned");
    assert_eq!(
        app.auth
            .create_magic_link_token("soon-banned@example.com")
            .await
            .unwrap(),
        None
    );
    // A refused verify consumes nothing, but the new request for the banned address removed it.
    verify(&app, &token).await.assert_error(400, "invalid_magic_link");
}

async fn passwordless_signup_creates_the_account_at_verify_time(backend: Backend) {
    let app = app(backend, |c| c.allow_passwordless_signup = true).await;
    let events: Arc<Mutex<Vec<String>>> = Arc::default();
    for kind in [
        EventKind::UserCreated,
        EventKind::EmailVerified,
        EventKind::MagicLinkLogin,
        EventKind::Login,
    ] {
        let events = events.clone();
        app.auth.on(kind, move |e| {
            let events = events.clone();
            async move {
                let tag = match e {
                    Event::UserCreated(e) => format!("user_created:{}", e.provider),
                    Event::Login(e) => format!("login:{}", e.provider),
                    other => other.kind().as_str().to_owned(),
                };
                events.lock().unwrap().push(tag);
            }
        });
    }
    let token = app
        .auth
        .create_magic_link_token("new@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(
        app.auth
            .store()
            .user_by_email("new@example.com")
            .await
            .unwrap()
            .is_none(),
        "not created at request"
    );
    let r = verify(&app, &token).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.body["user"]["email_verified"], true);
    app.auth.flush_events().await;
    assert_eq!(
        *events.lock().unwrap(),
        [
            "user_created:magic_link",
            "email_verified",
            "magic_link_login",
            "login:magic_link"
        ]
    );
    // The account has no password.
    app.post(
        "/auth/login",
        json!({"email": "new@example.com", "password": "anything at all"}),
    )
    .await
    .assert_error(400, "no_password");
}

async fn first_proof_of_an_address_evicts_a_pre_registered_attacker(backend: Backend) {
    let app = app(backend, |_| {}).await;
    // The attacker registers the victim's address with a password (unverified).
    let attacker = app.signup("victim@example.com").await;
    let (attacker_access, attacker_refresh) = tokens(&attacker);
    let token = app
        .auth
        .create_magic_link_token("victim@example.com")
        .await
        .unwrap()
        .unwrap();
    let r = verify(&app, &token).await;
    assert_eq!(r.status.as_u16(), 200);
    // The attacker's password, session and access token are all dead.
    app.post(
        "/auth/login",
        json!({"email": "victim@example.com", "password": "correct horse battery"}),
    )
    .await
    .assert_error(400, "no_password");
    app.post("/auth/refresh", json!({"refresh_token": attacker_refresh}))
        .await
        .assert_error(401, "refresh_token_revoked");
    app.me(&attacker_access)
        .await
        .assert_error(401, "token_version_mismatch");
    // The victim's new session works.
    assert_eq!(app.me(&tokens(&r.body).0).await.status.as_u16(), 200);
}

async fn fifty_concurrent_verifies_have_exactly_one_winner(backend: Backend) {
    let app = Arc::new(app(backend, |_| {}).await);
    let logins: Arc<Mutex<usize>> = Arc::default();
    {
        let logins = logins.clone();
        app.auth.on(EventKind::MagicLinkLogin, move |_| {
            let logins = logins.clone();
            async move { *logins.lock().unwrap() += 1 }
        });
    }
    let body = app.signup("race@example.com").await;
    let token = app
        .auth
        .create_magic_link_token("race@example.com")
        .await
        .unwrap()
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let app = app.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move { verify(&app, &token).await.status.as_u16() }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 49, "{statuses:?}");
    app.auth.flush_events().await;
    assert_eq!(*logins.lock().unwrap(), 1);
    // Exactly one new session besides the signup's.
    let _ = body;
}

async fn redirect_to_is_allow_listed_and_returned_on_verify(backend: Backend) {
    let app = app(backend, |_| {}).await;
    let seen = capture(&app);
    app.signup("redir@example.com").await;
    for bad in ["//evil.test", "/\\evil.test", "https://evil.test/x", "/not-allowed"] {
        app.post(
            "/auth/magic-link",
            json!({"email": "redir@example.com", "redirect_to": bad}),
        )
        .await
        .assert_error(400, "invalid_redirect");
    }
    app.post(
        "/auth/magic-link",
        json!({"email": "redir@example.com", "redirect_to": "/dashboard"}),
    )
    .await;
    app.auth.flush_events().await;
    let token = seen.lock().unwrap().last().unwrap().0.clone();
    let r = verify(&app, &token).await;
    assert_eq!(r.body["redirect_to"], "/dashboard");
}

async fn get_and_head_never_consume_a_token(backend: Backend) {
    let app = app(backend, |_| {}).await;
    app.signup("scan@example.com").await;
    let token = app
        .auth
        .create_magic_link_token("scan@example.com")
        .await
        .unwrap()
        .unwrap();
    let page = app.get(&format!("/auth/magic-link/confirm?token={token}"), &[]).await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(page.set_cookies().is_empty());
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert_eq!(page.headers["cache-control"], "no-store");
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'; script-src 'sha256-"), "{csp}");
    assert!(!page.text.contains(&token), "the page never echoes the token");
    assert!(
        !page.text.contains("http://") && !page.text.contains("https://"),
        "no external assets"
    );
    for method in ["GET", "HEAD"] {
        let req = axum::http::Request::builder()
            .method(method)
            .uri(format!("/auth/magic-link/verify?token={token}"))
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(app.send(req).await.status.as_u16(), 405);
    }
    assert_eq!(
        verify(&app, &token).await.status.as_u16(),
        200,
        "still valid after the GETs"
    );
}

async fn library_verify_matches_http_verify(backend: Backend) {
    let app = app(backend, |_| {}).await;
    app.signup("lib@example.com").await;
    let token = app
        .auth
        .create_magic_link_token("lib@example.com")
        .await
        .unwrap()
        .unwrap();
    let signed_in = app
        .auth
        .verify_magic_link(&token, &authfort_core::ClientInfo::default())
        .await
        .unwrap();
    assert_eq!(signed_in.sign_in.authenticated().unwrap().user.email, "lib@example.com");
    assert!(app
        .auth
        .verify_magic_link(&token, &Default::default())
        .await
        .unwrap_err()
        .is("invalid_magic_link"));
}

async fn tokens_are_stored_only_as_hashes(backend: Backend) {
    let app = app(backend, |_| {}).await;
    app.signup("hash@example.com").await;
    let token = app
        .auth
        .create_magic_link_token("hash@example.com")
        .await
        .unwrap()
        .unwrap();
    let row = app
        .auth
        .store()
        .verification_token_by_hash(&authfort_core::crypto::sha256_hex(&token))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(row.token_hash, token);
    assert_eq!(row.token_hash.len(), 64);
    assert!(app
        .auth
        .store()
        .verification_token_by_hash(&token)
        .await
        .unwrap()
        .is_none());
}

async fn links_ignore_host_and_forwarded_headers(backend: Backend) {
    let app = app(backend, |_| {}).await;
    let seen = capture(&app);
    app.signup("host@example.com").await;
    app.post_with(
        "/auth/magic-link",
        json!({"email": "host@example.com"}),
        &[
            ("host", "evil.test"),
            ("x-forwarded-host", "evil.test"),
            ("forwarded", "host=evil.test;proto=http"),
            ("x-forwarded-proto", "http"),
        ],
    )
    .await;
    app.auth.flush_events().await;
    let link = seen.lock().unwrap()[0].1.clone().unwrap();
    assert!(
        link.starts_with("https://auth.example.test/auth/magic-link/confirm#token="),
        "{link}"
    );
}

on_both_backends!(
    links_ignore_host_and_forwarded_headers,
    request_answers_the_same_for_every_kind_of_address,
    link_signs_in_once_with_email_link_amr_and_verifies_the_address,
    a_new_request_invalidates_earlier_links,
    links_expire,
    banned_and_unknown_users_get_no_link_and_cannot_verify,
    passwordless_signup_creates_the_account_at_verify_time,
    first_proof_of_an_address_evicts_a_pre_registered_attacker,
    fifty_concurrent_verifies_have_exactly_one_winner,
    redirect_to_is_allow_listed_and_returned_on_verify,
    get_and_head_never_consume_a_token,
    library_verify_matches_http_verify,
    tokens_are_stored_only_as_hashes,
);
