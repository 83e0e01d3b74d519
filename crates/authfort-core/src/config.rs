//! Configuration of an [`crate::AuthFort`] instance.
//!
//! Every option has the reference's default. The struct deserialises from TOML / env
//! (the server layers `authfort.toml` and `AUTHFORT_*` variables over these defaults), and
//! [`AuthConfig::validate`] names the offending key for any invalid value.

use serde::{Deserialize, Serialize};

/// All options of the auth engine. Build one with `AuthConfig::default()` and struct update syntax.
///
/// ```
/// let config = authfort_core::AuthConfig {
///     access_token_ttl_seconds: 600,
///     ..Default::default()
/// };
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// `iss` of every token we sign, and the issuer we require when verifying.
    pub jwt_issuer: String,
    /// Access-token lifetime; also `expires_in` and the access cookie's `Max-Age`.
    pub access_token_ttl_seconds: u64,
    /// Refresh-token lifetime; each rotation gets a fresh full lifetime (sliding).
    pub refresh_token_ttl_seconds: u64,
    /// How long a retired signing key stays in the JWKS after a rotation.
    pub key_rotation_ttl_seconds: u64,
    /// Rotate the signing key automatically once it has signed for `key_rotation_ttl_seconds`
    /// (checked every minute; of several processes on one database exactly one rotates).
    pub auto_rotate_keys: bool,
    /// RSA modulus size for new signing keys (at least 2048).
    pub rsa_key_size: usize,
    /// Whether `POST /auth/signup` is open. The programmatic `create_user` always works.
    pub allow_signup: bool,
    /// Whether a magic link for an unknown address creates the account at verify time.
    pub allow_passwordless_signup: bool,
    /// Minimum password length, in characters.
    pub min_password_length: usize,
    /// Maximum password length, in characters (bounds hashing cost).
    pub max_password_length: usize,
    /// Magic-link lifetime.
    pub magic_link_ttl_seconds: u64,
    /// Lifetime of an email one-time code.
    pub email_otp_ttl_seconds: u64,
    /// Lifetime of an email-verification link.
    pub email_verify_ttl_seconds: u64,
    /// Lifetime of a password-reset link.
    pub password_reset_ttl_seconds: u64,
    /// Email verification.
    pub email_verification: EmailVerificationConfig,
    /// Refuse a new password equal to any of the user's last N passwords (the current one
    /// included); 0 turns the history off and stores nothing.
    pub password_history_count: u32,
    /// The breached-password check (off by default).
    pub pwned_passwords: PwnedPasswordsConfig,
    /// Largest accepted request body, in bytes (larger bodies get 413).
    pub max_body_bytes: usize,
    /// Proxies (IPs or CIDRs) whose `X-Forwarded-For` is trusted for the client IP.
    pub trusted_proxies: Vec<String>,
    /// Password hashing.
    pub password_hashing: PasswordHashingConfig,
    /// Cookie mode.
    pub cookie: CookieConfig,
    /// CORS for browser apps on other origins.
    pub cors: CorsConfig,
    /// The externally visible base URL (`https://auth.example.com`); links are built from it,
    /// never from request headers.
    pub public_url: Option<String>,
    /// Links in emails and redirects after sign-in.
    pub links: LinksConfig,
    /// The browser app's base URL (`https://app.example.com`). Prepended to a relative OAuth
    /// `redirect_to`, and the only origin the OAuth popup page posts its result to. Unset:
    /// relative redirects stay relative and the popup posts to `public_url`'s origin.
    pub frontend_url: Option<String>,
    /// Sign-in with OAuth 2.0 / OpenID Connect providers.
    pub oauth: crate::oauth::OAuthConfig,
    /// Email delivery.
    pub email: EmailConfig,
    /// The admin HTTP API.
    pub admin: AdminConfig,
    /// Per-endpoint request limits by client IP and email (off by default).
    pub rate_limit: RateLimitConfig,
    /// Shared secret for `POST /auth/introspect` (`Authorization: Bearer <secret>`, at least
    /// 16 characters). Unset: the endpoint is off (404); the reference leaves it open instead.
    pub introspect_secret: Option<Secret>,
    /// Server secret (at least 32 characters) keying the HMAC under which email one-time
    /// codes and MFA backup codes are stored, and the encryption of TOTP secrets. It must not live in the database. Unset: email OTP is refused
    /// (the standalone server generates one next to a SQLite database).
    pub secret_key: Option<Secret>,
    /// Issuer label in the TOTP `otpauth://` URI; unset: `jwt_issuer`.
    pub mfa_issuer: Option<String>,
    /// Backup codes generated when MFA is confirmed and on regeneration.
    pub mfa_backup_code_count: u32,
    /// Consecutive failed MFA-login codes before the account's MFA login is locked; 0 turns
    /// the lockout off.
    pub mfa_max_failed_attempts: u32,
    /// How long an MFA lockout lasts.
    pub mfa_lockout_seconds: u64,
}

