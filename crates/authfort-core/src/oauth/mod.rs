//! Sign-in with OAuth 2.0 and OpenID Connect providers: configuration and the provider
//! clients. The flow itself (state, account resolution, sessions) is in the service.
//!
//! Providers: Google and GitHub built in, any OpenID Connect provider from its discovery URL
//! (ID token checked: JWKS signature, `iss`, `aud`, `exp`, `nonce`), and any plain OAuth 2.0
//! provider from its authorize/token/userinfo URLs and a field mapping. Every flow uses S256
//! PKCE; the verifier, the nonce and the hashed `state` stay in the database.

pub(crate) mod client;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::Secret;

pub(crate) use client::Providers;

/// `[oauth]`: providers and the flow's limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct OAuthConfig {
    /// `[oauth.google]`: enabled when `client_id` is set.
    pub google: BuiltinProviderConfig,
    /// `[oauth.github]`: enabled when `client_id` is set.
    pub github: BuiltinProviderConfig,
    /// `[oauth.providers.NAME]`: generic OpenID Connect (with `discovery_url`) or OAuth 2.0
    /// (with `authorize_url`, `token_url`, `userinfo_url`) providers, by name.
    pub providers: BTreeMap<String, GenericProviderConfig>,
    /// How long a started sign-in may take (the `state` and its browser cookie), in seconds.
    pub state_ttl_seconds: u64,
    /// Timeout of every call to a provider, in seconds.
    pub http_timeout_seconds: u64,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        OAuthConfig {
            google: BuiltinProviderConfig::default(),
            github: BuiltinProviderConfig::default(),
            providers: BTreeMap::new(),
            state_ttl_seconds: 300,
            http_timeout_seconds: 10,
        }
    }
}

/// Google or GitHub. The endpoint URLs default to the real ones; override them only to point
/// at a stand-in (tests) or a GitHub Enterprise server.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BuiltinProviderConfig {
    /// OAuth client id; setting it enables the provider.
    pub client_id: Option<String>,
    /// OAuth client secret.
    pub client_secret: Option<Secret>,
    /// Scopes requested on top of the provider's own (`openid email profile` for Google,
    /// `read:user user:email` for GitHub).
    pub extra_scopes: Vec<String>,
    /// Authorization endpoint override.
    pub authorize_url: Option<String>,
    /// Token endpoint override.
    pub token_url: Option<String>,
    /// User-info endpoint override (GitHub: the `/user` API URL).
    pub userinfo_url: Option<String>,
    /// GitHub only: the `/user/emails` API URL override.
    pub emails_url: Option<String>,
}

/// A generic provider: OpenID Connect when `discovery_url` is set, else plain OAuth 2.0.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct GenericProviderConfig {
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: Option<Secret>,
    /// OpenID Connect: `https://issuer/.well-known/openid-configuration`. The issuer is this URL
    /// without the well-known suffix and must match the document's `issuer`.
    pub discovery_url: Option<String>,
    /// How long the discovery document (and its JWKS) is cached, in seconds.
    pub discovery_ttl_seconds: u64,
    /// OAuth 2.0: the authorization endpoint.
    pub authorize_url: Option<String>,
    /// OAuth 2.0: the token endpoint.
    pub token_url: Option<String>,
    /// OAuth 2.0: the user-info endpoint (GET with the access token).
    pub userinfo_url: Option<String>,
    /// Scopes; empty means `openid email profile` for OpenID Connect and none for OAuth 2.0.
    pub scopes: Vec<String>,
    /// Scopes requested on top of `scopes`.
    pub extra_scopes: Vec<String>,
    /// User-info field holding the account id (default: `sub`, else `id`).
    pub id_field: Option<String>,
    /// User-info field holding the email (default `email`).
    pub email_field: Option<String>,
    /// User-info field saying the email is verified (default `email_verified`). Without it
    /// the email counts as unverified and is never linked to an existing account.
    pub email_verified_field: Option<String>,
    /// User-info field holding the display name (default `name`).
    pub name_field: Option<String>,
    /// User-info field holding the avatar URL (default `picture`, else `avatar_url`).
    pub avatar_field: Option<String>,
}

impl Default for GenericProviderConfig {
    fn default() -> Self {
        GenericProviderConfig {
            client_id: String::new(),
            client_secret: None,
            discovery_url: None,
            discovery_ttl_seconds: 3600,
            authorize_url: None,
            token_url: None,
            userinfo_url: None,
            scopes: Vec::new(),
            extra_scopes: Vec::new(),
            id_field: None,
            email_field: None,
            email_verified_field: None,
            name_field: None,
            avatar_field: None,
        }
    }
}

/// A provider name usable in a URL path and in the accounts table.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 50
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl OAuthConfig {
    /// Whether any provider is configured.
    pub fn any(&self) -> bool {
        self.google.client_id.is_some() || self.github.client_id.is_some() || !self.providers.is_empty()
    }

    /// Checks every provider; `Err((key, message))`.
    pub(crate) fn validate(&self, has_public_url: bool) -> Result<(), (String, String)> {
        let bad = |key: String, m: &str| Err((key, m.to_owned()));
        if !(30..=3600).contains(&self.state_ttl_seconds) {
            return bad("oauth.state_ttl_seconds".into(), "must be between 30 and 3600");
        }
        if !(1..=120).contains(&self.http_timeout_seconds) {
            return bad("oauth.http_timeout_seconds".into(), "must be between 1 and 120");
        }
        if self.any() && !has_public_url {
            return bad(
                "public_url".into(),
                "is required with OAuth providers (the callback URL is built from it)",
            );
        }
        let url = |key: String, v: &Option<String>| match v {
            Some(u) => crate::links::absolute_http(u)
                .map(|_| ())
                .map_err(|m| (key, m.to_owned())),
            None => Ok(()),
        };
        for (name, b) in [("google", &self.google), ("github", &self.github)] {
            if b.client_id.as_deref().is_some_and(|c| c.trim().is_empty()) {
                return bad(format!("oauth.{name}.client_id"), "must not be empty");
            }
            url(format!("oauth.{name}.authorize_url"), &b.authorize_url)?;
            url(format!("oauth.{name}.token_url"), &b.token_url)?;
            url(format!("oauth.{name}.userinfo_url"), &b.userinfo_url)?;
            url(format!("oauth.{name}.emails_url"), &b.emails_url)?;
        }
        for (name, p) in &self.providers {
            let key = |k: &str| format!("oauth.providers.{name}.{k}");
            if !valid_name(name) || name == "google" || name == "github" {
                return bad(
                    format!("oauth.providers.{name}"),
                    "provider names are 1-50 letters, digits, _ or -, and not google or github",
                );
            }
            if p.client_id.trim().is_empty() {
                return bad(key("client_id"), "is required");
            }
            match &p.discovery_url {
                Some(_) => {
                    url(key("discovery_url"), &p.discovery_url)?;
                    if p.discovery_ttl_seconds == 0 {
                        return bad(key("discovery_ttl_seconds"), "must be at least 1");
                    }
                }
                None => {
                    for (k, v) in [
                        ("authorize_url", &p.authorize_url),
                        ("token_url", &p.token_url),
                        ("userinfo_url", &p.userinfo_url),
                    ] {
                        if v.is_none() {
                            return bad(key(k), "is required without discovery_url");
                        }
                        url(key(k), v)?;
                    }
                }
            }
        }
        Ok(())
    }
}
