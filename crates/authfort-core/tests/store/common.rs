//! Builders for rows and a raw-SQL helper for facts the `Store` trait does not expose.

#![allow(dead_code)]

use authfort_core::crypto::keys::{signing_key_record, KeyGenerator};
use authfort_core::crypto::sha256_hex;
use authfort_core::model::{NewUser, Session, SigningKey, User};
use authfort_core::store::{NewRefreshToken, Store};
use authfort_core::Amr;
use authfort_test_support::{CachedKeys, TestDb};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// A reference instant with a non-zero microsecond fraction.
pub const T0: OffsetDateTime = datetime!(2026-03-14 15:09:26.535897 UTC);

/// Refresh-token lifetime used by the fixtures (the default 30 days).
pub const REFRESH_TTL: Duration = Duration::days(30);

/// A plain, active user with an `("email", <email>)` account link.
pub fn new_user(email: &str, now: OffsetDateTime) -> NewUser {
    NewUser {
        user: User {
            id: Uuid::new_v4(),
            email: email.to_owned(),
            email_verified: false,
            name: None,
            avatar_url: None,
            phone: None,
            password_hash: Some("$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA".to_owned()),
            token_version: 0,
            banned: false,
            is_deleted: false,
            deleted_at: None,
            created_at: now,
            updated_at: now,
        },
        account: Some(("email".to_owned(), email.to_owned())),
    }
}

/// Inserts a fresh user and returns the stored row.
pub async fn insert_user(store: &dyn Store, email: &str, now: OffsetDateTime) -> User {
    let new = new_user(email, now);
    store.insert_user(&new).await.expect("insert user");
    new.user
}

/// A session for `user_id` starting at `now` and expiring at `expires_at`.
pub fn session_for(user_id: Uuid, now: OffsetDateTime, expires_at: OffsetDateTime) -> Session {
    Session {
        id: Uuid::new_v4(),
        user_id,
        created_at: now,
        ip_address: Some("198.51.100.23".to_owned()),
        user_agent: Some("conformance-suite/1.0".to_owned()),
        amr: vec![Amr::Pwd],
        expires_at,
        revoked_at: None,
    }
}

/// A new refresh token in `session` (random raw token, hashed like AuthFort does).
pub fn token_in(session: &Session, now: OffsetDateTime, expires_at: OffsetDateTime) -> NewRefreshToken {
    NewRefreshToken {
        id: Uuid::new_v4(),
        user_id: session.user_id,
        session_id: session.id,
        token_hash: sha256_hex(&Uuid::new_v4().to_string()),
        expires_at,
        created_at: now,
    }
}

/// A user with one session holding one live refresh token.
pub struct Fixture {
    pub user: User,
    pub session: Session,
    pub first: NewRefreshToken,
}

/// Inserts a user (`email`) and a session created at `now` whose first token expires at
/// `now + REFRESH_TTL`.
pub async fn user_with_session(store: &dyn Store, email: &str, now: OffsetDateTime) -> Fixture {
    let user = insert_user(store, email, now).await;
    let (session, first) = open_session(store, user.id, now, now + REFRESH_TTL).await;
    Fixture { user, session, first }
}

/// Creates a session for `user_id` with its first token and returns both.
pub async fn open_session(
    store: &dyn Store,
    user_id: Uuid,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> (Session, NewRefreshToken) {
    let session = session_for(user_id, now, expires_at);
    let first = token_in(&session, now, expires_at);
    store.create_session(&session, &first).await.expect("create session");
    (session, first)
}

/// A fresh signing-key record created at `now` from the cached test key material.
pub fn key_record(keys: &CachedKeys, now: OffsetDateTime) -> SigningKey {
    signing_key_record(&keys.generate(2048).expect("cached key"), now).expect("signing key record")
}

/// Number of refresh-token rows of a session, counted with raw SQL on a separate pool.
pub async fn refresh_rows_in_session(db: &TestDb, session_id: Uuid) -> i64 {
    db.count(
        "SELECT COUNT(*) FROM authfort_refresh_tokens WHERE session_id = $1",
        session_id,
    )
    .await
}
