//! The [`AuthFort`] entry point and its builder.

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::config::AuthConfig;
use crate::crypto::keys::{KeyGenerator, RsaKeyGenerator};
use crate::crypto::password::PasswordHasher;
use crate::delivery::{spawn_worker, transport_for, Templates};
use crate::error::{AuthError, AuthResult};
use crate::events::{Event, EventBus, EventKind, RateLimitExceeded};
use crate::pwned::PwnedChecker;
use crate::rate_limit::{
    Bucket, MemoryRateLimitStore, RateKey, RateLimitStore, RateLimiter, RedisRateLimitStore, Throttled,
};
use crate::service::keys::KeyRing;
use crate::store::{self, Store};
use tokio::sync::{watch, Notify};

/// The authentication system. Cheap to clone (one `Arc`); share it across your app.
#[derive(Clone)]
pub struct AuthFort {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: AuthConfig,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) keys: KeyRing,
    pub(crate) hasher: PasswordHasher,
    pub(crate) events: EventBus,
    pub(crate) mail: Option<Mail>,
    pub(crate) rate_limiter: Option<RateLimiter>,
    pub(crate) pwned: Option<PwnedChecker>,
    pub(crate) oauth: crate::oauth::Providers,
}

/// Email delivery state: templates, the worker's wake-up, and its stop signal (dropping the
/// sender, with the last `AuthFort` clone, stops the worker).
pub(crate) struct Mail {
    pub(crate) templates: Templates,
    pub(crate) wake: Arc<Notify>,
    _stop: watch::Sender<bool>,
}

impl std::fmt::Debug for AuthFort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthFort")
            .field("backend", &self.inner.store.backend())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Builds an [`AuthFort`]: `AuthFort::builder(url).config(…).build().await`.
pub struct AuthFortBuilder {
    database_url: Option<String>,
    database_pool_size: Option<u32>,
    store: Option<Arc<dyn Store>>,
    config: AuthConfig,
    clock: Arc<dyn Clock>,
    key_generator: Arc<dyn KeyGenerator>,
    migrate: bool,
    mail_worker: bool,
    rate_limit_store: Option<Arc<dyn RateLimitStore>>,
}

impl AuthFortBuilder {
    /// Replaces the whole configuration.
    pub fn config(mut self, config: AuthConfig) -> Self {
        self.config = config;
        self
    }

    /// Uses this clock instead of the system clock (tests, simulations).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses this RSA key generator (tests reuse pre-generated key material).
    pub fn key_generator(mut self, generator: Arc<dyn KeyGenerator>) -> Self {
        self.key_generator = generator;
        self
    }

    /// Counts rate-limit hits in this store instead of the one the configuration chooses
    /// (memory, or Redis when `rate_limit.redis_url` is set). Used only when
    /// `rate_limit.enabled`.
    pub fn rate_limit_store(mut self, store: Arc<dyn RateLimitStore>) -> Self {
        self.rate_limit_store = Some(store);
        self
    }

    /// Whether to start the background workers (default true): mail delivery and, with
    /// `auto_rotate_keys`, key rotation. With `false` (one-shot commands), mail is still
    /// rendered and queued in the outbox, for another process (the server) to deliver, and
    /// keys rotate only when that process finds them due.
    pub fn mail_worker(mut self, start: bool) -> Self {
        self.mail_worker = start;
        self
    }

    /// Enables Google sign-in (same as `[oauth.google]`).
    pub fn google(mut self, provider: crate::oauth::BuiltinProviderConfig) -> Self {
        self.config.oauth.google = provider;
        self
    }

    /// Enables GitHub sign-in (same as `[oauth.github]`).
    pub fn github(mut self, provider: crate::oauth::BuiltinProviderConfig) -> Self {
        self.config.oauth.github = provider;
        self
    }

    /// Adds a generic OpenID Connect or OAuth 2.0 provider (same as `[oauth.providers.NAME]`).
    pub fn oauth_provider(mut self, name: impl Into<String>, provider: crate::oauth::GenericProviderConfig) -> Self {
        self.config.oauth.providers.insert(name.into(), provider);
        self
    }

