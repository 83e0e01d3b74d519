//! Records kept in storage and the JSON shapes returned to callers.

use authfort_verifier::Amr;
use serde::{Serialize, Serializer};
use time::OffsetDateTime;
use uuid::Uuid;

/// A user row.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// Primary key.
    pub id: Uuid,
    /// Canonical (validated, normalised, lower-cased) email; unique.
    pub email: String,
    /// Whether the address has been proven.
    pub email_verified: bool,
    /// Display name.
    pub name: Option<String>,
    /// Avatar URL (http/https).
    pub avatar_url: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Argon2id PHC string; `None` for passwordless and OAuth-only accounts.
    pub password_hash: Option<String>,
    /// Embedded in access tokens as `ver`; bumping it kills outstanding access tokens.
    pub token_version: i64,
    /// Banned users cannot obtain or use credentials.
    pub banned: bool,
    /// Soft-deleted (anonymised) users are indistinguishable from missing ones.
    pub is_deleted: bool,
    /// When the user was soft-deleted.
    pub deleted_at: Option<OffsetDateTime>,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last update time.
    pub updated_at: OffsetDateTime,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("email_verified", &self.email_verified)
            .field("has_password", &self.password_hash.is_some())
            .field("token_version", &self.token_version)
            .field("banned", &self.banned)
            .field("is_deleted", &self.is_deleted)
            .finish_non_exhaustive()
    }
}

impl User {
    /// True when the user may authenticate at all (exists in the live sense and is not banned).
    pub fn is_active(&self) -> bool {
        !self.is_deleted && !self.banned
    }
}

/// A new user to insert, with the login method that created it.
#[derive(Clone)]
pub struct NewUser {
    /// The user row.
    pub user: User,
    /// `(provider, provider_account_id)` of the first linked login method, if any
    /// (`("email", <email>)` for password signups).
    pub account: Option<(String, String)>,
}

/// A login session: the chain of refresh tokens sharing one id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The stable session id (JWT `sid`).
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// When the user signed in. Never changes on refresh.
    pub created_at: OffsetDateTime,
    /// Client IP at sign-in.
    pub ip_address: Option<String>,
    /// User agent at sign-in.
    pub user_agent: Option<String>,
    /// How the user authenticated; carried into every access token of the session.
    pub amr: Vec<Amr>,
    /// Expiry of the newest refresh token of the chain (revoked rows are kept until then).
    pub expires_at: OffsetDateTime,
    /// When the whole session was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
}

/// A refresh-token row. Only the SHA-256 of the token is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// Row id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Session (chain) this token belongs to.
    pub session_id: Uuid,
    /// Lower-case hex SHA-256 of the raw token.
    pub token_hash: String,
    /// Expiry.
    pub expires_at: OffsetDateTime,
    /// Issue time.
    pub created_at: OffsetDateTime,
    /// Revoked by rotation, logout, family revocation or a ban.
    pub revoked: bool,
    /// When it was revoked.
    pub revoked_at: Option<OffsetDateTime>,
    /// The token that replaced it on rotation.
    pub replaced_by: Option<Uuid>,
}

/// A signing key. The private key never leaves the process except to storage.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Row id.
    pub id: Uuid,
    /// Key id, `key-YYYY-MM-<8 hex>`.
    pub kid: String,
    /// PKCS#8 PEM of the private key.
    pub private_key_pem: String,
    /// SPKI PEM of the public key.
    pub public_key_pem: String,
    /// Always `RS256`.
    pub algorithm: String,
    /// Whether this key signs new tokens.
    pub is_current: bool,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Retirement expiry: after it the key leaves the JWKS and can be deleted.
    pub expires_at: Option<OffsetDateTime>,
    /// When the key started signing (`None` for the published next key, which has not yet).
    pub activated_at: Option<OffsetDateTime>,
}

impl SigningKey {
    /// Whether this is the next key: published, not yet signing, not retired.
    pub fn is_next(&self) -> bool {
        !self.is_current && self.expires_at.is_none()
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("is_current", &self.is_current)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("activated_at", &self.activated_at)
            .field("private_key_pem", &"***")
            .finish_non_exhaustive()
    }
}

