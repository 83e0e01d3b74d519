//! TOTP MFA through the library: enrolment, login with TOTP and backup codes, replay, lockout,
//! magic link and email OTP answering the challenge, token-purpose confusion, secrets at rest.
//! The clock is a `ManualClock` starting on a TOTP step boundary.

use std::sync::Arc;

use authfort_core::clock::{Clock, ManualClock};
use authfort_core::crypto::mfa::{base32_decode, hotp, totp_step};
use authfort_core::{Amr, AuthFort, ClientInfo, MfaChallenge, SignIn};
use authfort_test_support::{on_both_backends, test_config, Backend};
use serde_json::json;
use time::Duration;
use uuid::Uuid;

use crate::common::{code, create, decode_claims, harness_with, kinds, record_events, Harness, PASSWORD};

const EMAIL: &str = "alice@example.com";

async fn harness(backend: Backend) -> Harness {
    // Now (tokens are checked against the real clock by `decode_claims`), on a step boundary.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let start = time::OffsetDateTime::from_unix_timestamp(now - now % 30).unwrap();
    harness_with(backend, test_config(), ManualClock::new(start)).await
}

/// The code of `secret` at the clock's step plus `offset` steps.
fn totp_at(h: &Harness, secret: &str, offset: i64) -> String {
    let step = totp_step(h.clock.now().unix_timestamp()) + offset;
    hotp(&base32_decode(secret).unwrap(), step as u64)
}

/// Creates [`EMAIL`] with MFA enabled; returns (user id, secret, backup codes). The clock is
/// moved one step on, so the confirming code is not the current one.
async fn enrolled(h: &Harness) -> (Uuid, String, Vec<String>) {
    let user = create(&h.auth, EMAIL).await.user.id;
    let setup = h.auth.enable_mfa_init(user).await.unwrap();
    let codes = h
        .auth
        .enable_mfa_confirm(user, &totp_at(h, &setup.secret, 0))
        .await
        .unwrap();
    h.clock.advance(Duration::seconds(30));
    (user, setup.secret, codes)
}

async fn challenge(h: &Harness) -> MfaChallenge {
    match h.auth.login(EMAIL, PASSWORD, &ClientInfo::default()).await.unwrap() {
        SignIn::MfaRequired(c) => c,
        other => panic!("expected a challenge, got {other:?}"),
    }
}

async fn enrolment_gives_a_uri_codes_and_bumps_the_version(backend: Backend) {
    let h = harness(backend).await;
    let signed = create(&h.auth, EMAIL).await;
    let user = signed.user.id;
    assert_eq!(
        code(h.auth.enable_mfa_confirm(user, "123456").await),
        "mfa_not_initiated"
    );
    let first = h.auth.enable_mfa_init(user).await.unwrap();
    let setup = h.auth.enable_mfa_init(user).await.unwrap();
    assert_ne!(first.secret, setup.secret, "init again replaces the pending secret");
    assert_eq!(setup.secret.len(), 32);
    assert_eq!(base32_decode(&setup.secret).unwrap().len(), 20);
    assert_eq!(
        setup.qr_uri,
        format!(
            "otpauth://totp/authfort:alice%40example.com?secret={}&issuer=authfort",
            setup.secret
        )
    );
    assert!(
        !h.auth.get_mfa_status(user).await.unwrap().enabled,
        "pending is not enabled"
    );
    assert_eq!(
        code(h.auth.enable_mfa_confirm(user, &totp_at(&h, &first.secret, 0)).await),
        "invalid_mfa_code"
    );
    assert_eq!(
        code(h.auth.enable_mfa_confirm(user, "abcdef").await),
        "invalid_mfa_code"
    );
    let events = record_events(&h.auth).await;
    let spaced = totp_at(&h, &setup.secret, -1);
    let codes = h
        .auth
        .enable_mfa_confirm(user, &format!(" {} {} ", &spaced[..3], &spaced[3..]))
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'));
    let status = h.auth.get_mfa_status(user).await.unwrap();
    assert_eq!((status.enabled, status.backup_codes_remaining), (true, 10));
    assert_eq!(code(h.auth.enable_mfa_init(user).await), "mfa_already_enabled");
    assert_eq!(
        code(h.auth.enable_mfa_confirm(user, &spaced).await),
        "mfa_already_enabled"
    );
    assert_eq!(
        code(h.auth.authenticate(&signed.tokens.access_token).await),
        "token_version_mismatch"
    );
    h.auth.flush_events().await;
    assert_eq!(kinds(&events), ["mfa_enabled"]);
    // The refresh token still works and now says MFA is on.
    let refreshed = h
        .auth
        .refresh(&signed.tokens.refresh_token, None, &ClientInfo::default())
        .await
        .unwrap();
    assert!(refreshed.user.mfa_enabled);
    let me = h.auth.authenticate(&refreshed.tokens.access_token).await.unwrap();
    assert!(me.response().mfa_enabled);
}

