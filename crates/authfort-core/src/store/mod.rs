//! Storage: one [`Store`] trait, one implementation per backend, chosen by URL scheme.
//!
//! Both implementations share their SQL (see `sql.rs`): the statements are written in the
//! dialect SQLite and PostgreSQL agree on (`$n` parameters, `RETURNING`, `ON CONFLICT`), and
//! each backend supplies only its connection set-up, its migrations and how it opens a
//! write transaction (`BEGIN IMMEDIATE` on SQLite, so read-then-write transactions take the
//! write lock up front instead of failing with `SQLITE_BUSY_SNAPSHOT`).
//!
//! One-time secrets are consumed with a single conditional `UPDATE … WHERE <still valid>`;
//! the number of affected rows decides the one winner of any race.

mod postgres;
mod sql;
mod sqlite;
mod time_column;

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

pub use self::postgres::{default_postgres_pool_size, PostgresStore};
pub use self::sqlite::{SqliteStore, DEFAULT_SQLITE_READERS};
use crate::model::{
    EmailOtp, NewUser, OutboxMessage, RefreshToken, Session, SigningKey, User, UserMfa, VerificationToken,
};

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint refused the write.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached or is overloaded.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Backend(String),
    /// The URL names no supported backend.
    #[error("unsupported database URL (expected sqlite:… or postgres://…): {0}")]
    UnsupportedUrl(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        match e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(db.message().to_owned()),
            e @ (sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed) => StoreError::Unavailable(e.to_string()),
            e => StoreError::Backend(e.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> StoreError {
        StoreError::Backend(e.to_string())
    }
}

/// Result alias for storage calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Filters, paging and order for [`Store::list_users`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery {
    /// Case-insensitive substring of the email or name (`%`/`_` match literally).
    pub query: Option<String>,
    /// Only users holding this role.
    pub role: Option<String>,
    /// Only banned (true) or not banned (false) users.
    pub banned: Option<bool>,
    /// Include soft-deleted users.
    pub include_deleted: bool,
    /// Page size (capped at 500).
    pub limit: u32,
    /// Rows to skip.
    pub offset: u64,
    /// `created_at`, `email` or `name`.
    pub sort_by: UserSort,
    /// Ascending instead of descending.
    pub ascending: bool,
}

impl Default for UserQuery {
    fn default() -> Self {
        UserQuery {
            query: None,
            role: None,
            banned: None,
            include_deleted: false,
            limit: 50,
            offset: 0,
            sort_by: UserSort::CreatedAt,
            ascending: false,
        }
    }
}

/// Sort key of [`UserQuery`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSort {
    /// Creation time.
    CreatedAt,
    /// Email.
    Email,
    /// Name.
    Name,
}

/// Profile changes: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserUpdate {
    /// Display name.
    pub name: Option<Option<String>>,
    /// Avatar URL.
    pub avatar_url: Option<Option<String>>,
    /// Phone.
    pub phone: Option<Option<String>>,
    /// Verified flag.
    pub email_verified: Option<bool>,
}

/// A new refresh-token row.
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    /// Row id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Session it belongs to.
    pub session_id: Uuid,
    /// SHA-256 hex of the raw token.
    pub token_hash: String,
    /// Expiry.
    pub expires_at: OffsetDateTime,
    /// Issue time.
    pub created_at: OffsetDateTime,
}

