//! [`ServerConfig`](crate::config::ServerConfig): the server's own settings plus the engine's
//! [`AuthConfig`](authfort_core::AuthConfig), layered defaults → TOML file → `AUTHFORT_*`
//! environment variables.
//!
//! The file is `--config PATH`, else `./authfort.toml` when it exists. Environment variables
//! use `__` for nesting (`AUTHFORT_COOKIE__SAMESITE=strict`), and list keys accept a
//! comma-separated string. `config/example.toml` documents every key.

mod key_paths;
mod sources;

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use authfort_core::{AuthConfig, ConfigError};
use figment::providers::Serialized;
use figment::Figment;
use serde::{Deserialize, Serialize};

pub use key_paths::{KeyKind, KeySchema};
pub use sources::{EnvSource, TomlSource, ENV_PREFIX};

/// The configuration file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "authfort.toml";

/// The annotated example configuration (`authfort config example`).
pub const EXAMPLE_TOML: &str = include_str!("../../../config/example.toml");

/// Everything the `authfort` binary can be configured with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    /// `host:port` to listen on.
    pub bind: String,
    /// `sqlite://path` or `postgres://…`. Its `Debug`/`Display` hide the password.
    pub database_url: DatabaseUrl,
    /// At most this many database connections: PostgreSQL's pool, or SQLite's read
    /// connections (SQLite writes use one more of their own). 0 (the default) picks for the
    /// backend: two per core, 4 to 16, on PostgreSQL; 8 readers on SQLite.
    pub database_pool_size: u32,
    /// Log filter (`EnvFilter` syntax); `RUST_LOG` overrides it.
    pub log: String,
    /// Log line format.
    pub log_format: LogFormat,
    /// The auth engine's options (including `public_url`), at the top level of the file.
    #[serde(flatten)]
    pub auth: AuthConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1:8080".into(),
            database_url: DatabaseUrl::default(),
            database_pool_size: 0,
            log: "info".into(),
            log_format: LogFormat::Text,
            auth: AuthConfig {
                // The standalone server prints magic links to the console until told otherwise.
                email: authfort_core::config::EmailConfig {
                    transport: "log".into(),
                    ..Default::default()
                },
                // Browsers sign in through the confirm page, so cookies are on (tokens are
                // still in every JSON body for API clients).
                cookie: authfort_core::CookieConfig {
                    enabled: true,
                    ..Default::default()
                },
                ..AuthConfig::default()
            },
        }
    }
}

/// The largest `database_pool_size` accepted: well past any database's connection limit, so
/// a larger number is a typo.
const MAX_POOL_SIZE: u32 = 1000;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// A database URL. Only [`DatabaseUrl::expose`] gives the password; `Debug` and `Display`
/// print `postgres://user:***@host/db`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> DatabaseUrl {
        DatabaseUrl(url.into())
    }

    /// The full URL, password included: for connecting, never for logging.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> Cow<'_, str> {
        redact_url(&self.0)
    }
}

impl Default for DatabaseUrl {
    fn default() -> Self {
        DatabaseUrl::new("sqlite://authfort.db")
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.redacted(), f)
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Hides the password of the user-info part and of `password=` query parameters.
fn redact_url(url: &str) -> Cow<'_, str> {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return Cow::Borrowed(url);
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let tail = &rest[authority_end..];
    let has_password = authority.rfind('@').is_some_and(|at| authority[..at].contains(':'));
    let query_password = tail
        .split_once('?')
        .is_some_and(|(_, q)| q.split('&').any(is_password_param));
    if !has_password && !query_password {
        return Cow::Borrowed(url);
    }
    let mut out = String::from(&url[..scheme_end]);
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.split_once(':') {
                Some((user, _)) => {
                    out.push_str(user);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    match tail.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            let params: Vec<Cow<'_, str>> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if is_password_param(kv) => Cow::Owned(format!("{k}=***")),
                    _ => Cow::Borrowed(kv),
                })
                .collect();
            out.push_str(&params.join("&"));
        }
        None => out.push_str(tail),
    }
    Cow::Owned(out)
}

fn is_password_param(kv: &str) -> bool {
    kv.split_once('=').is_some_and(|(k, _)| {
        let k = k.to_ascii_lowercase();
        k == "password" || k == "sslpassword"
    })
}

