//! Rate limiting: limits, buckets, the [`RateLimitStore`] trait and its two stores.
//!
//! A hit on a key (`ip:<ip>:<bucket>` or `email:<address>:<bucket>`) is counted in a
//! sliding-window log: the hits of the last window are kept, a hit is allowed while fewer
//! than `max_requests` remain, and a refused hit is not recorded. The HTTP layer calls
//! [`crate::AuthFort::rate_limit`]; programmatic calls are never limited.
//!
//! * [`MemoryRateLimitStore`]: one process, bounded memory, time from the injected [`Clock`].
//! * [`RedisRateLimitStore`]: shared by every process through Redis, one atomic Lua script
//!   per hit, time from the Redis server (one clock for all processes). It fails closed: when
//!   Redis cannot be reached a hit is an error (the HTTP layer answers 503), and the
//!   connection manager reconnects by itself when Redis is back.
//!
//! ```
//! # async fn demo() {
//! use std::sync::Arc;
//! use authfort_core::clock::SystemClock;
//! use authfort_core::rate_limit::{MemoryRateLimitStore, RateLimit, RateLimitStore};
//!
//! let store = MemoryRateLimitStore::new(Arc::new(SystemClock));
//! let limit = RateLimit::parse("3/min").unwrap();
//! let hit = store.hit("ip:203.0.113.7:login", limit).await.unwrap();
//! assert!(hit.allowed);
//! assert_eq!(hit.remaining, 2);
//! # }
//! ```

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::Clock;

/// A limit: at most `max_requests` hits per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Hits allowed per window (at least 1).
    pub max_requests: u32,
    /// The window.
    pub window: Duration,
}

impl RateLimit {
    /// Parses `"<count>/<period>"` as the reference does: whitespace around the parts is
    /// tolerated, the period is case-insensitive (`sec|second|seconds`, `min|minute|minutes`,
    /// `hour|hours`, `day|days`) and the count a positive integer.
    ///
    /// # Errors
    /// The reference's messages: `Invalid rate limit format`, `Invalid rate limit count`,
    /// `Rate limit count must be positive`, `Unknown rate limit period`.
    pub fn parse(s: &str) -> Result<RateLimit, String> {
        let Some((count, period)) = s.split_once('/') else {
            return Err(format!(
                "Invalid rate limit format: {s:?} (expected \"<count>/<period>\", e.g. \"5/min\")"
            ));
        };
        let count: i64 = count
            .trim()
            .parse()
            .map_err(|_| format!("Invalid rate limit count: {:?}", count.trim()))?;
        if count <= 0 {
            return Err(format!("Rate limit count must be positive, got {count}"));
        }
        let max_requests =
            u32::try_from(count).map_err(|_| format!("Invalid rate limit count: {count} is too large"))?;
        let seconds = match period.trim().to_ascii_lowercase().as_str() {
            "sec" | "second" | "seconds" => 1,
            "min" | "minute" | "minutes" => 60,
            "hour" | "hours" => 3_600,
            "day" | "days" => 86_400,
            other => {
                return Err(format!(
                    "Unknown rate limit period: {other:?} (use sec, min, hour or day)"
                ))
            }
        };
        Ok(RateLimit {
            max_requests,
            window: Duration::from_secs(seconds),
        })
    }
}

/// The rate-limited operations; each has its own counters and its own `rate_limit.<name>` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Bucket {
    /// `login`
    Login,
    /// `signup`
    Signup,
    /// `magic_link`
    MagicLink,
    /// `magic_link_verify`
    MagicLinkVerify,
    /// `otp`
    Otp,
    /// `otp_verify`
    OtpVerify,
    /// `verify_email`
    VerifyEmail,
    /// `refresh`
    Refresh,
    /// `oauth_authorize`
    OauthAuthorize,
    /// `mfa_verify`
    MfaVerify,
    /// `password_forgot`
    PasswordForgot,
    /// `password_reset`
    PasswordReset,
    /// `verify_email_resend`
    VerifyEmailResend,
    /// `password_change`
    PasswordChange,
}

