//! Email one-time codes through the library API: HMAC storage, attempts, expiry, races.

use std::sync::Arc;

use authfort_core::clock::ManualClock;
use authfort_core::crypto::sha256_hex;
use authfort_core::{AuthResponse, ClientInfo};
use authfort_test_support::{on_both_backends, test_config, Backend};
use time::Duration;

use crate::common::{code, create, decode_claims, harness, harness_with, kinds, record_events, Harness};

async fn request(h: &Harness, email: &str) -> String {
    h.auth.create_email_otp(email).await.unwrap().expect("a code")
}

async fn verify(h: &Harness, email: &str, code: &str) -> authfort_core::AuthResult<AuthResponse> {
    h.auth
        .verify_email_otp(email, code, &ClientInfo::default())
        .await
        .map(|s| s.authenticated().expect("no MFA here"))
}

/// A code that is not `code` (same length, digits).
fn other_than(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

async fn a_code_signs_in_once_with_email_otp_amr(backend: Backend) {
    let h = harness(backend).await;
    create(&h.auth, "otp@example.com").await;
    let events = record_events(&h.auth).await;
    let code_ = request(&h, "OTP@example.com").await;
    assert_eq!(code_.len(), 6);
    assert!(code_.bytes().all(|b| b.is_ascii_digit()));
    let signed_in = verify(&h, "otp@example.com", &code_).await.unwrap();
    assert!(signed_in.user.email_verified);
    let claims = decode_claims(&h.auth, &signed_in.tokens.access_token).await;
    assert_eq!(claims["amr"], serde_json::json!(["email_otp"]));
    assert_eq!(
        code(verify(&h, "otp@example.com", &code_).await),
        "invalid_otp",
        "single use"
    );
    h.auth.flush_events().await;
    let seen = kinds(&events);
    assert_eq!(
        seen,
        [
            "email_otp_requested",
            "email_verified",
            "session_revoked",
            "unverified_account_claimed",
            "email_otp_login",
            "login"
        ],
        "the first proof of an unverified address also evicts what predates it"
    );
}

async fn five_wrong_codes_kill_the_code(backend: Backend) {
    let h = harness(backend).await;
    create(&h.auth, "guess@example.com").await;
    let right = request(&h, "guess@example.com").await;
    let wrong = other_than(&right);
    for _ in 0..5 {
        assert_eq!(code(verify(&h, "guess@example.com", &wrong).await), "invalid_otp");
    }
    assert_eq!(
        code(verify(&h, "guess@example.com", &right).await),
        "invalid_otp",
        "dead even for the right code"
    );
    // Four wrong tries leave the fifth for the right code.
    let right = request(&h, "guess@example.com").await;
    let wrong = other_than(&right);
    for _ in 0..4 {
        assert_eq!(code(verify(&h, "guess@example.com", &wrong).await), "invalid_otp");
    }
    verify(&h, "guess@example.com", &right).await.unwrap();
}

async fn a_new_request_invalidates_the_older_code(backend: Backend) {
    let h = harness(backend).await;
    create(&h.auth, "again@example.com").await;
    let first = request(&h, "again@example.com").await;
    let mut second = request(&h, "again@example.com").await;
    while second == first {
        second = request(&h, "again@example.com").await;
    }
    assert_eq!(code(verify(&h, "again@example.com", &first).await), "invalid_otp");
    verify(&h, "again@example.com", &second).await.unwrap();
}

async fn codes_expire_with_the_clock(backend: Backend) {
    let h = harness(backend).await;
    create(&h.auth, "late@example.com").await;
    let c = request(&h, "late@example.com").await;
    h.clock.advance(Duration::seconds(300));
    assert_eq!(code(verify(&h, "late@example.com", &c).await), "invalid_otp");
}

async fn codes_belong_to_their_address(backend: Backend) {
    let h = harness(backend).await;
    create(&h.auth, "alice@example.com").await;
    create(&h.auth, "bob@example.com").await;
    let alice = request(&h, "alice@example.com").await;
    assert_eq!(code(verify(&h, "bob@example.com", &alice).await), "invalid_otp");
    assert_eq!(code(verify(&h, "nobody@example.com", &alice).await), "invalid_otp");
    verify(&h, "alice@example.com", &alice).await.unwrap();
}

async fn bad_inputs_are_refused_without_spending_a_try(backend: Backend) {
    let h = harness(backend).await;
    create(&h.auth, "input@example.com").await;
    let right = request(&h, "input@example.com").await;
    assert_eq!(code(h.auth.create_email_otp("not-an-email").await), "invalid_email");
    assert_eq!(code(verify(&h, "not-an-email", &right).await), "invalid_email");
    for bad in [
        "",
        "12345",
        "1234567",
        "12345a",
        " 123456",
        "１２３４５６",
        &"9".repeat(5000),
    ] {
        assert_eq!(
            code(verify(&h, "input@example.com", bad).await),
            "invalid_otp",
            "{bad:.10}"
        );
    }
    let row = h
        .auth
        .store()
        .latest_email_otp("input@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.attempts, 0);
    verify(&h, "input@example.com", &right).await.unwrap();
}

async fn unknown_banned_and_deleted_addresses_get_no_code(backend: Backend) {
    let h = harness(backend).await;
    assert_eq!(h.auth.create_email_otp("nobody@example.com").await.unwrap(), None);
    let banned = create(&h.auth, "banned@example.com").await.user.id;
    let pre_ban = request(&h, "banned@example.com").await;
    h.auth.ban_user(banned).await.unwrap();
    assert_eq!(code(verify(&h, "banned@example.com", &pre_ban).await), "user_banned");
    assert_eq!(h.auth.create_email_otp("banned@example.com").await.unwrap(), None);
    let gone = create(&h.auth, "gone@example.com").await.user.id;
    h.auth.delete_user(gone, false).await.unwrap();
    assert_eq!(h.auth.create_email_otp("gone@example.com").await.unwrap(), None);
}

async fn passwordless_signup_creates_the_account_at_verify_time(backend: Backend) {
    let mut config = test_config();
    config.allow_passwordless_signup = true;
    let h = harness_with(backend, config, ManualClock::starting_now()).await;
    let events = record_events(&h.auth).await;
    let c = request(&h, "fresh@example.com").await;
    assert!(h
        .auth
        .store()
        .user_by_email("fresh@example.com")
        .await
        .unwrap()
        .is_none());
    let signed_in = verify(&h, "fresh@example.com", &c).await.unwrap();
    assert!(signed_in.user.email_verified);
    h.auth.flush_events().await;
    assert_eq!(
        kinds(&events),
        [
            "email_otp_requested",
            "user_created",
            "email_verified",
            "email_otp_login",
            "login"
        ]
    );
}

async fn codes_are_stored_only_as_an_hmac(backend: Backend) {
    let h = harness(backend).await;
    create(&h.auth, "stored@example.com").await;
    let c = request(&h, "stored@example.com").await;
    let row = h
        .auth
        .store()
        .latest_email_otp("stored@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.code_hmac.len(), 64);
    assert!(!row.code_hmac.contains(&c));
    assert_ne!(row.code_hmac, sha256_hex(&c), "not a plain hash of the code");
    assert!(!format!("{row:?}").contains(&format!("\"{c}\"")));
}

async fn without_a_secret_key_otp_fails_closed(backend: Backend) {
    let mut config = test_config();
    config.secret_key = None;
    let h = harness_with(backend, config, ManualClock::starting_now()).await;
    create(&h.auth, "nokey@example.com").await;
    let err = h.auth.create_email_otp("nokey@example.com").await.unwrap_err();
    assert!(err.to_string().contains("secret_key"), "{err}");
    assert_eq!(code(verify(&h, "nokey@example.com", "123456").await), "internal_error");
}

async fn twenty_concurrent_verifications_have_one_winner(backend: Backend) {
    let h = harness(backend).await;
    create(&h.auth, "race@example.com").await;
    let c = request(&h, "race@example.com").await;
    let auth = Arc::new(h.auth.clone());
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (auth, c) = (auth.clone(), c.clone());
            tokio::spawn(async move {
                auth.verify_email_otp("race@example.com", &c, &ClientInfo::default())
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
}

on_both_backends!(
    a_code_signs_in_once_with_email_otp_amr,
    five_wrong_codes_kill_the_code,
    a_new_request_invalidates_the_older_code,
    codes_expire_with_the_clock,
    codes_belong_to_their_address,
    bad_inputs_are_refused_without_spending_a_try,
    unknown_banned_and_deleted_addresses_get_no_code,
    passwordless_signup_creates_the_account_at_verify_time,
    codes_are_stored_only_as_an_hmac,
    without_a_secret_key_otp_fails_closed,
    twenty_concurrent_verifications_have_one_winner,
);
