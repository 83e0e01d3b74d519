//! Users: insert, lookups, unique email, account links.

use authfort_core::store::StoreError;
use authfort_test_support::{on_both_backends, Backend, CachedKeys, TestDb};
use uuid::Uuid;

use crate::common::{key_record, new_user, T0};

async fn inserted_user_is_found_by_id_and_by_email(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let mut new = new_user("alice@example.com", T0);
    new.user.name = Some("Alice Liddell".into());
    new.user.avatar_url = Some("https://img.example.com/a.png".into());
    new.user.phone = Some("+44 20 7946 0018".into());
    new.user.email_verified = true;
    new.user.token_version = 7;

    // Act
    db.store.insert_user(&new).await.unwrap();
    let by_id = db.store.user_by_id(new.user.id).await.unwrap();
    let by_email = db.store.user_by_email("alice@example.com").await.unwrap();

    // Assert
    assert_eq!(by_id.as_ref(), Some(&new.user));
    assert_eq!(by_email.as_ref(), Some(&new.user));
    let stored = by_id.unwrap();
    assert_eq!(stored.password_hash, new.user.password_hash);
    assert_eq!(stored.name.as_deref(), Some("Alice Liddell"));
    assert!(stored.is_active());
}

async fn unknown_id_and_unknown_email_are_not_found(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    db.store.insert_user(&new_user("alice@example.com", T0)).await.unwrap();

    // Act
    let by_id = db.store.user_by_id(Uuid::new_v4()).await.unwrap();
    let by_email = db.store.user_by_email("bob@example.com").await.unwrap();

    // Assert
    assert!(by_id.is_none());
    assert!(by_email.is_none());
}

async fn second_user_with_the_same_email_is_a_conflict_and_is_not_stored(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let first = new_user("alice@example.com", T0);
    db.store.insert_user(&first).await.unwrap();
    let second = new_user("alice@example.com", T0);

    // Act
    let result = db.store.insert_user(&second).await;

    // Assert
    assert!(matches!(result, Err(StoreError::Conflict(_))), "got {result:?}");
    assert!(db.store.user_by_id(second.user.id).await.unwrap().is_none());
    assert_eq!(
        db.store.user_by_email("alice@example.com").await.unwrap().unwrap().id,
        first.user.id
    );
}

async fn duplicate_provider_account_is_a_conflict_and_rolls_back_the_user_row(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let mut first = new_user("alice@example.com", T0);
    first.account = Some(("google".into(), "google-sub-123".into()));
    db.store.insert_user(&first).await.unwrap();
    let mut second = new_user("bob@example.com", T0);
    second.account = Some(("google".into(), "google-sub-123".into()));

    // Act
    let result = db.store.insert_user(&second).await;

    // Assert
    assert!(matches!(result, Err(StoreError::Conflict(_))), "got {result:?}");
    assert!(db.store.user_by_email("bob@example.com").await.unwrap().is_none());
    assert!(db.store.user_by_id(second.user.id).await.unwrap().is_none());
}

async fn providers_list_the_linked_login_method(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let with_email = new_user("alice@example.com", T0);
    let mut with_google = new_user("bob@example.com", T0);
    with_google.account = Some(("google".into(), "1234567890".into()));
    let mut without_account = new_user("carol@example.com", T0);
    without_account.account = None;

    // Act
    for u in [&with_email, &with_google, &without_account] {
        db.store.insert_user(u).await.unwrap();
    }

    // Assert
    assert_eq!(
        db.store.providers(with_email.user.id).await.unwrap(),
        vec!["email".to_owned()]
    );
    assert_eq!(
        db.store.providers(with_google.user.id).await.unwrap(),
        vec!["google".to_owned()]
    );
    assert!(db.store.providers(without_account.user.id).await.unwrap().is_empty());
    assert!(db.store.providers(Uuid::new_v4()).await.unwrap().is_empty());
}

async fn soft_deleted_and_banned_flags_round_trip(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let mut deleted = new_user("deleted@example.com", T0);
    deleted.user.is_deleted = true;
    deleted.user.deleted_at = Some(T0 + time::Duration::hours(1));
    let mut banned = new_user("banned@example.com", T0);
    banned.user.banned = true;

    // Act
    db.store.insert_user(&deleted).await.unwrap();
    db.store.insert_user(&banned).await.unwrap();

    // Assert
    let d = db.store.user_by_id(deleted.user.id).await.unwrap().unwrap();
    assert!(d.is_deleted && !d.banned && !d.is_active());
    assert_eq!(d.deleted_at, Some(T0 + time::Duration::hours(1)));
    let b = db.store.user_by_id(banned.user.id).await.unwrap().unwrap();
    assert!(b.banned && !b.is_deleted && !b.is_active());
}

async fn ping_answers_once_a_signing_key_exists(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let before = db.store.ping().await;
    db.store
        .insert_first_signing_key(&key_record(&CachedKeys::default(), T0))
        .await
        .unwrap();

    // Act
    let result = db.store.ping().await;

    // Assert
    assert!(before.is_err(), "not ready without a key");
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        db.store.backend(),
        match backend {
            Backend::Sqlite => authfort_core::store::Backend::Sqlite,
            Backend::Postgres => authfort_core::store::Backend::Postgres,
        }
    );
}

on_both_backends!(
    inserted_user_is_found_by_id_and_by_email,
    unknown_id_and_unknown_email_are_not_found,
    second_user_with_the_same_email_is_a_conflict_and_is_not_stored,
    duplicate_provider_account_is_a_conflict_and_rolls_back_the_user_row,
    providers_list_the_linked_login_method,
    soft_deleted_and_banned_flags_round_trip,
    ping_answers_once_a_signing_key_exists,
);
