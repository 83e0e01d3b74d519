//! MFA rows: pending setup, enabling, the TOTP step guard, backup codes, the lockout counter,
//! disabling. Races have exactly one winner.

use std::sync::Arc;

use authfort_core::crypto::sha256_hex;
use authfort_core::model::VerificationToken;
use authfort_core::store::{MfaAttemptCount, RedeemMagicLink, RedeemOutcome, Store};
use authfort_test_support::{on_both_backends, Backend, TestDb};
use sqlx::Connection;
use time::Duration;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::common::{insert_user, session_for, token_in, REFRESH_TTL, T0};

fn hmacs(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:062}")).collect()
}

async fn setup_enable_and_disable(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store.as_ref();
    let user = insert_user(store, "alice@example.com", T0).await;
    assert!(store.mfa(user.id).await.unwrap().is_none());

    // Pending setup, replaced by a second init.
    assert!(store.begin_mfa_setup(user.id, "v1:first", T0).await.unwrap());
    assert!(store.begin_mfa_setup(user.id, "v1:second", T0).await.unwrap());
    let pending = store.mfa(user.id).await.unwrap().unwrap();
    assert!(!pending.enabled);
    assert_eq!(pending.secret_enc, "v1:second");
    assert_eq!(pending.last_step, -1);
    assert!(
        !store.accept_totp_step(user.id, 5, true, T0).await.unwrap(),
        "pending rows accept nothing"
    );

    // Enabling needs the secret still pending.
    assert!(!store
        .enable_mfa(user.id, "v1:first", 7, &hmacs("a", 3), T0)
        .await
        .unwrap());
    assert!(store
        .enable_mfa(user.id, "v1:second", 7, &hmacs("a", 3), T0)
        .await
        .unwrap());
    let on = store.mfa(user.id).await.unwrap().unwrap();
    assert!(on.enabled);
    assert_eq!(on.last_step, 7);
    assert_eq!(on.enabled_at, Some(T0));
    assert_eq!(store.user_by_id(user.id).await.unwrap().unwrap().token_version, 1);
    assert_eq!(store.backup_codes_remaining(user.id).await.unwrap(), 3);
    assert!(
        !store.begin_mfa_setup(user.id, "v1:third", T0).await.unwrap(),
        "enabled rows stay"
    );
    assert!(!store
        .enable_mfa(user.id, "v1:second", 8, &hmacs("b", 3), T0)
        .await
        .unwrap());

    // Steps: strictly increasing only.
    assert!(!store.accept_totp_step(user.id, 7, true, T0).await.unwrap());
    assert!(!store.accept_totp_step(user.id, 6, true, T0).await.unwrap());
    assert!(store.accept_totp_step(user.id, 8, false, T0).await.unwrap());
    assert_eq!(store.mfa(user.id).await.unwrap().unwrap().last_step, 8);

    // Backup codes: each once; regenerating replaces all of them.
    let codes = hmacs("a", 3);
    assert!(store.use_backup_code(user.id, &codes[0], true, T0).await.unwrap());
    assert!(!store.use_backup_code(user.id, &codes[0], true, T0).await.unwrap());
    assert!(!store.use_backup_code(user.id, "nope", true, T0).await.unwrap());
    assert_eq!(store.backup_codes_remaining(user.id).await.unwrap(), 2);
    assert!(store.replace_backup_codes(user.id, &hmacs("c", 4), T0).await.unwrap());
    assert_eq!(store.backup_codes_remaining(user.id).await.unwrap(), 4);
    assert!(
        !store.use_backup_code(user.id, &codes[1], true, T0).await.unwrap(),
        "old codes are gone"
    );

    // Another user's code is not ours.
    let bob = insert_user(store, "bob@example.com", T0).await;
    assert!(!store
        .use_backup_code(bob.id, &hmacs("c", 4)[0], true, T0)
        .await
        .unwrap());

    // Disable: row and codes gone, version bumped; a second disable does nothing.
    assert!(store.disable_mfa(user.id, T0).await.unwrap());
    assert!(store.mfa(user.id).await.unwrap().is_none());
    assert_eq!(store.backup_codes_remaining(user.id).await.unwrap(), 0);
    assert_eq!(store.user_by_id(user.id).await.unwrap().unwrap().token_version, 2);
    assert!(!store.disable_mfa(user.id, T0).await.unwrap());
    assert!(!store.replace_backup_codes(user.id, &hmacs("d", 2), T0).await.unwrap());
    assert_eq!(
        db.count(
            "SELECT COUNT(*) FROM authfort_mfa_backup_codes WHERE user_id = $1",
            user.id
        )
        .await,
        0
    );
}

