//! PostgreSQL.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Pool, Postgres, Transaction};

use super::sql::*;
use super::time_column::Ts;
use super::{Backend, StoreResult};

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: Pool<Postgres>,
}

impl PostgresStore {
    /// Connects to a `postgres://` URL.
    ///
    /// # Errors
    /// If the server cannot be reached.
    pub async fn connect(url: &str) -> StoreResult<PostgresStore> {
        Self::connect_with(PgConnectOptions::from_str(url)?).await
    }

    /// Connects with explicit options (e.g. a `search_path` for an isolated schema).
    ///
    /// # Errors
    /// If the server cannot be reached.
    pub async fn connect_with(options: PgConnectOptions) -> StoreResult<PostgresStore> {
        Self::connect_with_pool_size(options, default_postgres_pool_size()).await
    }

    /// [`PostgresStore::connect_with`] with at most `max_connections` connections (at least
    /// one). The default, [`default_postgres_pool_size`], suits a database on the same few cores; a
    /// large database server on its own machine may want more.
    ///
    /// # Errors
    /// If the server cannot be reached.
    pub async fn connect_with_pool_size(options: PgConnectOptions, max_connections: u32) -> StoreResult<PostgresStore> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .idle_timeout(Some(Duration::from_secs(300)))
            // Recycled before the usual server/proxy idle cut-offs, so a checkout needs no ping:
            // the ping was a network round trip on every request (measured in bench/).
            .max_lifetime(Some(Duration::from_secs(1800)))
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        Ok(PostgresStore { pool })
    }

    /// The underlying pool.
    pub fn pool(&self) -> &Pool<Postgres> {
        &self.pool
    }

    /// Writes share the one pool: PostgreSQL's row locks serialise only what conflicts.
    fn writer(&self) -> &Pool<Postgres> {
        &self.pool
    }

    async fn begin_write(&self) -> StoreResult<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }

    async fn run_migrations(&self) -> StoreResult<()> {
        sqlx::migrate!("migrations/postgres").run(&self.pool).await?;
        Ok(())
    }
}

impl_sql_store!(PostgresStore, Postgres, Backend::Postgres);

/// Connections in the pool when none is configured: twice the cores this process may use,
/// at least 4 and at most 16. Each query is mostly PostgreSQL CPU, and on a 2-core machine
/// ten connections made its backends fight over the cores (measured in bench/: `/me` 5.3k ->
/// 6.4-7.3k/s at c=32 with four).
pub fn default_postgres_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    u32::try_from(cores * 2).unwrap_or(16).clamp(4, 16)
}
