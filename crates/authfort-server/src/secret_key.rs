//! The server secret (`secret_key`): the HMAC key under which email one-time codes are
//! stored. It must live outside the database, or a database dump would be enough to check
//! every code.
//!
//! Resolution: the configured value (`secret_key` / `AUTHFORT_SECRET_KEY`); else, with
//! SQLite, the key in `authfort.secret` next to the database file, created on first start
//! (32 random bytes, 0600) and logged as such (never its value); else (PostgreSQL) a
//! start-up error naming the key, since several servers share that database and each must
//! use the same secret.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use authfort_core::{AuthConfig, Secret};

/// File name of the generated key, in the SQLite database's directory.
pub const SECRET_FILE: &str = "authfort.secret";

/// Shortest key accepted from the file (as from configuration).
const MIN_LEN: usize = 32;

/// Fills `config.secret_key` when it is unset, as described in the module docs.
///
/// # Errors
/// With PostgreSQL and no key; when the key file cannot be read or created, or holds
/// something too short to be a key.
pub fn resolve(config: &mut AuthConfig, database_url: &str) -> anyhow::Result<()> {
    if config.secret_key.is_some() {
        return Ok(());
    }
    match sqlite_file(database_url) {
        Some(SqliteLocation::Memory) => {
            // Nothing outlives an in-memory database, so neither need its codes' key.
            config.secret_key = Some(Secret::new(authfort_core::crypto::random_token()));
            tracing::info!("secret_key not configured: using a key kept in memory (in-memory database)");
            Ok(())
        }
        Some(SqliteLocation::File(db)) => {
            let dir = db
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let path = dir.join(SECRET_FILE);
            let (key, created) = read_or_create(&path)?;
            if created {
                tracing::info!(path = %path.display(), "secret_key not configured: generated a new key into this file (mode 0600); keep it with the database");
            } else {
                tracing::info!(path = %path.display(), "secret_key not configured: using the key in this file");
            }
            config.secret_key = Some(Secret::new(key));
            Ok(())
        }
        None => bail!(
            "`secret_key` is not configured: set it (AUTHFORT_SECRET_KEY, at least {MIN_LEN} random characters, \
             the same on every server) to use PostgreSQL; it keys the email one-time codes and must not be stored \
             in the database"
        ),
    }
}

enum SqliteLocation {
    Memory,
    File(PathBuf),
}

/// Where a `sqlite:` URL keeps its data; `None` for other databases.
fn sqlite_file(url: &str) -> Option<SqliteLocation> {
    let rest = url.strip_prefix("sqlite:")?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = path.strip_prefix("//").unwrap_or(path);
    if path.is_empty() || path == ":memory:" || query.split('&').any(|kv| kv == "mode=memory") {
        return Some(SqliteLocation::Memory);
    }
    Some(SqliteLocation::File(PathBuf::from(path)))
}

/// The key in `path`, creating the file (0600) with a fresh key if it does not exist.
/// Returns the key and whether it was created.
fn read_or_create(path: &Path) -> anyhow::Result<(String, bool)> {
    let key = authfort_core::crypto::random_token();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(format!("{key}\n").as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write the secret key file {}", path.display()))?;
            Ok((key, true))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            // Another process may be writing it right now: give it a moment.
            for _ in 0..50 {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the secret key file {}", path.display()))?;
                let existing = text.trim();
                if existing.len() >= MIN_LEN {
                    warn_if_readable_by_others(path);
                    return Ok((existing.to_owned(), false));
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            bail!(
                "the secret key file {} holds no key (at least {MIN_LEN} characters); remove it to generate one, \
                 or set secret_key",
                path.display()
            )
        }
        Err(e) => Err(e).with_context(|| format!("cannot create the secret key file {}", path.display())),
    }
}

/// A key file others can read is a key others may have copied: say so.
fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(path = %path.display(), "the secret key file is accessible to other users; chmod 600 it");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        let file = |url: &str| match sqlite_file(url) {
            Some(SqliteLocation::File(p)) => Some(p.display().to_string()),
            _ => None,
        };
        assert_eq!(file("sqlite://authfort.db").as_deref(), Some("authfort.db"));
        assert_eq!(file("sqlite:data/a.db?mode=rwc").as_deref(), Some("data/a.db"));
        assert_eq!(
            file("sqlite:///var/lib/authfort/a.db").as_deref(),
            Some("/var/lib/authfort/a.db")
        );
        assert!(matches!(sqlite_file("sqlite::memory:"), Some(SqliteLocation::Memory)));
        assert!(matches!(
            sqlite_file("sqlite://x.db?mode=memory"),
            Some(SqliteLocation::Memory)
        ));
        assert!(sqlite_file("postgres://db/x").is_none());
    }

    #[test]
    fn postgres_without_a_key_is_refused_naming_the_key() {
        let mut config = AuthConfig::default();
        let err = resolve(&mut config, "postgres://db/authfort").unwrap_err().to_string();
        assert!(
            err.contains("secret_key") && err.contains("AUTHFORT_SECRET_KEY"),
            "{err}"
        );
        config.secret_key = Some(Secret::new("k".repeat(32)));
        resolve(&mut config, "postgres://db/authfort").unwrap();
    }
}
