//! Embedded SQLite: WAL journal, foreign keys on, a busy timeout, and `BEGIN IMMEDIATE` for
//! every write transaction.
//!
//! SQLite allows one writer at a time. Every write goes through a pool of exactly one
//! connection, so concurrent writers queue in order inside the process and each starts the
//! moment the previous one commits. With writers spread over many connections they would
//! instead meet SQLite's busy handler, which sleeps with a growing back-off (up to 100 ms a
//! try): that was the p99 of every write flow under load. Reads use their own pool and,
//! in WAL mode, never wait for the writer.

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
    /// Reads (several connections; an in-memory database has one, shared with `writer`).
    pool: Pool<Sqlite>,
    /// Writes: one connection.
    writer: Pool<Sqlite>,
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
            // Only another process (the CLI beside a running server) can hold the write
            // lock now; in-process writers queue on the writer pool instead.
            .busy_timeout(Duration::from_secs(10));
        if in_memory {
            // An in-memory database exists per connection: keep exactly one, for everything.
            let pool = pool_options(1).min_connections(1).idle_timeout(None).max_lifetime(None);
            let pool = pool.connect_with(options).await?;
            return Ok(SqliteStore {
                writer: pool.clone(),
                pool,
            });
        }
        options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
        // The writer first: it creates the file and switches it to WAL before readers open it.
        let writer = pool_options(1).connect_with(options.clone()).await?;
        let pool = pool_options(8).connect_with(options).await?;
        Ok(SqliteStore { pool, writer })
    }

    /// The pool reads go through (tests use it for raw statements).
    pub fn pool(&self) -> &Pool<Sqlite> {
        &self.pool
    }

    fn writer(&self) -> &Pool<Sqlite> {
        &self.writer
    }

    async fn begin_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        // IMMEDIATE takes the write lock at BEGIN, so a read-then-write transaction cannot
        // fail later with SQLITE_BUSY_SNAPSHOT when another process wrote in between.
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    async fn run_migrations(&self) -> StoreResult<()> {
        sqlx::migrate!("migrations/sqlite").run(&self.writer).await?;
        Ok(())
    }
}

fn pool_options(max_connections: u32) -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(max_connections)
        .min_connections(0)
        .idle_timeout(Some(Duration::from_secs(600)))
        .max_lifetime(Some(Duration::from_secs(1800)))
        // Writers queue here under load, so allow for a deep queue before giving up.
        .acquire_timeout(Duration::from_secs(10))
        // No ping before each checkout: on SQLite it is a round trip to the connection's
        // worker thread per query, for a connection that cannot go stale.
        .test_before_acquire(false)
}

impl_sql_store!(SqliteStore, Sqlite, Backend::Sqlite);
