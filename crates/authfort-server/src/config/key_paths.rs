//! The dotted key paths of the configuration (`cookie.samesite`, `cors.allowed_origins`, …)
//! and how environment variable names map onto them.
//!
//! The set of known keys is not written down by hand: it is read off the serialised defaults,
//! so a new option in [`authfort_core::AuthConfig`] is known here the moment it exists.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value as Json;

/// What a key holds, judged from its default value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A nested table (`cookie`, `password_hashing`).
    Table,
    /// A list of strings (`trusted_proxies`, `cors.allowed_origins`).
    List,
    /// A string.
    Text,
    /// A boolean.
    Flag,
    /// A number.
    Number,
    /// An optional value that is unset by default (`public_url`, `cookie.domain`).
    Optional,
}

/// Every known key path with its kind.
#[derive(Debug, Clone, Default)]
pub struct KeySchema {
    keys: BTreeMap<String, KeyKind>,
    /// Tables of named entries (see [`KeySchema::with_map`]).
    maps: Vec<String>,
}

impl KeySchema {
    /// The schema of `defaults` (a value whose every optional key serialises, as `null`).
    ///
    /// # Panics
    /// If `defaults` does not serialise to a JSON object (a programming error).
    pub fn of<T: Serialize>(defaults: &T) -> KeySchema {
        let json = serde_json::to_value(defaults).expect("configuration defaults serialise to JSON");
        let Json::Object(map) = json else {
            panic!("configuration defaults must serialise to an object");
        };
        let mut schema = KeySchema::default();
        schema.collect("", &map);
        schema
    }

    fn collect(&mut self, prefix: &str, map: &serde_json::Map<String, Json>) {
        for (key, value) in map {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            let kind = match value {
                Json::Object(inner) => {
                    self.collect(&path, inner);
                    KeyKind::Table
                }
                Json::Array(_) => KeyKind::List,
                Json::String(_) => KeyKind::Text,
                Json::Bool(_) => KeyKind::Flag,
                Json::Number(_) => KeyKind::Number,
                Json::Null => KeyKind::Optional,
            };
            self.keys.insert(path, kind);
        }
    }

    /// Adds a table of named entries (`oauth.providers.NAME.*`), each shaped like `entry`:
    /// known as `<map>.*.<key>`, and any name matches the `*`.
    ///
    /// # Panics
    /// If `entry` does not serialise to a JSON object (a programming error).
    pub fn with_map<T: Serialize>(mut self, map: &str, entry: &T) -> KeySchema {
        let json = serde_json::to_value(entry).expect("configuration defaults serialise to JSON");
        let Json::Object(fields) = json else {
            panic!("map entries must serialise to an object");
        };
        let wildcard = format!("{map}.*");
        self.collect(&wildcard, &fields);
        self.keys.insert(wildcard, KeyKind::Table);
        self.maps.push(map.to_owned());
        self
    }

    /// `path` with a map entry's name replaced by `*` (`oauth.providers.acme.client_id` →
    /// `oauth.providers.*.client_id`).
    fn generic(&self, path: &str) -> Option<String> {
        self.maps.iter().find_map(|m| {
            let rest = path.strip_prefix(m.as_str())?.strip_prefix('.')?;
            let (_, tail) = rest.split_once('.').map_or((rest, None), |(n, t)| (n, Some(t)));
            Some(match tail {
                Some(t) => format!("{m}.*.{t}"),
                None => format!("{m}.*"),
            })
        })
    }

    /// The kind of `path`, or `None` for an unknown key.
    pub fn kind(&self, path: &str) -> Option<KeyKind> {
        self.keys
            .get(path)
            .copied()
            .or_else(|| self.generic(path).and_then(|g| self.keys.get(&g).copied()))
    }

    /// Whether `path` names a key or a table of keys.
    pub fn is_known(&self, path: &str) -> bool {
        self.kind(path).is_some()
    }

