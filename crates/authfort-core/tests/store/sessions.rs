//! Sessions and refresh tokens: creation, lookup, revocation, expiry clean-up.

use authfort_core::Amr;
use authfort_test_support::{on_both_backends, Backend, TestDb};
use time::Duration;
use uuid::Uuid;

use crate::common::{insert_user, open_session, session_for, token_in, user_with_session, REFRESH_TTL, T0};

async fn created_session_and_its_first_token_are_readable(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let user = insert_user(db.store.as_ref(), "alice@example.com", T0).await;
    let mut session = session_for(user.id, T0, T0 + REFRESH_TTL);
    session.amr = vec![Amr::Pwd, Amr::Mfa];
    let token = token_in(&session, T0, T0 + REFRESH_TTL);

    // Act
    db.store.create_session(&session, &token).await.unwrap();
    let stored_session = db.store.session(session.id).await.unwrap();
    let stored_token = db
        .store
        .refresh_token_by_hash(&token.token_hash)
        .await
        .unwrap()
        .unwrap();

    // Assert
    assert_eq!(stored_session, Some(session.clone()));
    assert_eq!(stored_token.id, token.id);
    assert_eq!(stored_token.user_id, user.id);
    assert_eq!(stored_token.session_id, session.id);
    assert_eq!(stored_token.token_hash, token.token_hash);
    assert_eq!(stored_token.created_at, T0);
    assert_eq!(stored_token.expires_at, T0 + REFRESH_TTL);
    assert!(!stored_token.revoked);
    assert_eq!(stored_token.revoked_at, None);
    assert_eq!(stored_token.replaced_by, None);
}

async fn session_without_client_metadata_round_trips_as_none(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let user = insert_user(db.store.as_ref(), "alice@example.com", T0).await;
    let mut session = session_for(user.id, T0, T0 + REFRESH_TTL);
    session.ip_address = None;
    session.user_agent = None;
    session.amr = vec![Amr::EmailLink];
    let token = token_in(&session, T0, T0 + REFRESH_TTL);

    // Act
    db.store.create_session(&session, &token).await.unwrap();

    // Assert
    assert_eq!(db.store.session(session.id).await.unwrap(), Some(session));
}

async fn unknown_session_and_unknown_token_hash_are_not_found(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    user_with_session(db.store.as_ref(), "alice@example.com", T0).await;

    // Act
    let session = db.store.session(Uuid::new_v4()).await.unwrap();
    let token = db.store.refresh_token_by_hash(&"0".repeat(64)).await.unwrap();

    // Assert
    assert!(session.is_none());
    assert!(token.is_none());
}