impl Bucket {
    /// Every bucket.
    pub const ALL: &'static [Bucket] = &[
        Bucket::Login,
        Bucket::Signup,
        Bucket::MagicLink,
        Bucket::MagicLinkVerify,
        Bucket::Otp,
        Bucket::OtpVerify,
        Bucket::VerifyEmail,
        Bucket::Refresh,
        Bucket::OauthAuthorize,
        Bucket::MfaVerify,
        Bucket::PasswordForgot,
        Bucket::PasswordReset,
        Bucket::VerifyEmailResend,
        Bucket::PasswordChange,
    ];

    /// The name used in keys, events and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Login => "login",
            Bucket::Signup => "signup",
            Bucket::MagicLink => "magic_link",
            Bucket::MagicLinkVerify => "magic_link_verify",
            Bucket::Otp => "otp",
            Bucket::OtpVerify => "otp_verify",
            Bucket::VerifyEmail => "verify_email",
            Bucket::Refresh => "refresh",
            Bucket::OauthAuthorize => "oauth_authorize",
            Bucket::MfaVerify => "mfa_verify",
            Bucket::PasswordForgot => "password_forgot",
            Bucket::PasswordReset => "password_reset",
            Bucket::VerifyEmailResend => "verify_email_resend",
            Bucket::PasswordChange => "password_change",
        }
    }
}

/// What a key is counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateKey<'a> {
    /// The client IP (`None`: unknown, counted as `unknown`).
    Ip(Option<&'a str>),
    /// The email as submitted (trimmed and lower-cased for the key, nothing else).
    Email(&'a str),
}

/// Longest email kept verbatim in a key; longer (necessarily invalid) input is hashed so a
/// key stays small whatever the body holds.
const MAX_EMAIL_IN_KEY: usize = 320;

impl RateKey<'_> {
    /// `ip` or `email`.
    pub fn key_type(&self) -> &'static str {
        match self {
            RateKey::Ip(_) => "ip",
            RateKey::Email(_) => "email",
        }
    }

    /// The store key: `ip:<ip>:<bucket>` or `email:<lower(trim(email))>:<bucket>`.
    pub fn key(&self, bucket: Bucket) -> String {
        match self {
            RateKey::Ip(ip) => format!("ip:{}:{}", ip.unwrap_or("unknown"), bucket.as_str()),
            RateKey::Email(raw) => {
                let email = raw.trim().to_lowercase();
                if email.len() > MAX_EMAIL_IN_KEY {
                    use sha2::Digest;
                    let digest = hex::encode(sha2::Sha256::digest(email.as_bytes()));
                    format!("email:sha256={digest}:{}", bucket.as_str())
                } else {
                    format!("email:{email}:{}", bucket.as_str())
                }
            }
        }
    }
}

/// The answer to one hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Whether the hit is allowed (and was recorded).
    pub allowed: bool,
    /// Hits left in the window after this one.
    pub remaining: u32,
    /// When refused: how long until the oldest hit leaves the window. Zero when allowed.
    pub retry_after: Duration,
}

impl Hit {
    /// The `Retry-After` value: whole seconds until a slot frees, plus one.
    pub fn retry_after_header(&self) -> u64 {
        self.retry_after.as_secs() + 1
    }
}

/// The store could not answer (fail closed: treat the request as refused).
#[derive(Debug, Clone, thiserror::Error)]
#[error("rate-limit store unavailable: {0}")]
pub struct StoreUnavailable(pub String);

/// Where hits are counted.
#[async_trait::async_trait]
pub trait RateLimitStore: Send + Sync + 'static {
    /// Counts a hit on `key` under `limit`; a refused hit is not recorded.
    ///
    /// # Errors
    /// [`StoreUnavailable`] when the store cannot be reached.
    async fn hit(&self, key: &str, limit: RateLimit) -> Result<Hit, StoreUnavailable>;

    /// Forgets the hits of `key`, or of every key when `None`.
    ///
    /// # Errors
    /// [`StoreUnavailable`] when the store cannot be reached.
    async fn reset(&self, key: Option<&str>) -> Result<(), StoreUnavailable>;
}

/// Default cap on the number of keys the memory store keeps.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// A sliding-window log per key in this process's memory.
///
/// Memory is bounded: a key whose window has emptied is dropped, and when `max_keys` keys
/// are live the least recently hit tenth is evicted (their counters restart), so a flood of
/// distinct keys cannot exhaust memory. Time comes from the injected [`Clock`].
pub struct MemoryRateLimitStore {
    clock: Arc<dyn Clock>,
    max_keys: usize,
    state: Mutex<HashMap<String, Log>>,
}

struct Log {
    /// Hit instants, microseconds since the epoch, oldest first.
    hits: VecDeque<i64>,
    window_us: i64,
}

impl Log {
    fn prune(&mut self, now: i64) {
        while self.hits.front().is_some_and(|&t| t <= now - self.window_us) {
            self.hits.pop_front();
        }
    }
    fn last(&self) -> i64 {
        self.hits.back().copied().unwrap_or(i64::MIN)
    }
}