async fn password_login_needs_totp_and_gets_both_factors(backend: Backend) {
    let h = harness(backend).await;
    let (user, secret, _) = enrolled(&h).await;
    let events = record_events(&h.auth).await;
    let c = challenge(&h).await;
    assert!(c.mfa_required);
    assert_eq!(c.expires_in, 300);
    let claims = decode_claims(&h.auth, &c.mfa_token).await;
    assert_eq!(claims["purpose"], "mfa_challenge");
    assert_eq!(claims["sub"], user.to_string());
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 300);
    assert!(claims.get("email").is_none() && claims.get("ver").is_none());
    assert_eq!(
        h.auth.get_sessions(user, false).await.unwrap().len(),
        1,
        "only the signup session"
    );
    // The challenge is not an access token.
    assert_eq!(code(h.auth.authenticate(&c.mfa_token).await), "token_invalid");

    let wrong = format!(
        "{:06}",
        (totp_at(&h, &secret, 0).parse::<u32>().unwrap() + 1) % 1_000_000
    );
    assert_eq!(
        code(
            h.auth
                .complete_mfa_login(&c.mfa_token, &wrong, &ClientInfo::default())
                .await
        ),
        "invalid_mfa_code"
    );
    let signed = h
        .auth
        .complete_mfa_login(&c.mfa_token, &totp_at(&h, &secret, 1), &ClientInfo::default())
        .await
        .unwrap();
    assert!(signed.user.mfa_enabled);
    let claims = decode_claims(&h.auth, &signed.tokens.access_token).await;
    assert_eq!(claims["amr"], json!(["pwd", "mfa"]));
    assert_eq!(claims["mfa_enabled"], true);
    h.auth.flush_events().await;
    assert_eq!(kinds(&events), ["mfa_failed", "login", "mfa_login"]);
    // The counter was reset by the success.
    assert_eq!(h.auth.store().mfa(user).await.unwrap().unwrap().failed_attempts, 0);
}

async fn an_accepted_code_is_refused_for_its_whole_window(backend: Backend) {
    let h = harness(backend).await;
    let (_, secret, _) = enrolled(&h).await;
    let c = challenge(&h).await;
    let now = totp_at(&h, &secret, 0);
    h.auth
        .complete_mfa_login(&c.mfa_token, &now, &ClientInfo::default())
        .await
        .unwrap();
    // Same code, same step, and the next 60 s while it would still be in the window.
    for _ in 0..3 {
        let again = h
            .auth
            .complete_mfa_login(&c.mfa_token, &now, &ClientInfo::default())
            .await;
        assert_eq!(code(again), "invalid_mfa_code");
        h.clock.advance(Duration::seconds(30));
    }
    // A new challenge does not revive it; the current step's code works.
    let c = challenge(&h).await;
    assert_eq!(
        code(
            h.auth
                .complete_mfa_login(&c.mfa_token, &now, &ClientInfo::default())
                .await
        ),
        "invalid_mfa_code"
    );
    h.auth
        .complete_mfa_login(&c.mfa_token, &totp_at(&h, &secret, 0), &ClientInfo::default())
        .await
        .unwrap();
}

async fn the_confirming_code_cannot_log_in(backend: Backend) {
    let h = harness(backend).await;
    let user = create(&h.auth, EMAIL).await.user.id;
    let setup = h.auth.enable_mfa_init(user).await.unwrap();
    let confirm = totp_at(&h, &setup.secret, 0);
    h.auth.enable_mfa_confirm(user, &confirm).await.unwrap();
    let c = challenge(&h).await;
    assert_eq!(
        code(
            h.auth
                .complete_mfa_login(&c.mfa_token, &confirm, &ClientInfo::default())
                .await
        ),
        "invalid_mfa_code"
    );
}