    /// Every known path with its kind, sorted.
    pub fn iter(&self) -> impl Iterator<Item = (&str, KeyKind)> {
        self.keys.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// The known leaf key closest to `unknown` (a likely intended spelling), if one is close.
    pub fn suggest(&self, unknown: &str) -> Option<&str> {
        self.iter()
            .filter(|(_, kind)| *kind != KeyKind::Table)
            .map(|(known, _)| {
                // Also compare with the known key cut to the typo's length, so an abbreviated
                // `access_token_ttl` still finds `access_token_ttl_seconds`.
                let cut: String = known.chars().take(unknown.chars().count()).collect();
                let distance = levenshtein(unknown, known).min(levenshtein(unknown, &cut) + 1);
                (distance, known)
            })
            .filter(|(distance, _)| *distance <= 2 + unknown.len() / 8)
            .min_by_key(|(distance, _)| *distance)
            .map(|(_, known)| known)
    }
}

/// The key path an environment variable sets: `AUTHFORT_COOKIE__SAMESITE` → `cookie.samesite`.
/// `None` when the name lacks `prefix` (compared case-insensitively) or has an empty segment.
pub fn env_var_to_path(prefix: &str, name: &str) -> Option<String> {
    let head = name.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = name[prefix.len()..].trim();
    let segments: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
    if segments.iter().any(String::is_empty) {
        return None;
    }
    Some(segments.join("."))
}

/// The environment variable that sets `path`: `cookie.samesite` → `AUTHFORT_COOKIE__SAMESITE`.
pub fn path_to_env_var(prefix: &str, path: &str) -> String {
    format!("{prefix}{}", path.replace('.', "__").to_ascii_uppercase())
}

/// The paths in a TOML-like table that the schema does not know. An unknown table is reported
/// once, not once per key inside it.
pub fn unknown_paths(schema: &KeySchema, dict: &figment::value::Dict) -> Vec<String> {
    fn walk(schema: &KeySchema, prefix: &str, dict: &figment::value::Dict, out: &mut Vec<String>) {
        for (key, value) in dict {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match (schema.kind(&path), value) {
                (None, _) => out.push(path),
                (Some(KeyKind::Table), figment::value::Value::Dict(_, inner)) => walk(schema, &path, inner, out),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(schema, "", dict, &mut out);
    out
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use figment::providers::{Format, Toml};
    use figment::Provider;

    use super::*;
    use crate::config::ServerConfig;

    fn schema() -> KeySchema {
        KeySchema::of(&ServerConfig::default())
    }

    #[test]
    fn schema_knows_leaves_tables_and_null_options() {
        let s = schema();
        assert_eq!(s.kind("bind"), Some(KeyKind::Text));
        assert_eq!(s.kind("database_url"), Some(KeyKind::Text));
        assert_eq!(s.kind("log_format"), Some(KeyKind::Text));
        assert_eq!(s.kind("public_url"), Some(KeyKind::Optional));
        assert_eq!(s.kind("access_token_ttl_seconds"), Some(KeyKind::Number));
        assert_eq!(s.kind("allow_signup"), Some(KeyKind::Flag));
        assert_eq!(s.kind("trusted_proxies"), Some(KeyKind::List));
        assert_eq!(s.kind("cookie"), Some(KeyKind::Table));
        assert_eq!(s.kind("cookie.domain"), Some(KeyKind::Optional));
        assert_eq!(s.kind("cookie.samesite"), Some(KeyKind::Text));
        assert_eq!(s.kind("cors.allowed_origins"), Some(KeyKind::List));
        assert_eq!(s.kind("password_hashing.memory_kib"), Some(KeyKind::Number));
        assert!(!s.is_known("auth"), "the flattened AuthConfig has no `auth` table");
        assert!(!s.is_known("cookie.enabled.x"));
        assert!(!s.is_known("acess_token_ttl"));
    }

    #[test]
    fn env_names_map_to_paths_and_back() {
        let p = "AUTHFORT_";
        assert_eq!(env_var_to_path(p, "AUTHFORT_BIND").as_deref(), Some("bind"));
        assert_eq!(
            env_var_to_path(p, "AUTHFORT_COOKIE__SAMESITE").as_deref(),
            Some("cookie.samesite")
        );
        assert_eq!(
            env_var_to_path(p, "authfort_cors__allowed_origins").as_deref(),
            Some("cors.allowed_origins")
        );
        assert_eq!(env_var_to_path(p, "AUTHFORT_"), None);
        assert_eq!(env_var_to_path(p, "AUTHFORT_COOKIE__"), None);
        assert_eq!(env_var_to_path(p, "AUTHFORT___X"), None);
        assert_eq!(env_var_to_path(p, "OTHER_BIND"), None);
        assert_eq!(env_var_to_path(p, "AUTH"), None);
        assert_eq!(path_to_env_var(p, "cookie.samesite"), "AUTHFORT_COOKIE__SAMESITE");
        for (path, _) in schema().iter() {
            assert_eq!(env_var_to_path(p, &path_to_env_var(p, path)).as_deref(), Some(path));
        }
    }

    #[test]
    fn unknown_toml_keys_are_found_once_per_subtree() {
        let data = Toml::string(
            "bind = '127.0.0.1:1'\nacces_token_ttl_seconds = 5\n[cookie]\nenabled = true\nsamsite = 'lax'\n\
             [cokie]\nenabled = true\nsecure = true\n",
        )
        .data()
        .unwrap();
        let dict = data.into_values().next().unwrap();
        assert_eq!(
            unknown_paths(&schema(), &dict),
            vec!["acces_token_ttl_seconds", "cokie", "cookie.samsite"]
        );
    }

    #[test]
    fn suggestions_find_the_intended_key() {
        let s = schema();
        assert_eq!(s.suggest("acess_token_ttl"), Some("access_token_ttl_seconds"));
        assert_eq!(s.suggest("cookie_enabled"), Some("cookie.enabled"));
        assert_eq!(s.suggest("cookie.samsite"), Some("cookie.samesite"));
        assert_eq!(s.suggest("database_ur"), Some("database_url"));
        assert_eq!(s.suggest("something_else_entirely"), None);
    }

    #[test]
    fn levenshtein_distances() {
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("same", "same"), 0);
    }
}
