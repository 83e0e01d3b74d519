//! Email verification, email one-time codes and password writes: the conditional writes that
//! decide their winners, on both backends.

use std::sync::Arc;

use authfort_core::crypto::sha256_hex;
use authfort_core::model::{EmailOtp, OutboxMessage, VerificationToken};
use authfort_core::store::{PasswordCondition, PasswordWrite, RedeemEmailOtp, RedeemOutcome, Store, UserQuery};
use authfort_core::Amr;
use authfort_test_support::{on_both_backends, Backend, TestDb};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::common::{insert_user, open_session, session_for, token_in, user_with_session, REFRESH_TTL, T0};

fn token(user_id: Uuid, email: &str, purpose: &str, raw: &str, expires_at: OffsetDateTime) -> VerificationToken {
    VerificationToken {
        id: Uuid::new_v4(),
        user_id: Some(user_id),
        email: email.to_owned(),
        purpose: purpose.to_owned(),
        token_hash: sha256_hex(raw),
        redirect_to: None,
        expires_at,
        created_at: T0,
        consumed_at: None,
    }
}

fn otp(user_id: Option<Uuid>, email: &str, hmac: &str) -> EmailOtp {
    EmailOtp {
        id: Uuid::new_v4(),
        user_id,
        email: email.to_owned(),
        code_hmac: hmac.to_owned(),
        attempts: 0,
        expires_at: T0 + Duration::minutes(5),
        created_at: T0,
        consumed_at: None,
    }
}

fn try_code(email: &str, hmac: &str, now: OffsetDateTime, allow_signup: bool) -> RedeemEmailOtp {
    let mut session = session_for(Uuid::nil(), now, now + REFRESH_TTL);
    session.amr = vec![Amr::EmailOtp];
    let refresh = token_in(&session, now, now + REFRESH_TTL);
    RedeemEmailOtp {
        email: email.to_owned(),
        code_hmac: hmac.to_owned(),
        now,
        max_attempts: EmailOtp::MAX_ATTEMPTS,
        allow_signup,
        new_user_id: Uuid::new_v4(),
        session,
        refresh,
    }
}

fn write(user_id: Uuid, condition: PasswordCondition, keep: Option<Uuid>, history: u32) -> PasswordWrite {
    PasswordWrite {
        user_id,
        password_hash: format!("$argon2id$new-{}", Uuid::new_v4()),
        condition,
        keep_session: keep,
        history_keep: history,
        now: T0 + Duration::minutes(1),
    }
}

fn mail_for(token: &VerificationToken) -> OutboxMessage {
    OutboxMessage {
        id: Uuid::new_v4(),
        kind: "magic_link".to_owned(),
        recipient: token.email.clone(),
        subject: Some("Your sign-in link".to_owned()),
        body_text: Some(format!("link for {}", token.id)),
        body_html: Some(format!("<p>link for {}</p>", token.id)),
        token_id: Some(token.id),
        expires_at: Some(token.expires_at),
        status: "pending".to_owned(),
        attempts: 0,
        next_attempt_at: token.created_at,
        locked_until: None,
        last_error: None,
        created_at: token.created_at,
        sent_at: None,
    }
}

async fn a_new_link_replaces_the_unused_one_and_drops_its_pending_mail(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let user = insert_user(db.store.as_ref(), "ml@example.com", T0).await;
    let expires = T0 + Duration::minutes(15);
    let first = token(user.id, &user.email, "magic_link", "first-raw", expires);
    let first_mail = mail_for(&first);
    db.store
        .create_verification_token(&first, Some(&first_mail))
        .await
        .unwrap();
    let other = token(user.id, &user.email, "password_reset", "reset-raw", expires);
    db.store.create_verification_token(&other, None).await.unwrap();
    let second = token(user.id, &user.email, "magic_link", "second-raw", expires);
    let second_mail = mail_for(&second);

    // Act
    db.store
        .create_verification_token(&second, Some(&second_mail))
        .await
        .unwrap();

    // Assert
    let store = db.store.as_ref();
    assert!(store
        .verification_token_by_hash(&first.token_hash)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .verification_token_by_hash(&second.token_hash)
            .await
            .unwrap()
            .unwrap()
            .id,
        second.id
    );
    assert!(
        store
            .verification_token_by_hash(&other.token_hash)
            .await
            .unwrap()
            .is_some(),
        "another purpose is untouched"
    );
    let dropped = store.outbox_message(first_mail.id).await.unwrap().unwrap();
    assert_eq!(dropped.status, "dropped");
    assert_eq!(dropped.body_text, None);
    assert_eq!(dropped.body_html, None);
    assert_eq!(dropped.last_error.as_deref(), Some("superseded by a newer token"));
    let queued = store.outbox_message(second_mail.id).await.unwrap().unwrap();
    assert_eq!(queued, second_mail);
}

