//! Timestamps survive a round trip exactly, at microsecond precision, on both backends.

use authfort_core::clock::{Clock, ManualClock};
use authfort_test_support::{on_both_backends, Backend, CachedKeys, TestDb};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::common::{insert_user, key_record, new_user, session_for, token_in};

async fn user_timestamps_round_trip_exactly_at_microsecond_precision(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let clock = ManualClock::new(datetime!(2026-07-01 08:30:15.000001 UTC));
    let mut new = new_user("micro@example.com", clock.now());
    clock.advance(Duration::microseconds(999_998));
    new.user.updated_at = clock.now(); // .999999
    new.user.is_deleted = true;
    new.user.deleted_at = Some(datetime!(2026-07-02 00:00:00.123456 UTC));

    // Act
    db.store.insert_user(&new).await.unwrap();
    let stored = db.store.user_by_id(new.user.id).await.unwrap().unwrap();

    // Assert
    assert_eq!(stored.created_at, datetime!(2026-07-01 08:30:15.000001 UTC));
    assert_eq!(stored.updated_at, datetime!(2026-07-01 08:30:15.999999 UTC));
    assert_eq!(stored.deleted_at, Some(datetime!(2026-07-02 00:00:00.123456 UTC)));
    assert_eq!(stored.created_at.microsecond(), 1);
    assert_eq!(stored.updated_at.microsecond(), 999_999);
    assert_eq!(stored.created_at.offset(), time::UtcOffset::UTC);
}

async fn time_with_zero_fraction_round_trips_exactly(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let whole_second = datetime!(2026-01-01 00:00:00 UTC);
    let new = new_user("whole@example.com", whole_second);

    // Act
    db.store.insert_user(&new).await.unwrap();
    let stored = db.store.user_by_id(new.user.id).await.unwrap().unwrap();

    // Assert
    assert_eq!(stored.created_at, whole_second);
    assert_eq!(stored.updated_at, whole_second);
    assert_eq!(stored.created_at.nanosecond(), 0);
}

async fn non_utc_offset_is_stored_as_the_same_instant(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let in_paris = datetime!(2026-05-05 14:00:00.250001 +02:00);
    let new = new_user("offset@example.com", in_paris);

    // Act
    db.store.insert_user(&new).await.unwrap();
    let stored = db.store.user_by_id(new.user.id).await.unwrap().unwrap();

    // Assert
    assert_eq!(stored.created_at, in_paris);
    assert_eq!(
        stored.created_at.to_offset(time::UtcOffset::UTC),
        datetime!(2026-05-05 12:00:00.250001 UTC)
    );
}

async fn session_and_refresh_token_timestamps_round_trip_exactly(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let clock = ManualClock::new(datetime!(2026-02-28 23:59:59.654321 UTC));
    let user = insert_user(db.store.as_ref(), "session-times@example.com", clock.now()).await;
    let created = clock.now();
    let expires = created + Duration::days(30) + Duration::microseconds(7);
    let session = session_for(user.id, created, expires);
    let token = token_in(&session, created, expires);

    // Act
    db.store.create_session(&session, &token).await.unwrap();
    clock.advance(Duration::microseconds(345_680));
    let revoked_at = clock.now();
    db.store.revoke_session(session.id, revoked_at).await.unwrap();
    let stored_session = db.store.session(session.id).await.unwrap().unwrap();
    let stored_token = db
        .store
        .refresh_token_by_hash(&token.token_hash)
        .await
        .unwrap()
        .unwrap();

    // Assert
    assert_eq!(stored_session.created_at, created);
    assert_eq!(stored_session.expires_at, expires);
    assert_eq!(stored_session.revoked_at, Some(revoked_at));
    assert_eq!(stored_token.created_at, created);
    assert_eq!(stored_token.expires_at, expires);
    assert_eq!(stored_token.revoked_at, Some(datetime!(2026-03-01 00:00:00.000001 UTC)));
}

async fn signing_key_timestamps_round_trip_exactly(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let keys = CachedKeys::default();
    let created: OffsetDateTime = datetime!(2026-04-01 12:00:00.000042 UTC);
    let first = key_record(&keys, created);
    let second = key_record(&keys, created + Duration::microseconds(1));
    let retire_until = datetime!(2026-04-03 12:00:00.999001 UTC);

    // Act
    db.store.insert_first_signing_key(&first).await.unwrap();
    db.store.insert_next_signing_key(&second).await.unwrap();
    db.store
        .rotate_signing_key(&first.kid, created + Duration::microseconds(2), retire_until)
        .await
        .unwrap();
    let stored = db.store.signing_keys().await.unwrap();

    // Assert
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].created_at, created + Duration::microseconds(1));
    assert_eq!(stored[0].expires_at, None);
    assert_eq!(stored[0].activated_at, Some(created + Duration::microseconds(2)));
    assert_eq!(stored[1].created_at, created);
    assert_eq!(stored[1].expires_at, Some(retire_until));
}

on_both_backends!(
    user_timestamps_round_trip_exactly_at_microsecond_precision,
    time_with_zero_fraction_round_trips_exactly,
    non_utc_offset_is_stored_as_the_same_instant,
    session_and_refresh_token_timestamps_round_trip_exactly,
    signing_key_timestamps_round_trip_exactly,
);