async fn attempts_are_counted_lock_at_the_threshold_and_a_reset_clears_them(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store.as_ref();
    let user = insert_user(store, "alice@example.com", T0).await;
    store.begin_mfa_setup(user.id, "v1:s", T0).await.unwrap();
    store.enable_mfa(user.id, "v1:s", 1, &hmacs("a", 2), T0).await.unwrap();
    let lock = T0 + Duration::minutes(15);
    let counted = |locked_until| MfaAttemptCount::Counted { locked_until };

    for n in 1..=4 {
        assert_eq!(
            store.count_mfa_attempt(user.id, 5, lock, T0).await.unwrap(),
            counted(None)
        );
        assert_eq!(store.mfa(user.id).await.unwrap().unwrap().failed_attempts, n);
    }
    assert_eq!(
        store.count_mfa_attempt(user.id, 5, lock, T0).await.unwrap(),
        counted(Some(lock))
    );
    let locked = store.mfa(user.id).await.unwrap().unwrap();
    assert_eq!(locked.locked_until, Some(lock));
    // While locked nothing is counted: the attempt is refused before any code is compared.
    assert_eq!(
        store.count_mfa_attempt(user.id, 5, lock, T0).await.unwrap(),
        MfaAttemptCount::Refused
    );
    assert!(!store.accept_totp_step(user.id, 2, true, T0).await.unwrap());
    // After the lock: counted again; a reset clears the count and the lock.
    let later = lock + Duration::seconds(1);
    store
        .count_mfa_attempt(user.id, 5, later + Duration::minutes(15), later)
        .await
        .unwrap();
    assert_eq!(store.mfa(user.id).await.unwrap().unwrap().failed_attempts, 1);
    store.reset_mfa_failures(user.id).await.unwrap();
    let reset = store.mfa(user.id).await.unwrap().unwrap();
    assert_eq!((reset.failed_attempts, reset.locked_until), (0, None));
    // A used backup code (with reset) clears the count too.
    store.count_mfa_attempt(user.id, 5, lock, later).await.unwrap();
    assert!(store
        .use_backup_code(user.id, &hmacs("a", 2)[1], true, later)
        .await
        .unwrap());
    assert_eq!(store.mfa(user.id).await.unwrap().unwrap().failed_attempts, 0);
    // max 0: never locks.
    for _ in 0..10 {
        assert_eq!(
            store.count_mfa_attempt(user.id, 0, lock, later).await.unwrap(),
            counted(None)
        );
    }
    assert_eq!(store.mfa(user.id).await.unwrap().unwrap().locked_until, None);
}

async fn of_twenty_concurrent_attempts_at_most_the_limit_are_counted(backend: Backend) {
    let db = TestDb::new(backend).await;
    let user = insert_user(db.store.as_ref(), "bob@example.com", T0).await;
    db.store.begin_mfa_setup(user.id, "v1:s", T0).await.unwrap();
    db.store
        .enable_mfa(user.id, "v1:s", 1, &hmacs("b", 2), T0)
        .await
        .unwrap();
    let lock = T0 + Duration::minutes(15);

    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = db.store.clone();
            tokio::spawn(async move { store.count_mfa_attempt(user.id, 5, lock, T0).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("task").expect("count must not error"));
    }

    let counted = outcomes
        .iter()
        .filter(|o| matches!(o, MfaAttemptCount::Counted { .. }))
        .count();
    let locks = outcomes
        .iter()
        .filter(|o| matches!(o, MfaAttemptCount::Counted { locked_until: Some(_) }))
        .count();
    assert_eq!(counted, 5, "{outcomes:?}");
    assert_eq!(locks, 1, "{outcomes:?}");
    assert_eq!(db.store.mfa(user.id).await.unwrap().unwrap().locked_until, Some(lock));
}

async fn concurrent_uses_of_one_backup_code_or_step_have_one_winner(backend: Backend) {
    let db = TestDb::new(backend).await;
    let user = insert_user(db.store.as_ref(), "alice@example.com", T0).await;
    db.store.begin_mfa_setup(user.id, "v1:s", T0).await.unwrap();
    let codes = hmacs("a", 2);
    db.store.enable_mfa(user.id, "v1:s", 1, &codes, T0).await.unwrap();
    for round in 0..2 {
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let store: Arc<dyn Store> = db.store.clone();
                let code = codes[0].clone();
                tokio::spawn(async move {
                    if round == 0 {
                        store.use_backup_code(user.id, &code, true, T0).await
                    } else {
                        store.accept_totp_step(user.id, 2, true, T0).await
                    }
                })
            })
            .collect();
        let mut wins = 0;
        for t in tasks {
            wins += usize::from(t.await.unwrap().unwrap());
        }
        assert_eq!(wins, 1, "round {round}");
    }
    assert_eq!(db.store.backup_codes_remaining(user.id).await.unwrap(), 1);
}

