//! [`Application`](crate::app::Application): the engine, the HTTP app and a bound listener,
//! ready to serve.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use authfort_core::AuthFort;
use tokio::net::TcpListener;

use crate::config::ServerConfig;

/// How long open connections may take to finish once shutdown has begun.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A built server: connected to its database and listening, not yet serving.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    auth: AuthFort,
}

impl Application {
    /// Resolves the server secret ([`crate::secret_key`]), connects to the database
    /// (creating a SQLite file if missing), applies migrations, makes sure a signing key
    /// exists, then binds `config.bind` (port 0 picks a free port).
    ///
    /// # Errors
    /// If no secret key can be had (PostgreSQL without `secret_key`), the database cannot be
    /// opened or migrated, or the address cannot be bound.
    pub async fn build(config: &ServerConfig) -> anyhow::Result<Application> {
        let mut auth_config = config.auth_config();
        crate::secret_key::resolve(&mut auth_config, config.database_url.expose())?;
        let mut builder = AuthFort::builder(config.database_url.expose()).config(auth_config);
        if let Some(size) = config.pool_size() {
            builder = builder.database_pool_size(size);
        }
        let auth = builder
            .build()
            .await
            .with_context(|| format!("cannot start AuthFort on {}", config.database_url))?;
        let listener = TcpListener::bind(&config.bind)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let local_addr = listener.local_addr().context("cannot read the bound address")?;
        Ok(Application {
            listener,
            local_addr,
            auth,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.local_addr.port()
    }

    /// Serves until SIGTERM or Ctrl-C, then lets in-flight requests finish.
    ///
    /// # Errors
    /// If serving fails.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish (for at most
    /// a grace period, after which remaining connections are dropped).
    ///
    /// # Errors
    /// If serving fails.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (stopping_tx, mut stopping_rx) = tokio::sync::watch::channel(false);
        let app = authfort_axum::app(self.auth);
        let serve = axum::serve(self.listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                shutdown.await;
                tracing::info!("shutting down: finishing in-flight requests");
                let _ = stopping_tx.send(true);
            });
        let deadline = async move {
            if stopping_rx.wait_for(|stopping| *stopping).await.is_ok() {
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            served = serve.into_future() => served.context("the HTTP server failed"),
            () = deadline => {
                tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}; closing them");
                Ok(())
            }
        }
    }
}

/// A future that completes on Ctrl-C, or on SIGTERM on Unix. The handlers are installed
/// when this is called, so a signal arriving before the future is first polled still counts.
/// Must be called inside a Tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            let (mut interrupt, mut terminate) = match (interrupt, terminate) {
                (Ok(i), Ok(t)) => (i, t),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::error!("cannot listen for SIGINT/SIGTERM: {e}");
                    return std::future::pending().await;
                }
            };
            tokio::select! {
                _ = interrupt.recv() => tracing::info!("received Ctrl-C"),
                _ = terminate.recv() => tracing::info!("received SIGTERM"),
            }
        }
    }
    #[cfg(not(unix))]
    async {
        match tokio::signal::ctrl_c().await {
            Ok(()) => tracing::info!("received Ctrl-C"),
            Err(e) => {
                tracing::error!("cannot listen for Ctrl-C: {e}");
                std::future::pending::<()>().await;
            }
        }
    }
}