impl std::fmt::Debug for MemoryRateLimitStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryRateLimitStore")
            .field("max_keys", &self.max_keys)
            .field("keys", &self.len())
            .finish()
    }
}

fn micros(clock: &dyn Clock) -> i64 {
    i64::try_from(clock.now().unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

fn window_micros(window: Duration) -> i64 {
    i64::try_from(window.as_micros()).unwrap_or(i64::MAX).max(1)
}

impl MemoryRateLimitStore {
    /// A store reading time from `clock`, keeping at most [`DEFAULT_MAX_KEYS`] keys.
    pub fn new(clock: Arc<dyn Clock>) -> MemoryRateLimitStore {
        Self::with_max_keys(clock, DEFAULT_MAX_KEYS)
    }

    /// A store keeping at most `max_keys` keys (at least 1).
    pub fn with_max_keys(clock: Arc<dyn Clock>, max_keys: usize) -> MemoryRateLimitStore {
        MemoryRateLimitStore {
            clock,
            max_keys: max_keys.max(1),
            state: Mutex::new(HashMap::new()),
        }
    }

    /// How many keys are held now.
    pub fn len(&self) -> usize {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The hit, synchronously (the store never waits on anything but its lock).
    pub fn hit_now(&self, key: &str, limit: RateLimit) -> Hit {
        let now = micros(self.clock.as_ref());
        let window_us = window_micros(limit.window);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if !state.contains_key(key) && state.len() >= self.max_keys {
            make_room(&mut state, now, self.max_keys);
        }
        let log = state.entry(key.to_owned()).or_insert_with(|| Log {
            hits: VecDeque::new(),
            window_us,
        });
        log.window_us = window_us;
        log.prune(now);
        let max = limit.max_requests as usize;
        if log.hits.len() >= max {
            let oldest = log.hits.front().copied().unwrap_or(now);
            let wait_us = (oldest + window_us - now).max(0);
            return Hit {
                allowed: false,
                remaining: 0,
                retry_after: Duration::from_micros(u64::try_from(wait_us).unwrap_or(0)),
            };
        }
        log.hits.push_back(now);
        Hit {
            allowed: true,
            remaining: u32::try_from(max - log.hits.len()).unwrap_or(0),
            retry_after: Duration::ZERO,
        }
    }
}

/// Drops every key whose window has emptied; if that is not enough, the least recently hit tenth.
fn make_room(state: &mut HashMap<String, Log>, now: i64, max_keys: usize) {
    state.retain(|_, log| {
        log.prune(now);
        !log.hits.is_empty()
    });
    if state.len() < max_keys {
        return;
    }
    let evict = (max_keys / 10).max(1).min(state.len());
    let mut lasts: Vec<i64> = state.values().map(Log::last).collect();
    let (_, cutoff, _) = lasts.select_nth_unstable(evict - 1);
    let cutoff = *cutoff;
    let mut left = evict;
    state.retain(|_, log| {
        if left > 0 && log.last() <= cutoff {
            left -= 1;
            false
        } else {
            true
        }
    });
}

#[async_trait::async_trait]
impl RateLimitStore for MemoryRateLimitStore {
    async fn hit(&self, key: &str, limit: RateLimit) -> Result<Hit, StoreUnavailable> {
        Ok(self.hit_now(key, limit))
    }

    async fn reset(&self, key: Option<&str>) -> Result<(), StoreUnavailable> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match key {
            Some(k) => {
                state.remove(k);
            }
            None => state.clear(),
        }
        Ok(())
    }
}

/// The key prefix of the Redis store.
pub const REDIS_KEY_PREFIX: &str = "authfort:rl:";

/// One hit, atomically: drop hits older than the window, count, record if under the limit.
/// Time is the Redis server's, so every process shares one clock.
/// Returns `{allowed, remaining, retry_after_us}`.
const HIT_SCRIPT: &str = r"
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local max = tonumber(ARGV[1])
if count < max then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
  return {1, max - count - 1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now
if wait < 0 then wait = 0 end
return {0, 0, wait}
";

/// How long one hit may take before the store counts as unavailable.
const REDIS_HIT_TIMEOUT: Duration = Duration::from_secs(2);

/// Sliding-window logs in Redis sorted sets (`authfort:rl:<key>`), shared by every process.
///
/// Connects lazily and reconnects by itself; while Redis is unreachable every hit is a
/// [`StoreUnavailable`] error (fail closed).
pub struct RedisRateLimitStore {
    manager: redis::aio::ConnectionManager,
    prefix: String,
    script: redis::Script,
}

impl std::fmt::Debug for RedisRateLimitStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRateLimitStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisRateLimitStore {
    /// A store for `url` with the default prefix. It does not connect yet (a Redis that is
    /// down at start-up only makes the limited endpoints answer 503 until it is up).
    ///
    /// # Errors
    /// [`StoreUnavailable`] for a malformed URL. Must run inside a Tokio runtime.
    pub fn new(url: &str) -> Result<RedisRateLimitStore, StoreUnavailable> {
        Self::with_prefix(url, REDIS_KEY_PREFIX)
    }

    /// Same as [`RedisRateLimitStore::new`] with another key prefix (tests, several
    /// independent deployments on one Redis).
    ///
    /// # Errors
    /// [`StoreUnavailable`] for a malformed URL.
    pub fn with_prefix(url: &str, prefix: &str) -> Result<RedisRateLimitStore, StoreUnavailable> {
        let client = redis::Client::open(url).map_err(|e| StoreUnavailable(e.to_string()))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200));
        let manager = redis::aio::ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| StoreUnavailable(e.to_string()))?;
        Ok(RedisRateLimitStore {
            manager,
            prefix: prefix.to_owned(),
            script: redis::Script::new(HIT_SCRIPT),
        })
    }

    async fn run_hit(&self, key: &str, limit: RateLimit) -> redis::RedisResult<(i64, i64, i64)> {
        let mut conn = self.manager.clone();
        let member = uuid::Uuid::new_v4().simple().to_string();
        self.script
            .key(format!("{}{key}", self.prefix))
            .arg(limit.max_requests)
            .arg(window_micros(limit.window))
            .arg(member)
            .invoke_async(&mut conn)
            .await
    }
}