/// Serialises a time as AuthFort does: ISO-8601 UTC with `Z`, microseconds only when non-zero.
pub fn format_time(t: &OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let micros = t.microsecond();
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if micros == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{micros:06}Z")
    }
}

fn ser_time<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_time(t))
}

fn ser_opt_time<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&format_time(t)),
        None => s.serialize_none(),
    }
}

/// The `UserResponse` JSON object, key order as the reference emits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserResponse {
    /// User id.
    pub id: Uuid,
    /// Canonical email.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// Whether the email is proven.
    pub email_verified: bool,
    /// Avatar URL.
    pub avatar_url: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Banned flag.
    pub banned: bool,
    /// Always false on the wire (deleted users cannot authenticate).
    pub is_deleted: bool,
    /// Deletion time.
    #[serde(serialize_with = "ser_opt_time")]
    pub deleted_at: Option<OffsetDateTime>,
    /// Roles, fresh from storage.
    pub roles: Vec<String>,
    /// Creation time.
    #[serde(serialize_with = "ser_time")]
    pub created_at: OffsetDateTime,
    /// The current session id (JWT `sid`), when there is one.
    pub session_id: Option<Uuid>,
    /// Whether TOTP MFA is enabled.
    pub mfa_enabled: bool,
}

impl UserResponse {
    /// Builds the response for a user with the given roles and session.
    pub fn new(user: &User, roles: Vec<String>, session_id: Option<Uuid>, mfa_enabled: bool) -> UserResponse {
        UserResponse {
            id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            email_verified: user.email_verified,
            avatar_url: user.avatar_url.clone(),
            phone: user.phone.clone(),
            banned: user.banned,
            is_deleted: user.is_deleted,
            deleted_at: user.deleted_at,
            roles,
            created_at: user.created_at,
            session_id,
            mfa_enabled,
        }
    }
}

/// The `tokens` object.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct AuthTokens {
    /// RS256 JWT.
    pub access_token: String,
    /// 86-character opaque token.
    pub refresh_token: String,
    /// Access-token lifetime in seconds (the configured TTL).
    pub expires_in: u64,
}

impl std::fmt::Debug for AuthTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthTokens")
            .field("access_token", &"***")
            .field("refresh_token", &"***")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// `{"user": …, "tokens": …}`: the answer of every sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthResponse {
    /// The user.
    pub user: UserResponse,
    /// The new token pair.
    pub tokens: AuthTokens,
}

/// Request metadata recorded on sessions and in events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// Client IP as resolved by the HTTP layer.
    pub ip_address: Option<String>,
    /// `User-Agent` header.
    pub user_agent: Option<String>,
}

/// A one-time token row (magic link, …). Only the SHA-256 of the token is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationToken {
    /// Row id.
    pub id: Uuid,
    /// The user it signs in; `None` for a passwordless-signup link (user created on redeem).
    pub user_id: Option<Uuid>,
    /// Canonical email the token was sent to.
    pub email: String,
    /// What the token is for (`magic_link`, …); verifiers check it.
    pub purpose: String,
    /// Lower-case hex SHA-256 of the raw token.
    pub token_hash: String,
    /// Validated redirect target carried with the token.
    pub redirect_to: Option<String>,
    /// Expiry.
    pub expires_at: OffsetDateTime,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// When it was redeemed.
    pub consumed_at: Option<OffsetDateTime>,
}

/// An email one-time code. Only its HMAC (keyed by `secret_key`, which is not in the
/// database) is stored; a code dies after [`EmailOtp::MAX_ATTEMPTS`] tries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailOtp {
    /// Row id.
    pub id: Uuid,
    /// The user; `None` for an address without an account (created on redeem).
    pub user_id: Option<Uuid>,
    /// Canonical email the code was sent to; codes are looked up by it.
    pub email: String,
    /// Lower-case hex HMAC-SHA256 of the address and the code.
    pub code_hmac: String,
    /// Verification attempts so far (right or wrong).
    pub attempts: i32,
    /// Expiry.
    pub expires_at: OffsetDateTime,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// When it was redeemed.
    pub consumed_at: Option<OffsetDateTime>,
}

