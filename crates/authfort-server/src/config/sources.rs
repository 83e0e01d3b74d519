//! The figment providers of the two configuration layers above the defaults: the TOML file
//! and the `AUTHFORT_*` environment variables.
//!
//! Both read values *by the kind of their key* (see [`KeySchema`]): a list key accepts a
//! comma-separated string (`AUTHFORT_CORS__ALLOWED_ORIGINS=https://a.example,https://b.example`),
//! and a string key keeps its text as written, so `AUTHFORT_JWT_ISSUER=1.0` or
//! `AUTHFORT_COOKIE__DOMAIN=.example.com` never turn into numbers.

use std::path::{Path, PathBuf};

use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};

use super::key_paths::{self, KeyKind, KeySchema};

/// Prefix of every configuration environment variable.
pub const ENV_PREFIX: &str = "AUTHFORT_";

/// The name of the environment layer in figment's metadata.
pub(crate) const ENV_METADATA_NAME: &str = "environment variable";

/// `AUTHFORT_*` variables that are not configuration keys (the CLI reads them).
pub const RESERVED_ENV_VARS: &[&str] = &["AUTHFORT_CONFIG"];

/// The `AUTHFORT_*` environment variables, as a figment provider.
#[derive(Debug, Clone)]
pub struct EnvSource {
    /// `(variable name, key path, raw value)`.
    vars: Vec<(String, String, String)>,
    data: Dict,
}

impl EnvSource {
    /// Reads the given `(name, value)` pairs; names without the prefix are ignored.
    pub fn new(vars: impl IntoIterator<Item = (String, String)>, schema: &KeySchema) -> EnvSource {
        let mut kept = Vec::new();
        let mut data = Dict::new();
        for (name, raw) in vars {
            if RESERVED_ENV_VARS.iter().any(|r| r.eq_ignore_ascii_case(&name)) {
                continue;
            }
            let Some(path) = key_paths::env_var_to_path(ENV_PREFIX, &name) else {
                continue;
            };
            if let Some(value) = typed_value(schema.kind(&path), &raw) {
                insert(&mut data, &path, value);
            }
            kept.push((name, path, raw));
        }
        EnvSource { vars: kept, data }
    }

    /// Reads the process environment.
    pub fn from_process(schema: &KeySchema) -> EnvSource {
        let vars =
            std::env::vars_os().map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned()));
        EnvSource::new(vars, schema)
    }

    /// Warnings for variables that match no key (most likely typos).
    pub fn unknown_key_warnings(&self, schema: &KeySchema) -> Vec<String> {
        self.vars
            .iter()
            .filter(|(_, path, _)| !schema.is_known(path))
            .map(|(name, path, _)| {
                let mut warning =
                    format!("ignoring environment variable {name}: there is no configuration key `{path}`");
                if let Some(known) = schema.suggest(path) {
                    let var = key_paths::path_to_env_var(ENV_PREFIX, known);
                    warning.push_str(&format!(" (did you mean {var}?)"));
                }
                warning
            })
            .collect()
    }
}

impl Provider for EnvSource {
    fn metadata(&self) -> Metadata {
        Metadata::named(ENV_METADATA_NAME)
            .interpolater(|_: &Profile, keys: &[&str]| key_paths::path_to_env_var(ENV_PREFIX, &keys.join(".")))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.data.clone()))
    }
}

/// The configuration file, read and parsed once, as a figment provider.
#[derive(Debug, Clone)]
pub struct TomlSource {
    path: PathBuf,
    data: Dict,
}