/// A configured secret: `Debug` prints `***`; [`Secret::expose`] gives the value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    /// The secret itself. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            jwt_issuer: "authfort".into(),
            access_token_ttl_seconds: 900,
            refresh_token_ttl_seconds: 2_592_000,
            key_rotation_ttl_seconds: 172_800,
            auto_rotate_keys: false,
            rsa_key_size: 2048,
            allow_signup: true,
            allow_passwordless_signup: false,
            min_password_length: 8,
            max_password_length: 1024,
            magic_link_ttl_seconds: 600,
            email_otp_ttl_seconds: 300,
            email_verify_ttl_seconds: 86_400,
            password_reset_ttl_seconds: 3_600,
            email_verification: EmailVerificationConfig::default(),
            password_history_count: 0,
            pwned_passwords: PwnedPasswordsConfig::default(),
            max_body_bytes: 64 * 1024,
            trusted_proxies: Vec::new(),
            password_hashing: PasswordHashingConfig::default(),
            cookie: CookieConfig::default(),
            cors: CorsConfig::default(),
            public_url: None,
            links: LinksConfig::default(),
            frontend_url: None,
            oauth: crate::oauth::OAuthConfig::default(),
            email: EmailConfig::default(),
            admin: AdminConfig::default(),
            rate_limit: RateLimitConfig::default(),
            introspect_secret: None,
            secret_key: None,
            mfa_issuer: None,
            mfa_backup_code_count: 10,
            mfa_max_failed_attempts: 5,
            mfa_lockout_seconds: 900,
        }
    }
}

/// Email verification.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailVerificationConfig {
    /// Queue a verification email when someone signs up with a password.
    pub send_on_signup: bool,
}

/// The breached-password check: the k-anonymity range API of Have I Been Pwned (only the
/// first 5 hex characters of the password's SHA-1 leave the server).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PwnedPasswordsConfig {
    /// Check new passwords (signup, reset, change, set).
    pub enabled: bool,
    /// Base URL of the range API; `<base_url>/range/<5 hex>` is fetched.
    pub base_url: String,
    /// When the API cannot answer: accept the password (true) or refuse it as breached.
    pub fail_open: bool,
    /// Timeout of one range request, in milliseconds.
    pub timeout_ms: u64,
}

impl Default for PwnedPasswordsConfig {
    fn default() -> Self {
        PwnedPasswordsConfig {
            enabled: false,
            base_url: "https://api.pwnedpasswords.com".into(),
            fail_open: true,
            timeout_ms: 2_000,
        }
    }
}

/// Argon2id parameters and the size of the hashing pool.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordHashingConfig {
    /// Memory cost in KiB (reference: 65536).
    pub memory_kib: u32,
    /// Time cost (reference: 3).
    pub iterations: u32,
    /// Lanes (reference: 4).
    pub parallelism: u32,
    /// How many hashes may run at once; the rest wait, so a login burst cannot starve the server.
    pub max_concurrent: usize,
}

