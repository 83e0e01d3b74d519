//! Errors of the core, in its own words.
//!
//! Policy: every refusal a client may see is an [`AuthError::Rejected`] carrying the
//! AuthFort error `code`, its fixed `message`, and a [`RejectKind`] saying what sort of
//! refusal it is. The HTTP layer maps a kind to a status code; the core never names one.
//! Storage failures become [`AuthError::Unavailable`] (fail closed: the caller answers
//! "try again later" and issues nothing). Internal errors never carry client-facing text.

use std::fmt;

/// What sort of refusal an [`AuthError::Rejected`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectKind {
    /// The input is wrong (HTTP 400).
    BadRequest,
    /// The caller is not authenticated (HTTP 401).
    Unauthenticated,
    /// The caller is known but not allowed (HTTP 403).
    Forbidden,
    /// The named thing does not exist (HTTP 404).
    NotFound,
    /// The thing already exists (HTTP 409).
    Conflict,
    /// Too many attempts (HTTP 429).
    TooMany,
}

/// An error from an AuthFort operation.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A refusal with an AuthFort error code and message.
    #[error("{code}: {message}")]
    Rejected {
        /// The kind of refusal.
        kind: RejectKind,
        /// The AuthFort error code, e.g. `invalid_credentials`.
        code: &'static str,
        /// The human text, fixed per code.
        message: String,
        /// Extra `providers` list (only `oauth_account` uses it).
        providers: Option<Vec<String>>,
    },
    /// A dependency needed for the decision (the database) is unavailable.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A bug or an impossible state; logged, never shown to clients.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AuthError {
    /// A refusal.
    pub fn rejected(kind: RejectKind, code: &'static str, message: impl Into<String>) -> AuthError {
        AuthError::Rejected {
            kind,
            code,
            message: message.into(),
            providers: None,
        }
    }

    /// The error code (`service_unavailable` / `internal_error` for the non-refusals).
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Rejected { code, .. } => code,
            AuthError::Unavailable(_) => "service_unavailable",
            AuthError::Internal(_) => "internal_error",
        }
    }

    /// True for a refusal with this code.
    pub fn is(&self, code: &str) -> bool {
        self.code() == code
    }

    pub(crate) fn internal(e: impl fmt::Display) -> AuthError {
        AuthError::Internal(e.to_string())
    }

    /// 400 `invalid_email`.
    pub fn invalid_email(message: &str) -> AuthError {
        Self::rejected(RejectKind::BadRequest, "invalid_email", message)
    }
    /// 401 `invalid_credentials`.
    pub fn invalid_credentials() -> AuthError {
        Self::rejected(
            RejectKind::Unauthenticated,
            "invalid_credentials",
            "Invalid email or password",
        )
    }
    /// 403 `user_banned`.
    pub fn user_banned() -> AuthError {
        Self::rejected(RejectKind::Forbidden, "user_banned", "This account has been banned")
    }
    /// 409 `user_exists`.
    pub fn user_exists() -> AuthError {
        Self::rejected(RejectKind::Conflict, "user_exists", "Email already registered")
    }
    /// 403 `signup_disabled`.
    pub fn signup_disabled() -> AuthError {
        Self::rejected(
            RejectKind::Forbidden,
            "signup_disabled",
            "Registration is currently disabled",
        )
    }
    /// `user_not_found` as an authentication failure (401), with the given message.
    pub fn user_gone(message: &str) -> AuthError {
        Self::rejected(RejectKind::Unauthenticated, "user_not_found", message)
    }
    /// `user_not_found` as a lookup failure (404).
    pub fn user_not_found() -> AuthError {
        Self::rejected(RejectKind::NotFound, "user_not_found", "User not found")
    }
    /// 401 with one of the `refresh_token_*` codes.
    pub fn refresh(code: &'static str) -> AuthError {
        let message = match code {
            "refresh_token_missing" => "No refresh token provided",
            "refresh_token_revoked" => "Refresh token reuse detected \u{2014} all sessions revoked",
            "refresh_token_expired" => "Refresh token expired",
            "refresh_token_mismatch" => "Token pair mismatch \u{2014} please log in again",
            _ => "Invalid refresh token",
        };
        Self::rejected(RejectKind::Unauthenticated, code, message)
    }
    /// 401 `token_missing`.
    pub fn token_missing() -> AuthError {
        Self::rejected(RejectKind::Unauthenticated, "token_missing", "No access token provided")
    }
    /// 403 `insufficient_role`.
    pub fn insufficient_role(roles: &[&str]) -> AuthError {
        Self::rejected(
            RejectKind::Forbidden,
            "insufficient_role",
            format!("Requires one of: {}", roles.join(", ")),
        )
    }
}

impl From<crate::store::StoreError> for AuthError {
    fn from(e: crate::store::StoreError) -> AuthError {
        match e {
            crate::store::StoreError::Conflict(what) => AuthError::Internal(format!("unexpected conflict: {what}")),
            other => AuthError::Unavailable(other.to_string()),
        }
    }
}

impl From<authfort_verifier::VerifyError> for AuthError {
    fn from(e: authfort_verifier::VerifyError) -> AuthError {
        AuthError::rejected(RejectKind::Unauthenticated, e.code(), e.to_string())
    }
}

/// Result alias for core operations.
pub type AuthResult<T> = Result<T, AuthError>;