    /// At most `connections` database connections: PostgreSQL's pool, or SQLite's read
    /// connections (SQLite writes go through one connection of their own). The default is
    /// [`store::default_postgres_pool_size`] (two per core, 4 to 16) or
    /// [`store::DEFAULT_SQLITE_READERS`]. Ignored with [`AuthFort::builder_with_store`].
    ///
    /// ```no_run
    /// # async fn run() -> authfort_core::AuthResult<()> {
    /// let auth = authfort_core::AuthFort::builder("postgres://auth@db.internal/auth")
    ///     .database_pool_size(32)
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn database_pool_size(mut self, connections: u32) -> Self {
        self.database_pool_size = Some(connections);
        self
    }

    /// Whether to apply pending migrations at start (default true).
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Connects, migrates, loads (or creates) the signing key and starts event delivery.
    ///
    /// # Errors
    /// A `Rejected` error with code `invalid_config` for a bad configuration value (the
    /// message names the key), `Unavailable` if the database cannot be reached.
    pub async fn build(self) -> AuthResult<AuthFort> {
        self.config
            .validate()
            .map_err(|e| AuthError::rejected(crate::RejectKind::BadRequest, "invalid_config", e.to_string()))?;
        let store = match (self.store, self.database_url) {
            (Some(store), _) => store,
            (None, Some(url)) => store::connect_with_pool_size(&url, self.database_pool_size).await?,
            (None, None) => return Err(AuthError::Internal("no database configured".into())),
        };
        if self.migrate {
            store.migrate().await?;
        }
        let hasher = PasswordHasher::new(&self.config.password_hashing).await?;
        let keys = KeyRing::open(
            store.clone(),
            self.clock.clone(),
            self.key_generator,
            self.config.jwt_issuer.clone(),
            self.config.rsa_key_size,
        )
        .await?;
        let config_error =
            |e: crate::ConfigError| AuthError::rejected(crate::RejectKind::BadRequest, "invalid_config", e.to_string());
        let background = self.mail_worker;
        let mail = match transport_for(&self.config.email).map_err(config_error)? {
            None => None,
            Some(transport) => {
                let templates = Templates::load(&self.config.email).map_err(config_error)?;
                let wake = Arc::new(Notify::new());
                let (stop, stopped) = watch::channel(false);
                if self.mail_worker {
                    spawn_worker(
                        store.clone(),
                        self.clock.clone(),
                        transport,
                        self.config.email.clone(),
                        wake.clone(),
                        stopped,
                    );
                }
                Some(Mail {
                    templates,
                    wake,
                    _stop: stop,
                })
            }
        };
        let rate_limiter = if self.config.rate_limit.enabled {
            let store: Arc<dyn RateLimitStore> = match (self.rate_limit_store, &self.config.rate_limit.redis_url) {
                (Some(store), _) => store,
                (None, Some(url)) => Arc::new(RedisRateLimitStore::new(url).map_err(|e| {
                    config_error(crate::ConfigError {
                        key: "rate_limit.redis_url".into(),
                        message: e.to_string(),
                    })
                })?),
                (None, None) => Arc::new(MemoryRateLimitStore::new(self.clock.clone())),
            };
            Some(RateLimiter::new(&self.config.rate_limit, store))
        } else {
            None
        };
        let pwned = if self.config.pwned_passwords.enabled {
            Some(PwnedChecker::new(&self.config.pwned_passwords)?)
        } else {
            None
        };
        let oauth = crate::oauth::Providers::new(&self.config.oauth, self.config.public_url.as_deref())
            .map_err(AuthError::Internal)?;
        let auth = AuthFort {
            inner: Arc::new(Inner {
                config: self.config,
                store,
                clock: self.clock,
                keys,
                hasher,
                events: EventBus::start(),
                mail,
                rate_limiter,
                pwned,
                oauth,
            }),
        };
        if auth.inner.config.auto_rotate_keys && background {
            spawn_key_rotation(Arc::downgrade(&auth.inner));
        }
        Ok(auth)
    }
}

/// How often `auto_rotate_keys` checks the current key's age.
const KEY_ROTATION_CHECK: std::time::Duration = std::time::Duration::from_secs(60);

