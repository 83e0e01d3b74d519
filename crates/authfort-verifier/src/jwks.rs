//! A verifier over a remote JWKS (`GET /.well-known/jwks.json`), fetched and cached.
//!
//! Rules (those of AuthFort's Python verifier, plus fail-closed handling):
//! - The first verification fetches the document; afterwards it is cached for
//!   `cache_ttl` (1 h by default, like the server's `Cache-Control`).
//! - A token whose `kid` is not cached triggers one refetch, at most once per
//!   `min_refetch_interval` (30 s); concurrent misses share that one fetch. A rotated key is
//!   thus picked up on first sight, while junk kids cannot hammer the auth server.
//! - A failed fetch keeps the last good keyset in service and is not retried automatically
//!   for `min_refetch_interval`. With no keyset at all, every token is refused with
//!   [`VerifyError::KeysUnavailable`] (fail closed, 503 in the axum integration).
//! - The document must be a 2xx JSON object with a `keys` array; entries without a `kid`,
//!   not RSA, with an `alg` other than RS256, a `use` other than `sig` or a modulus under
//!   2048 bits are skipped. A document without any usable key counts as a failed fetch.
//!   Redirects are not followed, and the body is capped at 1 MiB.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::jwk::decoding_keys;
use crate::token_verifier::{TokenVerifier, VerifyFuture};
use crate::{AccessClaims, Verifier, VerifyError, VerifyOptions};

/// Default lifetime of a fetched keyset.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(3600);
/// Default minimum spacing of refetches caused by unknown kids (and of retries after a failure).
pub const DEFAULT_MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// Default timeout of one JWKS request.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest JWKS document accepted.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// Why a JWKS could not be fetched or the verifier could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// The builder's settings are unusable (bad URL, HTTP client setup).
    #[error("invalid JWKS verifier configuration: {0}")]
    Config(String),
    /// The request failed (connection, timeout, body read).
    #[error("JWKS request failed: {0}")]
    Request(String),
    /// The endpoint answered with a non-2xx status.
    #[error("JWKS endpoint answered HTTP {0}")]
    Status(u16),
    /// The body is not a JSON object with a `keys` array (or is too large).
    #[error("invalid JWKS document: {0}")]
    InvalidDocument(&'static str),
    /// The document holds no usable RS256 signing key.
    #[error("JWKS document holds no usable RS256 signing key")]
    NoUsableKeys,
}

/// Verifies AuthFort access tokens against the server's published JWKS.
///
/// Cheap to clone (clones share the cache). Build it once per process with
/// [`JwksVerifier::builder`]; see the [module rules](self) for caching and failure handling.
///
/// ```no_run
/// use std::time::Duration;
/// use authfort_verifier::JwksVerifier;
///
/// # async fn demo(token: &str) -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = JwksVerifier::builder("http://auth:8000/.well-known/jwks.json")
///     .issuer("authfort")
///     .cache_ttl(Duration::from_secs(3600))
///     .min_refetch_interval(Duration::from_secs(30))
///     .leeway(Duration::from_secs(2))
///     .http_timeout(Duration::from_secs(10))
///     .build()?;
/// verifier.refresh().await?; // optional: warm the cache at startup
/// let claims = verifier.verify(token).await?;
/// println!("{} has roles {:?}", claims.sub, claims.roles);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct JwksVerifier {
    shared: Arc<Shared>,
}

struct Shared {
    url: reqwest::Url,
    options: VerifyOptions,
    cache_ttl: Duration,
    min_refetch_interval: Duration,
    client: reqwest::Client,
    /// The keyset in service; swapped whole after each successful fetch.
    cached: RwLock<Option<Arc<Cached>>>,
    /// Held while fetching: concurrent callers share one fetch (single flight).
    fetch: tokio::sync::Mutex<FetchLog>,
}

struct Cached {
    verifier: Verifier,
    /// When the request that produced this keyset was sent.
    fetched_at: Instant,
}

#[derive(Default)]
struct FetchLog {
    /// Last fetch caused by an unknown kid.
    last_forced: Option<Instant>,
    /// Last failed fetch (any cause), cleared by a success.
    last_failure: Option<Instant>,
}