impl EmailOtp {
    /// Tries a code allows; after this many wrong ones it is dead even for the right code.
    pub const MAX_ATTEMPTS: i32 = 5;
}

/// A message in the delivery outbox.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Row id.
    pub id: Uuid,
    /// What it is (`magic_link`, …).
    pub kind: String,
    /// Address read from the user row (never from the request).
    pub recipient: String,
    /// Subject line.
    pub subject: Option<String>,
    /// Plain-text body (contains the link; scrubbed once delivered or dropped).
    pub body_text: Option<String>,
    /// HTML body (scrubbed likewise).
    pub body_html: Option<String>,
    /// The token the message carries, if any.
    pub token_id: Option<Uuid>,
    /// After this the message is pointless (its token expired) and is dropped.
    pub expires_at: Option<OffsetDateTime>,
    /// `pending`, `sent` or `dropped`.
    pub status: String,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// Earliest time of the next attempt.
    pub next_attempt_at: OffsetDateTime,
    /// A worker holds the message until then.
    pub locked_until: Option<OffsetDateTime>,
    /// Last delivery error.
    pub last_error: Option<String>,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Delivery time.
    pub sent_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for OutboxMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxMessage")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("recipient", &self.recipient)
            .field("status", &self.status)
            .field("attempts", &self.attempts)
            .field("body", &"***")
            .finish_non_exhaustive()
    }
}

/// A user's TOTP enrolment (pending until confirmed).
#[derive(Clone, PartialEq, Eq)]
pub struct UserMfa {
    /// The user.
    pub user_id: Uuid,
    /// The TOTP secret, encrypted (see `crypto::mfa`); never the plain secret.
    pub secret_enc: String,
    /// Confirmed and in force.
    pub enabled: bool,
    /// The highest TOTP step accepted so far (-1: none).
    pub last_step: i64,
    /// Consecutive failed MFA-login attempts.
    pub failed_attempts: i64,
    /// MFA logins are refused until then.
    pub locked_until: Option<OffsetDateTime>,
    /// When setup began.
    pub created_at: OffsetDateTime,
    /// When it was confirmed.
    pub enabled_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for UserMfa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserMfa")
            .field("user_id", &self.user_id)
            .field("secret_enc", &"***")
            .field("enabled", &self.enabled)
            .field("last_step", &self.last_step)
            .field("failed_attempts", &self.failed_attempts)
            .field("locked_until", &self.locked_until)
            .finish_non_exhaustive()
    }
}

/// `{"mfa_required":true,"mfa_token":…,"expires_in":300}`: the first factor passed, a TOTP or
/// backup code is needed (`POST /auth/mfa/verify`).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct MfaChallenge {
    /// Always true.
    pub mfa_required: bool,
    /// The challenge token (an RS256 JWT with `purpose: "mfa_challenge"`).
    pub mfa_token: String,
    /// Its lifetime in seconds (300).
    pub expires_in: u64,
}

impl std::fmt::Debug for MfaChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaChallenge")
            .field("mfa_token", &"***")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// `{"secret":…,"qr_uri":"otpauth://…"}` from `enable_mfa_init`.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct MfaSetup {
    /// The TOTP secret, 32 base32 characters.
    pub secret: String,
    /// The `otpauth://totp/…` URI for authenticator apps.
    pub qr_uri: String,
}

impl std::fmt::Debug for MfaSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaSetup { *** }")
    }
}

/// `{"enabled":…,"backup_codes_remaining":…}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MfaStatus {
    /// MFA is confirmed and in force.
    pub enabled: bool,
    /// Unused backup codes (0 when MFA is off).
    pub backup_codes_remaining: u64,
}