async fn verification_token_is_consumed_once_and_only_for_its_purpose(backend: Backend) {
    let db = TestDb::new(backend).await;
    let user = insert_user(db.store.as_ref(), "v@example.com", T0).await;
    let expires = T0 + Duration::hours(24);
    let reset = token(user.id, &user.email, "password_reset", "reset-raw", expires);
    let verify = token(user.id, &user.email, "email_verify", "verify-raw", expires);
    db.store.create_verification_token(&reset, None).await.unwrap();
    db.store.create_verification_token(&verify, None).await.unwrap();
    let now = T0 + Duration::minutes(1);

    assert!(
        db.store
            .redeem_email_verification(&reset.token_hash, now)
            .await
            .unwrap()
            .is_none(),
        "a reset token is no verification token"
    );
    let (stored, flipped) = db
        .store
        .redeem_email_verification(&verify.token_hash, now)
        .await
        .unwrap()
        .expect("redeemed");
    assert!(flipped && stored.email_verified);
    assert!(db.store.user_by_id(user.id).await.unwrap().unwrap().email_verified);
    assert!(db
        .store
        .redeem_email_verification(&verify.token_hash, now)
        .await
        .unwrap()
        .is_none());

    let late = token(
        user.id,
        &user.email,
        "email_verify",
        "late-raw",
        T0 + Duration::minutes(2),
    );
    db.store.create_verification_token(&late, None).await.unwrap();
    assert!(db
        .store
        .redeem_email_verification(&late.token_hash, T0 + Duration::minutes(2))
        .await
        .unwrap()
        .is_none());
}

async fn twenty_concurrent_verifications_have_one_winner(backend: Backend) {
    let db = TestDb::new(backend).await;
    let user = insert_user(db.store.as_ref(), "race@example.com", T0).await;
    let t = token(
        user.id,
        &user.email,
        "email_verify",
        "race-raw",
        T0 + Duration::hours(1),
    );
    db.store.create_verification_token(&t, None).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store: Arc<dyn Store> = db.store.clone();
            let hash = t.token_hash.clone();
            tokio::spawn(async move { store.redeem_email_verification(&hash, T0 + Duration::minutes(1)).await })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap().expect("no error").is_some());
    }
    assert_eq!(wins, 1);
}

async fn otp_attempts_are_counted_and_capped(backend: Backend) {
    let db = TestDb::new(backend).await;
    let user = insert_user(db.store.as_ref(), "otp@example.com", T0).await;
    db.store
        .create_email_otp(&otp(Some(user.id), &user.email, "right"), None)
        .await
        .unwrap();
    let now = T0 + Duration::minutes(1);
    for n in 1..=EmailOtp::MAX_ATTEMPTS {
        let outcome = db
            .store
            .redeem_email_otp(&try_code(&user.email, "wrong", now, false))
            .await
            .unwrap();
        assert!(matches!(outcome, RedeemOutcome::Invalid));
        assert_eq!(
            db.store.latest_email_otp(&user.email).await.unwrap().unwrap().attempts,
            n
        );
    }
    let outcome = db
        .store
        .redeem_email_otp(&try_code(&user.email, "right", now, false))
        .await
        .unwrap();
    assert!(matches!(outcome, RedeemOutcome::Invalid), "dead after 5 wrong tries");
    let row = db.store.latest_email_otp(&user.email).await.unwrap().unwrap();
    assert_eq!(row.attempts, EmailOtp::MAX_ATTEMPTS);
    assert!(row.consumed_at.is_none());
}