impl Default for PasswordHashingConfig {
    fn default() -> Self {
        PasswordHashingConfig {
            memory_kib: 65_536,
            iterations: 3,
            parallelism: 4,
            max_concurrent: 2,
        }
    }
}

/// Cookie mode (`enabled = false` means bearer-only: cookies are never set or read).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CookieConfig {
    /// Turns cookie mode on.
    pub enabled: bool,
    /// `Secure` attribute.
    pub secure: bool,
    /// `HttpOnly` attribute.
    pub httponly: bool,
    /// `lax`, `strict` or `none`.
    pub samesite: String,
    /// `Path` of both cookies.
    pub path: String,
    /// `Domain` attribute; omitted when unset.
    pub domain: Option<String>,
    /// Name of the access-token cookie.
    pub access_cookie_name: String,
    /// Name of the refresh-token cookie.
    pub refresh_cookie_name: String,
}

impl Default for CookieConfig {
    fn default() -> Self {
        CookieConfig {
            enabled: false,
            secure: true,
            httponly: true,
            samesite: "lax".into(),
            path: "/".into(),
            domain: None,
            access_cookie_name: "access_token".into(),
            refresh_cookie_name: "refresh_token".into(),
        }
    }
}

/// Cross-origin access for browser apps.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CorsConfig {
    /// Exact origins (`https://app.example.com`) allowed to call with credentials. Empty: no CORS headers.
    pub allowed_origins: Vec<String>,
}

/// Links in emails and where the confirm page goes after sign-in.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LinksConfig {
    /// Template of the magic link; `{token}` is replaced by the token. Default:
    /// `{public_url}/auth/magic-link/confirm#token={token}` (the token in the fragment never
    /// reaches servers, logs or Referer headers). Apps that handle the link themselves use
    /// e.g. `https://myapp.com/auth/magic?token={token}`.
    pub magic_link_url: Option<String>,
    /// Accepted `redirect_to` values: exact origins (`https://app.example.com`, any path on
    /// it) or single-`/` relative paths (`/dashboard`).
    pub allowed_redirects: Vec<String>,
    /// Where the confirm page goes after signing in when the link carries no `redirect_to`;
    /// unset: the page just says you are signed in.
    pub success_redirect: Option<String>,
    /// Template of the email-verification link (`{token}` replaced). Default:
    /// `{public_url}/auth/verify-email/confirm#token={token}`.
    pub verify_email_url: Option<String>,
    /// Template of the password-reset link (`{token}` replaced). Default:
    /// `{public_url}/auth/password/reset/confirm#token={token}`.
    pub password_reset_url: Option<String>,
}

/// Email delivery (through the durable outbox).
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailConfig {
    /// `log` (print to the console; development only), `smtp`, `webhook`, or `none`
    /// (no mail: deliver from your `magic_link_requested`, `email_otp_requested`,
    /// `email_verification_requested` hooks, and the reset token returned to you).
    pub transport: String,
    /// `smtp://host:port` (STARTTLS when offered), `smtps://user:pass@host:port` (implicit TLS),
    /// or `smtp+plain://host:port` (no TLS; local relays and tests only).
    pub smtp_url: Option<String>,
    /// `From:` header.
    pub from: String,
    /// Webhook endpoint receiving `POST` JSON messages.
    pub webhook_url: Option<String>,
    /// HMAC-SHA256 key for the `X-AuthFort-Signature` header.
    pub webhook_secret: Option<String>,
    /// Directory with template overrides: `<kind>.subject`, `<kind>.txt`, `<kind>.html` for the
    /// kinds `magic_link`, `email_verification`, `email_otp` and `password_reset`.
    pub templates_dir: Option<String>,
    /// Attempts before a message is dropped.
    pub max_attempts: u32,
    /// Timeout of one delivery attempt.
    pub timeout_seconds: u64,
    /// How often the worker looks for due messages (it is also woken on every new message).
    pub poll_interval_ms: u64,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            transport: "none".into(),
            smtp_url: None,
            from: "AuthFort <no-reply@localhost>".into(),
            webhook_url: None,
            webhook_secret: None,
            templates_dir: None,
            max_attempts: 8,
            timeout_seconds: 10,
            poll_interval_ms: 1000,
        }
    }
}

