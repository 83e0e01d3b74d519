//! Client for the server's `POST /auth/introspect`: instant revocation checks.
//!
//! A JWT stays valid until `exp` for anyone verifying it offline, even after logout, a ban
//! or a password change. When a service must see those at once, it asks the server:
//! introspection answers `active: false` for a revoked session, a bumped token version, a
//! banned or deleted user, as well as for any token that fails verification.
//!
//! **Cache trade-off.** Each check is one request to the auth server. An optional cache
//! (off by default; see [`IntrospectionClientBuilder::cache_ttl`]) keeps answers for a few
//! seconds, keyed by the SHA-256 of the token (raw tokens are never kept). A cached
//! "active" answer hides a revocation for at most that TTL; an entry never outlives the
//! token's own `exp`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Default request timeout (the reference's).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default cache bound (entries).
pub const DEFAULT_MAX_CACHE_ENTRIES: usize = 10_000;
/// The largest introspection response accepted.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The server's answer (wire.md §5.15): `active`, and for active tokens the token's
/// claims with fresh roles and token version. All but `active` are `None` when inactive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Introspection {
    /// Whether the token is valid and its session and user are in good standing.
    #[serde(default)]
    pub active: bool,
    /// User id.
    #[serde(default)]
    pub sub: Option<String>,
    /// E-mail address (from the token).
    #[serde(default)]
    pub email: Option<String>,
    /// Display name (from the token).
    #[serde(default)]
    pub name: Option<String>,
    /// Roles, fresh from the server's database.
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    /// The user's current token version (the JWT's `ver`).
    #[serde(default)]
    pub token_version: Option<i64>,
    /// Expiry (Unix seconds).
    #[serde(default)]
    pub exp: Option<i64>,
    /// Issued at (Unix seconds).
    #[serde(default)]
    pub iat: Option<i64>,
    /// Issuer.
    #[serde(default)]
    pub iss: Option<String>,
}

/// Why an introspection call failed (as opposed to answering `active: false`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IntrospectError {
    /// The builder's settings are unusable.
    #[error("invalid introspection client configuration: {0}")]
    Config(String),
    /// The request failed (connection, timeout, body read).
    #[error("introspection request failed: {0}")]
    Request(String),
    /// The server answered with a non-2xx status (401 for a wrong secret, for instance).
    #[error("introspection endpoint answered HTTP {0}")]
    Status(u16),
    /// The body is not an introspection response.
    #[error("invalid introspection response: {0}")]
    InvalidResponse(&'static str),
}

/// Asks the AuthFort server whether an access token is still active.
///
/// Cheap to clone (clones share the cache).
///
/// ```no_run
/// use std::time::Duration;
/// use authfort_verifier::IntrospectionClient;
///
/// # async fn demo(token: &str) -> Result<(), Box<dyn std::error::Error>> {
/// let client = IntrospectionClient::builder("http://auth:8000/auth/introspect")
///     .secret("the-introspect-secret")
///     .cache_ttl(Duration::from_secs(10))
///     .timeout(Duration::from_secs(5))
///     .build()?;
/// let answer = client.introspect(token).await?;
/// if answer.active {
///     println!("{:?} has roles {:?}", answer.sub, answer.roles);
/// }
/// // Or, treating any failure as "not active" (what AuthFort's Python service does):
/// let ok = client.is_active(token).await;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct IntrospectionClient {
    shared: Arc<Shared>,
}

struct Shared {
    url: reqwest::Url,
    secret: Option<String>,
    client: reqwest::Client,
    cache_ttl: Duration,
    max_cache_entries: usize,
    cache: Mutex<HashMap<[u8; 32], CacheEntry>>,
}

struct CacheEntry {
    answer: Introspection,
    expires_at: Instant,
}

impl std::fmt::Debug for IntrospectionClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntrospectionClient")
            .field("url", &self.shared.url.as_str())
            .field("secret", &self.shared.secret.as_ref().map(|_| "<redacted>"))
            .field("cache_ttl", &self.shared.cache_ttl)
            .field("max_cache_entries", &self.shared.max_cache_entries)
            .finish_non_exhaustive()
    }
}

