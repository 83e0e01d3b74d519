//! Embedded SQLite: WAL journal, foreign keys on, a busy timeout, and `BEGIN IMMEDIATE` for
//! every write transaction.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite, Transaction};

use super::sql::*;
use super::time_column::Ts;
use super::{Backend, StoreResult};

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: Pool<Sqlite>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at a `sqlite:` URL, e.g. `sqlite://authfort.db`
    /// or `sqlite::memory:`.
    ///
    /// # Errors
    /// If the file cannot be opened.
    pub async fn connect(url: &str) -> StoreResult<SqliteStore> {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let mut options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        if !in_memory {
            options = options
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
        }
        let pool = SqlitePoolOptions::new()
            // An in-memory database exists per connection: keep exactly one.
            .max_connections(if in_memory { 1 } else { 8 })
            .min_connections(if in_memory { 1 } else { 0 })
            .idle_timeout(if in_memory {
                None
            } else {
                Some(Duration::from_secs(600))
            })
            .max_lifetime(if in_memory {
                None
            } else {
                Some(Duration::from_secs(1800))
            })
            .acquire_timeout(Duration::from_secs(10))
            // No ping before each checkout: on SQLite it is a round trip to the connection's
            // worker thread per query, for a connection that cannot go stale.
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        Ok(SqliteStore { pool })
    }

    /// The underlying pool.
    pub fn pool(&self) -> &Pool<Sqlite> {
        &self.pool
    }

    async fn begin_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        // IMMEDIATE takes the write lock at BEGIN, so a read-then-write transaction waits on
        // the busy timeout instead of failing later with SQLITE_BUSY_SNAPSHOT.
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    async fn run_migrations(&self) -> StoreResult<()> {
        sqlx::migrate!("migrations/sqlite").run(&self.pool).await?;
        Ok(())
    }
}

impl_sql_store!(SqliteStore, Sqlite, Backend::Sqlite);