async fn revoking_a_token_succeeds_once_then_reports_false(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let f = user_with_session(db.store.as_ref(), "alice@example.com", T0).await;
    let first_time = T0 + Duration::minutes(5);

    // Act
    let first = db.store.revoke_refresh_token(f.first.id, first_time).await.unwrap();
    let second = db
        .store
        .revoke_refresh_token(f.first.id, first_time + Duration::minutes(5))
        .await
        .unwrap();
    let unknown = db.store.revoke_refresh_token(Uuid::new_v4(), first_time).await.unwrap();

    // Assert
    assert!(first);
    assert!(!second);
    assert!(!unknown);
    let row = db
        .store
        .refresh_token_by_hash(&f.first.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert!(row.revoked);
    assert_eq!(
        row.revoked_at,
        Some(first_time),
        "a second revocation must not move revoked_at"
    );
    assert_eq!(row.replaced_by, None);
}

async fn revoking_a_session_revokes_every_token_of_the_family_and_marks_the_session(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let store = db.store.as_ref();
    let f = user_with_session(store, "alice@example.com", T0).await;
    let second = token_in(&f.session, T0 + Duration::minutes(1), T0 + REFRESH_TTL);
    let third = token_in(&f.session, T0 + Duration::minutes(2), T0 + REFRESH_TTL);
    assert!(store
        .rotate_refresh_token(f.first.id, &second, T0 + Duration::minutes(1))
        .await
        .unwrap()
        .is_some());
    assert!(store
        .rotate_refresh_token(second.id, &third, T0 + Duration::minutes(2))
        .await
        .unwrap()
        .is_some());
    let (other_session, other_token) = open_session(store, f.user.id, T0, T0 + REFRESH_TTL).await;
    let revoke_time = T0 + Duration::minutes(3);

    // Act
    let newly_revoked = store.revoke_session(f.session.id, revoke_time).await.unwrap();
    let again = store
        .revoke_session(f.session.id, revoke_time + Duration::minutes(1))
        .await
        .unwrap();

    // Assert
    assert_eq!(newly_revoked, 1, "only the newest token was still live");
    assert_eq!(again, 0);
    for hash in [&f.first.token_hash, &second.token_hash, &third.token_hash] {
        assert!(store.refresh_token_by_hash(hash).await.unwrap().unwrap().revoked);
    }
    let newest = store.refresh_token_by_hash(&third.token_hash).await.unwrap().unwrap();
    assert_eq!(newest.revoked_at, Some(revoke_time));
    assert_eq!(
        store.session(f.session.id).await.unwrap().unwrap().revoked_at,
        Some(revoke_time)
    );
    assert!(
        !store
            .refresh_token_by_hash(&other_token.token_hash)
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    assert_eq!(store.session(other_session.id).await.unwrap().unwrap().revoked_at, None);
}

async fn revoking_all_sessions_of_a_user_leaves_other_users_alone(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let store = db.store.as_ref();
    let alice = user_with_session(store, "alice@example.com", T0).await;
    let (alice_second, _) = open_session(store, alice.user.id, T0, T0 + REFRESH_TTL).await;
    let bob = user_with_session(store, "bob@example.com", T0).await;

    // Act
    let n = store
        .revoke_user_sessions(alice.user.id, None, T0 + Duration::hours(1))
        .await
        .unwrap();

    // Assert
    assert_eq!(n, 2);
    assert_eq!(
        store.session(alice.session.id).await.unwrap().unwrap().revoked_at,
        Some(T0 + Duration::hours(1))
    );
    assert_eq!(
        store.session(alice_second.id).await.unwrap().unwrap().revoked_at,
        Some(T0 + Duration::hours(1))
    );
    assert_eq!(store.session(bob.session.id).await.unwrap().unwrap().revoked_at, None);
    assert!(
        !store
            .refresh_token_by_hash(&bob.first.token_hash)
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    assert_eq!(store.user_by_id(alice.user.id).await.unwrap().unwrap().token_version, 0);
}

async fn deleting_expired_sessions_removes_them_with_their_tokens_but_keeps_live_ones(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let store = db.store.as_ref();
    let user = insert_user(store, "alice@example.com", T0).await;
    let short = T0 + Duration::hours(1);
    let (expired, expired_first) = open_session(store, user.id, T0, short).await;
    let expired_second = token_in(&expired, T0 + Duration::minutes(1), short);
    assert!(store
        .rotate_refresh_token(expired_first.id, &expired_second, T0 + Duration::minutes(1))
        .await
        .unwrap()
        .is_some());
    let (at_boundary, at_boundary_first) = open_session(store, user.id, T0, T0 + Duration::hours(2)).await;
    let (live, live_first) = open_session(store, user.id, T0, T0 + REFRESH_TTL).await;
    let live_second = token_in(&live, T0 + Duration::minutes(1), T0 + REFRESH_TTL);
    assert!(store
        .rotate_refresh_token(live_first.id, &live_second, T0 + Duration::minutes(1))
        .await
        .unwrap()
        .is_some());

    // Act
    let deleted = store.delete_expired_sessions(T0 + Duration::hours(2)).await.unwrap();

    // Assert
    assert_eq!(deleted, 2);
    assert!(store.session(expired.id).await.unwrap().is_none());
    assert!(store.session(at_boundary.id).await.unwrap().is_none());
    for hash in [
        &expired_first.token_hash,
        &expired_second.token_hash,
        &at_boundary_first.token_hash,
    ] {
        assert!(store.refresh_token_by_hash(hash).await.unwrap().is_none());
    }
    assert!(store.session(live.id).await.unwrap().is_some());
    let kept_revoked = store
        .refresh_token_by_hash(&live_first.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert!(
        kept_revoked.revoked,
        "revoked tokens of live sessions are kept for reuse detection"
    );
    assert!(
        !store
            .refresh_token_by_hash(&live_second.token_hash)
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    assert!(store.user_by_id(user.id).await.unwrap().is_some());
    assert_eq!(store.delete_expired_sessions(T0 + Duration::hours(2)).await.unwrap(), 0);
}

on_both_backends!(
    created_session_and_its_first_token_are_readable,
    session_without_client_metadata_round_trips_as_none,
    unknown_session_and_unknown_token_hash_are_not_found,
    revoking_a_token_succeeds_once_then_reports_false,
    revoking_a_session_revokes_every_token_of_the_family_and_marks_the_session,
    revoking_all_sessions_of_a_user_leaves_other_users_alone,
    deleting_expired_sessions_removes_them_with_their_tokens_but_keeps_live_ones,
);