/// Builder for [`IntrospectionClient`].
#[derive(Clone)]
#[must_use]
pub struct IntrospectionClientBuilder {
    url: String,
    secret: Option<String>,
    cache_ttl: Duration,
    max_cache_entries: usize,
    timeout: Duration,
}

impl std::fmt::Debug for IntrospectionClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntrospectionClientBuilder")
            .field("url", &self.url)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("cache_ttl", &self.cache_ttl)
            .field("max_cache_entries", &self.max_cache_entries)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl IntrospectionClientBuilder {
    /// The server's `introspect_secret`, sent as `Authorization: Bearer <secret>`.
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secret = Some(secret.into());
        self
    }

    /// Keep answers this long (default zero: no cache). Keep it short: a cached "active"
    /// hides a revocation for up to this long.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// Bound of the cache (default 10 000 entries).
    pub fn max_cache_entries(mut self, entries: usize) -> Self {
        self.max_cache_entries = entries;
        self
    }

    /// Request timeout (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`IntrospectError::Config`] if the URL is not an absolute `http`/`https` URL or the
    /// HTTP client cannot be set up.
    pub fn build(self) -> Result<IntrospectionClient, IntrospectError> {
        let url =
            reqwest::Url::parse(&self.url).map_err(|e| IntrospectError::Config(format!("introspection URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(IntrospectError::Config(
                "introspection URL must be http or https".into(),
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| IntrospectError::Config(format!("HTTP client: {e}")))?;
        Ok(IntrospectionClient {
            shared: Arc::new(Shared {
                url,
                secret: self.secret,
                client,
                cache_ttl: self.cache_ttl,
                max_cache_entries: self.max_cache_entries,
                cache: Mutex::new(HashMap::new()),
            }),
        })
    }
}

impl IntrospectionClient {
    /// Starts building a client for `url` (the server's `http(s)://<host>/auth/introspect`).
    pub fn builder(url: impl Into<String>) -> IntrospectionClientBuilder {
        IntrospectionClientBuilder {
            url: url.into(),
            secret: None,
            cache_ttl: Duration::ZERO,
            max_cache_entries: DEFAULT_MAX_CACHE_ENTRIES,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Asks the server about `token` (or answers from the cache).
    ///
    /// # Errors
    /// Network failure, a non-2xx answer, or a body that is not an introspection response.
    /// Failures are never cached.
    pub async fn introspect(&self, token: &str) -> Result<Introspection, IntrospectError> {
        let key = self.caching().then(|| cache_key(token));
        if let Some(hit) = key.as_ref().and_then(|k| self.cached(k)) {
            return Ok(hit);
        }
        let answer = self.request(token).await?;
        if let Some(key) = key {
            self.store(key, &answer);
        }
        Ok(answer)
    }

    /// Whether `token` is active; any failure counts as inactive (fail closed, as AuthFort's
    /// Python service does with `fail_open=True`, which despite its name yields
    /// `active=false`).
    pub async fn is_active(&self, token: &str) -> bool {
        match self.introspect(token).await {
            Ok(answer) => answer.active,
            Err(e) => {
                tracing::warn!(url = %self.shared.url, error = %e, "introspection failed; treating the token as inactive");
                false
            }
        }
    }

    /// Number of cached answers (expired ones included until they are evicted).
    pub fn cached_entries(&self) -> usize {
        self.cache().len()
    }

    fn caching(&self) -> bool {
        !self.shared.cache_ttl.is_zero() && self.shared.max_cache_entries > 0
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], CacheEntry>> {
        self.shared.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Introspection> {
        let mut cache = self.cache();
        match cache.get(key) {
            Some(entry) if entry.expires_at > Instant::now() => Some(entry.answer.clone()),
            Some(_) => {
                cache.remove(key);
                None
            }
            None => None,
        }
    }

    fn store(&self, key: [u8; 32], answer: &Introspection) {
        let mut ttl = self.shared.cache_ttl;
        if let (true, Some(exp)) = (answer.active, answer.exp) {
            // Never vouch for a token past its own expiry.
            let left = u64::try_from(exp.saturating_sub(unix_now())).unwrap_or(0);
            ttl = ttl.min(Duration::from_secs(left));
        }
        if ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut cache = self.cache();
        if cache.len() >= self.shared.max_cache_entries && !cache.contains_key(&key) {
            cache.retain(|_, e| e.expires_at > now);
            if cache.len() >= self.shared.max_cache_entries {
                let soonest = cache.iter().min_by_key(|(_, e)| e.expires_at).map(|(k, _)| *k);
                if let Some(soonest) = soonest {
                    cache.remove(&soonest);
                }
            }
        }
        cache.insert(
            key,
            CacheEntry {
                answer: answer.clone(),
                expires_at: now + ttl,
            },
        );
    }

    async fn request(&self, token: &str) -> Result<Introspection, IntrospectError> {
        let body = serde_json::json!({ "token": token }).to_string();
        let mut request = self
            .shared
            .client
            .post(self.shared.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body);
        if let Some(secret) = &self.shared.secret {
            request = request.bearer_auth(secret);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| IntrospectError::Request(e.to_string()))?;
        if !response.status().is_success() {
            return Err(IntrospectError::Status(response.status().as_u16()));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| IntrospectError::Request(e.to_string()))?
        {
            if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(IntrospectError::InvalidResponse("larger than 64 KiB"));
            }
            bytes.extend_from_slice(&chunk);
        }
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| IntrospectError::InvalidResponse("not JSON"))?;
        if !value.is_object() {
            return Err(IntrospectError::InvalidResponse("not a JSON object"));
        }
        serde_json::from_value(value).map_err(|_| IntrospectError::InvalidResponse("unexpected field types"))
    }
}

/// The cache key: SHA-256 of the token, so raw tokens never sit in memory longer than a call.
fn cache_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(ttl: Duration, max: usize) -> IntrospectionClient {
        IntrospectionClient::builder("http://127.0.0.1:9/auth/introspect")
            .cache_ttl(ttl)
            .max_cache_entries(max)
            .build()
            .unwrap()
    }

    fn active(exp: i64) -> Introspection {
        Introspection {
            active: true,
            exp: Some(exp),
            ..Introspection::default()
        }
    }

    #[test]
    fn cache_is_keyed_by_the_token_hash() {
        let c = client(Duration::from_secs(10), 10);
        c.store(cache_key("tok"), &active(unix_now() + 600));
        let cache = c.cache();
        let (key, _) = cache.iter().next().unwrap();
        assert_eq!(key, &<[u8; 32]>::from(Sha256::digest(b"tok")));
    }

    #[test]
    fn entries_never_outlive_the_token() {
        let c = client(Duration::from_secs(10), 10);
        c.store(cache_key("expired"), &active(unix_now() - 1));
        assert_eq!(c.cached_entries(), 0);
        c.store(cache_key("soon"), &active(unix_now() + 2));
        let left = c.cache()[&cache_key("soon")].expires_at - Instant::now();
        assert!(left <= Duration::from_secs(2), "{left:?}");
    }

    #[test]
    fn cache_is_bounded() {
        let c = client(Duration::from_secs(10), 3);
        for i in 0..10 {
            c.store(cache_key(&format!("t{i}")), &Introspection::default());
        }
        assert_eq!(c.cached_entries(), 3);
        assert!(c.cached(&cache_key("t9")).is_some());
    }

    #[test]
    fn zero_ttl_disables_the_cache() {
        let c = client(Duration::ZERO, 10);
        assert!(!c.caching());
    }

    #[test]
    fn debug_redacts_the_secret() {
        let b = IntrospectionClient::builder("http://a/auth/introspect").secret("hunter2");
        assert!(!format!("{b:?}").contains("hunter2"));
        assert!(!format!("{:?}", b.build().unwrap()).contains("hunter2"));
    }
}
