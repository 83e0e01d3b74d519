//! Logging: a `tracing` subscriber writing to stderr (stdout stays for command output),
//! filtered by the `log` setting unless `RUST_LOG` is set, as text or JSON lines.

use std::io::IsTerminal;

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. `directive` is an `EnvFilter` directive such as
/// `info` or `authfort_core=debug,info`; a non-empty `RUST_LOG` takes precedence.
///
/// # Errors
/// If a filter does not parse or a subscriber is already installed.
pub fn init(directive: &str, format: LogFormat) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(from_env) if !from_env.trim().is_empty() => {
            EnvFilter::try_new(&from_env).with_context(|| format!("RUST_LOG={from_env:?} is not a valid log filter"))?
        }
        _ => EnvFilter::try_new(directive).with_context(|| format!("{directive:?} is not a valid log filter"))?,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("cannot install the log subscriber: {e}"))
}