async fn otp_signs_in_once_and_a_new_code_replaces_the_old(backend: Backend) {
    let db = TestDb::new(backend).await;
    let user = insert_user(db.store.as_ref(), "otp2@example.com", T0).await;
    db.store
        .create_email_otp(&otp(Some(user.id), &user.email, "old"), None)
        .await
        .unwrap();
    db.store
        .create_email_otp(&otp(Some(user.id), &user.email, "new"), None)
        .await
        .unwrap();
    db.store.add_role(user.id, "editor", false, T0).await.unwrap();
    let now = T0 + Duration::minutes(1);
    let old = db
        .store
        .redeem_email_otp(&try_code(&user.email, "old", now, false))
        .await
        .unwrap();
    assert!(matches!(old, RedeemOutcome::Invalid), "the older code is gone");
    let RedeemOutcome::SignedIn(r) = db
        .store
        .redeem_email_otp(&try_code(&user.email, "new", now, false))
        .await
        .unwrap()
    else {
        panic!("expected a sign-in");
    };
    assert_eq!(r.user.id, user.id);
    assert!(r.verified_now && r.user.email_verified);
    assert_eq!(r.session.user_id, user.id);
    assert_eq!(r.session.amr, vec![Amr::EmailOtp]);
    assert_eq!(r.roles, ["editor"], "read in the redeem's transaction");
    assert!(!r.mfa_enabled);
    assert!(db.store.session(r.session.id).await.unwrap().is_some());
    let again = db
        .store
        .redeem_email_otp(&try_code(&user.email, "new", now, false))
        .await
        .unwrap();
    assert!(matches!(again, RedeemOutcome::Invalid), "single use");
    // Another address's code never matches.
    let other = insert_user(db.store.as_ref(), "other@example.com", T0).await;
    db.store
        .create_email_otp(&otp(Some(other.id), &other.email, "same"), None)
        .await
        .unwrap();
    let wrong_address = db
        .store
        .redeem_email_otp(&try_code(&user.email, "same", now, false))
        .await
        .unwrap();
    assert!(matches!(wrong_address, RedeemOutcome::Invalid));
}

async fn otp_expires(backend: Backend) {
    let db = TestDb::new(backend).await;
    let user = insert_user(db.store.as_ref(), "late@example.com", T0).await;
    db.store
        .create_email_otp(&otp(Some(user.id), &user.email, "c"), None)
        .await
        .unwrap();
    let at_expiry = T0 + Duration::minutes(5);
    let outcome = db
        .store
        .redeem_email_otp(&try_code(&user.email, "c", at_expiry, false))
        .await
        .unwrap();
    assert!(matches!(outcome, RedeemOutcome::Invalid));
}

async fn otp_for_an_unknown_address_creates_the_account_only_with_signup_on(backend: Backend) {
    let db = TestDb::new(backend).await;
    let now = T0 + Duration::minutes(1);
    db.store
        .create_email_otp(&otp(None, "new@example.com", "c1"), None)
        .await
        .unwrap();
    let refused = db
        .store
        .redeem_email_otp(&try_code("new@example.com", "c1", now, false))
        .await
        .unwrap();
    assert!(matches!(refused, RedeemOutcome::Invalid));
    db.store
        .create_email_otp(&otp(None, "new@example.com", "c2"), None)
        .await
        .unwrap();
    let RedeemOutcome::SignedIn(r) = db
        .store
        .redeem_email_otp(&try_code("new@example.com", "c2", now, true))
        .await
        .unwrap()
    else {
        panic!("expected a sign-in");
    };
    assert!(r.created);
    assert!(r.user.password_hash.is_none() && r.user.email_verified);
    assert_eq!(
        db.store.user_by_email("new@example.com").await.unwrap().unwrap(),
        r.user
    );

    // A code minted before the account existed signs in to the account, creating nothing.
    db.store.add_role(r.user.id, "member", false, now).await.unwrap();
    db.store
        .create_email_otp(&otp(None, "new@example.com", "c3"), None)
        .await
        .unwrap();
    let RedeemOutcome::SignedIn(again) = db
        .store
        .redeem_email_otp(&try_code("new@example.com", "c3", now, true))
        .await
        .unwrap()
    else {
        panic!("expected a sign-in");
    };
    assert!(!again.created && !again.verified_now);
    assert_eq!(again.user.id, r.user.id);
    assert_eq!(again.roles, ["member"]);
    let (_, total) = db.store.list_users(&UserQuery::default()).await.unwrap();
    assert_eq!(total, 1);
}

