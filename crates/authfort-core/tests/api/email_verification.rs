//! Email verification through the library API: tokens, single use, expiry, purposes.

use std::sync::Arc;

use authfort_core::events::Event;
use authfort_core::{AuthFort, ClientInfo, CreateUser};
use authfort_test_support::{on_both_backends, Backend};
use time::Duration;

use crate::common::{code, create, harness, harness_with, kinds, record_events};
use authfort_core::clock::ManualClock;
use authfort_test_support::test_config;

async fn user_id(auth: &AuthFort, email: &str) -> uuid::Uuid {
    create(auth, email).await.user.id
}

async fn a_token_verifies_the_address_once(backend: Backend) {
    let h = harness(backend).await;
    let id = user_id(&h.auth, "v@example.com").await;
    let events = record_events(&h.auth).await;
    let token = h.auth.create_email_verification_token(id).await.unwrap().unwrap();
    assert_eq!(token.len(), 86);
    h.auth.verify_email(&token).await.unwrap();
    assert!(h.auth.get_user(id).await.unwrap().email_verified);
    assert_eq!(code(h.auth.verify_email(&token).await), "invalid_verification_token");
    assert_eq!(
        h.auth.create_email_verification_token(id).await.unwrap(),
        None,
        "already verified"
    );
    h.auth.flush_events().await;
    assert_eq!(kinds(&events), ["email_verification_requested", "email_verified"]);
    let first = events.lock().unwrap()[0].clone();
    match &first {
        Event::EmailVerificationRequested(e) => {
            assert_eq!(e.token.expose(), token);
            assert_eq!(format!("{e:?}").matches(&token).count(), 0, "Debug hides the token");
        }
        other => panic!("{other:?}"),
    }
}

async fn a_new_token_invalidates_the_older_one(backend: Backend) {
    let h = harness(backend).await;
    let id = user_id(&h.auth, "twice@example.com").await;
    let first = h.auth.create_email_verification_token(id).await.unwrap().unwrap();
    let second = h.auth.create_email_verification_token(id).await.unwrap().unwrap();
    assert_eq!(code(h.auth.verify_email(&first).await), "invalid_verification_token");
    h.auth.verify_email(&second).await.unwrap();
}

async fn tokens_expire_with_the_clock(backend: Backend) {
    let h = harness(backend).await;
    let id = user_id(&h.auth, "late@example.com").await;
    let token = h.auth.create_email_verification_token(id).await.unwrap().unwrap();
    h.clock.advance(Duration::seconds(86_400));
    assert_eq!(code(h.auth.verify_email(&token).await), "invalid_verification_token");
}

async fn tokens_of_other_purposes_and_garbage_are_refused(backend: Backend) {
    let h = harness(backend).await;
    let id = user_id(&h.auth, "purpose@example.com").await;
    let reset = h
        .auth
        .create_password_reset_token("purpose@example.com")
        .await
        .unwrap()
        .unwrap();
    let magic = h
        .auth
        .create_magic_link_token("purpose@example.com")
        .await
        .unwrap()
        .unwrap();
    let verify = h.auth.create_email_verification_token(id).await.unwrap().unwrap();
    for bad in [reset.as_str(), magic.as_str(), "", "garbage", &"x".repeat(10_000)] {
        assert_eq!(
            code(h.auth.verify_email(bad).await),
            "invalid_verification_token",
            "{bad:.20}"
        );
    }
    assert_eq!(
        code(h.auth.reset_password(&verify, "a brand new password").await),
        "invalid_reset_token",
        "a verification token is no reset token"
    );
    assert_eq!(
        code(h.auth.verify_magic_link(&verify, &ClientInfo::default()).await),
        "invalid_magic_link"
    );
    // The refusals consumed nothing.
    h.auth.verify_email(&verify).await.unwrap();
    h.auth.reset_password(&reset, "a brand new password").await.unwrap();
}

async fn missing_and_deleted_users_get_no_token(backend: Backend) {
    let h = harness(backend).await;
    assert_eq!(
        h.auth
            .create_email_verification_token(uuid::Uuid::new_v4())
            .await
            .unwrap(),
        None
    );
    let id = user_id(&h.auth, "gone@example.com").await;
    let token = h.auth.create_email_verification_token(id).await.unwrap().unwrap();
    h.auth.delete_user(id, false).await.unwrap();
    assert_eq!(h.auth.create_email_verification_token(id).await.unwrap(), None);
    assert_eq!(code(h.auth.verify_email(&token).await), "invalid_verification_token");
}

async fn twenty_concurrent_verifications_have_one_winner(backend: Backend) {
    let h = harness(backend).await;
    let id = user_id(&h.auth, "race@example.com").await;
    let events = record_events(&h.auth).await;
    let token = h.auth.create_email_verification_token(id).await.unwrap().unwrap();
    let auth = Arc::new(h.auth.clone());
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (auth, token) = (auth.clone(), token.clone());
            tokio::spawn(async move { auth.verify_email(&token).await.is_ok() })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
    h.auth.flush_events().await;
    assert_eq!(kinds(&events).iter().filter(|k| **k == "email_verified").count(), 1);
}

async fn signup_sends_a_verification_email_when_configured(backend: Backend) {
    let mut config = test_config();
    config.email_verification.send_on_signup = true;
    config.email.transport = "log".into();
    config.public_url = Some("https://auth.example.test".into());
    let h = harness_with(backend, config, ManualClock::starting_now()).await;
    let events = record_events(&h.auth).await;
    h.auth
        .signup(
            CreateUser::new("new@example.com", "correct horse battery"),
            &ClientInfo::default(),
        )
        .await
        .unwrap();
    // Created verified by an administrator: nothing to verify.
    let mut verified = CreateUser::new("admin-made@example.com", "correct horse battery");
    verified.email_verified = true;
    h.auth.create_user(verified).await.unwrap();
    h.auth.flush_events().await;
    let requested: Vec<_> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::EmailVerificationRequested(r) => Some((r.email.clone(), r.link.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(requested.len(), 1);
    assert_eq!(requested[0].0, "new@example.com");
    let link = requested[0].1.as_ref().unwrap().expose().to_owned();
    assert!(
        link.starts_with("https://auth.example.test/auth/verify-email/confirm#token="),
        "{link}"
    );
    let queued = h.auth.store().outbox_for("new@example.com").await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].kind, "email_verification");
}

on_both_backends!(
    a_token_verifies_the_address_once,
    a_new_token_invalidates_the_older_one,
    tokens_expire_with_the_clock,
    tokens_of_other_purposes_and_garbage_are_refused,
    missing_and_deleted_users_get_no_token,
    twenty_concurrent_verifications_have_one_winner,
    signup_sends_a_verification_email_when_configured,
);