async fn backup_codes_work_once_each(backend: Backend) {
    let h = harness(backend).await;
    let (user, _, codes) = enrolled(&h).await;
    let events = record_events(&h.auth).await;
    let c = challenge(&h).await;
    let messy = format!("  {} ", codes[0].to_uppercase().replace('-', " - "));
    let signed = h
        .auth
        .complete_mfa_login(&c.mfa_token, &messy, &ClientInfo::default())
        .await
        .unwrap();
    assert_eq!(
        decode_claims(&h.auth, &signed.tokens.access_token).await["amr"],
        json!(["pwd", "mfa"])
    );
    let again = h
        .auth
        .complete_mfa_login(&c.mfa_token, &codes[0], &ClientInfo::default())
        .await;
    let Err(authfort_core::AuthError::Rejected { code, message, .. }) = again else {
        panic!("a used code must fail");
    };
    assert_eq!((code, message.as_str()), ("invalid_mfa_code", "Invalid MFA code"));
    assert_eq!(h.auth.get_mfa_status(user).await.unwrap().backup_codes_remaining, 9);
    h.auth.flush_events().await;
    assert_eq!(kinds(&events), ["login", "mfa_login", "backup_code_used", "mfa_failed"]);
}

async fn concurrent_uses_of_one_backup_code_have_one_winner(backend: Backend) {
    let h = harness(backend).await;
    let (user, _, codes) = enrolled(&h).await;
    let c = challenge(&h).await;
    let auth = Arc::new(h.auth.clone());
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (auth, token, code) = (auth.clone(), c.mfa_token.clone(), codes[3].clone());
            tokio::spawn(async move {
                auth.complete_mfa_login(&token, &code, &ClientInfo::default())
                    .await
                    .is_ok()
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
    assert_eq!(h.auth.get_mfa_status(user).await.unwrap().backup_codes_remaining, 9);
}

async fn lockout_refuses_even_correct_codes_until_it_expires(backend: Backend) {
    let h = harness(backend).await;
    let (user, secret, codes) = enrolled(&h).await;
    let events = record_events(&h.auth).await;
    let c = challenge(&h).await;
    for _ in 0..5 {
        let r = h
            .auth
            .complete_mfa_login(&c.mfa_token, "000000x", &ClientInfo::default())
            .await;
        assert_eq!(code(r), "invalid_mfa_code", "the crossing attempt itself is still 401");
    }
    // A fresh challenge does not reset it; a correct code is refused.
    let fresh = challenge(&h).await;
    let locked = h
        .auth
        .complete_mfa_login(&fresh.mfa_token, &totp_at(&h, &secret, 0), &ClientInfo::default())
        .await;
    assert_eq!(code(locked), "mfa_locked");
    assert_eq!(
        code(
            h.auth
                .complete_mfa_login(&fresh.mfa_token, &codes[0], &ClientInfo::default())
                .await
        ),
        "mfa_locked"
    );
    h.auth.flush_events().await;
    let seen = kinds(&events);
    assert_eq!(seen.iter().filter(|k| **k == "mfa_failed").count(), 5);
    assert_eq!(seen.iter().filter(|k| **k == "mfa_locked").count(), 1);
    // 15 minutes later it works again (with a new challenge: the old one expired).
    h.clock.advance(Duration::seconds(900));
    let c = challenge(&h).await;
    h.auth
        .complete_mfa_login(&c.mfa_token, &totp_at(&h, &secret, 0), &ClientInfo::default())
        .await
        .unwrap();
    assert_eq!(h.auth.store().mfa(user).await.unwrap().unwrap().locked_until, None);
}

async fn concurrent_guesses_cannot_outrun_the_lockout(backend: Backend) {
    let h = harness(backend).await;
    let (user, secret, _) = enrolled(&h).await;
    let c = challenge(&h).await;
    let auth = Arc::new(h.auth.clone());
    // Twenty wrong codes (none of the codes valid around now).
    let valid: Vec<String> = (-1..=1).map(|o| totp_at(&h, &secret, o)).collect();
    let guesses: Vec<String> = (100_000..)
        .map(|n: u32| n.to_string())
        .filter(|g| !valid.contains(g))
        .take(20)
        .collect();
    let tasks: Vec<_> = guesses
        .into_iter()
        .map(|guess| {
            let (auth, token) = (auth.clone(), c.mfa_token.clone());
            tokio::spawn(async move {
                match auth.complete_mfa_login(&token, &guess, &ClientInfo::default()).await {
                    Ok(_) => "signed_in",
                    Err(e) => e.code(),
                }
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    // Only the five counted attempts had their code compared; the rest were locked out.
    let compared = outcomes.iter().filter(|o| **o == "invalid_mfa_code").count();
    assert_eq!(compared, 5, "{outcomes:?}");
    assert_eq!(
        compared + outcomes.iter().filter(|o| **o == "mfa_locked").count(),
        20,
        "{outcomes:?}"
    );
    assert!(h.auth.store().mfa(user).await.unwrap().unwrap().locked_until.is_some());
}

async fn challenge_tokens_expire_and_purposes_do_not_mix(backend: Backend) {
    let h = harness(backend).await;
    let (user, secret, _) = enrolled(&h).await;
    let c = challenge(&h).await;
    let access = create(&h.auth, "bob@example.com").await;
    let bad = |r: authfort_core::AuthResult<_>| match r {
        Err(authfort_core::AuthError::Rejected { code, message, .. }) => (code, message),
        Ok(_) => panic!("must fail"),
        Err(e) => panic!("{e}"),
    };
    for token in [
        access.tokens.access_token.as_str(),
        access.tokens.refresh_token.as_str(),
        "",
        "a.b.c",
        "x",
    ] {
        let (code, message) = bad(h
            .auth
            .complete_mfa_login(token, &totp_at(&h, &secret, 0), &ClientInfo::default())
            .await);
        assert_eq!(
            (code, message.as_str()),
            ("invalid_mfa_token", "Invalid MFA token"),
            "{token}"
        );
    }
    let huge = "a".repeat(100_000);
    assert_eq!(
        bad(h.auth.complete_mfa_login(&huge, "123456", &ClientInfo::default()).await).0,
        "invalid_mfa_token"
    );
    h.clock.advance(Duration::seconds(300));
    let (code_, message) = bad(h
        .auth
        .complete_mfa_login(&c.mfa_token, &totp_at(&h, &secret, 0), &ClientInfo::default())
        .await);
    assert_eq!(
        (code_, message.as_str()),
        ("invalid_mfa_token", "MFA session expired, please log in again")
    );
    // MFA turned off meanwhile.
    let c = challenge(&h).await;
    h.auth.admin_disable_mfa(user).await.unwrap();
    let (code_, message) = bad(h
        .auth
        .complete_mfa_login(&c.mfa_token, "123456", &ClientInfo::default())
        .await);
    assert_eq!(
        (code_, message.as_str()),
        ("invalid_mfa_token", "MFA not enabled for this user")
    );
    assert_eq!(code(h.auth.admin_disable_mfa(user).await), "mfa_not_enabled");
    assert_eq!(code(h.auth.admin_disable_mfa(Uuid::new_v4()).await), "user_not_found");
}

async fn magic_link_and_email_otp_answer_the_challenge(backend: Backend) {
    let h = harness(backend).await;
    let (user, secret, _) = enrolled(&h).await;
    let events = record_events(&h.auth).await;
    let link = h.auth.create_magic_link_token(EMAIL).await.unwrap().unwrap();
    let signed = h.auth.verify_magic_link(&link, &ClientInfo::default()).await.unwrap();
    let c = signed.sign_in.mfa_challenge().expect("a challenge, not tokens");
    assert_eq!(
        code(h.auth.verify_magic_link(&link, &ClientInfo::default()).await),
        "invalid_magic_link"
    );
    let done = h
        .auth
        .complete_mfa_login(&c.mfa_token, &totp_at(&h, &secret, 0), &ClientInfo::default())
        .await
        .unwrap();
    assert_eq!(
        decode_claims(&h.auth, &done.tokens.access_token).await["amr"],
        json!(["email_link", "mfa"])
    );
    let session = h
        .auth
        .store()
        .session(done.user.session_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.amr, [Amr::EmailLink, Amr::Mfa]);

    h.clock.advance(Duration::seconds(30));
    let otp = h.auth.create_email_otp(EMAIL).await.unwrap().unwrap();
    let c = h
        .auth
        .verify_email_otp(EMAIL, &otp, &ClientInfo::default())
        .await
        .unwrap()
        .mfa_challenge()
        .expect("a challenge");
    assert_eq!(
        code(h.auth.verify_email_otp(EMAIL, &otp, &ClientInfo::default()).await),
        "invalid_otp"
    );
    let done = h
        .auth
        .complete_mfa_login(&c.mfa_token, &totp_at(&h, &secret, 0), &ClientInfo::default())
        .await
        .unwrap();
    assert_eq!(
        decode_claims(&h.auth, &done.tokens.access_token).await["amr"],
        json!(["email_otp", "mfa"])
    );
    h.auth.flush_events().await;
    let seen = kinds(&events);
    assert!(
        !seen.contains(&"magic_link_login") && !seen.contains(&"email_otp_login"),
        "{seen:?}"
    );
    assert_eq!(seen.iter().filter(|k| **k == "mfa_login").count(), 2);
    let _ = user;
}

async fn disable_and_regenerate(backend: Backend) {
    let h = harness(backend).await;
    let (user, secret, codes) = enrolled(&h).await;
    let events = record_events(&h.auth).await;
    assert_eq!(
        code(h.auth.regenerate_backup_codes(user, &codes[0]).await),
        "invalid_mfa_code"
    );
    let fresh = h
        .auth
        .regenerate_backup_codes(user, &totp_at(&h, &secret, 0))
        .await
        .unwrap();
    assert_eq!(fresh.len(), 10);
    assert_eq!(
        code(h.auth.disable_mfa(user, &codes[1]).await),
        "invalid_mfa_code",
        "old codes are gone"
    );
    assert_eq!(
        code(h.auth.disable_mfa(user, &totp_at(&h, &secret, 0)).await),
        "invalid_mfa_code",
        "the regenerating code was spent"
    );
    let before = h.auth.store().user_by_id(user).await.unwrap().unwrap().token_version;
    h.auth.disable_mfa(user, &fresh[0]).await.unwrap();
    assert_eq!(
        h.auth.store().user_by_id(user).await.unwrap().unwrap().token_version,
        before + 1
    );
    let status = h.auth.get_mfa_status(user).await.unwrap();
    assert_eq!((status.enabled, status.backup_codes_remaining), (false, 0));
    assert_eq!(code(h.auth.disable_mfa(user, "123456").await), "mfa_not_enabled");
    assert_eq!(
        code(h.auth.regenerate_backup_codes(user, "123456").await),
        "mfa_not_enabled"
    );
    assert!(matches!(
        h.auth.login(EMAIL, PASSWORD, &ClientInfo::default()).await.unwrap(),
        SignIn::Authenticated(_)
    ));
    h.auth.flush_events().await;
    assert_eq!(kinds(&events)[..2], ["backup_codes_regenerated", "mfa_disabled"]);
}

async fn secrets_are_not_readable_from_the_rows(backend: Backend) {
    let h = harness(backend).await;
    let (user, secret, codes) = enrolled(&h).await;
    let row = h.auth.store().mfa(user).await.unwrap().unwrap();
    assert!(!row.secret_enc.contains(&secret));
    let raw = base32_decode(&secret).unwrap();
    assert!(!row.secret_enc.contains(&hex::encode(&raw)));
    for c in &codes {
        let plain_hash = authfort_core::crypto::sha256_hex(&c.replace('-', ""));
        let n =
            h.db.count(
                &format!(
                    "SELECT COUNT(*) FROM authfort_mfa_backup_codes WHERE user_id = $1 \
                     AND (code_hmac = '{plain_hash}' OR code_hmac LIKE '%{}%')",
                    c.replace('-', "")
                ),
                user,
            )
            .await;
        assert_eq!(n, 0);
    }
    assert_eq!(
        h.db.count(
            "SELECT COUNT(*) FROM authfort_mfa_backup_codes WHERE user_id = $1",
            user
        )
        .await,
        10
    );
    // Without the server secret, MFA fails closed.
    let mut config = test_config();
    config.secret_key = None;
    let other = AuthFort::builder_with_store(h.db.store.clone())
        .config(config)
        .key_generator(Arc::new(authfort_test_support::CachedKeys::default()))
        .build()
        .await
        .unwrap();
    assert_eq!(code(other.enable_mfa_init(user).await), "internal_error");
}

on_both_backends!(
    enrolment_gives_a_uri_codes_and_bumps_the_version,
    password_login_needs_totp_and_gets_both_factors,
    an_accepted_code_is_refused_for_its_whole_window,
    the_confirming_code_cannot_log_in,
    backup_codes_work_once_each,
    concurrent_uses_of_one_backup_code_have_one_winner,
    lockout_refuses_even_correct_codes_until_it_expires,
    concurrent_guesses_cannot_outrun_the_lockout,
    challenge_tokens_expire_and_purposes_do_not_mix,
    magic_link_and_email_otp_answer_the_challenge,
    disable_and_regenerate,
    secrets_are_not_readable_from_the_rows,
);