impl FetchLog {
    fn within(at: Option<Instant>, interval: Duration) -> bool {
        at.is_some_and(|t| t.elapsed() < interval)
    }
}

impl std::fmt::Debug for JwksVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksVerifier")
            .field("url", &self.shared.url.as_str())
            .field("options", &self.shared.options)
            .field("cache_ttl", &self.shared.cache_ttl)
            .field("min_refetch_interval", &self.shared.min_refetch_interval)
            .finish_non_exhaustive()
    }
}

/// Builder for [`JwksVerifier`].
#[derive(Debug, Clone)]
#[must_use]
pub struct JwksVerifierBuilder {
    url: String,
    issuer: String,
    cache_ttl: Duration,
    min_refetch_interval: Duration,
    leeway: Duration,
    http_timeout: Duration,
}

impl JwksVerifierBuilder {
    /// The expected `iss` (default `"authfort"`, the server's default).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self
    }

    /// How long a fetched keyset is used before it is fetched again (default 1 h).
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// Minimum spacing of refetches caused by unknown kids, and of automatic retries after
    /// a failed fetch (default 30 s).
    pub fn min_refetch_interval(mut self, interval: Duration) -> Self {
        self.min_refetch_interval = interval;
        self
    }

    /// Clock leeway for `exp`, `iat` and `nbf` (default zero, like AuthFort; whole seconds,
    /// at most 60 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Timeout of one JWKS request (default 10 s).
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// Builds the verifier. Nothing is fetched yet.
    ///
    /// # Errors
    /// [`JwksError::Config`] if the URL is not an absolute `http`/`https` URL or the HTTP
    /// client cannot be set up.
    pub fn build(self) -> Result<JwksVerifier, JwksError> {
        let url = reqwest::Url::parse(&self.url).map_err(|e| JwksError::Config(format!("JWKS URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(JwksError::Config("JWKS URL must be http or https".into()));
        }
        let client = reqwest::Client::builder()
            .timeout(self.http_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| JwksError::Config(format!("HTTP client: {e}")))?;
        Ok(JwksVerifier {
            shared: Arc::new(Shared {
                url,
                options: VerifyOptions::new(self.issuer).leeway(self.leeway.as_secs()),
                cache_ttl: self.cache_ttl,
                min_refetch_interval: self.min_refetch_interval,
                client,
                cached: RwLock::new(None),
                fetch: tokio::sync::Mutex::new(FetchLog::default()),
            }),
        })
    }
}

impl JwksVerifier {
    /// Starts building a verifier for the JWKS at `url` (the server's
    /// `http(s)://<host>/.well-known/jwks.json`).
    pub fn builder(url: impl Into<String>) -> JwksVerifierBuilder {
        JwksVerifierBuilder {
            url: url.into(),
            issuer: "authfort".into(),
            cache_ttl: DEFAULT_CACHE_TTL,
            min_refetch_interval: DEFAULT_MIN_REFETCH_INTERVAL,
            leeway: Duration::ZERO,
            http_timeout: DEFAULT_HTTP_TIMEOUT,
        }
    }

    /// The JWKS URL.
    pub fn url(&self) -> &str {
        self.shared.url.as_str()
    }

    /// Verifies a token, fetching the keyset first if needed.
    ///
    /// A token whose header is malformed or lacks a `kid` is refused without any network
    /// traffic.
    ///
    /// # Errors
    /// As [`Verifier::verify`], plus [`VerifyError::KeysUnavailable`] when no keyset has
    /// ever been fetched successfully.
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        let kid = Verifier::kid_of(token)?;
        let started = Instant::now();
        let mut cached = self.current();
        if cached
            .as_ref()
            .is_none_or(|c| c.fetched_at.elapsed() >= self.shared.cache_ttl)
        {
            cached = self.refresh_stale(cached).await;
        }
        let Some(mut cached) = cached else {
            return Err(VerifyError::KeysUnavailable);
        };
        // A keyset requested after this verification began already knows every key the
        // token could have been signed with.
        if !cached.verifier.has_kid(&kid) && cached.fetched_at < started {
            cached = self.refetch_for_unknown_kid(cached, started).await;
        }
        cached.verifier.verify(token)
    }

    /// Fetches the keyset now, regardless of the cache and of the refetch interval (use it
    /// to warm the cache at startup or after you know the server rotated its key).
    ///
    /// # Errors
    /// Why the fetch failed; the previous keyset (if any) stays in service.
    pub async fn refresh(&self) -> Result<(), JwksError> {
        let mut log = self.shared.fetch.lock().await;
        self.fetch_and_store(&mut log).await.map(|_| ())
    }

    /// The kids currently cached (empty before the first successful fetch).
    pub fn cached_kids(&self) -> Vec<String> {
        self.current()
            .map(|c| c.verifier.kids().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    fn current(&self) -> Option<Arc<Cached>> {
        self.shared.cached.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The cache is missing or past its TTL: fetch (once for all concurrent callers),
    /// unless a fetch failed recently. While a stale keyset exists, callers do not queue
    /// behind a fetch in progress; they use the stale keys.
    async fn refresh_stale(&self, seen: Option<Arc<Cached>>) -> Option<Arc<Cached>> {
        let mut log = match (self.shared.fetch.try_lock(), &seen) {
            (Ok(log), _) => log,
            (Err(_), Some(_)) => return seen,
            (Err(_), None) => self.shared.fetch.lock().await,
        };
        let current = self.current();
        if !same(&current, &seen) || FetchLog::within(log.last_failure, self.shared.min_refetch_interval) {
            return current;
        }
        self.fetch_and_store(&mut log).await.ok().or(current)
    }

    /// A kid we do not know: maybe the server rotated. Refetch, at most once per interval.
    async fn refetch_for_unknown_kid(&self, seen: Arc<Cached>, started: Instant) -> Arc<Cached> {
        let mut log = self.shared.fetch.lock().await;
        let Some(current) = self.current() else {
            return seen;
        };
        let interval = self.shared.min_refetch_interval;
        if !Arc::ptr_eq(&current, &seen)
            || current.fetched_at >= started
            || FetchLog::within(log.last_forced, interval)
            || FetchLog::within(log.last_failure, interval)
        {
            return current;
        }
        log.last_forced = Some(Instant::now());
        self.fetch_and_store(&mut log).await.unwrap_or(current)
    }

    async fn fetch_and_store(&self, log: &mut FetchLog) -> Result<Arc<Cached>, JwksError> {
        let sent = Instant::now();
        match self.fetch().await {
            Ok(verifier) => {
                let fresh = Arc::new(Cached {
                    verifier,
                    fetched_at: sent,
                });
                *self.shared.cached.write().unwrap_or_else(|p| p.into_inner()) = Some(fresh.clone());
                log.last_failure = None;
                Ok(fresh)
            }
            Err(e) => {
                tracing::warn!(url = %self.shared.url, error = %e, "JWKS fetch failed; keeping the last good keyset");
                log.last_failure = Some(Instant::now());
                Err(e)
            }
        }
    }

    async fn fetch(&self) -> Result<Verifier, JwksError> {
        let mut response = self
            .shared
            .client
            .get(self.shared.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| JwksError::Request(e.to_string()))?;
        if !response.status().is_success() {
            return Err(JwksError::Status(response.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| JwksError::Request(e.to_string()))? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(JwksError::InvalidDocument("larger than 1 MiB"));
            }
            body.extend_from_slice(&chunk);
        }
        let document: Value = serde_json::from_slice(&body).map_err(|_| JwksError::InvalidDocument("not JSON"))?;
        let entries = document
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(JwksError::InvalidDocument("not an object with a `keys` array"))?;
        let keys = decoding_keys(entries);
        if keys.is_empty() {
            return Err(JwksError::NoUsableKeys);
        }
        Ok(Verifier::with_options(keys, self.shared.options.clone()))
    }
}

fn same(a: &Option<Arc<Cached>>, b: &Option<Arc<Cached>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

impl TokenVerifier for JwksVerifier {
    fn verify_token<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        Box::pin(self.verify(token))
    }
}
