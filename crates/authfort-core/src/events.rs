//! Events and hooks.
//!
//! Operations collect [`Event`]s while they work and hand them to the [`EventBus`] only
//! after their writes are committed. The bus delivers them on its own task, off the request
//! path, one at a time in emission order, each to its hooks in registration order. A hook
//! that returns an error or panics is logged and skipped; it never fails the operation.
//!
//! ```
//! # async fn demo(auth: authfort_core::AuthFort) {
//! use authfort_core::events::{Event, EventKind};
//!
//! auth.on(EventKind::Login, |event: Event| async move {
//!     if let Event::Login(login) = event {
//!         println!("{} signed in via {}", login.email, login.provider);
//!     }
//! });
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// A secret (a raw token) carried by an event so the application can deliver it.
/// Its `Debug` prints `***`, and it is never serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(String);

impl SecretToken {
    /// Wraps a raw secret.
    pub fn new(raw: impl Into<String>) -> SecretToken {
        SecretToken(raw.into())
    }
    /// The raw secret. Handle with care: never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// `user_created`.
#[derive(Debug, Clone, Serialize)]
pub struct UserCreated {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// New user.
    pub user_id: Uuid,
    /// Canonical email.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// `email`, `magic_link`, or an OAuth provider name.
    pub provider: String,
}

/// `login`.
#[derive(Debug, Clone, Serialize)]
pub struct Login {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// Who signed in.
    pub user_id: Uuid,
    /// Their email.
    pub email: String,
    /// `email`, `magic_link`, `email_otp`, or an OAuth provider name.
    pub provider: String,
    /// Client IP.
    pub ip_address: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
}

/// `login_failed`.
#[derive(Debug, Clone, Serialize)]
pub struct LoginFailed {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// The submitted email (as given, trimmed), if any.
    pub email: Option<String>,
    /// The error code that refused the login.
    pub reason: String,
    /// Client IP.
    pub ip_address: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
}

/// `oauth_link`: a provider identity was linked to an existing account by its verified email.
#[derive(Debug, Clone, Serialize)]
pub struct OAuthLink {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// The existing user.
    pub user_id: Uuid,
    /// Their email.
    pub email: String,
    /// The provider name.
    pub provider: String,
}

/// `logout`.
#[derive(Debug, Clone, Serialize)]
pub struct Logout {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// Owner of the revoked token.
    pub user_id: Option<Uuid>,
}

/// `token_refreshed`.
#[derive(Debug, Clone, Serialize)]
pub struct TokenRefreshed {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// Whose token.
    pub user_id: Uuid,
    /// Client IP.
    pub ip_address: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
}

/// `refresh_token_mismatch`.
#[derive(Debug, Clone, Serialize)]
pub struct RefreshTokenMismatch {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// Owner of the refresh token.
    pub refresh_user_id: Uuid,
    /// `sub` of the access token presented with it.
    pub access_sub: String,
    /// Session of the refresh token.
    pub session_id: Uuid,
}

/// `key_rotated`.
#[derive(Debug, Clone, Serialize)]
pub struct KeyRotated {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// Retired kid (`""` if there was none).
    pub old_kid: String,
    /// New current kid.
    pub new_kid: String,
}

/// `user_banned` / `user_unbanned`.
#[derive(Debug, Clone, Serialize)]
pub struct UserRef {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// The user.
    pub user_id: Uuid,
}

/// `role_added` / `role_removed`.
#[derive(Debug, Clone, Serialize)]
pub struct RoleChanged {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// The user.
    pub user_id: Uuid,
    /// The role.
    pub role: String,
}

/// `session_revoked`.
#[derive(Debug, Clone, Serialize)]
pub struct SessionRevoked {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// The session's owner.
    pub user_id: Uuid,
    /// The session, or `None` for revoke-all.
    pub session_id: Option<Uuid>,
    /// Whether every session of the user was revoked.
    pub revoke_all: bool,
}

/// `magic_link_requested`: carries the raw token so the application can deliver it itself.
#[derive(Debug, Clone)]
pub struct MagicLinkRequested {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// The user, or `None` for an address without an account (passwordless signup).
    pub user_id: Option<Uuid>,
    /// The canonical address the link is for.
    pub email: String,
    /// The raw token (`Debug` prints `***`).
    pub token: SecretToken,
    /// The link built from configuration, when `public_url` or a link template is set.
    pub link: Option<SecretToken>,
}

/// `email_verification_requested`: carries the raw token so the application can deliver it.
#[derive(Debug, Clone)]
pub struct EmailVerificationRequested {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// The user.
    pub user_id: Uuid,
    /// The address to prove.
    pub email: String,
    /// The raw token (`Debug` prints `***`).
    pub token: SecretToken,
    /// The link built from configuration, when `public_url` or a link template is set.
    pub link: Option<SecretToken>,
}

/// `email_otp_requested`: carries the raw code so the application can deliver it.
#[derive(Debug, Clone)]
pub struct EmailOtpRequested {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// The user, or `None` for an address without an account (passwordless signup).
    pub user_id: Option<Uuid>,
    /// The canonical address the code is for.
    pub email: String,
    /// The raw 6-digit code (`Debug` prints `***`).
    pub code: SecretToken,
}

/// `password_pwned_rejected`: a new password was found in the breached-password corpus.
#[derive(Debug, Clone, Serialize)]
pub struct PasswordPwnedRejected {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// SHA-256 hex of the lower-cased address, when one is known.
    pub email_hash: Option<String>,
    /// Client IP (signup only).
    pub ip_address: Option<String>,
}

/// `magic_link_login`, `email_verified`: a user and their address.
#[derive(Debug, Clone, Serialize)]
pub struct UserEmail {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// The user.
    pub user_id: Uuid,
    /// Their address.
    pub email: String,
}

/// `unverified_account_claimed`: the first proof of an address cleaned up what was attached
/// to the account before (possible pre-account hijacking).
#[derive(Debug, Clone, Serialize)]
pub struct UnverifiedAccountClaimed {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// The user.
    pub user_id: Uuid,
    /// Refresh tokens revoked (sessions that predate the proof).
    pub sessions_revoked: u64,
    /// Whether a password set before the proof was removed.
    pub password_cleared: bool,
    /// Providers whose identities, linked while the address was unverified, were unlinked.
    pub identities_unlinked: Vec<String>,
}

/// `user_updated`.
#[derive(Debug, Clone, Serialize)]
pub struct UserUpdated {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// The user.
    pub user_id: Uuid,
    /// The fields that were supplied.
    pub fields: Vec<String>,
}

/// `user_deleted`.
#[derive(Debug, Clone, Serialize)]
pub struct UserDeleted {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// The user.
    pub user_id: Uuid,
    /// The address the user had before deletion.
    pub email: String,
    /// Whether the row was removed (hard) or anonymised (soft).
    pub hard: bool,
}

/// `rate_limit_exceeded`: a request was refused by a rate limit.
#[derive(Debug, Clone, Serialize)]
pub struct RateLimitExceeded {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// The bucket (`login`, `magic_link`, …).
    pub endpoint: String,
    /// Client IP (`None` when unknown).
    pub ip_address: Option<String>,
    /// The submitted address (trimmed, lower-cased), for email-key refusals only.
    pub email: Option<String>,
    /// The limit in force, as configured (`"5/min"`).
    pub limit: String,
    /// `ip` or `email`.
    pub key_type: String,
}

/// `mfa_login`, `mfa_failed`: an MFA-login attempt of a user.
#[derive(Debug, Clone, Serialize)]
pub struct MfaAttempt {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// The user.
    pub user_id: Uuid,
    /// Their address.
    pub email: String,
    /// Client IP.
    pub ip_address: Option<String>,
}

/// `mfa_locked`: failed MFA-login attempts reached `mfa_max_failed_attempts`.
#[derive(Debug, Clone, Serialize)]
pub struct MfaLocked {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// The user.
    pub user_id: Uuid,
    /// Their address.
    pub email: String,
    /// Client IP of the attempt that crossed the threshold.
    pub ip_address: Option<String>,
    /// MFA logins are refused until then.
    pub locked_until: OffsetDateTime,
}

/// Every event AuthFort emits.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A user was created.
    UserCreated(UserCreated),
    /// A user signed in (every method, including magic links).
    Login(Login),
    /// A password login was refused.
    LoginFailed(LoginFailed),
    /// A provider identity was linked to an existing account.
    OAuthLink(OAuthLink),
    /// A refresh token was revoked by logout.
    Logout(Logout),
    /// A refresh token was rotated.
    TokenRefreshed(TokenRefreshed),
    /// A cookie-mode refresh presented an access token of another user or session.
    RefreshTokenMismatch(RefreshTokenMismatch),
    /// The signing key was rotated.
    KeyRotated(KeyRotated),
    /// A user was banned.
    UserBanned(UserRef),
    /// A user was unbanned.
    UserUnbanned(UserRef),
    /// A role was added.
    RoleAdded(RoleChanged),
    /// A role was removed.
    RoleRemoved(RoleChanged),
    /// Sessions were revoked.
    SessionRevoked(SessionRevoked),
    /// A magic link was created.
    MagicLinkRequested(MagicLinkRequested),
    /// A magic link was redeemed.
    MagicLinkLogin(UserEmail),
    /// A user's address became verified.
    EmailVerified(UserEmail),
    /// An unverified account was claimed by the first proof of its address.
    UnverifiedAccountClaimed(UnverifiedAccountClaimed),
    /// A user's profile was changed.
    UserUpdated(UserUpdated),
    /// A user was deleted.
    UserDeleted(UserDeleted),
    /// A request was refused by a rate limit.
    RateLimitExceeded(RateLimitExceeded),
    /// An email-verification token was created.
    EmailVerificationRequested(EmailVerificationRequested),
    /// An email one-time code was created.
    EmailOtpRequested(EmailOtpRequested),
    /// An email one-time code was redeemed.
    EmailOtpLogin(UserEmail),
    /// A password-reset token was created (the token is returned to the caller, not here).
    PasswordResetRequested(UserEmail),
    /// A password was reset with a reset token.
    PasswordReset(UserRef),
    /// A password was changed with the old one.
    PasswordChanged(UserRef),
    /// A first password was set on a passwordless account.
    PasswordSet(UserRef),
    /// A breached password was refused.
    PasswordPwnedRejected(PasswordPwnedRejected),
    /// A recently used password was refused.
    PasswordReuseRejected(UserRef),
    /// TOTP MFA was confirmed and is in force.
    MfaEnabled(UserEmail),
    /// TOTP MFA was turned off (by the user or an admin).
    MfaDisabled(UserEmail),
    /// An MFA login completed.
    MfaLogin(MfaAttempt),
    /// A wrong code was given at MFA login.
    MfaFailed(MfaAttempt),
    /// MFA login was locked after too many wrong codes.
    MfaLocked(MfaLocked),
    /// A backup code was used to complete an MFA login.
    BackupCodeUsed(UserEmail),
    /// The backup codes were replaced.
    BackupCodesRegenerated(UserEmail),
}

