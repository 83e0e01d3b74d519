//! Password reset, change and set through the library API, and the password policy
//! (length, breached-password check against a local stand-in, history).

use std::sync::Arc;

use authfort_core::clock::ManualClock;
use authfort_core::events::Event;
use authfort_core::{AuthConfig, ClientInfo, CreateUser};
use authfort_test_support::pwned_range::PwnedRange;
use authfort_test_support::{on_both_backends, test_config, Backend};
use time::Duration;

use crate::common::{code, create, harness, harness_with, kinds, login, record_events, signed_in, Harness, PASSWORD};

const NEW: &str = "a completely new passphrase";

async fn harness_tweaked(backend: Backend, tweak: impl FnOnce(&mut AuthConfig)) -> Harness {
    let mut config = test_config();
    tweak(&mut config);
    harness_with(backend, config, ManualClock::starting_now()).await
}

async fn password_login(h: &Harness, email: &str, password: &str) -> authfort_core::AuthResult<()> {
    h.auth
        .login(email, password, &ClientInfo::default())
        .await
        .map(|r| drop(signed_in(Ok(r))))
}

async fn reset_sets_the_password_and_signs_out_everywhere(backend: Backend) {
    let h = harness(backend).await;
    let signed_up = create(&h.auth, "reset@example.com").await;
    let events = record_events(&h.auth).await;
    let token = h
        .auth
        .create_password_reset_token("Reset@Example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(token.len(), 86);
    h.auth.reset_password(&token, NEW).await.unwrap();
    assert_eq!(
        code(h.auth.reset_password(&token, "yet another password").await),
        "invalid_reset_token"
    );
    assert_eq!(
        code(
            h.auth
                .refresh(&signed_up.tokens.refresh_token, None, &ClientInfo::default())
                .await
        ),
        "refresh_token_revoked"
    );
    assert_eq!(
        code(h.auth.authenticate(&signed_up.tokens.access_token).await),
        "token_version_mismatch"
    );
    assert_eq!(
        code(password_login(&h, "reset@example.com", PASSWORD).await),
        "invalid_credentials"
    );
    password_login(&h, "reset@example.com", NEW).await.unwrap();
    h.auth.flush_events().await;
    assert_eq!(kinds(&events)[..2], ["password_reset_requested", "password_reset"]);
    let first = events.lock().unwrap()[0].clone();
    match &first {
        Event::PasswordResetRequested(e) => assert_eq!(e.email, "reset@example.com"),
        other => panic!("{other:?}"),
    }
}

async fn a_refused_password_leaves_the_token_usable(backend: Backend) {
    let h = harness(backend).await;
    create(&h.auth, "keep@example.com").await;
    let token = h
        .auth
        .create_password_reset_token("keep@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(code(h.auth.reset_password(&token, "short").await), "password_too_short");
    assert_eq!(
        code(h.auth.reset_password(&token, PASSWORD).await),
        "password_unchanged"
    );
    h.auth.reset_password(&token, NEW).await.unwrap();
}

async fn reset_tokens_expire_are_replaced_and_unknown_addresses_get_none(backend: Backend) {
    let h = harness(backend).await;
    create(&h.auth, "exp@example.com").await;
    assert_eq!(
        h.auth.create_password_reset_token("nobody@example.com").await.unwrap(),
        None
    );
    assert_eq!(
        code(h.auth.create_password_reset_token("not-an-email").await),
        "invalid_email"
    );
    let first = h
        .auth
        .create_password_reset_token("exp@example.com")
        .await
        .unwrap()
        .unwrap();
    let second = h
        .auth
        .create_password_reset_token("exp@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(code(h.auth.reset_password(&first, NEW).await), "invalid_reset_token");
    h.clock.advance(Duration::seconds(3_600));
    assert_eq!(code(h.auth.reset_password(&second, NEW).await), "invalid_reset_token");
    for bad in ["", "garbage", &"t".repeat(4096)] {
        assert_eq!(code(h.auth.reset_password(bad, NEW).await), "invalid_reset_token");
    }
}

async fn ten_concurrent_resets_have_one_winner(backend: Backend) {
    let h = harness(backend).await;
    create(&h.auth, "race@example.com").await;
    let token = h
        .auth
        .create_password_reset_token("race@example.com")
        .await
        .unwrap()
        .unwrap();
    let auth = Arc::new(h.auth.clone());
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let (auth, token) = (auth.clone(), token.clone());
            tokio::spawn(async move { auth.reset_password(&token, &format!("{NEW} number {i}")).await.is_ok() })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
}

async fn change_checks_the_old_password_and_signs_out_other_sessions(backend: Backend) {
    let h = harness(backend).await;
    let here = create(&h.auth, "change@example.com").await;
    let elsewhere = login(&h.auth, "change@example.com").await;
    let id = here.user.id;
    assert_eq!(
        code(h.auth.change_password(id, "wrong password", NEW).await),
        "invalid_password"
    );
    assert_eq!(
        code(h.auth.change_password(id, PASSWORD, PASSWORD).await),
        "password_unchanged"
    );
    assert_eq!(
        code(h.auth.change_password(id, PASSWORD, "short").await),
        "password_too_short"
    );
    assert_eq!(
        code(h.auth.change_password(uuid::Uuid::new_v4(), PASSWORD, NEW).await),
        "user_not_found"
    );
    let outstanding = h
        .auth
        .create_password_reset_token("change@example.com")
        .await
        .unwrap()
        .unwrap();
    h.auth
        .change_password_keeping_session(id, here.user.session_id, PASSWORD, NEW)
        .await
        .unwrap();
    assert_eq!(
        code(h.auth.reset_password(&outstanding, "stolen link password").await),
        "invalid_reset_token",
        "a new password retires outstanding reset links"
    );
    let client = ClientInfo::default();
    assert_eq!(
        code(h.auth.authenticate(&here.tokens.access_token).await),
        "token_version_mismatch"
    );
    let refreshed = h.auth.refresh(&here.tokens.refresh_token, None, &client).await.unwrap();
    h.auth.authenticate(&refreshed.tokens.access_token).await.unwrap();
    assert_eq!(
        code(h.auth.refresh(&elsewhere.tokens.refresh_token, None, &client).await),
        "refresh_token_revoked"
    );
    // Without a session to keep, every session ends.
    h.auth.change_password(id, NEW, "a third passphrase").await.unwrap();
    assert_eq!(
        code(h.auth.refresh(&refreshed.tokens.refresh_token, None, &client).await),
        "refresh_token_revoked"
    );
}

async fn passwordless_accounts_set_a_first_password(backend: Backend) {
    let h = harness_tweaked(backend, |c| c.allow_passwordless_signup = true).await;
    let c = h.auth.create_email_otp("nopw@example.com").await.unwrap().unwrap();
    let me = h
        .auth
        .verify_email_otp("nopw@example.com", &c, &ClientInfo::default())
        .await
        .unwrap()
        .authenticated()
        .unwrap();
    let id = me.user.id;
    assert_eq!(code(h.auth.change_password(id, "x", NEW).await), "no_password");
    assert_eq!(code(password_login(&h, "nopw@example.com", NEW).await), "no_password");
    let events = record_events(&h.auth).await;
    assert_eq!(code(h.auth.set_password(id, "short").await), "password_too_short");
    h.auth.set_password(id, NEW).await.unwrap();
    assert_eq!(code(h.auth.set_password(id, NEW).await), "password_already_set");
    assert_eq!(
        code(h.auth.authenticate(&me.tokens.access_token).await),
        "token_version_mismatch"
    );
    assert_eq!(
        code(
            h.auth
                .refresh(&me.tokens.refresh_token, None, &ClientInfo::default())
                .await
        ),
        "refresh_token_revoked",
        "set-password ends every session, the caller's included"
    );
    password_login(&h, "nopw@example.com", NEW).await.unwrap();
    assert!(h
        .auth
        .store()
        .providers(id)
        .await
        .unwrap()
        .contains(&"email".to_owned()));
    h.auth.flush_events().await;
    assert!(kinds(&events).contains(&"password_set"));
}

async fn length_is_counted_in_code_points_and_long_passwords_work(backend: Backend) {
    let h = harness(backend).await;
    let long = "ü".repeat(64) + &"x".repeat(200);
    let user = h
        .auth
        .create_user(CreateUser::new("long@example.com", &long))
        .await
        .unwrap();
    password_login(&h, "long@example.com", &long).await.unwrap();
    assert_eq!(
        code(password_login(&h, "long@example.com", &long[..long.len() - 1]).await),
        "invalid_credentials",
        "never truncated"
    );
    h.auth.change_password(user.user.id, &long, "éééééééé").await.unwrap();
    assert_eq!(
        code(h.auth.change_password(user.user.id, "éééééééé", "ééééééé").await),
        "password_too_short",
        "7 code points (14 bytes) are too short"
    );
    assert_eq!(
        code(
            h.auth
                .change_password(user.user.id, "éééééééé", &"y".repeat(1025))
                .await
        ),
        "password_too_long"
    );
}

async fn history_refuses_recent_passwords(backend: Backend) {
    let h = harness_tweaked(backend, |c| c.password_history_count = 3).await;
    let id = create(&h.auth, "hist@example.com").await.user.id;
    let events = record_events(&h.auth).await;
    // Each password is written at a later instant.
    let step = || h.clock.advance(Duration::seconds(1));
    step();
    h.auth.change_password(id, PASSWORD, "second passphrase").await.unwrap();
    let err = h
        .auth
        .change_password(id, "second passphrase", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "password_reused");
    assert!(err.to_string().contains("last 3 passwords"), "{err}");
    step();
    h.auth
        .change_password(id, "second passphrase", "third passphrase")
        .await
        .unwrap();
    step();
    h.auth
        .change_password(id, "third passphrase", "fourth passphrase")
        .await
        .unwrap();
    // The first password has left the three most recent.
    step();
    h.auth.change_password(id, "fourth passphrase", PASSWORD).await.unwrap();
    step();
    let token = h
        .auth
        .create_password_reset_token("hist@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        code(h.auth.reset_password(&token, "third passphrase").await),
        "password_reused"
    );
    h.auth.reset_password(&token, "fifth passphrase").await.unwrap();
    h.auth.flush_events().await;
    assert_eq!(
        kinds(&events)
            .iter()
            .filter(|k| **k == "password_reuse_rejected")
            .count(),
        2
    );
}

async fn breached_passwords_are_refused_through_the_range_api(backend: Backend) {
    let range = PwnedRange::start(&["password123", "breached passphrase"]).await;
    let base = range.base_url();
    let h = harness_tweaked(backend, |c| {
        c.pwned_passwords.enabled = true;
        c.pwned_passwords.base_url = base;
    })
    .await;
    let events = record_events(&h.auth).await;
    let refused = h
        .auth
        .create_user(CreateUser::new("pwned@example.com", "password123"))
        .await;
    assert_eq!(code(refused), "password_pwned");
    let id = create(&h.auth, "fine@example.com").await.user.id;
    assert_eq!(
        code(h.auth.change_password(id, PASSWORD, "breached passphrase").await),
        "password_pwned"
    );
    let token = h
        .auth
        .create_password_reset_token("fine@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        code(h.auth.reset_password(&token, "password123").await),
        "password_pwned"
    );
    h.auth.reset_password(&token, NEW).await.unwrap();
    // Only 5-hex-character prefixes ever left the server.
    let paths = range.paths();
    assert!(!paths.is_empty());
    for p in &paths {
        let prefix = p.strip_prefix("/range/").unwrap();
        assert_eq!(prefix.len(), 5, "{p}");
        assert!(prefix.bytes().all(|b| b.is_ascii_hexdigit()), "{p}");
    }
    h.auth.flush_events().await;
    let rejected: Vec<_> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::PasswordPwnedRejected(r) => Some(r.email_hash.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(rejected.len(), 3);
    assert_eq!(
        rejected[0].as_deref(),
        Some(authfort_core::crypto::sha256_hex("pwned@example.com").as_str())
    );
}

async fn an_unreachable_range_api_fails_open_or_closed_by_config(backend: Backend) {
    let range = PwnedRange::start(&[]).await;
    range.set_down(true);
    let base = range.base_url();
    let open = harness_tweaked(backend, |c| {
        c.pwned_passwords.enabled = true;
        c.pwned_passwords.base_url = base.clone();
    })
    .await;
    open.auth
        .create_user(CreateUser::new("open@example.com", PASSWORD))
        .await
        .unwrap();
    let closed = harness_tweaked(backend, |c| {
        c.pwned_passwords.enabled = true;
        c.pwned_passwords.base_url = base;
        c.pwned_passwords.fail_open = false;
    })
    .await;
    assert_eq!(
        code(
            closed
                .auth
                .create_user(CreateUser::new("closed@example.com", PASSWORD))
                .await
        ),
        "password_pwned"
    );
}

on_both_backends!(
    reset_sets_the_password_and_signs_out_everywhere,
    a_refused_password_leaves_the_token_usable,
    reset_tokens_expire_are_replaced_and_unknown_addresses_get_none,
    ten_concurrent_resets_have_one_winner,
    change_checks_the_old_password_and_signs_out_other_sessions,
    passwordless_accounts_set_a_first_password,
    length_is_counted_in_code_points_and_long_passwords_work,
    history_refuses_recent_passwords,
    breached_passwords_are_refused_through_the_range_api,
    an_unreachable_range_api_fails_open_or_closed_by_config,
);
