//! The configured pool size bounds the connections a store opens (`database_pool_size`).

use authfort_core::store::{self, SqliteStore, DEFAULT_SQLITE_READERS};
use authfort_test_support::{postgres_url, skip_postgres, Backend, TempDir, TestDb};
use sqlx::{Connection, PgConnection, Row};
use uuid::Uuid;

/// Connections PostgreSQL has open for `application_name`.
async fn connections_named(name: &str) -> i64 {
    let mut admin = PgConnection::connect(&postgres_url()).await.unwrap();
    let n = sqlx::query("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1")
        .bind(name)
        .fetch_one(&mut admin)
        .await
        .unwrap()
        .get(0);
    admin.close().await.unwrap();
    n
}

/// Opens a second store on a fresh, migrated PostgreSQL schema under its own application
/// name, keeps 32 reads in flight at once, and reports how many connections it held open.
async fn connections_under_load(pool_size: Option<u32>) -> i64 {
    let db = TestDb::new(Backend::Postgres).await;
    let name = format!("pool_size_{}", Uuid::new_v4().simple());
    let sep = if db.url.contains('?') { '&' } else { '?' };
    let url = format!("{}{sep}application_name={name}", db.url);
    let store = store::connect_with_pool_size(&url, pool_size).await.unwrap();
    for _ in 0..3 {
        let reads = (0..32).map(|_| store.user_by_id(Uuid::new_v4()));
        for found in futures::future::join_all(reads).await {
            assert!(found.unwrap().is_none());
        }
    }
    connections_named(&name).await
}

#[tokio::test]
async fn a_postgres_pool_never_exceeds_its_configured_size() {
    if skip_postgres() {
        return;
    }
    // Act
    let two = connections_under_load(Some(2)).await;
    let six = connections_under_load(Some(6)).await;

    // Assert
    assert!((1..=2).contains(&two), "pool of 2 held {two} connections");
    assert!((3..=6).contains(&six), "pool of 6 held {six} connections");
}

#[tokio::test]
async fn sqlite_takes_the_pool_size_as_its_read_connections() {
    // Arrange
    let dir = TempDir::new();
    let url = format!("sqlite://{}", dir.0.join("pool.db").display());

    // Act
    let default = SqliteStore::connect(&url).await.unwrap();
    let three = SqliteStore::connect_with_readers(&url, 3).await.unwrap();
    let none = SqliteStore::connect_with_readers(&url, 0).await.unwrap();

    // Assert
    assert_eq!(default.pool().options().get_max_connections(), DEFAULT_SQLITE_READERS);
    assert_eq!(three.pool().options().get_max_connections(), 3);
    assert_eq!(none.pool().options().get_max_connections(), 1, "at least one reader");
}