/// The name of an event, used to register hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// `user_created`
    UserCreated,
    /// `login`
    Login,
    /// `login_failed`
    LoginFailed,
    /// `oauth_link`
    OAuthLink,
    /// `logout`
    Logout,
    /// `token_refreshed`
    TokenRefreshed,
    /// `refresh_token_mismatch`
    RefreshTokenMismatch,
    /// `key_rotated`
    KeyRotated,
    /// `user_banned`
    UserBanned,
    /// `user_unbanned`
    UserUnbanned,
    /// `role_added`
    RoleAdded,
    /// `role_removed`
    RoleRemoved,
    /// `session_revoked`
    SessionRevoked,
    /// `magic_link_requested`
    MagicLinkRequested,
    /// `magic_link_login`
    MagicLinkLogin,
    /// `email_verified`
    EmailVerified,
    /// `unverified_account_claimed`
    UnverifiedAccountClaimed,
    /// `user_updated`
    UserUpdated,
    /// `user_deleted`
    UserDeleted,
    /// `rate_limit_exceeded`
    RateLimitExceeded,
    /// `email_verification_requested`
    EmailVerificationRequested,
    /// `email_otp_requested`
    EmailOtpRequested,
    /// `email_otp_login`
    EmailOtpLogin,
    /// `password_reset_requested`
    PasswordResetRequested,
    /// `password_reset`
    PasswordReset,
    /// `password_changed`
    PasswordChanged,
    /// `password_set`
    PasswordSet,
    /// `password_pwned_rejected`
    PasswordPwnedRejected,
    /// `password_reuse_rejected`
    PasswordReuseRejected,
    /// `mfa_enabled`
    MfaEnabled,
    /// `mfa_disabled`
    MfaDisabled,
    /// `mfa_login`
    MfaLogin,
    /// `mfa_failed`
    MfaFailed,
    /// `mfa_locked`
    MfaLocked,
    /// `backup_code_used`
    BackupCodeUsed,
    /// `backup_codes_regenerated`
    BackupCodesRegenerated,
}

