//! The command line: `authfort serve | migrate | keys rotate | config {example,check} |
//! user … | sessions … | cleanup`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use authfort_core::AuthFort;
use clap::{Args, Parser, Subcommand};

use crate::app::Application;
use crate::config::{self, ServerConfig, EXAMPLE_TOML};
use crate::manage::{self, SessionsCommand, UserCommand};
use crate::telemetry;

/// AuthFort: a standalone authentication server (users, passwords, RS256 access tokens,
/// rotating refresh tokens) on SQLite or PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "authfort", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server until SIGTERM or Ctrl-C.
    Serve(ConfigArgs),
    /// Apply pending database migrations and exit.
    Migrate(ConfigArgs),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Show or check the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Administer users: create, list, show, ban, roles, delete.
    #[command(subcommand)]
    User(UserCommand),
    /// List or revoke a user's sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Delete expired sessions, retired signing keys past their expiry, spent one-time tokens,
    /// old sent mail and expired or finished OAuth sign-in states; print the counts.
    Cleanup(ConfigArgs),
}

/// `authfort keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new signing key current and print its kid.
    ///
    /// The old key stays in the JWKS for
    /// `key_rotation_ttl_seconds`, so tokens it signed keep verifying until they expire.
    Rotate(ConfigArgs),
}

/// `authfort config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print an annotated example configuration file (every key, its default and variable).
    Example,
    /// Load and validate the configuration; exit non-zero if it is invalid.
    Check(ConfigArgs),
}

/// Where the configuration comes from.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// Configuration file (TOML). Default: ./authfort.toml when it exists. `AUTHFORT_*`
    /// environment variables override it.
    #[arg(long, short = 'c', value_name = "PATH", env = "AUTHFORT_CONFIG")]
    pub config: Option<PathBuf>,
}

impl Cli {
    /// Runs the command; errors are printed to stderr and turn into a failing exit code.
    pub async fn run(self) -> ExitCode {
        let result = match self.command {
            Command::Serve(args) => serve(&args).await,
            Command::Migrate(args) => migrate(&args).await,
            Command::Keys(KeysCommand::Rotate(args)) => rotate_key(&args).await,
            Command::Config(ConfigCommand::Example) => {
                print!("{EXAMPLE_TOML}");
                Ok(())
            }
            Command::Config(ConfigCommand::Check(args)) => check(&args),
            Command::User(command) => manage::user(command).await,
            Command::Sessions(command) => manage::sessions(command).await,
            Command::Cleanup(args) => manage::cleanup(&args).await,
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        }
    }
}

/// Loads and validates the configuration, starts logging, and reports unknown keys.
pub(crate) fn prepare(args: &ConfigArgs) -> anyhow::Result<ServerConfig> {
    let loaded = match config::load(args.config.as_deref()) {
        Ok(loaded) => loaded,
        Err(e) => {
            for warning in &e.warnings {
                eprintln!("warning: {warning}");
            }
            return Err(e.into());
        }
    };
    telemetry::init(&loaded.config.log, loaded.config.log_format)?;
    if let Some(file) = &loaded.file {
        tracing::debug!(file = %file.display(), "configuration file read");
    }
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    Ok(loaded.config)
}

async fn serve(args: &ConfigArgs) -> anyhow::Result<()> {
    let config = prepare(args)?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        database = %config.database_url,
        "starting AuthFort"
    );
    tracing::debug!(?config, "configuration");
    let app = Application::build(&config).await?;
    tracing::info!("listening on http://{}", app.local_addr());
    app.run_until_stopped().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn migrate(args: &ConfigArgs) -> anyhow::Result<()> {
    let config = prepare(args)?;
    let store = authfort_core::store::connect(config.database_url.expose())
        .await
        .with_context(|| format!("cannot open {}", config.database_url))?;
    store.migrate().await.context("migration failed")?;
    println!("AuthFort migrations applied successfully.");
    Ok(())
}

async fn rotate_key(args: &ConfigArgs) -> anyhow::Result<()> {
    let config = prepare(args)?;
    let auth = open_engine(&config).await?;
    let kid = auth.rotate_key().await.context("key rotation failed")?;
    tracing::info!(%kid, "signing key rotated");
    println!("{kid}");
    Ok(())
}

/// The engine for a one-shot command: the same database and settings as `serve`, but no
/// mail worker starts (mail a command queues, such as a verification email, is left in the
/// outbox for the server to deliver).
pub(crate) async fn open_engine(config: &ServerConfig) -> anyhow::Result<AuthFort> {
    AuthFort::builder(config.database_url.expose())
        .config(config.auth_config())
        .mail_worker(false)
        .build()
        .await
        .with_context(|| format!("cannot open {}", config.database_url))
}

fn check(args: &ConfigArgs) -> anyhow::Result<()> {
    prepare(args)?;
    println!("configuration OK");
    Ok(())
}