#[async_trait::async_trait]
impl RateLimitStore for RedisRateLimitStore {
    async fn hit(&self, key: &str, limit: RateLimit) -> Result<Hit, StoreUnavailable> {
        let (allowed, remaining, wait_us) = tokio::time::timeout(REDIS_HIT_TIMEOUT, self.run_hit(key, limit))
            .await
            .map_err(|_| StoreUnavailable("redis timed out".into()))?
            .map_err(|e| StoreUnavailable(e.to_string()))?;
        Ok(Hit {
            allowed: allowed == 1,
            remaining: u32::try_from(remaining).unwrap_or(0),
            retry_after: Duration::from_micros(u64::try_from(wait_us).unwrap_or(0)),
        })
    }

    async fn reset(&self, key: Option<&str>) -> Result<(), StoreUnavailable> {
        let mut conn = self.manager.clone();
        let result: redis::RedisResult<()> = match key {
            Some(k) => redis::cmd("DEL")
                .arg(format!("{}{k}", self.prefix))
                .query_async(&mut conn)
                .await
                .map(|_: i64| ()),
            None => {
                let pattern = format!("{}*", self.prefix);
                let mut cursor: u64 = 0;
                loop {
                    let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(500)
                        .query_async(&mut conn)
                        .await
                        .map_err(|e| StoreUnavailable(e.to_string()))?;
                    if !keys.is_empty() {
                        let _: i64 = redis::cmd("DEL")
                            .arg(keys)
                            .query_async(&mut conn)
                            .await
                            .map_err(|e| StoreUnavailable(e.to_string()))?;
                    }
                    if next == 0 {
                        break Ok(());
                    }
                    cursor = next;
                }
            }
        };
        result.map_err(|e| StoreUnavailable(e.to_string()))
    }
}

/// The configured limits and the store they count in.
pub struct RateLimiter {
    store: Arc<dyn RateLimitStore>,
    limits: HashMap<Bucket, (RateLimit, String)>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Why a rate-limited request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Throttled {
    /// Over the limit: answer 429 with this `Retry-After`.
    Exceeded {
        /// Seconds for `Retry-After`.
        retry_after: u64,
    },
    /// The store cannot answer: fail closed (503).
    Unavailable,
}

impl RateLimiter {
    /// Limits from `config` (already validated; unparsable or empty entries are off).
    pub fn new(config: &crate::config::RateLimitConfig, store: Arc<dyn RateLimitStore>) -> RateLimiter {
        let limits = Bucket::ALL
            .iter()
            .filter_map(|b| {
                let text = config.limit_of(*b)?;
                Some((*b, (RateLimit::parse(text).ok()?, text.to_owned())))
            })
            .collect();
        RateLimiter { store, limits }
    }

