//! Bans: one transaction sets the flag, bumps the version and revokes every session.

use authfort_test_support::{on_both_backends, Backend, TestDb};
use time::Duration;
use uuid::Uuid;

use crate::common::{open_session, token_in, user_with_session, REFRESH_TTL, T0};

async fn banning_bumps_the_version_and_revokes_every_token_and_session_at_once(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let store = db.store.as_ref();
    let alice = user_with_session(store, "alice@example.com", T0).await;
    let (second, second_first) = open_session(store, alice.user.id, T0, T0 + REFRESH_TTL).await;
    let rotated = token_in(&second, T0 + Duration::minutes(1), T0 + REFRESH_TTL);
    assert!(store
        .rotate_refresh_token(second_first.id, &rotated, T0 + Duration::minutes(1))
        .await
        .unwrap()
        .is_some());
    let bystander = user_with_session(store, "bob@example.com", T0).await;
    let ban_time = T0 + Duration::hours(1);

    // Act
    let banned = store.set_banned(alice.user.id, true, ban_time).await.unwrap();

    // Assert
    assert!(banned);
    let user = store.user_by_id(alice.user.id).await.unwrap().unwrap();
    assert!(user.banned);
    assert_eq!(user.token_version, 1);
    assert_eq!(user.updated_at, ban_time);
    for hash in [&alice.first.token_hash, &second_first.token_hash, &rotated.token_hash] {
        let row = store.refresh_token_by_hash(hash).await.unwrap().unwrap();
        assert!(row.revoked, "token {} not revoked", row.id);
    }
    let newest = store.refresh_token_by_hash(&rotated.token_hash).await.unwrap().unwrap();
    assert_eq!(newest.revoked_at, Some(ban_time));
    for session_id in [alice.session.id, second.id] {
        assert_eq!(
            store.session(session_id).await.unwrap().unwrap().revoked_at,
            Some(ban_time)
        );
    }
    let other = store
        .refresh_token_by_hash(&bystander.first.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert!(!other.revoked);
    assert_eq!(
        store.session(bystander.session.id).await.unwrap().unwrap().revoked_at,
        None
    );
    assert_eq!(
        store
            .user_by_id(bystander.user.id)
            .await
            .unwrap()
            .unwrap()
            .token_version,
        0
    );
}

async fn unbanning_clears_the_flag_without_bumping_the_version_or_reviving_tokens(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let store = db.store.as_ref();
    let alice = user_with_session(store, "alice@example.com", T0).await;
    store
        .set_banned(alice.user.id, true, T0 + Duration::hours(1))
        .await
        .unwrap();

    // Act
    let unbanned = store
        .set_banned(alice.user.id, false, T0 + Duration::hours(2))
        .await
        .unwrap();

    // Assert
    assert!(unbanned);
    let user = store.user_by_id(alice.user.id).await.unwrap().unwrap();
    assert!(!user.banned);
    assert_eq!(user.token_version, 1);
    assert_eq!(user.updated_at, T0 + Duration::hours(2));
    assert!(
        store
            .refresh_token_by_hash(&alice.first.token_hash)
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
}

async fn unbanning_a_user_who_was_never_banned_changes_nothing_but_updated_at(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let store = db.store.as_ref();
    let alice = user_with_session(store, "alice@example.com", T0).await;

    // Act
    let ok = store
        .set_banned(alice.user.id, false, T0 + Duration::hours(1))
        .await
        .unwrap();

    // Assert
    assert!(ok);
    let user = store.user_by_id(alice.user.id).await.unwrap().unwrap();
    assert!(!user.banned);
    assert_eq!(user.token_version, 0);
    assert!(
        !store
            .refresh_token_by_hash(&alice.first.token_hash)
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    assert_eq!(store.session(alice.session.id).await.unwrap().unwrap().revoked_at, None);
}

async fn banning_an_unknown_user_returns_false(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;

    // Act
    let banned = db.store.set_banned(Uuid::new_v4(), true, T0).await.unwrap();
    let unbanned = db.store.set_banned(Uuid::new_v4(), false, T0).await.unwrap();

    // Assert
    assert!(!banned);
    assert!(!unbanned);
}

on_both_backends!(
    banning_bumps_the_version_and_revokes_every_token_and_session_at_once,
    unbanning_clears_the_flag_without_bumping_the_version_or_reviving_tokens,
    unbanning_a_user_who_was_never_banned_changes_nothing_but_updated_at,
    banning_an_unknown_user_returns_false,
);