/// Everything AuthFort keeps. Implemented once per backend; the conformance suite in
/// `tests/store` runs the same checks on both.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which backend this is.
    fn backend(&self) -> Backend;
    /// Applies pending migrations (idempotent).
    async fn migrate(&self) -> StoreResult<()>;
    /// Checks the database answers, is migrated, and holds a current signing key.
    async fn ping(&self) -> StoreResult<()>;

    // --- users -------------------------------------------------------------------------
    /// Inserts a user and its first account link. `Conflict` if the email is taken.
    async fn insert_user(&self, new: &NewUser) -> StoreResult<()>;
    /// A user by id (soft-deleted rows included; callers decide).
    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>>;
    /// A user by canonical email.
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    /// The user's roles, oldest first.
    async fn roles(&self, user_id: Uuid) -> StoreResult<Vec<String>>;
    /// A user (soft-deleted rows included) and its roles, oldest first, in one read: the
    /// per-request path of every authenticated call. The default asks twice.
    async fn user_with_roles(&self, id: Uuid) -> StoreResult<Option<(User, Vec<String>)>> {
        let Some(user) = self.user_by_id(id).await? else {
            return Ok(None);
        };
        let roles = self.roles(id).await?;
        Ok(Some((user, roles)))
    }
    /// Providers linked to the user (`email`, `google`, …).
    async fn providers(&self, user_id: Uuid) -> StoreResult<Vec<String>>;
    /// Adds a role (idempotent); bumps the token version when `bump`. False if no such user.
    async fn add_role(&self, user_id: Uuid, role: &str, bump: bool, now: OffsetDateTime) -> StoreResult<bool>;
    /// Removes a role (idempotent); bumps the token version when `bump`. False if no such user.
    async fn remove_role(&self, user_id: Uuid, role: &str, bump: bool, now: OffsetDateTime) -> StoreResult<bool>;
    /// Users matching `query` (one page) and the total count before paging.
    async fn list_users(&self, query: &UserQuery) -> StoreResult<(Vec<User>, u64)>;
    /// Applies the given profile changes. `None` if no such user.
    async fn update_user(&self, user_id: Uuid, update: &UserUpdate, now: OffsetDateTime) -> StoreResult<Option<User>>;
    /// Deletes a user's roles, sessions, tokens, links and pending mail, then anonymises the row
    /// (soft) or removes it (hard), in one transaction. Returns the user as it was, or `None`
    /// if there is no such user or it was already soft-deleted (and `hard` is false).
    async fn delete_user(&self, user_id: Uuid, hard: bool, now: OffsetDateTime) -> StoreResult<Option<User>>;
    /// Bans (flag, token version + 1, every session revoked, one transaction) or unbans
    /// (flag only). False if no such user.
    async fn set_banned(&self, user_id: Uuid, banned: bool, now: OffsetDateTime) -> StoreResult<bool>;
    /// Atomically increments the token version. False if no such user.
    async fn bump_token_version(&self, user_id: Uuid, now: OffsetDateTime) -> StoreResult<bool>;

    // --- sessions and refresh tokens ----------------------------------------------------
    /// Creates a session and its first refresh token.
    async fn create_session(&self, session: &Session, token: &NewRefreshToken) -> StoreResult<()>;
    /// A session by id.
    async fn session(&self, id: Uuid) -> StoreResult<Option<Session>>;
    /// A refresh-token row by the hash of the token.
    async fn refresh_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>>;
    /// Rotation, as one conditional write: revokes `old_id` only if it is unrevoked, unexpired
    /// and its user is neither banned nor deleted, then inserts `new` in the same session and
    /// extends the session's expiry. Returns what the new access token needs (the session as
    /// extended, then the user as read just after the commit); `None` if the condition failed
    /// (nothing written) or the user was banned or deleted in between.
    async fn rotate_refresh_token(
        &self,
        old_id: Uuid,
        new: &NewRefreshToken,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Rotated>>;
    /// Revokes one token if it is not yet revoked. True if this call revoked it.
    async fn revoke_refresh_token(&self, id: Uuid, now: OffsetDateTime) -> StoreResult<bool>;
    /// Revokes every token of a session and marks it revoked. Returns tokens newly revoked.
    async fn revoke_session(&self, session_id: Uuid, now: OffsetDateTime) -> StoreResult<u64>;
    /// Revokes every session of a user except `except`. Returns tokens newly revoked.
    async fn revoke_user_sessions(&self, user_id: Uuid, except: Option<Uuid>, now: OffsetDateTime) -> StoreResult<u64>;
    /// The user's sessions, newest first; `active_only` keeps unrevoked, unexpired ones.
    async fn sessions_of(&self, user_id: Uuid, active_only: bool, now: OffsetDateTime) -> StoreResult<Vec<Session>>;
    /// Deletes sessions (with their tokens, revoked ones included) whose chain has expired.
    async fn delete_expired_sessions(&self, now: OffsetDateTime) -> StoreResult<u64>;

    // --- one-time tokens and the outbox ------------------------------------------------
    /// In one transaction: deletes the unused tokens of the same purpose for the same
    /// address, inserts `token`, drops the pending mail of the deleted tokens and queues
    /// `message` (if any).
    async fn create_verification_token(
        &self,
        token: &VerificationToken,
        message: Option<&OutboxMessage>,
    ) -> StoreResult<()>;
    /// The same write transaction as [`Store::create_verification_token`] for an address that
    /// gets no token, so both paths cost about the same.
    async fn invalidate_verification_tokens(&self, purpose: &str, email: &str) -> StoreResult<u64>;
    /// A token row by hash (any purpose, consumed or not).
    async fn verification_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<VerificationToken>>;
    /// Redeems a magic link in one transaction: the conditional consume, the ban and deletion
    /// checks (with the user row locked), account creation for passwordless signup, the
    /// verified flag and the clean-up of a previously unverified account, and the new session.
    /// Nothing is written unless the outcome is `SignedIn`.
    async fn redeem_magic_link(&self, redeem: &RedeemMagicLink) -> StoreResult<RedeemOutcome>;

    // --- email verification, email one-time codes, passwords ---------------------------
    /// Consumes an `email_verify` token (one conditional write) and sets the owner's
    /// `email_verified`, in one transaction. Returns the user as stored afterwards and whether
    /// the flag flipped; `None` (nothing written) for an unknown, used, expired or
    /// wrong-purpose token, or a user that is gone.
    async fn redeem_email_verification(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<(User, bool)>>;
    /// In one transaction: deletes the unused codes for the same address (dropping their
    /// pending mail), inserts `otp` and queues `message` (if any).
    async fn create_email_otp(&self, otp: &EmailOtp, message: Option<&OutboxMessage>) -> StoreResult<()>;
    /// The same write transaction as [`Store::create_email_otp`] for an address that gets no
    /// code, so both paths cost about the same.
    async fn invalidate_email_otps(&self, email: &str) -> StoreResult<u64>;
    /// The newest code row for an address, used or not (inspection and tests).
    async fn latest_email_otp(&self, email: &str) -> StoreResult<Option<EmailOtp>>;
    /// Tries a code in one transaction. One conditional write on the address's newest code
    /// counts the attempt and, when the HMAC matches, consumes it; a dead code (used, expired,
    /// or `max_attempts` tries spent) is never touched. A match then signs in as
    /// [`Store::redeem_magic_link`] does. A wrong code is committed (the attempt counts) and
    /// answered `Invalid`; so is a banned owner (`Banned`, the code is spent).
    async fn redeem_email_otp(&self, redeem: &RedeemEmailOtp) -> StoreResult<RedeemOutcome>;
    /// Writes a new password hash in one transaction, or nothing when a condition fails
    /// (returns `None`): see [`PasswordWrite`].
    async fn write_password(&self, write: &PasswordWrite) -> StoreResult<Option<User>>;
    /// The user's most recent password hashes from the history, newest first.
    async fn password_history(&self, user_id: Uuid, limit: u32) -> StoreResult<Vec<String>>;
    /// Appends a hash to the user's history and keeps only the newest `keep`.
    async fn record_password(&self, user_id: Uuid, hash: &str, keep: u32, now: OffsetDateTime) -> StoreResult<()>;

    /// Leases the next due pending message until `lease_until` (one worker, one message).
    async fn claim_outbox_message(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> StoreResult<Option<OutboxMessage>>;
    /// Marks a message sent and scrubs its bodies.
    async fn complete_outbox_message(&self, id: Uuid, now: OffsetDateTime) -> StoreResult<()>;
    /// Records a failed attempt: retry at `retry_at`, or drop (and scrub) when `None`.
    async fn fail_outbox_message(&self, id: Uuid, error: &str, retry_at: Option<OffsetDateTime>) -> StoreResult<()>;
    /// Deletes one-time tokens that expired or were consumed before `tokens_before`, and
    /// delivered or dropped outbox rows (already scrubbed) created before `messages_before`.
    /// Returns (tokens, messages).
    async fn delete_spent_tokens(
        &self,
        tokens_before: OffsetDateTime,
        messages_before: OffsetDateTime,
    ) -> StoreResult<(u64, u64)>;
    /// A message by id.
    async fn outbox_message(&self, id: Uuid) -> StoreResult<Option<OutboxMessage>>;
    /// Every message for a recipient, oldest first (inspection and tests).
    async fn outbox_for(&self, recipient: &str) -> StoreResult<Vec<OutboxMessage>>;

    // --- TOTP multi-factor authentication ------------------------------------------------
    /// The user's MFA row (pending or enabled), if any.
    async fn mfa(&self, user_id: Uuid) -> StoreResult<Option<UserMfa>>;
    /// Stores a pending setup (replacing an earlier pending one) unless MFA is already
    /// enabled. False (nothing written) if it is enabled or the user does not exist.
    async fn begin_mfa_setup(&self, user_id: Uuid, secret_enc: &str, now: OffsetDateTime) -> StoreResult<bool>;
    /// In one transaction, if the pending row still holds `secret_enc`: enables it with
    /// `step` as the last accepted TOTP step, replaces the backup codes with `code_hmacs`,
    /// and bumps the token version. False (nothing written) otherwise.
    async fn enable_mfa(
        &self,
        user_id: Uuid,
        secret_enc: &str,
        step: i64,
        code_hmacs: &[String],
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Accepts a TOTP step with one conditional write: only if MFA is enabled, `step` is
    /// strictly greater than the last accepted one, and (with `reset_failures`) the user is not
    /// locked at `now`; with `reset_failures` the failure counter and lock are cleared too.
    /// Of N concurrent uses of one code exactly one wins.
    async fn accept_totp_step(
        &self,
        user_id: Uuid,
        step: i64,
        reset_failures: bool,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Consumes an unused backup code with one conditional write (exactly one winner) and,
    /// with `reset_failures`, clears the failure counter and lock in the same transaction.
    async fn use_backup_code(
        &self,
        user_id: Uuid,
        code_hmac: &str,
        reset_failures: bool,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Counts one MFA login attempt atomically, *before* its code is checked, unless the user
    /// is locked at `now` (then `Refused`). When the count reaches `max_attempts` (> 0) the
    /// lock is set to `lock_until` and the count restarts. Counting first means N concurrent
    /// guesses cannot all slip past the lock check: at most `max_attempts` are ever compared
    /// per lock period. A correct code then clears the count ([`Store::reset_mfa_failures`]).
    async fn count_mfa_attempt(
        &self,
        user_id: Uuid,
        max_attempts: u32,
        lock_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<MfaAttemptCount>;
    /// Clears the MFA failure count and any lock (after a correct code).
    async fn reset_mfa_failures(&self, user_id: Uuid) -> StoreResult<()>;
    /// In one transaction: deletes the enabled MFA row and the backup codes and bumps the
    /// token version. False (nothing written) if MFA was not enabled.
    async fn disable_mfa(&self, user_id: Uuid, now: OffsetDateTime) -> StoreResult<bool>;
    /// In one transaction, if MFA is enabled: replaces every backup code (used or not) with
    /// `code_hmacs`. False (nothing written) otherwise.
    async fn replace_backup_codes(
        &self,
        user_id: Uuid,
        code_hmacs: &[String],
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Unused backup codes of the user.
    async fn backup_codes_remaining(&self, user_id: Uuid) -> StoreResult<u64>;

    // --- signing keys -------------------------------------------------------------------
    /// Every stored key: the current one first, then the next key, then retired keys newest first.
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKey>>;
    /// Inserts `key` as the current key unless one already exists. True if inserted.
    async fn insert_first_signing_key(&self, key: &SigningKey) -> StoreResult<bool>;
    /// Inserts `key` as the next key (published, not signing) unless one already exists.
    /// True if inserted.
    async fn insert_next_signing_key(&self, key: &SigningKey) -> StoreResult<bool>;
    /// In one transaction, if the current key is still `expected_current`: retires it (in the
    /// JWKS until `retire_until`) and makes the next key current from `now`. Of racing
    /// rotations from the same `expected_current`, exactly one succeeds.
    async fn rotate_signing_key(
        &self,
        expected_current: &str,
        now: OffsetDateTime,
        retire_until: OffsetDateTime,
    ) -> StoreResult<KeyRotation>;
    /// Deletes retired keys whose expiry has passed. Never deletes the current key.
    async fn delete_expired_signing_keys(&self, now: OffsetDateTime) -> StoreResult<u64>;

    // --- OAuth --------------------------------------------------------------------------
    /// Stores a started OAuth sign-in (and deletes rows that expired before its start).
    async fn create_oauth_state(&self, state: &OAuthState) -> StoreResult<()>;
    /// Consumes the unused row with this state hash *and* browser-binding hash, with one
    /// conditional write (of racing callbacks exactly one gets the row). Expiry and provider
    /// are left to the caller, so they can be told apart; the row is spent either way.
    async fn consume_oauth_state(
        &self,
        state_hash: &str,
        binding_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<OAuthState>>;
    /// Deletes OAuth sign-ins that expired or were consumed at or before `before`
    /// (abandoned flows nobody came back from, and spent ones). Returns how many.
    async fn delete_expired_oauth_states(&self, before: OffsetDateTime) -> StoreResult<u64>;
    /// Finds or creates the account of a provider identity, in one transaction (see
    /// [`OAuthResolution`]). `Conflict` when a concurrent sign-in created the same user or
    /// link first: retry once.
    async fn resolve_oauth_account(&self, r: &ResolveOAuth) -> StoreResult<OAuthResolution>;
    /// The stored provider tokens of a user's link to `provider`: (access, refresh).
    async fn provider_tokens(
        &self,
        user_id: Uuid,
        provider: &str,
    ) -> StoreResult<Option<(Option<String>, Option<String>)>>;
}

/// A started OAuth sign-in.
#[derive(Clone)]
pub struct OAuthState {
    /// Row id.
    pub id: Uuid,
    /// SHA-256 hex of the `state` sent to the provider.
    pub state_hash: String,
    /// SHA-256 hex of the value of the browser's state cookie.
    pub binding_hash: String,
    /// Provider name.
    pub provider: String,
    /// The PKCE code verifier (never sent anywhere but the provider's token endpoint).
    pub pkce_verifier: String,
    /// The OpenID Connect nonce.
    pub nonce: String,
    /// Validated `redirect_to`.
    pub redirect_to: Option<String>,
    /// `popup` or none.
    pub mode: Option<String>,
    /// Expiry.
    pub expires_at: OffsetDateTime,
    /// Start.
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for OAuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthState")
            .field("id", &self.id)
            .field("provider", &self.provider)
            .field("redirect_to", &self.redirect_to)
            .field("mode", &self.mode)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A provider identity to resolve to an account.
#[derive(Clone)]
pub struct ResolveOAuth {
    /// Provider name.
    pub provider: String,
    /// The provider's id of the user.
    pub provider_account_id: String,
    /// Canonical email from the provider.
    pub email: String,
    /// Whether the provider asserts the email is verified.
    pub email_verified: bool,
    /// Sanitised display name from the provider.
    pub name: Option<String>,
    /// Avatar URL from the provider.
    pub avatar_url: Option<String>,
    /// Provider access token (stored on the link).
    pub access_token: Option<String>,
    /// Provider refresh token (stored on the link).
    pub refresh_token: Option<String>,
    /// Now.
    pub now: OffsetDateTime,
    /// Id for a user created by this sign-in.
    pub new_user_id: Uuid,
}

impl std::fmt::Debug for ResolveOAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolveOAuth")
            .field("provider", &self.provider)
            .field("provider_account_id", &self.provider_account_id)
            .field("email", &self.email)
            .field("email_verified", &self.email_verified)
            .finish_non_exhaustive()
    }
}

/// The outcome of [`Store::resolve_oauth_account`]. Nothing is written unless `Resolved`.
#[derive(Debug, Clone)]
pub enum OAuthResolution {
    /// The linked user is gone (deleted).
    Gone,
    /// The user is banned.
    Banned,
    /// An account with this email exists, and the provider does not assert the email is
    /// verified: no link (no silent takeover).
    EmailNotVerified,
    /// Signed in as this user.
    Resolved(Box<OAuthResolved>),
}

/// What a resolved provider sign-in did.
#[derive(Debug, Clone)]
pub struct OAuthResolved {
    /// The user, as stored afterwards.
    pub user: User,
    /// The user was created by this sign-in.
    pub created: bool,
    /// The identity was linked to an existing user by email.
    pub linked: bool,
    /// `email_verified` flipped from false to true.
    pub verified_now: bool,
    /// What the first proof of the address took away (see [`Claimed`]).
    pub claimed: Claimed,
}

/// What the first proof of an unverified address removed from the account: everything
/// attached before the proof may belong to whoever registered the address (security.md
/// §2.12.3, the pre-account-takeover defence).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claimed {
    /// Refresh tokens revoked (sessions that predate the proof).
    pub sessions_revoked: u64,
    /// A password set before the address was proven was cleared.
    pub password_cleared: bool,
    /// Providers whose identities, linked while the address was unverified, were unlinked
    /// (sorted; one entry per identity).
    pub identities_unlinked: Vec<String>,
}

impl Claimed {
    /// True when the proof removed anything.
    pub fn any(&self) -> bool {
        self.sessions_revoked > 0 || self.password_cleared || !self.identities_unlinked.is_empty()
    }
}

/// The outcome of [`Store::count_mfa_attempt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaAttemptCount {
    /// The user is locked: the code must not be checked.
    Refused,
    /// Counted; `locked_until` is set when this attempt reached the limit and set the lock.
    Counted {
        /// The lock this attempt set, if it reached the limit.
        locked_until: Option<OffsetDateTime>,
    },
}

/// The outcome of [`Store::rotate_signing_key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRotation {
    /// The next key signs from now on; the old one is retired.
    Rotated {
        /// The retired key.
        old_kid: String,
        /// The key now signing.
        new_kid: String,
    },
    /// There is no next key to promote; insert one and try again.
    NoNextKey,
    /// The current key is no longer the expected one: another rotation won.
    CurrentChanged,
}

/// Redeeming a magic link: everything the one transaction needs.
#[derive(Debug, Clone)]
pub struct RedeemMagicLink {
    /// SHA-256 of the presented token.
    pub token_hash: String,
    /// Now.
    pub now: OffsetDateTime,
    /// Whether a link for an address without an account may create it.
    pub allow_signup: bool,
    /// Id for a user created by this redeem.
    pub new_user_id: Uuid,
    /// The session to start (its `user_id` is filled in by the store).
    pub session: Session,
    /// Its first refresh token (`user_id` filled in likewise).
    pub refresh: NewRefreshToken,
}

/// Trying an email one-time code: everything the one transaction needs.
#[derive(Debug, Clone)]
pub struct RedeemEmailOtp {
    /// Canonical address the code was requested for.
    pub email: String,
    /// HMAC of the presented code.
    pub code_hmac: String,
    /// Now.
    pub now: OffsetDateTime,
    /// Tries a code allows.
    pub max_attempts: i32,
    /// Whether a code for an address without an account may create it.
    pub allow_signup: bool,
    /// Id for a user created by this redeem.
    pub new_user_id: Uuid,
    /// The session to start (its `user_id` is filled in by the store).
    pub session: Session,
    /// Its first refresh token (`user_id` filled in likewise).
    pub refresh: NewRefreshToken,
}

/// What must hold for [`Store::write_password`] to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordCondition {
    /// The user has no password yet (set-password).
    NoPassword,
    /// The stored hash is still this one (change: nobody changed it meanwhile).
    CurrentHash(String),
    /// This unused, unexpired `password_reset` token of the user is consumed by the same
    /// write (reset: exactly one winner).
    ResetToken(String),
}

/// A password write: the new hash, the token version bump and session revocation, the
/// history, and the `email` login link, all in one transaction.
#[derive(Debug, Clone)]
pub struct PasswordWrite {
    /// Whose password.
    pub user_id: Uuid,
    /// The new argon2id PHC string.
    pub password_hash: String,
    /// The condition that must hold.
    pub condition: PasswordCondition,
    /// Revoke every session except this one (`None`: all of them).
    pub keep_session: Option<Uuid>,
    /// Password history size (0: no history is written).
    pub history_keep: u32,
    /// Now.
    pub now: OffsetDateTime,
}

/// A rotated refresh token's session, with its user as the new access token describes them.
#[derive(Debug, Clone)]
pub struct Rotated {
    /// The session, its expiry extended.
    pub session: Session,
    /// The user (neither banned nor deleted: the rotation checked it).
    pub user: User,
    /// The user's roles, oldest grant first.
    pub roles: Vec<String>,
    /// The user has MFA enabled.
    pub mfa_enabled: bool,
}

/// What a redeemed magic link did.
#[derive(Debug, Clone)]
pub struct Redeemed {
    /// The user, as stored after the redeem.
    pub user: User,
    /// The session started.
    pub session: Session,
    /// The account was created by this redeem (passwordless signup).
    pub created: bool,
    /// `email_verified` flipped from false to true.
    pub verified_now: bool,
    /// What the first proof of the address took away (see [`Claimed`]).
    pub claimed: Claimed,
    /// The redirect carried with the token.
    pub redirect_to: Option<String>,
    /// The user's roles, read in the redeem's transaction.
    pub roles: Vec<String>,
    /// The user has MFA enabled (then no session was started).
    pub mfa_enabled: bool,
}

/// The outcome of [`Store::redeem_magic_link`].
#[derive(Debug, Clone)]
pub enum RedeemOutcome {
    /// Unknown, expired, already used, wrong purpose, or its user is gone.
    Invalid,
    /// The user is banned (a magic link stays unconsumed; an email code is spent).
    Banned,
    /// Signed in.
    SignedIn(Box<Redeemed>),
    /// The secret was consumed and proved the address, but the user has MFA enabled: no
    /// session was started (`Redeemed::session` is what would have been); the caller answers
    /// with the MFA challenge.
    MfaRequired(Box<Redeemed>),
}

/// Opens the store named by `url`: `sqlite:…` (file created if missing) or `postgres://…`.
///
/// # Errors
/// `UnsupportedUrl` for any other scheme; `Unavailable` if the database cannot be reached.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    connect_with_pool_size(url, None).await
}

/// [`connect`] with at most `pool_size` connections: PostgreSQL's pool, or SQLite's read
/// connections (SQLite writes always go through one connection of their own). `None` takes
/// the backend's default ([`default_postgres_pool_size`], [`DEFAULT_SQLITE_READERS`]).
///
/// # Errors
/// As [`connect`].
pub async fn connect_with_pool_size(url: &str, pool_size: Option<u32>) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let readers = pool_size.unwrap_or(DEFAULT_SQLITE_READERS);
        Ok(Arc::new(SqliteStore::connect_with_readers(url, readers).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let options = sqlx::postgres::PgConnectOptions::from_str(url)?;
        let size = pool_size.unwrap_or_else(default_postgres_pool_size);
        Ok(Arc::new(PostgresStore::connect_with_pool_size(options, size).await?))
    } else {
        let scheme = url.split(':').next().unwrap_or_default();
        Err(StoreError::UnsupportedUrl(format!("{scheme}:…")))
    }
}