impl EventKind {
    /// Every kind.
    pub const ALL: &'static [EventKind] = &[
        EventKind::UserCreated,
        EventKind::Login,
        EventKind::LoginFailed,
        EventKind::OAuthLink,
        EventKind::Logout,
        EventKind::TokenRefreshed,
        EventKind::RefreshTokenMismatch,
        EventKind::KeyRotated,
        EventKind::UserBanned,
        EventKind::UserUnbanned,
        EventKind::RoleAdded,
        EventKind::RoleRemoved,
        EventKind::SessionRevoked,
        EventKind::MagicLinkRequested,
        EventKind::MagicLinkLogin,
        EventKind::EmailVerified,
        EventKind::UnverifiedAccountClaimed,
        EventKind::UserUpdated,
        EventKind::UserDeleted,
        EventKind::RateLimitExceeded,
        EventKind::EmailVerificationRequested,
        EventKind::EmailOtpRequested,
        EventKind::EmailOtpLogin,
        EventKind::PasswordResetRequested,
        EventKind::PasswordReset,
        EventKind::PasswordChanged,
        EventKind::PasswordSet,
        EventKind::PasswordPwnedRejected,
        EventKind::PasswordReuseRejected,
        EventKind::MfaEnabled,
        EventKind::MfaDisabled,
        EventKind::MfaLogin,
        EventKind::MfaFailed,
        EventKind::MfaLocked,
        EventKind::BackupCodeUsed,
        EventKind::BackupCodesRegenerated,
    ];

    /// The reference's snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::UserCreated => "user_created",
            EventKind::Login => "login",
            EventKind::LoginFailed => "login_failed",
            EventKind::OAuthLink => "oauth_link",
            EventKind::Logout => "logout",
            EventKind::TokenRefreshed => "token_refreshed",
            EventKind::RefreshTokenMismatch => "refresh_token_mismatch",
            EventKind::KeyRotated => "key_rotated",
            EventKind::UserBanned => "user_banned",
            EventKind::UserUnbanned => "user_unbanned",
            EventKind::RoleAdded => "role_added",
            EventKind::RoleRemoved => "role_removed",
            EventKind::SessionRevoked => "session_revoked",
            EventKind::MagicLinkRequested => "magic_link_requested",
            EventKind::MagicLinkLogin => "magic_link_login",
            EventKind::EmailVerified => "email_verified",
            EventKind::UnverifiedAccountClaimed => "unverified_account_claimed",
            EventKind::UserUpdated => "user_updated",
            EventKind::UserDeleted => "user_deleted",
            EventKind::RateLimitExceeded => "rate_limit_exceeded",
            EventKind::EmailVerificationRequested => "email_verification_requested",
            EventKind::EmailOtpRequested => "email_otp_requested",
            EventKind::EmailOtpLogin => "email_otp_login",
            EventKind::PasswordResetRequested => "password_reset_requested",
            EventKind::PasswordReset => "password_reset",
            EventKind::PasswordChanged => "password_changed",
            EventKind::PasswordSet => "password_set",
            EventKind::PasswordPwnedRejected => "password_pwned_rejected",
            EventKind::PasswordReuseRejected => "password_reuse_rejected",
            EventKind::MfaEnabled => "mfa_enabled",
            EventKind::MfaDisabled => "mfa_disabled",
            EventKind::MfaLogin => "mfa_login",
            EventKind::MfaFailed => "mfa_failed",
            EventKind::MfaLocked => "mfa_locked",
            EventKind::BackupCodeUsed => "backup_code_used",
            EventKind::BackupCodesRegenerated => "backup_codes_regenerated",
        }
    }

    /// Looks a kind up by its snake_case name.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.iter().copied().find(|k| k.as_str() == name)
    }
}