async fn deleting_a_user_removes_mfa(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store.as_ref();
    let user = insert_user(store, "alice@example.com", T0).await;
    store.begin_mfa_setup(user.id, "v1:s", T0).await.unwrap();
    store.enable_mfa(user.id, "v1:s", 1, &hmacs("a", 2), T0).await.unwrap();
    store.delete_user(user.id, false, T0).await.unwrap().unwrap();
    assert!(store.mfa(user.id).await.unwrap().is_none());
    assert_eq!(store.backup_codes_remaining(user.id).await.unwrap(), 0);
    assert!(
        !store.begin_mfa_setup(user.id, "v1:s", T0).await.unwrap(),
        "no setup for deleted users"
    );
}

/// On another connection: locks the user's row and enables its pending MFA, says so on
/// `locked`, and commits when `release` fires (like `enable_mfa`, whose transaction ends by
/// touching the user).
async fn enable_mfa_on_the_side(
    url: String,
    user_id: Uuid,
    locked: oneshot::Sender<()>,
    release: oneshot::Receiver<()>,
) {
    const LOCK: &str = "UPDATE authfort_users SET updated_at = updated_at WHERE id = $1";
    const ENABLE: &str = "UPDATE authfort_user_mfa SET enabled = TRUE WHERE user_id = $1";
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("BEGIN IMMEDIATE").execute(&mut c).await.unwrap();
        sqlx::query(ENABLE).bind(user_id).execute(&mut c).await.unwrap();
        sqlx::query(LOCK).bind(user_id).execute(&mut c).await.unwrap();
        locked.send(()).unwrap();
        release.await.unwrap();
        sqlx::query("COMMIT").execute(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        let mut tx = c.begin().await.unwrap();
        sqlx::query(ENABLE).bind(user_id).execute(&mut *tx).await.unwrap();
        sqlx::query(LOCK).bind(user_id).execute(&mut *tx).await.unwrap();
        locked.send(()).unwrap();
        release.await.unwrap();
        tx.commit().await.unwrap();
    }
}

async fn a_sign_in_waiting_on_mfa_being_enabled_asks_for_mfa(backend: Backend) {
    let db = TestDb::new(backend).await;
    let user = insert_user(db.store.as_ref(), "alice@example.com", T0).await;
    assert!(db.store.begin_mfa_setup(user.id, "v1:pending", T0).await.unwrap());
    let raw = "a-magic-link-token";
    let link = VerificationToken {
        id: Uuid::new_v4(),
        user_id: Some(user.id),
        email: user.email.clone(),
        purpose: "magic_link".to_owned(),
        token_hash: sha256_hex(raw),
        redirect_to: None,
        expires_at: T0 + Duration::minutes(15),
        created_at: T0,
        consumed_at: None,
    };
    db.store.create_verification_token(&link, None).await.unwrap();

    let (locked_tx, locked) = oneshot::channel();
    let (release, release_rx) = oneshot::channel();
    let side = tokio::spawn(enable_mfa_on_the_side(db.url.clone(), user.id, locked_tx, release_rx));
    locked.await.unwrap();

    let session = session_for(user.id, T0, T0 + REFRESH_TTL);
    let redeem = RedeemMagicLink {
        token_hash: sha256_hex(raw),
        now: T0 + Duration::seconds(1),
        allow_signup: true,
        new_user_id: Uuid::new_v4(),
        refresh: token_in(&session, T0, T0 + REFRESH_TTL),
        session,
    };
    let store = db.store.clone();
    let sign_in = tokio::spawn(async move { store.redeem_magic_link(&redeem).await });
    // The sign-in now waits for the other transaction's lock.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!sign_in.is_finished(), "the sign-in must wait for the account's lock");
    release.send(()).unwrap();
    side.await.unwrap();

    match sign_in.await.unwrap().unwrap() {
        RedeemOutcome::MfaRequired(r) => assert_eq!(r.user.id, user.id),
        other => panic!("MFA was enabled before the sign-in got the account, yet: {other:?}"),
    }
    assert_eq!(
        db.count("SELECT COUNT(*) FROM authfort_sessions WHERE user_id = $1", user.id)
            .await,
        0,
        "no session before the second factor"
    );
}

on_both_backends!(
    a_sign_in_waiting_on_mfa_being_enabled_asks_for_mfa,
    setup_enable_and_disable,
    attempts_are_counted_lock_at_the_threshold_and_a_reset_clears_them,
    of_twenty_concurrent_attempts_at_most_the_limit_are_counted,
    concurrent_uses_of_one_backup_code_or_step_have_one_winner,
    deleting_a_user_removes_mfa,
);
