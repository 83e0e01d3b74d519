//! # authfort-server
//!
//! The standalone AuthFort server, `authfort`: the engine (`authfort-core`) behind the HTTP
//! API (`authfort-axum`), configured from a TOML file and `AUTHFORT_*` environment variables.
//!
//! The work happens here rather than in `main.rs` so that tests (and any future binary) can
//! reuse it: `main` only parses the command line and calls [`cli::Cli::run`].
//!
//! ```text
//! authfort serve [--config PATH]        run the HTTP server
//! authfort migrate [--config PATH]      apply database migrations
//! authfort keys rotate [--config PATH]  make a new signing key current, print its kid
//! authfort config example               print an annotated example configuration
//! authfort config check [--config PATH] validate the configuration
//! authfort user create|list|show|ban|unban|add-role|remove-role|delete …
//!                                       administer users (see `authfort user --help`)
//! authfort sessions list|revoke-all EMAIL
//!                                       a user's sessions
//! authfort cleanup [--config PATH]      delete expired sessions, keys, one-time tokens, OAuth states
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// [`app::Application`]: build (database + listener), then serve until stopped.
pub mod app;
/// The clap command line and what each subcommand does.
pub mod cli;
/// [`config::ServerConfig`] and its layered loading.
pub mod config;
/// The administration commands: `user …`, `sessions …`, `cleanup`.
pub mod manage;
/// Resolving the server secret (`secret_key`): configured, or generated next to SQLite.
pub mod secret_key;
/// The `tracing` subscriber.
pub mod telemetry;
