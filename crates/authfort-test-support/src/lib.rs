//! Test helpers shared by the AuthFort crates: a fresh database per test on either backend,
//! cached RSA key material, cheap password hashing, and local stand-ins (SMTP, webhook, the
//! breached-password range API).
//!
//! PostgreSQL comes from `AUTHFORT_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each test gets its own schema. When the
//! server is unreachable the test fails, never skips: set `AUTHFORT_TEST_SKIP_POSTGRES=1`
//! to skip PostgreSQL on a machine without it (refused when `CI=true`).

pub mod github;
pub mod google;
pub mod oidc;
pub mod pwned_range;
pub mod redis;
pub mod smtp_sink;
pub mod webhook_sink;

use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use authfort_core::config::PasswordHashingConfig;
use authfort_core::crypto::keys::KeyGenerator;
use authfort_core::store::{PostgresStore, SqliteStore, Store};
use authfort_core::{AuthConfig, AuthResult};
use rsa::RsaPrivateKey;
use sqlx::postgres::PgConnectOptions;
use sqlx::ConnectOptions;

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file in a temp directory.
    Sqlite,
    /// A fresh schema in the test PostgreSQL database.
    Postgres,
}

/// The PostgreSQL URL tests use.
pub fn postgres_url() -> String {
    std::env::var("AUTHFORT_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// True when PostgreSQL tests should be skipped (explicit opt-out, never under CI).
pub fn skip_postgres() -> bool {
    let skip = std::env::var("AUTHFORT_TEST_SKIP_POSTGRES").is_ok_and(|v| v == "1");
    if skip && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("AUTHFORT_TEST_SKIP_POSTGRES=1 is not allowed under CI=true: PostgreSQL tests are mandatory");
    }
    skip
}

/// A database for one test. Keeps its temp directory alive.
pub struct TestDb {
    /// The store.
    pub store: Arc<dyn Store>,
    /// A URL another process can open to reach the same database.
    pub url: String,
    _dir: Option<TempDir>,
}

/// A temp directory removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// Creates a unique directory under the system temp dir.
    pub fn new() -> TempDir {
        let path = std::env::temp_dir().join(format!("authfort-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestDb {
    /// A fresh, migrated database on `backend`.
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = TempDir::new();
                let url = format!("sqlite://{}", dir.0.join("authfort.db").display());
                let store = SqliteStore::connect(&url).await.expect("open sqlite");
                store.migrate().await.expect("migrate sqlite");
                TestDb {
                    store: Arc::new(store),
                    url,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let base = postgres_url();
                let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
                let admin = PgConnectOptions::from_str(&base).expect("postgres url");
                let mut conn = admin.connect().await.unwrap_or_else(|e| {
                    panic!("PostgreSQL is required for these tests and is not reachable at {base}: {e}")
                });
                sqlx::query(&format!("CREATE SCHEMA {schema}"))
                    .execute(&mut conn)
                    .await
                    .expect("create schema");
                let url = format!("{base}?options=-c%20search_path%3D{schema}");
                let store = PostgresStore::connect_with(admin.options([("search_path", schema.as_str())]))
                    .await
                    .expect("connect postgres");
                store.migrate().await.expect("migrate postgres");
                TestDb {
                    store: Arc::new(store),
                    url,
                    _dir: None,
                }
            }
        }
    }
}

/// Reuses a few pre-generated 2048-bit keys (generation costs up to a second each).
#[derive(Debug, Default)]
pub struct CachedKeys {
    next: AtomicUsize,
}

fn key_pool() -> &'static Vec<RsaPrivateKey> {
    static KEYS: OnceLock<Vec<RsaPrivateKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        (0..3)
            .map(|_| RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("generate key"))
            .collect()
    })
}

impl KeyGenerator for CachedKeys {
    fn generate(&self, _bits: usize) -> AuthResult<RsaPrivateKey> {
        let pool = key_pool();
        Ok(pool[self.next.fetch_add(1, Ordering::Relaxed) % pool.len()].clone())
    }
}

/// The `secret_key` of [`test_config`].
pub const TEST_SECRET_KEY: &str = "test-secret-key-0123456789abcdef-not-for-production";

/// A configuration for tests: cheap argon2 (the defaults are tested separately) and a fixed
/// [`TEST_SECRET_KEY`] (email one-time codes need one).
pub fn test_config() -> AuthConfig {
    AuthConfig {
        secret_key: Some(authfort_core::Secret::new(TEST_SECRET_KEY)),
        password_hashing: PasswordHashingConfig {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 4,
        },
        ..AuthConfig::default()
    }
}

/// Generates `mod sqlite` and `mod postgres`, each with one `#[tokio::test]` per listed
/// `async fn name(backend: Backend)` in the calling module.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::skip_postgres() {
                        eprintln!("skipping PostgreSQL (AUTHFORT_TEST_SKIP_POSTGRES=1)");
                        return;
                    }
                    super::$name($crate::Backend::Postgres).await
                }
            )*
        }
    };
}

impl TestDb {
    /// Runs a `SELECT COUNT(*) … $1` with one UUID parameter on a separate connection (the
    /// same SQL works on both backends), for assertions the `Store` trait cannot express.
    pub async fn count(&self, sql: &str, id: uuid::Uuid) -> i64 {
        if self.url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&self.url).await.expect("open sqlite");
            let n = sqlx::query_scalar(sql).bind(id).fetch_one(&pool).await.expect("count");
            pool.close().await;
            n
        } else {
            let pool = sqlx::PgPool::connect(&self.url).await.expect("open postgres");
            let n = sqlx::query_scalar(sql).bind(id).fetch_one(&pool).await.expect("count");
            pool.close().await;
            n
        }
    }
}