impl std::fmt::Debug for EmailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailConfig")
            .field("transport", &self.transport)
            .field("smtp_url", &self.smtp_url.as_ref().map(|u| redact_userinfo(u)))
            .field("from", &self.from)
            .field("webhook_url", &self.webhook_url)
            .field("webhook_secret", &self.webhook_secret.as_ref().map(|_| "***"))
            .field("templates_dir", &self.templates_dir)
            .finish_non_exhaustive()
    }
}

/// The admin HTTP API (`/admin`).
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AdminConfig {
    /// Bearer key for `/admin` (at least 32 characters). Unset: only access tokens whose user
    /// holds the `admin` role can use the admin API.
    pub api_key: Option<String>,
}

impl std::fmt::Debug for AdminConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminConfig")
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Rate limiting of the public endpoints (see [`crate::rate_limit`]).
///
/// Each bucket holds a limit `"<count>/<period>"` (period `sec|second|seconds`,
/// `min|minute|minutes`, `hour|hours`, `day|days`); an empty string or `None` switches
/// that bucket off. Hits are counted per client IP (`ip:<ip>:<bucket>`) and, for endpoints
/// that take an email, per submitted address (`email:<address>:<bucket>`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimitConfig {
    /// Turns rate limiting on.
    pub enabled: bool,
    /// `POST /auth/login` (IP and email).
    pub login: Option<String>,
    /// `POST /auth/signup` (IP and email).
    pub signup: Option<String>,
    /// `POST /auth/magic-link` (IP and email).
    pub magic_link: Option<String>,
    /// `POST /auth/magic-link/verify` (IP).
    pub magic_link_verify: Option<String>,
    /// `POST /auth/otp` and `POST /auth/otp/verify` together, one shared count as in the
    /// reference (IP and email).
    pub otp: Option<String>,
    /// `POST /auth/otp/verify` alone, on top of `otp` (IP and email).
    pub otp_verify: Option<String>,
    /// `POST /auth/verify-email` (IP).
    pub verify_email: Option<String>,
    /// `POST /auth/refresh` (IP).
    pub refresh: Option<String>,
    /// OAuth authorize redirects (IP).
    pub oauth_authorize: Option<String>,
    /// MFA code verification (IP).
    pub mfa_verify: Option<String>,
    /// `POST /auth/password/forgot` (IP and email).
    pub password_forgot: Option<String>,
    /// `POST /auth/password/reset` (IP).
    pub password_reset: Option<String>,
    /// `POST /auth/verify-email/resend` (IP).
    pub verify_email_resend: Option<String>,
    /// `POST /auth/password/change` (IP).
    pub password_change: Option<String>,
    /// `redis://[user:password@]host:port[/db]`: count in Redis, shared by every server
    /// process. Unset: in this process's memory. A secret (may hold a password).
    pub redis_url: Option<String>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        let l = |s: &str| Some(s.to_owned());
        RateLimitConfig {
            enabled: false,
            login: l("5/min"),
            signup: l("3/min"),
            magic_link: l("5/min"),
            magic_link_verify: l("10/min"),
            otp: l("5/min"),
            otp_verify: l("5/min"),
            verify_email: l("5/min"),
            refresh: l("30/min"),
            oauth_authorize: l("10/min"),
            mfa_verify: l("5/min"),
            password_forgot: l("5/min"),
            password_reset: l("5/min"),
            verify_email_resend: l("3/min"),
            password_change: l("5/min"),
            redis_url: None,
        }
    }
}

