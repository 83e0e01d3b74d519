//! OAuth / OpenID Connect sign-in against a real provider (`oidc-provider` on loopback),
//! each test on SQLite and PostgreSQL.

use std::sync::{Arc, Mutex};

use authfort_core::events::{Event, EventKind};
use authfort_core::oauth::GenericProviderConfig;
use authfort_core::{AuthConfig, Secret};
use authfort_test_support::oidc::{self, Account, APP_URL};
use authfort_test_support::{on_both_backends, Backend};
use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::{tokens, TestApp};
use crate::oauth_browser::Browser;

fn oidc_provider() -> GenericProviderConfig {
    GenericProviderConfig {
        client_id: oidc::CLIENT_ID.into(),
        client_secret: Some(Secret::new(oidc::CLIENT_SECRET)),
        discovery_url: Some(oidc::provider().discovery_url()),
        ..GenericProviderConfig::default()
    }
}

fn configure(c: &mut AuthConfig) {
    c.public_url = Some(APP_URL.into());
    c.oauth.providers.insert("acme".into(), oidc_provider());
    c.oauth.providers.insert("other".into(), oidc_provider());
}

async fn oauth_app(backend: Backend, tweak: impl FnOnce(&mut AuthConfig)) -> TestApp {
    TestApp::with_config(backend, |c| {
        configure(c);
        tweak(c);
    })
    .await
}

fn cookie_mode(c: &mut AuthConfig) {
    c.cookie.enabled = true;
    c.cookie.secure = false;
}

fn record(app: &TestApp) -> Arc<Mutex<Vec<Event>>> {
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    for kind in EventKind::ALL {
        let events = events.clone();
        app.auth.on(*kind, move |e| {
            let events = events.clone();
            async move { events.lock().unwrap().push(e) }
        });
    }
    events
}

fn names(events: &Arc<Mutex<Vec<Event>>>) -> Vec<&'static str> {
    events.lock().unwrap().iter().map(|e| e.kind().as_str()).collect()
}

fn claims(access: &str) -> Value {
    let payload = access.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

fn replace_param(url: &str, name: &str, value: &str) -> String {
    let (base, q) = url.split_once('?').unwrap();
    let q: Vec<String> = q
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k == name => format!("{k}={value}"),
            _ => kv.to_owned(),
        })
        .collect();
    format!("{base}?{}", q.join("&"))
}

async fn full_flow_creates_a_verified_user_with_oauth_tokens_and_cookies(backend: Backend) {
    let app = oauth_app(backend, cookie_mode).await;
    let events = record(&app);
    let mut browser = Browser::new(&app);

    // The authorize redirect: exact callback, S256 PKCE, state, nonce, scopes; no verifier.
    let start = app.get("/auth/oauth/acme/authorize", &[]).await;
    assert_eq!(start.status, StatusCode::FOUND, "{}", start.text);
    let location = start.headers["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{}/auth?", oidc::provider().issuer)),
        "{location}"
    );
    assert_eq!(
        query_param(&location, "redirect_uri").as_deref(),
        Some("http%3A%2F%2Fauth.test%2Fauth%2Foauth%2Facme%2Fcallback")
    );
    assert_eq!(query_param(&location, "code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(query_param(&location, "response_type").as_deref(), Some("code"));
    assert_eq!(query_param(&location, "client_id").as_deref(), Some(oidc::CLIENT_ID));
    assert!(query_param(&location, "state").is_some_and(|s| s.len() >= 43));
    assert!(query_param(&location, "nonce").is_some());
    let scope = query_param(&location, "scope").unwrap();
    for s in ["openid", "email", "profile"] {
        assert!(scope.split("+").chain(scope.split("%20")).any(|x| x == s), "{scope}");
    }
    assert!(!location.contains("code_verifier"));
    let cookie = start
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("authfort_oauth_state="))
        .unwrap();
    assert!(
        cookie.ends_with("; HttpOnly; Max-Age=300; Path=/; SameSite=lax"),
        "{cookie}"
    );
    assert_eq!(start.headers["cache-control"], "no-store");

    // The whole flow in a browser.
    let account = Account::new("New.User@Example.com", true);
    let r = browser.sign_in("acme", "", &account).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user"]["email"], "new.user@example.com");
    assert_eq!(r.body["user"]["email_verified"], true);
    assert_eq!(r.body["user"]["name"], "Provider Name");
    let (access, _) = tokens(&r.body);
    assert_eq!(claims(&access)["amr"], json!(["oauth"]));
    let set = r.set_cookies();
    assert!(set.iter().any(|c| c.starts_with("access_token=")), "{set:?}");
    assert!(set.iter().any(|c| c.starts_with("refresh_token=")), "{set:?}");
    assert!(
        set.iter()
            .any(|c| c.starts_with("authfort_oauth_state=; ") && c.contains("Max-Age=0")),
        "{set:?}"
    );
    assert_eq!(r.headers["referrer-policy"], "no-referrer");
    assert_eq!(app.me(&access).await.status, StatusCode::OK);
    app.auth.flush_events().await;
    assert_eq!(names(&events), ["user_created", "email_verified", "login"]);
    let created = events.lock().unwrap().iter().find_map(|e| match e {
        Event::UserCreated(u) => Some(u.provider.clone()),
        _ => None,
    });
    assert_eq!(created.as_deref(), Some("acme"));

    // The same identity again: the same user, no new account.
    let mut again = Browser::new(&app);
    let r2 = again.sign_in("acme", "", &account).await;
    assert_eq!(r2.status, StatusCode::OK, "{}", r2.text);
    assert_eq!(r2.body["user"]["id"], r.body["user"]["id"]);
    // Passwords do not work for an OAuth-only account.
    let login = app
        .post(
            "/auth/login",
            json!({"email": "new.user@example.com", "password": "whatever123"}),
        )
        .await;
    login.assert_error(400, "oauth_account");
    assert_eq!(login.body["detail"]["providers"], json!(["acme"]));
}