impl TomlSource {
    /// Reads and parses `path`.
    ///
    /// # Errors
    /// A message naming the file when it cannot be read or is not valid TOML.
    pub fn load(path: &Path, schema: &KeySchema) -> Result<TomlSource, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read configuration file {}: {e}", path.display()))?;
        TomlSource::parse(path, &text, schema)
    }

    /// Parses `text` as the contents of `path`.
    ///
    /// # Errors
    /// A message naming the file when `text` is not valid TOML.
    pub fn parse(path: &Path, text: &str, schema: &KeySchema) -> Result<TomlSource, String> {
        let mut data: Dict = toml::from_str(text)
            .map_err(|e| format!("cannot parse configuration file {}: {}", path.display(), e.message()))?;
        split_list_strings(&mut data, schema);
        Ok(TomlSource {
            path: path.to_path_buf(),
            data,
        })
    }

    /// Warnings for keys that match no configuration key (most likely typos).
    pub fn unknown_key_warnings(&self, schema: &KeySchema) -> Vec<String> {
        key_paths::unknown_paths(schema, &self.data)
            .into_iter()
            .map(|path| {
                let mut warning = format!(
                    "ignoring `{path}` in configuration file {}: there is no such configuration key",
                    self.path.display()
                );
                if let Some(known) = schema.suggest(&path) {
                    warning.push_str(&format!(" (did you mean `{known}`?)"));
                }
                warning
            })
            .collect()
    }
}

impl Provider for TomlSource {
    fn metadata(&self) -> Metadata {
        Metadata::from("configuration file", figment::Source::File(self.path.clone()))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.data.clone()))
    }
}

/// The figment value for the raw text of an environment variable whose key has `kind`.
/// `None` means "unset" (an empty value for an optional key).
fn typed_value(kind: Option<KeyKind>, raw: &str) -> Option<Value> {
    match kind {
        Some(KeyKind::Text) => Some(Value::from(raw)),
        Some(KeyKind::Optional) if raw.trim().is_empty() => None,
        Some(KeyKind::Optional) => Some(Value::from(raw)),
        Some(KeyKind::List) if raw.trim_start().starts_with('[') => Some(parse(raw)),
        Some(KeyKind::List) => Some(Value::from(split_list(raw))),
        Some(KeyKind::Flag | KeyKind::Number | KeyKind::Table) | None => Some(parse(raw)),
    }
}

/// figment's own parsing of environment values: `true`, `900`, `[a, b]`, else a string.
fn parse(raw: &str) -> Value {
    raw.parse()
        .unwrap_or_else(|never: std::convert::Infallible| match never {})
}