impl ServerConfig {
    /// Checks every value; the error names the first bad key.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the key and the problem.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_bind(&self.bind).map_err(|m| bad("bind", m))?;
        let url = self.database_url.expose();
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(bad(
                "database_url",
                "must start with sqlite:, postgres:// or postgresql://",
            ));
        }
        if self.database_pool_size > MAX_POOL_SIZE {
            return Err(bad(
                "database_pool_size",
                format!("must be at most {MAX_POOL_SIZE} (0 picks a size for the backend)"),
            ));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log)
            .map_err(|e| bad("log", format!("not a valid log filter: {e}")))?;
        self.auth.validate()
    }

    /// The configured pool size, `None` for the backend's default (`database_pool_size = 0`).
    pub fn pool_size(&self) -> Option<u32> {
        (self.database_pool_size > 0).then_some(self.database_pool_size)
    }

    /// The engine configuration with `public_url` defaulted to `http://` + `bind`: links must
    /// come from configuration, and with none given this server's own address is the only
    /// configured one there is.
    pub fn auth_config(&self) -> AuthConfig {
        let mut auth = self.auth.clone();
        if auth.public_url.is_none() {
            auth.public_url = Some(format!("http://{}", self.bind));
        }
        auth
    }

    /// The known key paths (`bind`, `cookie`, `cookie.samesite`, …), read off the defaults.
    pub fn schema() -> KeySchema {
        KeySchema::of(&ServerConfig::default()).with_map(
            "oauth.providers",
            &authfort_core::oauth::GenericProviderConfig::default(),
        )
    }
}

fn bad(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.into(),
        message: message.into(),
    }
}

fn check_bind(bind: &str) -> Result<(), &'static str> {
    if bind.parse::<std::net::SocketAddr>().is_ok() {
        return Ok(());
    }
    match bind.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
        _ => Err("must be host:port, e.g. 127.0.0.1:8080 or [::]:8080"),
    }
}

/// A loaded, valid configuration and what was noticed on the way.
#[derive(Debug)]
pub struct Loaded {
    /// The configuration.
    pub config: ServerConfig,
    /// Unknown keys (likely typos) in the file or the environment.
    pub warnings: Vec<String>,
    /// The file read, if any.
    pub file: Option<PathBuf>,
}

/// Why the configuration could not be loaded, and what was noticed before.
#[derive(Debug)]
pub struct LoadError {
    /// One line per problem, each naming its key.
    pub errors: Vec<String>,
    /// Unknown keys noticed before the failure.
    pub warnings: Vec<String>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.errors.join("\n"))
    }
}

impl std::error::Error for LoadError {}

/// Loads from `file` (else `./authfort.toml` if it exists) and the process environment.
///
/// # Errors
/// A [`LoadError`] naming each bad key (and where its value came from).
pub fn load(file: Option<&Path>) -> Result<Loaded, LoadError> {
    let default_file = Path::new(DEFAULT_CONFIG_FILE);
    let file = file.or_else(|| default_file.is_file().then_some(default_file));
    let schema = ServerConfig::schema();
    load_from(file, EnvSource::from_process(&schema), &schema)
}

/// Loads from an optional file and the given environment layer.
///
/// # Errors
/// A [`LoadError`] naming each bad key (and where its value came from).
pub fn load_from(file: Option<&Path>, env: EnvSource, schema: &KeySchema) -> Result<Loaded, LoadError> {
    let mut warnings = Vec::new();
    let mut figment = Figment::from(Serialized::defaults(ServerConfig::default()));
    if let Some(path) = file {
        let toml = TomlSource::load(path, schema).map_err(|e| LoadError {
            errors: vec![e],
            warnings: Vec::new(),
        })?;
        warnings.extend(toml.unknown_key_warnings(schema));
        figment = figment.merge(toml);
    }
    warnings.extend(env.unknown_key_warnings(schema));
    figment = figment.merge(env);

    let fail = |errors: Vec<String>, warnings: &Vec<String>| LoadError {
        errors,
        warnings: warnings.clone(),
    };
    // The engine's keys are extracted on their own first: behind `#[serde(flatten)]` a type
    // error would lose the name of its key.
    let auth: AuthConfig = figment
        .extract()
        .map_err(|e| fail(describe_figment_error(e), &warnings))?;
    let mut config: ServerConfig = figment
        .extract()
        .map_err(|e| fail(describe_figment_error(e), &warnings))?;
    config.auth = auth;
    config.auth = config.auth_config();
    config.validate().map_err(|e| {
        let origin = origin_of(&figment, &e.key);
        fail(vec![format!("{e}{origin}")], &warnings)
    })?;
    Ok(Loaded {
        config,
        warnings,
        file: file.map(Path::to_path_buf),
    })
}

