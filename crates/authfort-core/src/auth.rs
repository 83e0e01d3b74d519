//! The [`AuthFort`] entry point and its builder.

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::config::AuthConfig;
use crate::crypto::keys::{KeyGenerator, RsaKeyGenerator};
use crate::crypto::password::PasswordHasher;
use crate::delivery::{spawn_worker, transport_for, Templates};
use crate::error::{AuthError, AuthResult};
use crate::events::{Event, EventBus, EventKind};
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
    store: Option<Arc<dyn Store>>,
    config: AuthConfig,
    clock: Arc<dyn Clock>,
    key_generator: Arc<dyn KeyGenerator>,
    migrate: bool,
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
            (None, Some(url)) => store::connect(&url).await?,
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
        let mail = match transport_for(&self.config.email).map_err(config_error)? {
            None => None,
            Some(transport) => {
                let templates = Templates::load(&self.config.email).map_err(config_error)?;
                let wake = Arc::new(Notify::new());
                let (stop, stopped) = watch::channel(false);
                spawn_worker(
                    store.clone(),
                    self.clock.clone(),
                    transport,
                    self.config.email.clone(),
                    wake.clone(),
                    stopped,
                );
                Some(Mail {
                    templates,
                    wake,
                    _stop: stop,
                })
            }
        };
        Ok(AuthFort {
            inner: Arc::new(Inner {
                config: self.config,
                store,
                clock: self.clock,
                keys,
                hasher,
                events: EventBus::start(),
                mail,
            }),
        })
    }
}

impl AuthFort {
    /// A builder for the database at `database_url` (`sqlite://file.db`, `sqlite::memory:`,
    /// `postgres://…`).
    pub fn builder(database_url: impl Into<String>) -> AuthFortBuilder {
        AuthFortBuilder {
            database_url: Some(database_url.into()),
            store: None,
            config: AuthConfig::default(),
            clock: Arc::new(SystemClock),
            key_generator: Arc::new(RsaKeyGenerator),
            migrate: true,
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