fn split_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Sets `value` at a dotted `path`, creating (or replacing non-table values with) tables.
fn insert(dict: &mut Dict, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            dict.insert(path.to_owned(), value);
        }
        Some((head, rest)) => {
            let entry = dict.entry(head.to_owned()).or_insert_with(|| Value::from(Dict::new()));
            if !matches!(entry, Value::Dict(..)) {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

/// In a file, a list key may also be written as one comma-separated string.
fn split_list_strings(data: &mut Dict, schema: &KeySchema) {
    for (path, kind) in schema.iter() {
        if kind != KeyKind::List {
            continue;
        }
        if let Some(slot) = find_mut(data, path) {
            if let Value::String(_, s) = slot {
                *slot = Value::from(split_list(s));
            }
        }
    }
}

fn find_mut<'a>(dict: &'a mut Dict, path: &str) -> Option<&'a mut Value> {
    match path.split_once('.') {
        None => dict.get_mut(path),
        Some((head, rest)) => match dict.get_mut(head)? {
            Value::Dict(_, inner) => find_mut(inner, rest),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use figment::Figment;

    use super::*;
    use crate::config::ServerConfig;

    fn env(vars: &[(&str, &str)]) -> (EnvSource, KeySchema) {
        let schema = KeySchema::of(&ServerConfig::default());
        let source = EnvSource::new(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())), &schema);
        (source, schema)
    }

    fn extract(source: EnvSource) -> ServerConfig {
        Figment::from(source).extract().expect("extracts")
    }

    #[test]
    fn env_values_take_the_type_of_their_key() {
        let (source, _) = env(&[
            ("AUTHFORT_BIND", "0.0.0.0:9000"),
            ("AUTHFORT_JWT_ISSUER", "1.0"),
            ("AUTHFORT_ACCESS_TOKEN_TTL_SECONDS", "600"),
            ("AUTHFORT_ALLOW_SIGNUP", "false"),
            ("AUTHFORT_COOKIE__ENABLED", "true"),
            ("AUTHFORT_COOKIE__DOMAIN", ".example.com"),
            ("AUTHFORT_COOKIE__SAMESITE", "strict"),
            (
                "AUTHFORT_CORS__ALLOWED_ORIGINS",
                "https://a.example.com, https://b.example.com",
            ),
            ("AUTHFORT_TRUSTED_PROXIES", "10.0.0.0/8"),
            ("AUTHFORT_LOG_FORMAT", "json"),
            ("AUTHFORT_PUBLIC_URL", "https://auth.example.com"),
            ("PATH", "/usr/bin"),
        ]);
        let c = extract(source);
        assert_eq!(c.bind, "0.0.0.0:9000");
        assert_eq!(c.auth.jwt_issuer, "1.0");
        assert_eq!(c.auth.access_token_ttl_seconds, 600);
        assert!(!c.auth.allow_signup);
        assert!(c.auth.cookie.enabled);
        assert_eq!(c.auth.cookie.domain.as_deref(), Some(".example.com"));
        assert_eq!(c.auth.cookie.samesite, "strict");
        assert_eq!(
            c.auth.cors.allowed_origins,
            vec!["https://a.example.com", "https://b.example.com"]
        );
        assert_eq!(c.auth.trusted_proxies, vec!["10.0.0.0/8"]);
        assert_eq!(c.log_format, crate::config::LogFormat::Json);
        assert_eq!(c.auth.public_url.as_deref(), Some("https://auth.example.com"));
    }

    #[test]
    fn empty_optional_means_unset_and_bracketed_lists_parse() {
        let (source, _) = env(&[
            ("AUTHFORT_COOKIE__DOMAIN", ""),
            ("AUTHFORT_TRUSTED_PROXIES", "[10.0.0.1, 10.0.0.2]"),
            ("AUTHFORT_CORS__ALLOWED_ORIGINS", ""),
        ]);
        let c = extract(source);
        assert_eq!(c.auth.cookie.domain, None);
        assert_eq!(c.auth.trusted_proxies, vec!["10.0.0.1", "10.0.0.2"]);
        assert!(c.auth.cors.allowed_origins.is_empty());
    }

    #[test]
    fn unknown_variables_are_reported_with_a_suggestion() {
        let (source, schema) = env(&[
            ("AUTHFORT_ACESS_TOKEN_TTL", "5"),
            ("AUTHFORT_COOKIE_ENABLED", "true"),
            ("AUTHFORT_BIND", "127.0.0.1:1"),
            ("AUTHFORT_CONFIG", "/etc/authfort.toml"),
        ]);
        let warnings = source.unknown_key_warnings(&schema);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("AUTHFORT_ACESS_TOKEN_TTL"), "{warnings:?}");
        assert!(
            warnings[0].contains("AUTHFORT_ACCESS_TOKEN_TTL_SECONDS"),
            "{warnings:?}"
        );
        assert!(warnings[1].contains("AUTHFORT_COOKIE__ENABLED"), "{warnings:?}");
    }

    #[test]
    fn file_lists_may_be_comma_separated_strings() {
        let schema = KeySchema::of(&ServerConfig::default());
        let source = TomlSource::parse(
            Path::new("authfort.toml"),
            "trusted_proxies = '10.0.0.1, 10.0.0.2'\n[cors]\nallowed_origins = ['https://a.example.com']\n",
            &schema,
        )
        .unwrap();
        let c: ServerConfig = Figment::from(source).extract().unwrap();
        assert_eq!(c.auth.trusted_proxies, vec!["10.0.0.1", "10.0.0.2"]);
        assert_eq!(c.auth.cors.allowed_origins, vec!["https://a.example.com"]);
    }

    #[test]
    fn a_broken_file_is_named() {
        let schema = KeySchema::of(&ServerConfig::default());
        let err = TomlSource::parse(Path::new("conf/authfort.toml"), "bind = ", &schema).unwrap_err();
        assert!(err.contains("conf/authfort.toml"), "{err}");
    }
}
