//! Roles: idempotent add/remove, with and without a token-version bump.

use authfort_test_support::{on_both_backends, Backend, TestDb};
use time::Duration;
use uuid::Uuid;

use crate::common::{insert_user, T0};

async fn adding_a_role_twice_without_bump_keeps_one_copy_and_the_version(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let user = insert_user(db.store.as_ref(), "alice@example.com", T0).await;

    // Act
    let first = db.store.add_role(user.id, "admin", false, T0).await.unwrap();
    let second = db
        .store
        .add_role(user.id, "admin", false, T0 + Duration::seconds(1))
        .await
        .unwrap();

    // Assert
    assert!(first && second);
    assert_eq!(db.store.roles(user.id).await.unwrap(), vec!["admin".to_owned()]);
    let stored = db.store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(stored.token_version, 0);
    assert_eq!(stored.updated_at, T0 + Duration::seconds(1));
}

async fn adding_a_role_with_bump_increments_the_token_version_once_per_call(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let user = insert_user(db.store.as_ref(), "alice@example.com", T0).await;

    // Act
    db.store.add_role(user.id, "admin", true, T0).await.unwrap();
    let after_first = db.store.user_by_id(user.id).await.unwrap().unwrap().token_version;
    db.store.add_role(user.id, "admin", true, T0).await.unwrap();
    let after_second = db.store.user_by_id(user.id).await.unwrap().unwrap().token_version;

    // Assert
    assert_eq!(after_first, 1);
    assert_eq!(after_second, 2);
    assert_eq!(db.store.roles(user.id).await.unwrap(), vec!["admin".to_owned()]);
}

async fn removing_a_role_is_idempotent_and_bumps_only_when_asked(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let user = insert_user(db.store.as_ref(), "alice@example.com", T0).await;
    db.store.add_role(user.id, "admin", false, T0).await.unwrap();
    db.store.add_role(user.id, "editor", false, T0).await.unwrap();

    // Act
    let quiet = db.store.remove_role(user.id, "admin", false, T0).await.unwrap();
    let version_after_quiet = db.store.user_by_id(user.id).await.unwrap().unwrap().token_version;
    let again = db.store.remove_role(user.id, "admin", true, T0).await.unwrap();
    let missing = db.store.remove_role(user.id, "never-had-it", true, T0).await.unwrap();

    // Assert
    assert!(quiet && again && missing);
    assert_eq!(version_after_quiet, 0);
    assert_eq!(db.store.user_by_id(user.id).await.unwrap().unwrap().token_version, 2);
    assert_eq!(db.store.roles(user.id).await.unwrap(), vec!["editor".to_owned()]);
}

async fn role_changes_for_an_unknown_user_return_false(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let ghost = Uuid::new_v4();

    // Act
    let added = db.store.add_role(ghost, "admin", true, T0).await.unwrap();
    let removed = db.store.remove_role(ghost, "admin", false, T0).await.unwrap();
    let bumped = db.store.bump_token_version(ghost, T0).await.unwrap();

    // Assert
    assert!(!added && !removed && !bumped);
    assert!(db.store.roles(ghost).await.unwrap().is_empty());
}

async fn roles_are_listed_oldest_first(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let user = insert_user(db.store.as_ref(), "alice@example.com", T0).await;

    // Act
    db.store.add_role(user.id, "zeta", false, T0).await.unwrap();
    db.store
        .add_role(user.id, "alpha", false, T0 + Duration::microseconds(1))
        .await
        .unwrap();
    db.store
        .add_role(user.id, "mid", false, T0 + Duration::seconds(5))
        .await
        .unwrap();

    // Assert
    assert_eq!(db.store.roles(user.id).await.unwrap(), vec!["zeta", "alpha", "mid"]);
}

async fn roles_of_one_user_do_not_leak_to_another(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let alice = insert_user(db.store.as_ref(), "alice@example.com", T0).await;
    let bob = insert_user(db.store.as_ref(), "bob@example.com", T0).await;

    // Act
    db.store.add_role(alice.id, "admin", true, T0).await.unwrap();

    // Assert
    assert!(db.store.roles(bob.id).await.unwrap().is_empty());
    assert_eq!(db.store.user_by_id(bob.id).await.unwrap().unwrap().token_version, 0);
}

async fn bump_token_version_increments_by_exactly_one(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let user = insert_user(db.store.as_ref(), "alice@example.com", T0).await;

    // Act
    let ok = db
        .store
        .bump_token_version(user.id, T0 + Duration::minutes(1))
        .await
        .unwrap();

    // Assert
    assert!(ok);
    let stored = db.store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(stored.token_version, 1);
    assert_eq!(stored.updated_at, T0 + Duration::minutes(1));
}

async fn user_with_roles_reads_the_user_and_its_roles_in_order_in_one_call(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let alice = insert_user(db.store.as_ref(), "alice@example.com", T0).await;
    let bob = insert_user(db.store.as_ref(), "bob@example.com", T0).await;
    db.store.add_role(alice.id, "zeta", false, T0).await.unwrap();
    db.store
        .add_role(alice.id, "alpha", false, T0 + Duration::seconds(1))
        .await
        .unwrap();
    db.store.add_role(bob.id, "admin", false, T0).await.unwrap();

    // Act
    let (user, roles) = db.store.user_with_roles(alice.id).await.unwrap().unwrap();
    let none = db.store.user_with_roles(Uuid::new_v4()).await.unwrap();
    let carol = insert_user(db.store.as_ref(), "carol@example.com", T0).await;
    let (_, no_roles) = db.store.user_with_roles(carol.id).await.unwrap().unwrap();

    // Assert: the same as the two separate reads.
    let by_id = db.store.user_by_id(alice.id).await.unwrap().unwrap();
    assert_eq!(format!("{user:?}"), format!("{by_id:?}"));
    assert_eq!(roles, vec!["zeta", "alpha"]);
    assert_eq!(roles, db.store.roles(alice.id).await.unwrap());
    assert!(none.is_none());
    assert!(no_roles.is_empty());
}

on_both_backends!(
    adding_a_role_twice_without_bump_keeps_one_copy_and_the_version,
    adding_a_role_with_bump_increments_the_token_version_once_per_call,
    removing_a_role_is_idempotent_and_bumps_only_when_asked,
    role_changes_for_an_unknown_user_return_false,
    roles_are_listed_oldest_first,
    roles_of_one_user_do_not_leak_to_another,
    bump_token_version_increments_by_exactly_one,
    user_with_roles_reads_the_user_and_its_roles_in_order_in_one_call,
);