impl RateLimitConfig {
    /// The configured limit string of `bucket` (`None` when switched off).
    pub fn limit_of(&self, bucket: crate::rate_limit::Bucket) -> Option<&str> {
        use crate::rate_limit::Bucket as B;
        let value = match bucket {
            B::Login => &self.login,
            B::Signup => &self.signup,
            B::MagicLink => &self.magic_link,
            B::MagicLinkVerify => &self.magic_link_verify,
            B::Otp => &self.otp,
            B::OtpVerify => &self.otp_verify,
            B::VerifyEmail => &self.verify_email,
            B::Refresh => &self.refresh,
            B::OauthAuthorize => &self.oauth_authorize,
            B::MfaVerify => &self.mfa_verify,
            B::PasswordForgot => &self.password_forgot,
            B::PasswordReset => &self.password_reset,
            B::VerifyEmailResend => &self.verify_email_resend,
            B::PasswordChange => &self.password_change,
        };
        value.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }

    /// Checks every limit and the Redis URL; errors name `rate_limit.<key>`.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first bad key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for bucket in crate::rate_limit::Bucket::ALL {
            if let Some(limit) = self.limit_of(*bucket) {
                crate::rate_limit::RateLimit::parse(limit)
                    .map_err(|m| bad(&format!("rate_limit.{}", bucket.as_str()), format!("{limit:?}: {m}")))?;
            }
        }
        if let Some(url) = &self.redis_url {
            let u = url::Url::parse(url).map_err(|_| bad("rate_limit.redis_url", "not a URL"))?;
            match u.scheme() {
                "redis" if u.host_str().is_some() => {}
                "redis+unix" | "unix" => {}
                "rediss" => {
                    return Err(bad(
                        "rate_limit.redis_url",
                        "rediss:// (TLS) is not supported by this build; use redis:// over a private network",
                    ))
                }
                _ => return Err(bad("rate_limit.redis_url", "must be redis://host:port[/db]")),
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for RateLimitConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("RateLimitConfig");
        d.field("enabled", &self.enabled);
        for bucket in crate::rate_limit::Bucket::ALL {
            d.field(bucket.as_str(), &self.limit_of(*bucket));
        }
        d.field("redis_url", &self.redis_url.as_ref().map(|_| "***")).finish()
    }
}

