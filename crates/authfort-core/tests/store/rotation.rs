//! Refresh-token rotation: one conditional write, refused for expired, banned or deleted.

use authfort_test_support::{on_both_backends, Backend, TestDb};
use time::Duration;

use crate::common::{
    insert_user, new_user, open_session, refresh_rows_in_session, token_in, user_with_session, REFRESH_TTL, T0,
};

async fn rotation_revokes_the_old_token_and_adds_the_new_one_to_the_same_session(backend: Backend) {
    // Arrange: roles granted out of name order, MFA on.
    let db = TestDb::new(backend).await;
    let store = db.store.as_ref();
    let f = user_with_session(store, "alice@example.com", T0).await;
    store.add_role(f.user.id, "zeta", false, T0).await.unwrap();
    let second_grant = T0 + Duration::seconds(1);
    store.add_role(f.user.id, "alpha", false, second_grant).await.unwrap();
    assert!(store.begin_mfa_setup(f.user.id, "v1:s", T0).await.unwrap());
    assert!(store.enable_mfa(f.user.id, "v1:s", 1, &[], T0).await.unwrap());
    let now = T0 + Duration::days(1);
    let new = token_in(&f.session, now, now + REFRESH_TTL);

    // Act
    let rotated = store.rotate_refresh_token(f.first.id, &new, now).await.unwrap();

    // Assert: what the new access token needs comes back…
    let rotated = rotated.expect("rotated");
    assert_eq!(rotated.session, store.session(f.session.id).await.unwrap().unwrap());
    assert_eq!(rotated.user.id, f.user.id);
    assert_eq!(rotated.roles, ["zeta", "alpha"], "oldest grant first");
    assert!(rotated.mfa_enabled);
    // …and the rows are as they should be.
    let old = store.refresh_token_by_hash(&f.first.token_hash).await.unwrap().unwrap();
    assert!(old.revoked);
    assert_eq!(old.revoked_at, Some(now));
    assert_eq!(old.replaced_by, Some(new.id));
    let fresh = store.refresh_token_by_hash(&new.token_hash).await.unwrap().unwrap();
    assert_eq!(fresh.id, new.id);
    assert_eq!(fresh.session_id, f.session.id);
    assert_eq!(fresh.user_id, f.user.id);
    assert!(!fresh.revoked);
    assert_eq!(fresh.expires_at, now + REFRESH_TTL);
    let session = store.session(f.session.id).await.unwrap().unwrap();
    assert_eq!(
        session.expires_at,
        now + REFRESH_TTL,
        "the session slides to the newest token's expiry"
    );
    assert_eq!(session.created_at, T0, "the session start never changes");
    assert_eq!(refresh_rows_in_session(&db, f.session.id).await, 2);
}

async fn rotating_the_same_old_token_a_second_time_returns_false(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let store = db.store.as_ref();
    let f = user_with_session(store, "alice@example.com", T0).await;
    let now = T0 + Duration::minutes(1);
    let winner = token_in(&f.session, now, now + REFRESH_TTL);
    let loser = token_in(&f.session, now, now + REFRESH_TTL);
    assert!(store
        .rotate_refresh_token(f.first.id, &winner, now)
        .await
        .unwrap()
        .is_some());

    // Act
    let second = store
        .rotate_refresh_token(f.first.id, &loser, now + Duration::seconds(1))
        .await
        .unwrap()
        .is_some();

    // Assert
    assert!(!second);
    assert!(store.refresh_token_by_hash(&loser.token_hash).await.unwrap().is_none());
    let old = store.refresh_token_by_hash(&f.first.token_hash).await.unwrap().unwrap();
    assert_eq!(old.replaced_by, Some(winner.id));
    assert_eq!(old.revoked_at, Some(now));
    assert_eq!(refresh_rows_in_session(&db, f.session.id).await, 2);
}

async fn rotation_of_an_expired_token_returns_false_and_writes_nothing(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let store = db.store.as_ref();
    let user = insert_user(store, "alice@example.com", T0).await.id;
    let expiry = T0 + Duration::hours(1);
    let (session, first) = open_session(store, user, T0, expiry).await;
    let at_expiry = token_in(&session, expiry, expiry + REFRESH_TTL);
    let after_expiry = token_in(&session, expiry + Duration::seconds(1), expiry + REFRESH_TTL);

    // Act
    let exactly_at_expiry = store
        .rotate_refresh_token(first.id, &at_expiry, expiry)
        .await
        .unwrap()
        .is_some();
    let past_expiry = store
        .rotate_refresh_token(first.id, &after_expiry, expiry + Duration::seconds(1))
        .await
        .unwrap()
        .is_some();

    // Assert
    assert!(!exactly_at_expiry, "a token is dead at its expires_at");
    assert!(!past_expiry);
    let old = store.refresh_token_by_hash(&first.token_hash).await.unwrap().unwrap();
    assert!(!old.revoked);
    assert_eq!(old.replaced_by, None);
    assert!(store
        .refresh_token_by_hash(&at_expiry.token_hash)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .refresh_token_by_hash(&after_expiry.token_hash)
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.session(session.id).await.unwrap().unwrap().expires_at, expiry);
    assert_eq!(refresh_rows_in_session(&db, session.id).await, 1);
}