    /// The limit of `bucket` and its configured text, if the bucket is limited.
    pub fn limit(&self, bucket: Bucket) -> Option<(RateLimit, &str)> {
        self.limits.get(&bucket).map(|(l, s)| (*l, s.as_str()))
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn RateLimitStore> {
        &self.store
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn limit(s: &str) -> RateLimit {
        RateLimit::parse(s).unwrap()
    }

    #[test]
    fn limits_parse_like_the_reference() {
        assert_eq!(
            limit(" 5 / MIN "),
            RateLimit {
                max_requests: 5,
                window: Duration::from_secs(60)
            }
        );
        for (s, secs) in [
            ("1/sec", 1),
            ("1/seconds", 1),
            ("1/minutes", 60),
            ("1/hour", 3600),
            ("1/days", 86400),
        ] {
            assert_eq!(limit(s).window, Duration::from_secs(secs), "{s}");
        }
        assert!(RateLimit::parse("5").unwrap_err().contains("Invalid rate limit format"));
        assert!(RateLimit::parse("five/min")
            .unwrap_err()
            .contains("Invalid rate limit count"));
        assert!(RateLimit::parse("0/min").unwrap_err().contains("must be positive"));
        assert!(RateLimit::parse("5/week")
            .unwrap_err()
            .contains("Unknown rate limit period"));
    }

    #[test]
    fn keys_follow_the_reference() {
        assert_eq!(
            RateKey::Ip(Some("203.0.113.7")).key(Bucket::Login),
            "ip:203.0.113.7:login"
        );
        assert_eq!(RateKey::Ip(None).key(Bucket::Refresh), "ip:unknown:refresh");
        assert_eq!(
            RateKey::Email("  Alice@Example.COM ").key(Bucket::MagicLink),
            "email:alice@example.com:magic_link"
        );
        let long = "a".repeat(5000);
        assert!(RateKey::Email(&long).key(Bucket::Login).len() < 100);
    }

    #[test]
    fn sliding_window_log() {
        let clock = Arc::new(ManualClock::starting_now());
        let store = MemoryRateLimitStore::new(clock.clone());
        let three = limit("3/min");
        let first = store.hit_now("k", three);
        assert_eq!(
            (first.allowed, first.remaining, first.retry_after),
            (true, 2, Duration::ZERO)
        );
        clock.advance(time::Duration::seconds(20));
        assert!(store.hit_now("k", three).allowed);
        clock.advance(time::Duration::seconds(20));
        assert_eq!(store.hit_now("k", three).remaining, 0);
        clock.advance(time::Duration::seconds(10));
        let refused = store.hit_now("k", three);
        assert!(!refused.allowed);
        assert_eq!(
            refused.retry_after,
            Duration::from_secs(10),
            "the oldest hit leaves at 60 s"
        );
        assert_eq!(refused.retry_after_header(), 11);
        // Refused hits are not recorded: once the first hit leaves, exactly one slot frees.
        for _ in 0..10 {
            assert!(!store.hit_now("k", three).allowed);
        }
        clock.advance(time::Duration::seconds(10));
        assert!(
            store.hit_now("k", three).allowed,
            "a hit exactly one window old has left"
        );
        assert!(!store.hit_now("k", three).allowed);
        assert!(store.hit_now("other", three).allowed, "keys are independent");
    }

    #[test]
    fn memory_stays_bounded() {
        let clock = Arc::new(ManualClock::starting_now());
        let store = MemoryRateLimitStore::with_max_keys(clock.clone(), 100);
        let l = limit("2/min");
        for i in 0..1000 {
            store.hit_now(&format!("ip:{i}:login"), l);
            assert!(store.len() <= 100);
        }
        // Expired windows are swept before anything live is evicted.
        clock.advance(time::Duration::minutes(2));
        store.hit_now("fresh", l);
        assert_eq!(store.len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn exact_under_concurrency() {
        let clock = Arc::new(ManualClock::starting_now());
        let store = Arc::new(MemoryRateLimitStore::new(clock));
        let l = limit("50/min");
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.hit("shared", l).await.unwrap().allowed })
            })
            .collect();
        let mut allowed = 0;
        for t in tasks {
            allowed += usize::from(t.await.unwrap());
        }
        assert_eq!(allowed, 50);
    }

    #[tokio::test]
    async fn reset_forgets() {
        let store = MemoryRateLimitStore::new(Arc::new(ManualClock::starting_now()));
        let l = limit("1/min");
        assert!(store.hit("a", l).await.unwrap().allowed);
        assert!(!store.hit("a", l).await.unwrap().allowed);
        store.reset(Some("a")).await.unwrap();
        assert!(store.hit("a", l).await.unwrap().allowed);
        store.reset(None).await.unwrap();
        assert!(store.is_empty());
    }
}