/// `scheme://user:***@host…` for display.
pub fn redact_userinfo(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// An invalid configuration value, naming its key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration value for `{key}`: {message}")]
pub struct ConfigError {
    /// The dotted key, e.g. `cookie.samesite`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

fn bad(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.into(),
        message: message.into(),
    }
}

impl AuthConfig {
    /// Checks every value; the error names the first bad key.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the key and the problem.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.jwt_issuer.trim().is_empty() {
            return Err(bad("jwt_issuer", "must not be empty"));
        }
        for (key, v) in [
            ("access_token_ttl_seconds", self.access_token_ttl_seconds),
            ("refresh_token_ttl_seconds", self.refresh_token_ttl_seconds),
            ("key_rotation_ttl_seconds", self.key_rotation_ttl_seconds),
            ("magic_link_ttl_seconds", self.magic_link_ttl_seconds),
            ("email_otp_ttl_seconds", self.email_otp_ttl_seconds),
            ("email_verify_ttl_seconds", self.email_verify_ttl_seconds),
            ("password_reset_ttl_seconds", self.password_reset_ttl_seconds),
        ] {
            if v == 0 || v > 10 * 365 * 86_400 {
                return Err(bad(key, "must be between 1 second and 10 years"));
            }
        }
        if self.access_token_ttl_seconds >= self.key_rotation_ttl_seconds {
            return Err(bad(
                "access_token_ttl_seconds",
                "must be shorter than key_rotation_ttl_seconds, or tokens outlive their key",
            ));
        }
        if !(2048..=8192).contains(&self.rsa_key_size) {
            return Err(bad("rsa_key_size", "must be between 2048 and 8192"));
        }
        if self.min_password_length == 0 {
            return Err(bad("min_password_length", "must be at least 1"));
        }
        if self.max_password_length < self.min_password_length.max(64) {
            return Err(bad(
                "max_password_length",
                "must be at least 64 and at least min_password_length",
            ));
        }
        if self.max_body_bytes < 1024 {
            return Err(bad("max_body_bytes", "must be at least 1024"));
        }
        self.trusted_proxy_networks()?;
        let h = &self.password_hashing;
        if argon2::Params::new(h.memory_kib, h.iterations, h.parallelism, None).is_err() {
            return Err(bad("password_hashing", "not valid argon2 parameters"));
        }
        if h.max_concurrent == 0 {
            return Err(bad("password_hashing.max_concurrent", "must be at least 1"));
        }
        let c = &self.cookie;
        match c.samesite.as_str() {
            "lax" | "strict" => {}
            "none" if !c.secure => {
                return Err(bad("cookie.samesite", "`none` requires cookie.secure = true"));
            }
            "none" => {}
            _ => return Err(bad("cookie.samesite", "must be one of lax, strict, none")),
        }
        if !c.path.starts_with('/') {
            return Err(bad("cookie.path", "must start with /"));
        }
        for (key, name) in [
            ("cookie.access_cookie_name", &c.access_cookie_name),
            ("cookie.refresh_cookie_name", &c.refresh_cookie_name),
        ] {
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(bad(key, "must be a non-empty token of letters, digits, _ or -"));
            }
        }
        if c.access_cookie_name == c.refresh_cookie_name {
            return Err(bad(
                "cookie.refresh_cookie_name",
                "must differ from cookie.access_cookie_name",
            ));
        }
        if self.introspect_secret.as_ref().is_some_and(|k| k.expose().len() < 16) {
            return Err(bad("introspect_secret", "must be at least 16 characters"));
        }
        if self.secret_key.as_ref().is_some_and(|k| k.expose().len() < 32) {
            return Err(bad("secret_key", "must be at least 32 characters"));
        }
        if self
            .mfa_issuer
            .as_ref()
            .is_some_and(|i| i.trim().is_empty() || i.contains(':'))
        {
            return Err(bad("mfa_issuer", "must be non-empty and contain no colon"));
        }
        if self.mfa_backup_code_count == 0 || self.mfa_backup_code_count > 100 {
            return Err(bad("mfa_backup_code_count", "must be between 1 and 100"));
        }
        if self.mfa_lockout_seconds == 0 || self.mfa_lockout_seconds > 30 * 86_400 {
            return Err(bad("mfa_lockout_seconds", "must be between 1 second and 30 days"));
        }
        if self.password_history_count > 24 {
            return Err(bad("password_history_count", "must be between 0 and 24"));
        }
        let p = &self.pwned_passwords;
        crate::links::absolute_http(&p.base_url).map_err(|m| bad("pwned_passwords.base_url", m))?;
        if p.timeout_ms == 0 || p.timeout_ms > 60_000 {
            return Err(bad("pwned_passwords.timeout_ms", "must be between 1 and 60000"));
        }
        if self.admin.api_key.as_deref().is_some_and(|k| k.len() < 32) {
            return Err(bad("admin.api_key", "must be at least 32 characters"));
        }
        self.validate_links()?;
        self.validate_oauth()?;
        self.validate_email()?;
        self.rate_limit.validate()?;
        for origin in &self.cors.allowed_origins {
            check_origin(origin).map_err(|m| bad("cors.allowed_origins", format!("{origin:?}: {m}")))?;
        }
        Ok(())
    }

    /// The parsed `trusted_proxies`.
    ///
    /// # Errors
    /// Names `trusted_proxies` when an entry is neither an IP nor a CIDR.
    pub fn trusted_proxy_networks(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        self.trusted_proxies
            .iter()
            .map(|s| {
                let s = s.trim();
                s.parse::<ipnet::IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map(|n| n.trunc())
                    .map_err(|_| bad("trusted_proxies", format!("{s:?} is not an IP address or CIDR")))
            })
            .collect()
    }
}