async fn state_cookie_is_set_in_bearer_mode_and_secure_follows_the_config(backend: Backend) {
    let app = oauth_app(backend, |_| {}).await;
    let r = app.get("/auth/oauth/acme/authorize", &[]).await;
    let cookie = r.set_cookies().join("\n");
    assert!(cookie.starts_with("authfort_oauth_state="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.ends_with("; Secure"), "{cookie}");
    assert!(!cookie.contains("access_token"));
}

async fn verified_email_links_into_an_unverified_local_account_and_cleans_it_up(backend: Backend) {
    let app = oauth_app(backend, |_| {}).await;
    // Someone (an attacker, maybe) registered the address with a password, never verified.
    let signup = app.signup("victim@example.com").await;
    let (_, old_refresh) = tokens(&signup);
    app.auth.flush_events().await;
    let events = record(&app);
    let mut browser = Browser::new(&app);
    let r = browser
        .sign_in("acme", "", &Account::new("victim@example.com", true))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user"]["id"], signup["user"]["id"]);
    assert_eq!(r.body["user"]["email_verified"], true);
    app.auth.flush_events().await;
    let n = names(&events);
    for e in [
        "oauth_link",
        "email_verified",
        "session_revoked",
        "unverified_account_claimed",
        "login",
    ] {
        assert!(n.contains(&e), "{n:?}");
    }
    assert!(!n.contains(&"user_created"));
    // The earlier session and the password set before the proof are gone.
    let refresh = app.post("/auth/refresh", json!({"refresh_token": old_refresh})).await;
    assert_eq!(refresh.status, StatusCode::UNAUTHORIZED, "{}", refresh.text);
    let login = app
        .post(
            "/auth/login",
            json!({"email": "victim@example.com", "password": "correct horse battery"}),
        )
        .await;
    login.assert_error(400, "oauth_account");
}

async fn unverified_provider_email_is_never_linked_to_an_existing_account(backend: Backend) {
    let app = oauth_app(backend, |_| {}).await;
    let signup = app.signup("owner@example.com").await;
    let mut browser = Browser::new(&app);
    let r = browser
        .sign_in("acme", "", &Account::new("owner@example.com", false))
        .await;
    r.assert_error(400, "oauth_email_not_verified");
    let user_id: uuid::Uuid = signup["user"]["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(app.auth.get_provider_tokens(user_id, "acme").await.unwrap(), None);
    // The owner's password still works.
    let login = app
        .post(
            "/auth/login",
            json!({"email": "owner@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
    // A new address with an unverified provider email creates an unverified account.
    let mut b2 = Browser::new(&app);
    let r = b2.sign_in("acme", "", &Account::new("fresh@example.com", false)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user"]["email_verified"], false);
}

async fn tampered_garbage_replayed_and_other_browser_states_are_refused(backend: Backend) {
    let app = oauth_app(backend, |_| {}).await;
    let mut browser = Browser::new(&app);
    let url = browser.start("acme", "").await;
    let callback = browser
        .at_provider(
            &url,
            &format!("login?{}", Account::new("s@example.com", true).login_query()),
        )
        .await;
    let state = query_param(&callback, "state").unwrap();
    let binding = browser.cookie(APP_URL, "authfort_oauth_state").unwrap();

    // Another browser (no cookie; then its own, different cookie).
    let mut other = Browser::new(&app);
    other.callback(&callback).await.assert_error(400, "oauth_state_invalid");
    other.start("acme", "").await;
    other.callback(&callback).await.assert_error(400, "oauth_state_invalid");

    // Tampered and garbage states.
    let mut tampered = state.clone();
    tampered.replace_range(0..1, if state.starts_with('A') { "B" } else { "A" });
    let r = browser.callback(&replace_param(&callback, "state", &tampered)).await;
    r.assert_error(400, "oauth_state_invalid");
    let mut again = Browser::new(&app);
    again.start("acme", "").await;
    let r = again
        .callback(&replace_param(&callback, "state", "garbage%00%FF"))
        .await;
    r.assert_error(400, "oauth_state_invalid");

    // The real one still works once (failed attempts did not spend it; a failed callback
    // clears the cookie, so put it back as the browser would still have had it)...
    browser.set_cookie(APP_URL, "authfort_oauth_state", &binding);
    let ok = browser.callback(&callback).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    // ... and never again, even with the cookie put back.
    browser.set_cookie(APP_URL, "authfort_oauth_state", &binding);
    browser
        .callback(&callback)
        .await
        .assert_error(400, "oauth_state_invalid");
}

async fn concurrent_callbacks_with_one_state_have_exactly_one_winner(backend: Backend) {
    let app = oauth_app(backend, |_| {}).await;
    let mut browser = Browser::new(&app);
    let url = browser.start("acme", "").await;
    let binding = browser.cookie(APP_URL, "authfort_oauth_state").unwrap();
    let callback = browser
        .at_provider(
            &url,
            &format!("login?{}", Account::new("race@example.com", true).login_query()),
        )
        .await;
    let path = callback.strip_prefix(APP_URL).unwrap().to_owned();
    let cookie = format!("authfort_oauth_state={binding}");
    let headers = [("cookie", cookie.as_str())];
    let results = futures::future::join_all((0..6).map(|_| app.get(&path, &headers))).await;
    let wins = results.iter().filter(|r| r.status == StatusCode::OK).count();
    assert_eq!(wins, 1, "{:?}", results.iter().map(|r| &r.text).collect::<Vec<_>>());
    for r in results.iter().filter(|r| r.status != StatusCode::OK) {
        r.assert_error(400, "oauth_state_invalid");
    }
}

async fn expired_state_and_another_providers_state_are_refused(backend: Backend) {
    let app = oauth_app(backend, |_| {}).await;
    let mut browser = Browser::new(&app);
    let url = browser.start("acme", "").await;
    let callback = browser
        .at_provider(
            &url,
            &format!("login?{}", Account::new("late@example.com", true).login_query()),
        )
        .await;
    app.clock.advance(time::Duration::seconds(301));
    browser
        .callback(&callback)
        .await
        .assert_error(400, "oauth_state_expired");

    let mut browser = Browser::new(&app);
    let url = browser.start("acme", "").await;
    let callback = browser
        .at_provider(
            &url,
            &format!("login?{}", Account::new("mix@example.com", true).login_query()),
        )
        .await;
    let wrong = callback.replace("/auth/oauth/acme/callback", "/auth/oauth/other/callback");
    browser
        .callback(&wrong)
        .await
        .assert_error(400, "oauth_state_provider_mismatch");
}

async fn an_id_token_with_another_nonce_is_refused(backend: Backend) {
    let app = oauth_app(backend, |_| {}).await;
    let events = record(&app);
    let mut browser = Browser::new(&app);
    let url = browser.start("acme", "").await;
    // The provider is asked with a nonce that is not the one this flow stored.
    let forged = replace_param(&url, "nonce", "attacker-nonce");
    let callback = browser
        .at_provider(
            &forged,
            &format!("login?{}", Account::new("nonce@example.com", true).login_query()),
        )
        .await;
    let r = browser.callback(&callback).await;
    r.assert_error(400, "oauth_exchange_failed");
    app.auth.flush_events().await;
    assert_eq!(names(&events), ["login_failed"]);
}

async fn a_pkce_challenge_that_does_not_match_the_stored_verifier_fails_the_exchange(backend: Backend) {
    let app = oauth_app(backend, |_| {}).await;
    let mut browser = Browser::new(&app);
    let url = browser.start("acme", "").await;
    let forged = replace_param(&url, "code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    let callback = browser
        .at_provider(
            &forged,
            &format!("login?{}", Account::new("pkce@example.com", true).login_query()),
        )
        .await;
    browser
        .callback(&callback)
        .await
        .assert_error(400, "oauth_exchange_failed");
}

async fn provider_errors_are_reported_without_the_providers_text(backend: Backend) {
    let app = oauth_app(backend, |_| {}).await;
    let mut browser = Browser::new(&app);
    let url = browser.start("acme", "").await;
    let callback = browser
        .at_provider(
            &url,
            "abort?error=access_denied&error_description=secret%20upstream%20detail",
        )
        .await;
    assert!(callback.contains("error=access_denied"), "{callback}");
    let r = browser.callback(&callback).await;
    r.assert_error(400, "oauth_provider_error");
    assert!(!r.text.contains("secret upstream"), "{}", r.text);

    let r = app.get("/auth/oauth/acme/callback", &[]).await;
    r.assert_error(400, "oauth_missing_params");
    let r = app.get("/auth/oauth/acme/callback?code=x&state=y", &[]).await;
    r.assert_error(400, "oauth_state_invalid");
    let r = app.get("/auth/oauth/nope/authorize", &[]).await;
    r.assert_error(404, "unknown_provider");
    let r = app.get("/auth/oauth/nope/callback?code=x&state=y", &[]).await;
    r.assert_error(404, "unknown_provider");
}

async fn redirect_to_is_validated_and_the_redirect_carries_the_cookies(backend: Backend) {
    let app = oauth_app(backend, |c| {
        cookie_mode(c);
        c.frontend_url = Some("https://app.test".into());
    })
    .await;
    for bad in [
        "//evil.test",
        "/%5Cevil.test",
        "/\\evil.test",
        "https://evil.test/",
        "evil",
    ] {
        let q = authfort_test_support::oidc::url_encode(&[("redirect_to", bad)]);
        let r = app.get(&format!("/auth/oauth/acme/authorize?{q}"), &[]).await;
        r.assert_error(400, "invalid_redirect");
        assert!(r.set_cookies().is_empty());
    }
    let mut browser = Browser::new(&app);
    let url = browser.start("acme", "?redirect_to=%2Fdashboard%3Ftab%3D1").await;
    let callback = browser
        .at_provider(
            &url,
            &format!("login?{}", Account::new("redir@example.com", true).login_query()),
        )
        .await;
    let r = browser.callback(&callback).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text);
    assert_eq!(r.headers["location"], "https://app.test/dashboard?tab=1");
    let set = r.set_cookies();
    assert!(set.iter().any(|c| c.starts_with("access_token=")), "{set:?}");
    assert!(set.iter().any(|c| c.starts_with("refresh_token=")), "{set:?}");
}

async fn popup_mode_posts_only_to_the_frontend_origin_and_sets_cookies(backend: Backend) {
    let app = oauth_app(backend, |c| {
        cookie_mode(c);
        c.frontend_url = Some("https://app.test/spa".into());
    })
    .await;
    let mut browser = Browser::new(&app);
    let account = Account {
        name: Some("</script><script>alert(1)</script>".into()),
        ..Account::new("popup@example.com", true)
    };
    let url = browser.start("acme", "?mode=popup").await;
    let callback = browser
        .at_provider(&url, &format!("login?{}", account.login_query()))
        .await;
    let r = browser.callback(&callback).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(r.text.contains("var o=\"https://app.test\""), "{}", r.text);
    assert!(r.text.contains("window.opener.postMessage(d,o)"));
    assert!(!r.text.contains("'*'") && !r.text.contains("\"*\""));
    assert!(r.text.contains("\"access_token\""));
    assert_eq!(r.text.matches("<script>").count(), 1, "{}", r.text);
    assert!(r.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'sha256-"));
    let set = r.set_cookies();
    assert!(set.iter().any(|c| c.starts_with("access_token=")), "{set:?}");
}

async fn banned_and_deleted_users_cannot_sign_in(backend: Backend) {
    let app = oauth_app(backend, |_| {}).await;
    let account = Account::new("banned@example.com", true);
    let r = Browser::new(&app).sign_in("acme", "", &account).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id: uuid::Uuid = r.body["user"]["id"].as_str().unwrap().parse().unwrap();
    app.auth.ban_user(id).await.unwrap();
    Browser::new(&app)
        .sign_in("acme", "", &account)
        .await
        .assert_error(403, "user_banned");

    // Banned before linking by email: refused too.
    let signup = app.signup("banned2@example.com").await;
    let id2: uuid::Uuid = signup["user"]["id"].as_str().unwrap().parse().unwrap();
    app.auth.ban_user(id2).await.unwrap();
    Browser::new(&app)
        .sign_in("acme", "", &Account::new("banned2@example.com", true))
        .await
        .assert_error(403, "user_banned");

    // A deleted user's identity starts over as a new account.
    app.auth.unban_user(id).await.unwrap();
    app.auth.delete_user(id, false).await.unwrap();
    let r = Browser::new(&app).sign_in("acme", "", &account).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_ne!(r.body["user"]["id"], json!(id.to_string()));
}

async fn the_provider_email_must_be_a_valid_address(backend: Backend) {
    let app = oauth_app(backend, |_| {}).await;
    let r = Browser::new(&app)
        .sign_in("acme", "", &Account::new("not an email", true))
        .await;
    r.assert_error(400, "invalid_email");
    let r = Browser::new(&app)
        .sign_in(
            "acme",
            "",
            &Account {
                email: None,
                ..Account::new("x@example.com", true)
            },
        )
        .await;
    r.assert_error(400, "oauth_no_email");
}

async fn mfa_users_get_the_challenge_in_the_fragment_and_finish_with_totp(backend: Backend) {
    use authfort_core::clock::Clock;
    use authfort_core::crypto::mfa::{base32_decode, hotp, totp_step};
    let app = oauth_app(backend, |c| {
        cookie_mode(c);
        c.frontend_url = Some("https://app.test".into());
    })
    .await;
    let events = record(&app);
    let totp = |secret: &str| {
        let step = totp_step(app.clock.now().unix_timestamp());
        hotp(&base32_decode(secret).unwrap(), step as u64)
    };
    let account = Account::new("mfa.oauth@example.com", true);
    let first = Browser::new(&app).sign_in("acme", "", &account).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let user_id = first.body["user"]["id"].as_str().unwrap().parse().unwrap();
    let setup = app.auth.enable_mfa_init(user_id).await.unwrap();
    app.auth
        .enable_mfa_confirm(user_id, &totp(&setup.secret))
        .await
        .unwrap();
    app.clock.advance(time::Duration::seconds(30));
    app.auth.flush_events().await;
    events.lock().unwrap().clear();

    // Redirect mode: the challenge in the fragment, no session and no auth cookies.
    let mut browser = Browser::new(&app);
    let url = browser.start("acme", "?redirect_to=%2Fdashboard").await;
    let callback = browser
        .at_provider(&url, &format!("login?{}", account.login_query()))
        .await;
    let r = browser.callback(&callback).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text);
    let location = r.headers["location"].to_str().unwrap().to_owned();
    let (target, mfa_token) = location.split_once("#mfa_token=").expect("challenge in the fragment");
    assert_eq!(target, "https://app.test/dashboard");
    let set = r.set_cookies();
    assert!(
        !set.iter()
            .any(|c| c.starts_with("access_token=") || c.starts_with("refresh_token=")),
        "{set:?}"
    );
    app.auth.flush_events().await;
    assert!(!names(&events).contains(&"login"), "no login before the second factor");

    // The challenge is not an access token; TOTP completes the sign-in with both factors.
    app.me(mfa_token).await.assert_error(401, "token_invalid");
    let done = app
        .post(
            "/auth/mfa/verify",
            json!({"mfa_token": mfa_token, "code": totp(&setup.secret)}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    let (access, _) = tokens(&done.body);
    assert_eq!(claims(&access)["amr"], json!(["oauth", "mfa"]));
    assert_eq!(done.body["user"]["mfa_enabled"], true);
    app.auth.flush_events().await;
    let login = events.lock().unwrap().iter().find_map(|e| match e {
        Event::Login(l) => Some(l.provider.clone()),
        _ => None,
    });
    assert_eq!(login.as_deref(), Some("oauth"));
}

on_both_backends!(
    full_flow_creates_a_verified_user_with_oauth_tokens_and_cookies,
    state_cookie_is_set_in_bearer_mode_and_secure_follows_the_config,
    verified_email_links_into_an_unverified_local_account_and_cleans_it_up,
    unverified_provider_email_is_never_linked_to_an_existing_account,
    tampered_garbage_replayed_and_other_browser_states_are_refused,
    concurrent_callbacks_with_one_state_have_exactly_one_winner,
    expired_state_and_another_providers_state_are_refused,
    an_id_token_with_another_nonce_is_refused,
    a_pkce_challenge_that_does_not_match_the_stored_verifier_fails_the_exchange,
    provider_errors_are_reported_without_the_providers_text,
    redirect_to_is_validated_and_the_redirect_carries_the_cookies,
    popup_mode_posts_only_to_the_frontend_origin_and_sets_cookies,
    banned_and_deleted_users_cannot_sign_in,
    the_provider_email_must_be_a_valid_address,
    mfa_users_get_the_challenge_in_the_fragment_and_finish_with_totp,
);
