//! SQLite only: the write-ahead log is copied back by the background checkpointer, not by
//! the committing writer, and the checkpointer ends with the store.

use std::time::Duration;

use authfort_core::store::{SqliteStore, Store};
use authfort_test_support::TempDir;
use sqlx::Row;

use crate::common::{insert_user, T0};

async fn open(dir: &std::path::Path) -> SqliteStore {
    let store = SqliteStore::connect(&format!("sqlite://{}", dir.join("wal.db").display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

/// Users in the database file alone, as if its WAL were lost: what has been checkpointed.
async fn users_in_the_file_alone(dir: &std::path::Path) -> i64 {
    let copy = dir.join("copy.db");
    tokio::fs::copy(dir.join("wal.db"), &copy).await.unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", copy.display()))
        .await
        .unwrap();
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM authfort_users")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
    pool.close().await;
    n
}

#[tokio::test]
async fn writes_are_checkpointed_in_the_background() {
    // Arrange
    let dir = TempDir::new();
    let store = open(&dir.0).await;

    // Act: a few writes (far below SQLite's own checkpoint threshold), then a little more
    // than a few checkpoint intervals.
    for i in 0..50 {
        insert_user(&store, &format!("u{i}@example.com"), T0).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Assert: the database file holds them without its WAL.
    assert_eq!(users_in_the_file_alone(&dir.0).await, 50);
}

#[tokio::test]
async fn the_checkpointer_ends_with_the_store() {
    // Arrange
    let dir = TempDir::new();
    let store = open(&dir.0).await;
    let reads = store.pool().clone();
    let copy = store.clone();

    // Act / Assert: a clone keeps it running; dropping the last one ends it.
    drop(store);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!reads.is_closed(), "a clone of the store is still alive");
    drop(copy);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(reads.is_closed(), "the checkpointer closed its pool on the way out");
}
