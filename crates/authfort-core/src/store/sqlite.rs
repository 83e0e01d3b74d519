//! Embedded SQLite: WAL journal, foreign keys on, a busy timeout, and `BEGIN IMMEDIATE` for
//! every write transaction.
//!
//! SQLite allows one writer at a time. Every write goes through a pool of exactly one
//! connection, so concurrent writers queue in order inside the process and each starts the
//! moment the previous one commits. With writers spread over many connections they would
//! instead meet SQLite's busy handler, which sleeps with a growing back-off (up to 100 ms a
//! try): that was the p99 of every write flow under load. Reads use their own pool and,
//! in WAL mode, never wait for the writer. A background task copies the WAL back into the
//! database file every 50 ms, so the writer seldom has to (measured on SQLite at c=32:
//! magic-link requests 2526 -> 3107/s, refreshes 1563 -> 1712/s, p99 unchanged).

use std::str::FromStr;
use std::sync::{Arc, Weak};
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
    /// Held by every clone; the background checkpointer stops when the last one is dropped.
    _alive: Arc<()>,
}

/// Read connections when none is configured: reads run on sqlx's per-connection threads, so
/// a few more than the cores let reads proceed while others wait on the disk.
pub const DEFAULT_SQLITE_READERS: u32 = 8;

/// How often the background checkpointer copies the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);

/// SQLite's own checkpoint, run by the committing writer, only as a safety net (pages of WAL).
const WRITER_CHECKPOINT_PAGES: &str = "16000";

impl SqliteStore {
    /// Opens (creating if missing) the database at a `sqlite:` URL, e.g. `sqlite://authfort.db`
    /// or `sqlite::memory:`.
    ///
    /// # Errors
    /// If the file cannot be opened.
    pub async fn connect(url: &str) -> StoreResult<SqliteStore> {
        Self::connect_with_readers(url, DEFAULT_SQLITE_READERS).await
    }

    /// [`SqliteStore::connect`] with `readers` connections for reads (at least one). Writes
    /// always go through one more connection of their own: SQLite admits one writer at a time.
    ///
    /// # Errors
    /// If the file cannot be opened.
    pub async fn connect_with_readers(url: &str, readers: u32) -> StoreResult<SqliteStore> {
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
                _alive: Arc::new(()),
            });
        }
        options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            // Left to itself, the committing writer copies the WAL back every 1000 pages and
            // syncs the file, while every other writer waits: at a few thousand writes a
            // second that is several stalls a second, the bulk of a write's p99. The
            // checkpointer below does it beside the writer instead.
            .pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES);
        // The writer first: it creates the file and switches it to WAL before readers open it.
        let writer = pool_options(1).connect_with(options.clone()).await?;
        let pool = pool_options(readers.max(1)).connect_with(options).await?;
        let alive = Arc::new(());
        tokio::spawn(checkpoint_in_background(pool.clone(), Arc::downgrade(&alive)));
        Ok(SqliteStore {
            pool,
            writer,
            _alive: alive,
        })
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

/// Copies what the WAL holds into the database file every [`CHECKPOINT_EVERY`], on a read
/// connection: a PASSIVE checkpoint waits for no one, and writers go on appending meanwhile.
/// Stops when the store is dropped.
async fn checkpoint_in_background(pool: Pool<Sqlite>, alive: Weak<()>) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if alive.strong_count() == 0 {
            break;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            tracing::debug!(error = %e, "background WAL checkpoint failed; the next one retries");
        }
    }
    pool.close().await;
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