async fn banned_owner_spends_the_code_and_gets_no_session(backend: Backend) {
    let db = TestDb::new(backend).await;
    let user = insert_user(db.store.as_ref(), "banned@example.com", T0).await;
    db.store
        .create_email_otp(&otp(Some(user.id), &user.email, "c"), None)
        .await
        .unwrap();
    db.store.set_banned(user.id, true, T0).await.unwrap();
    let now = T0 + Duration::minutes(1);
    let outcome = db
        .store
        .redeem_email_otp(&try_code(&user.email, "c", now, false))
        .await
        .unwrap();
    assert!(matches!(outcome, RedeemOutcome::Banned));
    assert!(db.store.sessions_of(user.id, false, now).await.unwrap().is_empty());
}

async fn thirty_concurrent_right_and_wrong_codes_compare_at_most_five(backend: Backend) {
    let db = TestDb::new(backend).await;
    let user = insert_user(db.store.as_ref(), "burst@example.com", T0).await;
    db.store
        .create_email_otp(&otp(Some(user.id), &user.email, "right"), None)
        .await
        .unwrap();
    let now = T0 + Duration::minutes(1);
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let store: Arc<dyn Store> = db.store.clone();
            let guess = if i % 2 == 0 { "right" } else { "wrong" };
            let redeem = try_code("burst@example.com", guess, now, false);
            tokio::spawn(async move { store.redeem_email_otp(&redeem).await })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        if let RedeemOutcome::SignedIn(_) = task.await.unwrap().expect("no error") {
            wins += 1;
        }
    }
    assert!(wins <= 1, "{wins} winners");
    let row = db.store.latest_email_otp(&user.email).await.unwrap().unwrap();
    assert!(row.attempts <= EmailOtp::MAX_ATTEMPTS, "attempts {}", row.attempts);
    assert_eq!(wins == 1, row.consumed_at.is_some());
}

async fn reset_write_consumes_its_token_once_and_signs_out_everywhere(backend: Backend) {
    let db = TestDb::new(backend).await;
    let f = user_with_session(db.store.as_ref(), "reset@example.com", T0).await;
    let t = token(
        f.user.id,
        &f.user.email,
        "password_reset",
        "reset-raw",
        T0 + Duration::hours(1),
    );
    db.store.create_verification_token(&t, None).await.unwrap();
    let spare = token(
        f.user.id,
        &f.user.email,
        "email_verify",
        "verify-raw",
        T0 + Duration::hours(1),
    );
    db.store.create_verification_token(&spare, None).await.unwrap();

    let wrong = write(
        f.user.id,
        PasswordCondition::ResetToken(spare.token_hash.clone()),
        None,
        0,
    );
    assert!(
        db.store.write_password(&wrong).await.unwrap().is_none(),
        "wrong purpose"
    );

    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store: Arc<dyn Store> = db.store.clone();
            let w = write(f.user.id, PasswordCondition::ResetToken(t.token_hash.clone()), None, 0);
            tokio::spawn(async move { store.write_password(&w).await })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        if let Some(user) = task.await.unwrap().expect("no error") {
            winners.push(user);
        }
    }
    assert_eq!(winners.len(), 1);
    assert_eq!(winners[0].token_version, 1);
    let stored = db.store.user_by_id(f.user.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash, winners[0].password_hash);
    let row = db
        .store
        .refresh_token_by_hash(&f.first.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert!(row.revoked, "every session ends");
}