/// One line per error: `invalid configuration value for `key` (from …): problem`.
fn describe_figment_error(error: figment::Error) -> Vec<String> {
    error
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let profile = e.profile.clone().unwrap_or_default();
            let origin = e
                .metadata
                .as_ref()
                .map(|md| describe_origin(md, &profile, &e.path))
                .unwrap_or_default();
            if key.is_empty() {
                format!("invalid configuration{origin}: {}", e.kind)
            } else {
                format!("invalid configuration value for `{key}`{origin}: {}", e.kind)
            }
        })
        .collect()
}

fn describe_origin(md: &figment::Metadata, profile: &figment::Profile, path: &[String]) -> String {
    match &md.source {
        Some(figment::Source::File(file)) => format!(" (from configuration file {})", file.display()),
        _ if md.name == sources::ENV_METADATA_NAME => {
            format!(" (from environment variable {})", md.interpolate(profile, path))
        }
        _ => String::new(),
    }
}

/// ` (from …)` for a key a validation error names, when a file or variable set it.
fn origin_of(figment: &Figment, key: &str) -> String {
    let Some(md) = figment.find_metadata(key) else {
        return String::new();
    };
    let path: Vec<String> = key.split('.').map(str::to_owned).collect();
    describe_origin(md, &figment::Profile::Default, &path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> EnvSource {
        EnvSource::new(
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
            &ServerConfig::schema(),
        )
    }

    fn load_env(vars: &[(&str, &str)]) -> Result<Loaded, LoadError> {
        load_from(None, env(vars), &ServerConfig::schema())
    }

    #[test]
    fn defaults_are_valid() {
        let loaded = load_env(&[]).unwrap();
        assert_eq!(loaded.config.bind, "127.0.0.1:8080");
        assert_eq!(loaded.config.database_url.expose(), "sqlite://authfort.db");
        assert_eq!(loaded.config.log, "info");
        assert_eq!(loaded.config.log_format, LogFormat::Text);
        assert_eq!(loaded.config.pool_size(), None);
        assert!(loaded.warnings.is_empty());
    }

    #[test]
    fn the_pool_size_comes_from_the_environment() {
        let loaded = load_env(&[("AUTHFORT_DATABASE_POOL_SIZE", "24")]).unwrap();
        assert_eq!(loaded.config.pool_size(), Some(24));
        let loaded = load_env(&[("AUTHFORT_DATABASE_POOL_SIZE", "0")]).unwrap();
        assert_eq!(loaded.config.pool_size(), None);
    }

    #[test]
    fn oauth_providers_come_from_the_environment_by_name() {
        let loaded = load_env(&[
            ("AUTHFORT_PUBLIC_URL", "https://auth.example.com"),
            (
                "AUTHFORT_OAUTH__PROVIDERS__ACME__DISCOVERY_URL",
                "http://127.0.0.1:9/.well-known/openid-configuration",
            ),
            ("AUTHFORT_OAUTH__PROVIDERS__ACME__CLIENT_ID", "123456"),
            ("AUTHFORT_OAUTH__PROVIDERS__ACME__CLIENT_SECRET", "s3cret"),
            ("AUTHFORT_OAUTH__GITHUB__CLIENT_ID", "Iv1.abc"),
        ])
        .unwrap();
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        let acme = &loaded.config.auth.oauth.providers["acme"];
        assert_eq!(acme.client_id, "123456");
        assert_eq!(acme.client_secret.as_ref().unwrap().expose(), "s3cret");
        assert_eq!(acme.discovery_ttl_seconds, 3600);
        assert_eq!(loaded.config.auth.oauth.github.client_id.as_deref(), Some("Iv1.abc"));

        let err = load_env(&[("AUTHFORT_OAUTH__PROVIDERS__ACME__CLIENT_ID", "x")]).unwrap_err();
        assert!(err.to_string().contains("oauth.providers.acme.authorize_url"), "{err}");
        let loaded = load_env(&[("AUTHFORT_OAUTH__PROVIDERS__ACME__CLIENT_IDD", "x")]);
        assert!(loaded.is_err() || !loaded.unwrap().warnings.is_empty());
    }

    #[test]
    fn type_errors_name_the_key_and_the_variable() {
        let err = load_env(&[("AUTHFORT_ACCESS_TOKEN_TTL_SECONDS", "abc")]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`access_token_ttl_seconds`"), "{msg}");
        assert!(msg.contains("AUTHFORT_ACCESS_TOKEN_TTL_SECONDS"), "{msg}");

        let err = load_env(&[("AUTHFORT_COOKIE__ENABLED", "maybe")]).unwrap_err();
        assert!(err.to_string().contains("`cookie.enabled`"), "{err}");

        let err = load_env(&[("AUTHFORT_LOG_FORMAT", "xml")]).unwrap_err();
        assert!(err.to_string().contains("`log_format`"), "{err}");
    }

    #[test]
    fn validation_errors_name_the_key_and_the_variable() {
        let err = load_env(&[("AUTHFORT_COOKIE__SAMESITE", "sideways")]).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("invalid configuration value for `cookie.samesite`: must be one of"),
            "{msg}"
        );
        assert!(msg.contains("AUTHFORT_COOKIE__SAMESITE"), "{msg}");

        for (var, value, key) in [
            ("AUTHFORT_BIND", "nowhere", "bind"),
            ("AUTHFORT_DATABASE_URL", "mysql://x", "database_url"),
            ("AUTHFORT_DATABASE_POOL_SIZE", "5000", "database_pool_size"),
            ("AUTHFORT_DATABASE_POOL_SIZE", "-1", "database_pool_size"),
            ("AUTHFORT_LOG", "info,[[", "log"),
            ("AUTHFORT_PUBLIC_URL", "ftp://auth.example.com", "public_url"),
            ("AUTHFORT_PUBLIC_URL", "https://auth.example.com/?a=b", "public_url"),
            ("AUTHFORT_PUBLIC_URL", "https://auth.example.com/#top", "public_url"),
            ("AUTHFORT_RSA_KEY_SIZE", "1024", "rsa_key_size"),
            ("AUTHFORT_RATE_LIMIT__LOGIN", "5/week", "rate_limit.login"),
            (
                "AUTHFORT_RATE_LIMIT__MAGIC_LINK_VERIFY",
                "0/min",
                "rate_limit.magic_link_verify",
            ),
            (
                "AUTHFORT_RATE_LIMIT__REDIS_URL",
                "http://cache:6379",
                "rate_limit.redis_url",
            ),
        ] {
            let err = load_env(&[(var, value)]).unwrap_err();
            assert!(err.to_string().contains(&format!("`{key}`")), "{var}={value}: {err}");
        }
        let ok = load_env(&[
            ("AUTHFORT_RATE_LIMIT__ENABLED", "true"),
            ("AUTHFORT_RATE_LIMIT__SIGNUP", ""),
            ("AUTHFORT_RATE_LIMIT__REDIS_URL", "redis://:s3cret@cache:6379/0"),
        ])
        .unwrap();
        assert!(ok.config.auth.rate_limit.enabled);
        assert_eq!(
            ok.config
                .auth
                .rate_limit
                .limit_of(authfort_core::rate_limit::Bucket::Signup),
            None
        );
        assert!(!format!("{:?}", ok.config).contains("s3cret"));
        let ok = load_env(&[("AUTHFORT_PUBLIC_URL", "https://auth.example.com/base")]).unwrap();
        assert_eq!(
            ok.config.auth.public_url.as_deref(),
            Some("https://auth.example.com/base")
        );
    }

    #[test]
    fn file_then_env_layering_and_file_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("authfort-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("authfort.toml");
        std::fs::write(
            &path,
            "bind = '0.0.0.0:9000'\naccess_token_ttl_seconds = 300\nallow_signup = false\n[cookie]\nenabled = true\nsamsite = 'x'\n",
        )
        .unwrap();
        let loaded = load_from(
            Some(&path),
            env(&[("AUTHFORT_ACCESS_TOKEN_TTL_SECONDS", "600")]),
            &ServerConfig::schema(),
        )
        .unwrap();
        assert_eq!(loaded.config.bind, "0.0.0.0:9000");
        assert_eq!(loaded.config.auth.access_token_ttl_seconds, 600, "env beats the file");
        assert!(!loaded.config.auth.allow_signup);
        assert!(loaded.config.auth.cookie.enabled);
        assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
        assert!(loaded.warnings[0].contains("`cookie.samsite`"), "{:?}", loaded.warnings);
        assert!(
            loaded.warnings[0].contains("`cookie.samesite`"),
            "{:?}",
            loaded.warnings
        );

        std::fs::write(&path, "access_token_ttl_seconds = 'soon'\n").unwrap();
        let err = load_from(Some(&path), env(&[]), &ServerConfig::schema()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`access_token_ttl_seconds`"), "{msg}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");

        std::fs::remove_dir_all(&dir).unwrap();
        let err = load_from(Some(&path), env(&[]), &ServerConfig::schema()).unwrap_err();
        assert!(err.to_string().contains("cannot read configuration file"), "{err}");
    }

    #[test]
    fn the_secret_key_comes_from_the_environment_and_never_prints() {
        let key = "k3y-".repeat(10);
        let loaded = load_env(&[("AUTHFORT_SECRET_KEY", key.as_str())]).unwrap();
        assert_eq!(loaded.config.auth.secret_key.as_ref().unwrap().expose(), key);
        assert!(!format!("{:?}", loaded.config).contains(&key));
        let err = load_env(&[("AUTHFORT_SECRET_KEY", "too-short")]).unwrap_err();
        assert!(err.to_string().contains("`secret_key`"), "{err}");
        assert!(err.to_string().contains("AUTHFORT_SECRET_KEY"), "{err}");
    }

    #[test]
    fn database_url_passwords_never_print() {
        let url = DatabaseUrl::new("postgres://user:s3cret@db.example.com:5432/auth?sslmode=require");
        assert_eq!(
            url.to_string(),
            "postgres://user:***@db.example.com:5432/auth?sslmode=require"
        );
        assert_eq!(
            format!("{url:?}"),
            "\"postgres://user:***@db.example.com:5432/auth?sslmode=require\""
        );
        let config = ServerConfig {
            database_url: url.clone(),
            ..ServerConfig::default()
        };
        assert!(!format!("{config:?}").contains("s3cret"));
        assert_eq!(
            url.expose(),
            "postgres://user:s3cret@db.example.com:5432/auth?sslmode=require"
        );

        for (raw, shown) in [
            ("sqlite://authfort.db", "sqlite://authfort.db"),
            ("postgres://user@host/db", "postgres://user@host/db"),
            ("postgres://u:p@ss:w@host/db", "postgres://u:***@host/db"),
            (
                "postgres://host/db?user=u&password=p&sslmode=disable",
                "postgres://host/db?user=u&password=***&sslmode=disable",
            ),
            ("postgres://u:p@host", "postgres://u:***@host"),
        ] {
            assert_eq!(DatabaseUrl::new(raw).to_string(), shown, "{raw}");
        }
    }

    #[test]
    fn the_example_documents_every_key_with_its_default() {
        let schema = ServerConfig::schema();
        let example = TomlSource::parse(Path::new("example.toml"), EXAMPLE_TOML, &schema).unwrap();
        assert!(example.unknown_key_warnings(&schema).is_empty());

        let parsed: ServerConfig = toml::from_str(EXAMPLE_TOML).unwrap();
        assert_eq!(
            serde_json::to_value(&parsed).unwrap(),
            serde_json::to_value(ServerConfig::default()).unwrap(),
            "the example shows the defaults"
        );
        for (path, kind) in schema.iter() {
            if path.contains('*') {
                // Named entries (oauth.providers.NAME): documented by an example entry.
                let leaf = path.rsplit('.').next().unwrap();
                assert!(
                    leaf == "*" || EXAMPLE_TOML.contains(&format!("{leaf} = ")),
                    "missing {path}"
                );
                continue;
            }
            let leaf = path.rsplit('.').next().unwrap();
            let var = key_paths::path_to_env_var(ENV_PREFIX, path);
            match kind {
                KeyKind::Table => {
                    assert!(EXAMPLE_TOML.contains(&format!("[{path}]")), "missing table [{path}]");
                }
                KeyKind::Optional => {
                    assert!(
                        EXAMPLE_TOML.contains(&format!("# {leaf} = ")),
                        "missing commented {path}"
                    );
                    assert!(EXAMPLE_TOML.contains(&var), "missing {var}");
                }
                _ => {
                    assert!(EXAMPLE_TOML.contains(&format!("\n{leaf} = ")), "missing {path}");
                    assert!(EXAMPLE_TOML.contains(&var), "missing {var}");
                }
            }
        }
    }
}