async fn rotation_just_before_expiry_succeeds(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let store = db.store.as_ref();
    let user = insert_user(store, "alice@example.com", T0).await.id;
    let expiry = T0 + Duration::hours(1);
    let (session, first) = open_session(store, user, T0, expiry).await;
    let now = expiry - Duration::microseconds(1);
    let new = token_in(&session, now, now + REFRESH_TTL);

    // Act
    let rotated = store.rotate_refresh_token(first.id, &new, now).await.unwrap().is_some();

    // Assert
    assert!(rotated);
    assert!(store.refresh_token_by_hash(&new.token_hash).await.unwrap().is_some());
}

async fn rotation_for_a_banned_user_returns_false_and_writes_nothing(backend: Backend) {
    // Arrange: banned from the start, so the token itself is still unrevoked.
    let db = TestDb::new(backend).await;
    let store = db.store.as_ref();
    let mut banned = new_user("banned@example.com", T0);
    banned.user.banned = true;
    store.insert_user(&banned).await.unwrap();
    let (session, first) = open_session(store, banned.user.id, T0, T0 + REFRESH_TTL).await;
    let now = T0 + Duration::minutes(1);
    let new = token_in(&session, now, now + REFRESH_TTL);

    // Act
    let rotated = store.rotate_refresh_token(first.id, &new, now).await.unwrap().is_some();

    // Assert
    assert!(!rotated);
    assert!(
        !store
            .refresh_token_by_hash(&first.token_hash)
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    assert!(store.refresh_token_by_hash(&new.token_hash).await.unwrap().is_none());
    assert_eq!(refresh_rows_in_session(&db, session.id).await, 1);
}

async fn rotation_for_a_deleted_user_returns_false_and_writes_nothing(backend: Backend) {
    // Arrange: the store has no delete call; insert the user already soft-deleted.
    let db = TestDb::new(backend).await;
    let store = db.store.as_ref();
    let mut deleted = new_user("deleted@example.com", T0);
    deleted.user.is_deleted = true;
    deleted.user.deleted_at = Some(T0);
    store.insert_user(&deleted).await.unwrap();
    let (session, first) = open_session(store, deleted.user.id, T0, T0 + REFRESH_TTL).await;
    let now = T0 + Duration::minutes(1);
    let new = token_in(&session, now, now + REFRESH_TTL);

    // Act
    let rotated = store.rotate_refresh_token(first.id, &new, now).await.unwrap().is_some();

    // Assert
    assert!(!rotated);
    assert!(
        !store
            .refresh_token_by_hash(&first.token_hash)
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    assert!(store.refresh_token_by_hash(&new.token_hash).await.unwrap().is_none());
    assert_eq!(refresh_rows_in_session(&db, session.id).await, 1);
}

async fn rotation_of_a_revoked_token_returns_false(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let store = db.store.as_ref();
    let f = user_with_session(store, "alice@example.com", T0).await;
    store
        .revoke_refresh_token(f.first.id, T0 + Duration::minutes(1))
        .await
        .unwrap();
    let now = T0 + Duration::minutes(2);
    let new = token_in(&f.session, now, now + REFRESH_TTL);

    // Act
    let rotated = store
        .rotate_refresh_token(f.first.id, &new, now)
        .await
        .unwrap()
        .is_some();

    // Assert
    assert!(!rotated);
    assert!(store.refresh_token_by_hash(&new.token_hash).await.unwrap().is_none());
    let old = store.refresh_token_by_hash(&f.first.token_hash).await.unwrap().unwrap();
    assert_eq!(old.revoked_at, Some(T0 + Duration::minutes(1)));
    assert_eq!(old.replaced_by, None);
}

async fn rotation_never_shortens_the_session(backend: Backend) {
    // Arrange: a session that lives longer than the new token.
    let db = TestDb::new(backend).await;
    let store = db.store.as_ref();
    let user = insert_user(store, "alice@example.com", T0).await;
    let (session, first) = open_session(store, user.id, T0, T0 + Duration::days(60)).await;
    let now = T0 + Duration::minutes(1);
    let new = token_in(&session, now, now + REFRESH_TTL);

    // Act
    let rotated = store
        .rotate_refresh_token(first.id, &new, now)
        .await
        .unwrap()
        .expect("rotated");

    // Assert
    assert_eq!(rotated.session.expires_at, T0 + Duration::days(60));
    assert!(rotated.roles.is_empty());
    assert!(!rotated.mfa_enabled);
}

on_both_backends!(
    rotation_never_shortens_the_session,
    rotation_revokes_the_old_token_and_adds_the_new_one_to_the_same_session,
    rotating_the_same_old_token_a_second_time_returns_false,
    rotation_of_an_expired_token_returns_false_and_writes_nothing,
    rotation_just_before_expiry_succeeds,
    rotation_for_a_banned_user_returns_false_and_writes_nothing,
    rotation_for_a_deleted_user_returns_false_and_writes_nothing,
    rotation_of_a_revoked_token_returns_false,
);