async fn change_keeps_one_session_and_respects_the_current_hash(backend: Backend) {
    let db = TestDb::new(backend).await;
    let f = user_with_session(db.store.as_ref(), "change@example.com", T0).await;
    let (other, other_token) = open_session(db.store.as_ref(), f.user.id, T0, T0 + REFRESH_TTL).await;
    let stale = write(
        f.user.id,
        PasswordCondition::CurrentHash("not-the-hash".into()),
        None,
        0,
    );
    assert!(db.store.write_password(&stale).await.unwrap().is_none());

    let current = f.user.password_hash.clone().unwrap();
    let w = write(
        f.user.id,
        PasswordCondition::CurrentHash(current),
        Some(f.session.id),
        0,
    );
    let user = db.store.write_password(&w).await.unwrap().expect("written");
    assert_eq!(user.token_version, 1);
    assert!(
        !db.store
            .refresh_token_by_hash(&f.first.token_hash)
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    assert!(
        db.store
            .refresh_token_by_hash(&other_token.token_hash)
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    assert!(db.store.session(other.id).await.unwrap().unwrap().revoked_at.is_some());
}

async fn set_only_without_a_password_and_adds_the_email_login(backend: Backend) {
    let db = TestDb::new(backend).await;
    let user = insert_user(db.store.as_ref(), "set@example.com", T0).await;
    let refused = write(user.id, PasswordCondition::NoPassword, None, 0);
    assert!(db.store.write_password(&refused).await.unwrap().is_none());

    let mut new = crate::common::new_user("nopw@example.com", T0);
    new.user.password_hash = None;
    new.account = None;
    db.store.insert_user(&new).await.unwrap();
    assert!(db.store.providers(new.user.id).await.unwrap().is_empty());
    let w = write(new.user.id, PasswordCondition::NoPassword, None, 0);
    assert!(db.store.write_password(&w).await.unwrap().is_some());
    assert_eq!(db.store.providers(new.user.id).await.unwrap(), ["email"]);
    assert!(db.store.write_password(&w).await.unwrap().is_none(), "only once");
}

async fn history_keeps_the_newest_entries(backend: Backend) {
    let db = TestDb::new(backend).await;
    let user = insert_user(db.store.as_ref(), "hist@example.com", T0).await;
    for i in 0..5 {
        db.store
            .record_password(user.id, &format!("h{i}"), 3, T0 + Duration::seconds(i))
            .await
            .unwrap();
    }
    assert_eq!(
        db.store.password_history(user.id, 10).await.unwrap(),
        ["h4", "h3", "h2"]
    );
    let w = write(
        user.id,
        PasswordCondition::CurrentHash(user.password_hash.clone().unwrap()),
        None,
        3,
    );
    let written = db.store.write_password(&w).await.unwrap().unwrap();
    let history = db.store.password_history(user.id, 10).await.unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[0], written.password_hash.unwrap());
}

async fn deleting_a_user_removes_codes_and_history(backend: Backend) {
    let db = TestDb::new(backend).await;
    let user = insert_user(db.store.as_ref(), "gone@example.com", T0).await;
    db.store
        .create_email_otp(&otp(Some(user.id), &user.email, "c"), None)
        .await
        .unwrap();
    db.store.record_password(user.id, "h", 3, T0).await.unwrap();
    db.store.delete_user(user.id, false, T0).await.unwrap();
    assert!(db.store.latest_email_otp("gone@example.com").await.unwrap().is_none());
    assert!(db.store.password_history(user.id, 10).await.unwrap().is_empty());
}

async fn spent_codes_are_cleaned_up(backend: Backend) {
    let db = TestDb::new(backend).await;
    let user = insert_user(db.store.as_ref(), "clean@example.com", T0).await;
    db.store
        .create_email_otp(&otp(Some(user.id), &user.email, "c"), None)
        .await
        .unwrap();
    let (tokens, _) = db
        .store
        .delete_spent_tokens(T0 + Duration::minutes(10), T0)
        .await
        .unwrap();
    assert_eq!(tokens, 1);
    assert!(db.store.latest_email_otp(&user.email).await.unwrap().is_none());
}

on_both_backends!(
    a_new_link_replaces_the_unused_one_and_drops_its_pending_mail,
    verification_token_is_consumed_once_and_only_for_its_purpose,
    twenty_concurrent_verifications_have_one_winner,
    otp_attempts_are_counted_and_capped,
    otp_signs_in_once_and_a_new_code_replaces_the_old,
    otp_expires,
    otp_for_an_unknown_address_creates_the_account_only_with_signup_on,
    banned_owner_spends_the_code_and_gets_no_session,
    thirty_concurrent_right_and_wrong_codes_compare_at_most_five,
    reset_write_consumes_its_token_once_and_signs_out_everywhere,
    change_keeps_one_session_and_respects_the_current_hash,
    set_only_without_a_password_and_adds_the_email_login,
    history_keeps_the_newest_entries,
    deleting_a_user_removes_codes_and_history,
    spent_codes_are_cleaned_up,
);
