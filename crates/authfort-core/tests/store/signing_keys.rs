//! Signing keys: one current key, rotation, listing order, expiry clean-up.

use authfort_test_support::{on_both_backends, Backend, CachedKeys, TestDb};
use time::Duration;

use crate::common::{key_record, T0};

async fn first_signing_key_is_inserted_and_a_second_current_key_is_refused(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let keys = CachedKeys::default();
    let first = key_record(&keys, T0);
    let second = key_record(&keys, T0 + Duration::seconds(1));

    // Act
    let inserted_first = db.store.insert_first_signing_key(&first).await.unwrap();
    let inserted_second = db.store.insert_first_signing_key(&second).await.unwrap();

    // Assert
    assert!(inserted_first);
    assert!(!inserted_second);
    let stored = db.store.signing_keys().await.unwrap();
    assert_eq!(stored, vec![first.clone()]);
    assert!(stored[0].is_current);
    assert_eq!(stored[0].algorithm, "RS256");
    assert_eq!(stored[0].private_key_pem, first.private_key_pem);
    assert_eq!(stored[0].public_key_pem, first.public_key_pem);
}

async fn first_signing_key_is_refused_after_a_rotation_too(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let keys = CachedKeys::default();
    db.store.insert_first_signing_key(&key_record(&keys, T0)).await.unwrap();
    let rotated_in = key_record(&keys, T0 + Duration::hours(1));
    db.store
        .rotate_signing_key(&rotated_in, T0 + Duration::hours(49))
        .await
        .unwrap();

    // Act
    let inserted = db
        .store
        .insert_first_signing_key(&key_record(&keys, T0 + Duration::hours(2)))
        .await
        .unwrap();

    // Assert
    assert!(!inserted);
    let current: Vec<_> = db
        .store
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.is_current)
        .collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].kid, rotated_in.kid);
}

async fn rotating_the_signing_key_retires_the_old_one_and_returns_its_kid(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let keys = CachedKeys::default();
    let old = key_record(&keys, T0);
    db.store.insert_first_signing_key(&old).await.unwrap();
    let new = key_record(&keys, T0 + Duration::days(1));
    let retire_until = T0 + Duration::days(3);

    // Act
    let retired = db.store.rotate_signing_key(&new, retire_until).await.unwrap();

    // Assert
    assert_eq!(retired.as_deref(), Some(old.kid.as_str()));
    let stored = db.store.signing_keys().await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].kid, new.kid);
    assert!(stored[0].is_current);
    assert_eq!(stored[0].expires_at, None);
    assert_eq!(stored[1].kid, old.kid);
    assert!(!stored[1].is_current);
    assert_eq!(stored[1].expires_at, Some(retire_until));
}

async fn rotating_without_a_current_key_returns_none_and_makes_the_new_key_current(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let new = key_record(&CachedKeys::default(), T0);

    // Act
    let retired = db.store.rotate_signing_key(&new, T0 + Duration::days(2)).await.unwrap();

    // Assert
    assert_eq!(retired, None);
    let stored = db.store.signing_keys().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].kid, new.kid);
    assert!(stored[0].is_current);
}

async fn signing_keys_are_listed_newest_first(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let keys = CachedKeys::default();
    let a = key_record(&keys, T0);
    let b = key_record(&keys, T0 + Duration::hours(1));
    let c = key_record(&keys, T0 + Duration::hours(2));

    // Act
    db.store.insert_first_signing_key(&a).await.unwrap();
    db.store.rotate_signing_key(&b, T0 + Duration::days(10)).await.unwrap();
    db.store.rotate_signing_key(&c, T0 + Duration::days(10)).await.unwrap();
    let kids: Vec<String> = db
        .store
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect();

    // Assert
    assert_eq!(kids, vec![c.kid, b.kid, a.kid]);
}

async fn deleting_expired_signing_keys_removes_only_retired_keys_past_expiry(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let keys = CachedKeys::default();
    let old = key_record(&keys, T0);
    db.store.insert_first_signing_key(&old).await.unwrap();
    let current = key_record(&keys, T0 + Duration::hours(1));
    let retire_until = T0 + Duration::hours(49);
    db.store.rotate_signing_key(&current, retire_until).await.unwrap();

    // Act
    let before_expiry = db
        .store
        .delete_expired_signing_keys(retire_until - Duration::microseconds(1))
        .await
        .unwrap();
    let at_expiry = db.store.delete_expired_signing_keys(retire_until).await.unwrap();

    // Assert
    assert_eq!(before_expiry, 0);
    assert_eq!(at_expiry, 1);
    let stored = db.store.signing_keys().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].kid, current.kid);
    assert!(stored[0].is_current);
}

async fn deleting_expired_signing_keys_never_deletes_the_current_key(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let current = key_record(&CachedKeys::default(), T0);
    db.store.insert_first_signing_key(&current).await.unwrap();

    // Act
    let deleted = db
        .store
        .delete_expired_signing_keys(T0 + Duration::days(365 * 100))
        .await
        .unwrap();

    // Assert
    assert_eq!(deleted, 0);
    assert_eq!(db.store.signing_keys().await.unwrap(), vec![current]);
}

on_both_backends!(
    first_signing_key_is_inserted_and_a_second_current_key_is_refused,
    first_signing_key_is_refused_after_a_rotation_too,
    rotating_the_signing_key_retires_the_old_one_and_returns_its_kid,
    rotating_without_a_current_key_returns_none_and_makes_the_new_key_current,
    signing_keys_are_listed_newest_first,
    deleting_expired_signing_keys_removes_only_retired_keys_past_expiry,
    deleting_expired_signing_keys_never_deletes_the_current_key,
);