impl Event {
    /// This event's kind.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::UserCreated(_) => EventKind::UserCreated,
            Event::Login(_) => EventKind::Login,
            Event::LoginFailed(_) => EventKind::LoginFailed,
            Event::OAuthLink(_) => EventKind::OAuthLink,
            Event::Logout(_) => EventKind::Logout,
            Event::TokenRefreshed(_) => EventKind::TokenRefreshed,
            Event::RefreshTokenMismatch(_) => EventKind::RefreshTokenMismatch,
            Event::KeyRotated(_) => EventKind::KeyRotated,
            Event::UserBanned(_) => EventKind::UserBanned,
            Event::UserUnbanned(_) => EventKind::UserUnbanned,
            Event::RoleAdded(_) => EventKind::RoleAdded,
            Event::RoleRemoved(_) => EventKind::RoleRemoved,
            Event::SessionRevoked(_) => EventKind::SessionRevoked,
            Event::MagicLinkRequested(_) => EventKind::MagicLinkRequested,
            Event::MagicLinkLogin(_) => EventKind::MagicLinkLogin,
            Event::EmailVerified(_) => EventKind::EmailVerified,
            Event::UnverifiedAccountClaimed(_) => EventKind::UnverifiedAccountClaimed,
            Event::UserUpdated(_) => EventKind::UserUpdated,
            Event::UserDeleted(_) => EventKind::UserDeleted,
            Event::RateLimitExceeded(_) => EventKind::RateLimitExceeded,
            Event::EmailVerificationRequested(_) => EventKind::EmailVerificationRequested,
            Event::EmailOtpRequested(_) => EventKind::EmailOtpRequested,
            Event::EmailOtpLogin(_) => EventKind::EmailOtpLogin,
            Event::PasswordResetRequested(_) => EventKind::PasswordResetRequested,
            Event::PasswordReset(_) => EventKind::PasswordReset,
            Event::PasswordChanged(_) => EventKind::PasswordChanged,
            Event::PasswordSet(_) => EventKind::PasswordSet,
            Event::PasswordPwnedRejected(_) => EventKind::PasswordPwnedRejected,
            Event::PasswordReuseRejected(_) => EventKind::PasswordReuseRejected,
            Event::MfaEnabled(_) => EventKind::MfaEnabled,
            Event::MfaDisabled(_) => EventKind::MfaDisabled,
            Event::MfaLogin(_) => EventKind::MfaLogin,
            Event::MfaFailed(_) => EventKind::MfaFailed,
            Event::MfaLocked(_) => EventKind::MfaLocked,
            Event::BackupCodeUsed(_) => EventKind::BackupCodeUsed,
            Event::BackupCodesRegenerated(_) => EventKind::BackupCodesRegenerated,
        }
    }
}

type HookFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
type Hook = Arc<dyn Fn(Event) -> HookFuture + Send + Sync>;

enum Message {
    Deliver(Vec<Event>),
    Flush(oneshot::Sender<()>),
}

/// Delivers events to hooks on a background task.
#[derive(Clone)]
pub struct EventBus {
    hooks: Arc<RwLock<Vec<(EventKind, Hook)>>>,
    tx: mpsc::UnboundedSender<Message>,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus").finish_non_exhaustive()
    }
}

impl EventBus {
    /// Starts the delivery task on the current Tokio runtime.
    pub fn start() -> EventBus {
        let hooks: Arc<RwLock<Vec<(EventKind, Hook)>>> = Arc::default();
        let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
        let registry = hooks.clone();
        tokio::spawn(async move {
            while let Some(message) = rx.recv().await {
                match message {
                    Message::Deliver(events) => {
                        for event in events {
                            deliver(&registry, event).await;
                        }
                    }
                    Message::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        EventBus { hooks, tx }
    }

    /// Registers a hook for one kind of event.
    pub fn on<F, Fut>(&self, kind: EventKind, hook: F)
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let hook: Hook = Arc::new(move |e| Box::pin(hook(e)));
        self.hooks.write().unwrap_or_else(|p| p.into_inner()).push((kind, hook));
    }

    /// Queues committed events for delivery. Never blocks, never fails the caller.
    pub fn emit(&self, events: Vec<Event>) {
        if !events.is_empty() && self.tx.send(Message::Deliver(events)).is_err() {
            tracing::warn!("event bus stopped; events dropped");
        }
    }

    /// Waits until every event queued before this call has been delivered.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

async fn deliver(registry: &RwLock<Vec<(EventKind, Hook)>>, event: Event) {
    let kind = event.kind();
    let hooks: Vec<Hook> = registry
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter(|(k, _)| *k == kind)
        .map(|(_, h)| h.clone())
        .collect();
    for (index, hook) in hooks.into_iter().enumerate() {
        // Each hook runs as its own task so a panic is contained and reported as an error.
        if let Err(e) = tokio::spawn(hook(event.clone())).await {
            tracing::error!(event = kind.as_str(), hook = index, error = %e, "hook failed");
        }
    }
}