impl AuthConfig {
    fn validate_links(&self) -> Result<(), ConfigError> {
        if let Some(p) = &self.public_url {
            let u = url::Url::parse(p).map_err(|_| bad("public_url", "not a URL"))?;
            if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
                return Err(bad("public_url", "must be an http(s) URL"));
            }
            if u.query().is_some() || u.fragment().is_some() {
                return Err(bad("public_url", "must not have a query or fragment"));
            }
        }
        for (key, template) in [
            ("links.magic_link_url", &self.links.magic_link_url),
            ("links.verify_email_url", &self.links.verify_email_url),
            ("links.password_reset_url", &self.links.password_reset_url),
        ] {
            let Some(t) = template else { continue };
            if !t.contains("{token}") {
                return Err(bad(key, "must contain {token}"));
            }
            let probe = t.replace("{token}", "x");
            let u = url::Url::parse(&probe).map_err(|_| bad(key, "not an absolute URL"))?;
            if !matches!(u.scheme(), "http" | "https") {
                return Err(bad(key, "must be an http(s) URL"));
            }
        }
        for entry in &self.links.allowed_redirects {
            crate::links::check_allowed_entry(entry)
                .map_err(|m| bad("links.allowed_redirects", format!("{entry:?}: {m}")))?;
        }
        if let Some(s) = &self.links.success_redirect {
            crate::links::check_allowed_entry(s)
                .or_else(|_| crate::links::absolute_http(s).map(|_| ()))
                .map_err(|m| bad("links.success_redirect", m))?;
        }
        Ok(())
    }

    fn validate_oauth(&self) -> Result<(), ConfigError> {
        if let Some(f) = &self.frontend_url {
            check_origin_or_base(f).map_err(|m| bad("frontend_url", m))?;
        }
        self.oauth
            .validate(self.public_url.is_some())
            .map_err(|(key, message)| bad(&key, message))
    }

    fn validate_email(&self) -> Result<(), ConfigError> {
        let e = &self.email;
        match e.transport.as_str() {
            "none" => return Ok(()),
            "log" => {}
            "smtp" => {
                let url = e
                    .smtp_url
                    .as_deref()
                    .ok_or_else(|| bad("email.smtp_url", "required when email.transport = smtp"))?;
                let u = url::Url::parse(url).map_err(|_| bad("email.smtp_url", "not a URL"))?;
                if !matches!(u.scheme(), "smtp" | "smtps" | "smtp+plain") || u.host_str().is_none() {
                    return Err(bad(
                        "email.smtp_url",
                        "must be smtp://host:port, smtps://… or smtp+plain://…",
                    ));
                }
                if e.from.parse::<lettre::message::Mailbox>().is_err() {
                    return Err(bad(
                        "email.from",
                        "not a valid mailbox (e.g. `AuthFort <no-reply@example.com>`)",
                    ));
                }
            }
            "webhook" => {
                let url = e
                    .webhook_url
                    .as_deref()
                    .ok_or_else(|| bad("email.webhook_url", "required when email.transport = webhook"))?;
                crate::links::absolute_http(url).map_err(|m| bad("email.webhook_url", m))?;
                if e.webhook_secret.as_deref().is_none_or(|s| s.len() < 16) {
                    return Err(bad(
                        "email.webhook_secret",
                        "required (at least 16 characters) for the webhook transport",
                    ));
                }
            }
            _ => return Err(bad("email.transport", "must be one of log, smtp, webhook, none")),
        }
        let l = &self.links;
        if self.public_url.is_none()
            && (l.magic_link_url.is_none() || l.verify_email_url.is_none() || l.password_reset_url.is_none())
        {
            return Err(bad(
                "public_url",
                "required to build links in emails (or set links.magic_link_url, links.verify_email_url and \
                 links.password_reset_url)",
            ));
        }
        if e.max_attempts == 0 {
            return Err(bad("email.max_attempts", "must be at least 1"));
        }
        if e.timeout_seconds == 0 || e.poll_interval_ms == 0 {
            return Err(bad("email.timeout_seconds", "timeouts and intervals must be positive"));
        }
        Ok(())
    }
}