/// Checks the key's age now and every minute; ends when the last `AuthFort` clone is dropped.
fn spawn_key_rotation(inner: std::sync::Weak<Inner>) {
    tokio::spawn(async move {
        loop {
            let Some(inner) = inner.upgrade() else { return };
            if let Err(e) = (AuthFort { inner }).rotate_key_if_due().await {
                tracing::warn!(error = %e, "automatic signing key rotation failed; will retry");
            }
            tokio::time::sleep(KEY_ROTATION_CHECK).await;
        }
    });
}

impl AuthFort {
    /// A builder for the database at `database_url` (`sqlite://file.db`, `sqlite::memory:`,
    /// `postgres://…`).
    pub fn builder(database_url: impl Into<String>) -> AuthFortBuilder {
        AuthFortBuilder {
            database_url: Some(database_url.into()),
            database_pool_size: None,
            store: None,
            config: AuthConfig::default(),
            clock: Arc::new(SystemClock),
            key_generator: Arc::new(RsaKeyGenerator),
            migrate: true,
            mail_worker: true,
            rate_limit_store: None,
        }
    }

    /// A builder over an already-open store.
    pub fn builder_with_store(store: Arc<dyn Store>) -> AuthFortBuilder {
        AuthFortBuilder {
            store: Some(store),
            ..AuthFort::builder("")
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// The storage backend.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The rate limiter, when `rate_limit.enabled`.
    pub fn rate_limiter(&self) -> Option<&RateLimiter> {
        self.inner.rate_limiter.as_ref()
    }

    /// Counts one request of `bucket` against `key` (for the HTTP layer: programmatic
    /// calls are never limited). `Ok` when limiting is off, the bucket has no limit, or the
    /// hit is allowed. A refusal emits `rate_limit_exceeded`; a store that cannot answer
    /// refuses (fail closed).
    ///
    /// # Errors
    /// [`Throttled::Exceeded`] over the limit, [`Throttled::Unavailable`] when the store is down.
    pub async fn rate_limit(&self, bucket: Bucket, key: RateKey<'_>, ip: Option<&str>) -> Result<(), Throttled> {
        let Some(limiter) = &self.inner.rate_limiter else {
            return Ok(());
        };
        let Some((limit, text)) = limiter.limit(bucket) else {
            return Ok(());
        };
        let hit = match limiter.store().hit(&key.key(bucket), limit).await {
            Ok(hit) => hit,
            Err(e) => {
                tracing::error!(error = %e, bucket = bucket.as_str(), "rate-limit store unavailable; failing closed");
                return Err(Throttled::Unavailable);
            }
        };
        if hit.allowed {
            return Ok(());
        }
        self.emit(vec![Event::RateLimitExceeded(RateLimitExceeded {
            timestamp: self.inner.clock.now(),
            endpoint: bucket.as_str().to_owned(),
            ip_address: ip.map(str::to_owned),
            email: match key {
                RateKey::Email(raw) => Some(raw.trim().to_lowercase()),
                RateKey::Ip(_) => None,
            },
            limit: text.to_owned(),
            key_type: key.key_type().to_owned(),
        })]);
        Err(Throttled::Exceeded {
            retry_after: hit.retry_after_header(),
        })
    }

    /// Registers a hook for one kind of event (delivered after commit, off the request path,
    /// in registration order).
    pub fn on<F, Fut>(&self, kind: EventKind, hook: F)
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.inner.events.on(kind, hook);
    }

    /// Same as [`AuthFort::on`], by the reference's event name; `None` for an unknown name.
    pub fn add_hook<F, Fut>(&self, name: &str, hook: F) -> Option<()>
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let kind = EventKind::parse(name)?;
        self.on(kind, hook);
        Some(())
    }

    /// Waits until every event emitted so far has been delivered to its hooks.
    pub async fn flush_events(&self) {
        self.inner.events.flush().await;
    }

    pub(crate) fn emit(&self, events: Vec<Event>) {
        self.inner.events.emit(events);
    }

    /// Applies pending migrations (idempotent; `build` already does it by default).
    ///
    /// # Errors
    /// `Unavailable` if the database fails.
    pub async fn migrate(&self) -> AuthResult<()> {
        Ok(self.inner.store.migrate().await?)
    }

    /// Checks the database answers.
    ///
    /// # Errors
    /// `Unavailable` if it does not.
    pub async fn ping(&self) -> AuthResult<()> {
        Ok(self.inner.store.ping().await?)
    }
}