/// An origin is `scheme://host[:port]` with nothing after it; wildcards are refused.
fn check_origin(origin: &str) -> Result<(), &'static str> {
    if origin.contains('*') {
        return Err("wildcards are not allowed (credentials are sent)");
    }
    let url = url::Url::parse(origin).map_err(|_| "not a URL")?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http(s) origin");
    }
    if url.origin().ascii_serialization() != origin {
        return Err("must be exactly scheme://host[:port] with no path or trailing slash");
    }
    Ok(())
}

/// An http(s) base URL without query or fragment.
fn check_origin_or_base(u: &str) -> Result<(), &'static str> {
    let parsed = crate::links::absolute_http(u)?;
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err("must not have a query or fragment");
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        AuthConfig::default().validate().unwrap();
    }

    #[test]
    fn bad_values_name_their_key() {
        let mut c = AuthConfig::default();
        c.cookie.samesite = "sideways".into();
        assert_eq!(c.validate().unwrap_err().key, "cookie.samesite");
        let mut c = AuthConfig::default();
        c.cookie.samesite = "none".into();
        c.cookie.secure = false;
        assert_eq!(c.validate().unwrap_err().key, "cookie.samesite");
        let mut c = AuthConfig::default();
        c.rsa_key_size = 1024;
        assert_eq!(c.validate().unwrap_err().key, "rsa_key_size");
        let mut c = AuthConfig::default();
        c.trusted_proxies = vec!["10.0.0.0/8".into(), "nope".into()];
        assert_eq!(c.validate().unwrap_err().key, "trusted_proxies");
        let mut c = AuthConfig::default();
        c.cors.allowed_origins = vec!["https://app.example.com/".into()];
        assert_eq!(c.validate().unwrap_err().key, "cors.allowed_origins");
        c.cors.allowed_origins = vec!["*".into()];
        assert_eq!(c.validate().unwrap_err().key, "cors.allowed_origins");
        c.cors.allowed_origins = vec!["https://app.example.com".into()];
        c.validate().unwrap();
    }

    #[test]
    fn rate_limit_values_name_their_key() {
        for (limit, fragment) in [
            ("5", "Invalid rate limit format"),
            ("x/min", "Invalid rate limit count"),
            ("0/min", "must be positive"),
            ("-1/min", "must be positive"),
            ("5/week", "Unknown rate limit period"),
        ] {
            let mut c = AuthConfig::default();
            c.rate_limit.login = Some(limit.into());
            let err = c.validate().unwrap_err();
            assert_eq!(err.key, "rate_limit.login", "{limit}");
            assert!(err.message.contains(fragment), "{limit}: {}", err.message);
        }
        let mut c = AuthConfig::default();
        c.rate_limit.password_reset = Some("3 / Hours".into());
        c.rate_limit.signup = Some(String::new());
        c.rate_limit.refresh = None;
        c.validate().unwrap();
        assert_eq!(c.rate_limit.limit_of(crate::rate_limit::Bucket::Signup), None);
        c.rate_limit.redis_url = Some("http://x".into());
        assert_eq!(c.validate().unwrap_err().key, "rate_limit.redis_url");
        c.rate_limit.redis_url = Some("redis://:hunter2@cache:6379/0".into());
        c.validate().unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
