//! Refusals in AuthFort's envelope: `{"detail":{"error":<code>,"message":<text>}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::VerifyError;

/// `Retry-After` (seconds) sent with a 503 when no keyset is available; matches the default
/// spacing of JWKS retries.
const RETRY_AFTER_SECONDS: u64 = 30;

/// Why the extractor, a role guard or [`RequireAuthLayer`](super::RequireAuthLayer) refused a
/// request. As a response it is the same JSON that AuthFort's own service dependency sends:
///
/// | variant | status | `error` | `message` |
/// |---|---|---|---|
/// | `Missing` | 401 | `token_missing` | No access token provided |
/// | `Token(Expired)` | 401 | `token_expired` | Access token has expired |
/// | `Token(other)` | 401 | `token_invalid` | the [`VerifyError`] text, e.g. Invalid access token |
/// | `Token(KeysUnavailable)` | 503 (+`Retry-After: 30`) | `service_unavailable` | Service temporarily unavailable, please retry |
/// | `InsufficientRole` | 403 | `insufficient_role` | Requires one of: a, b |
/// | `NotConfigured` | 500 | `internal_error` | Internal server error |
///
/// 401 answers carry `WWW-Authenticate: Bearer`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthRejection {
    /// Neither an `Authorization: Bearer` header nor (when configured) the access cookie.
    #[error("No access token provided")]
    Missing,
    /// The token was refused (or, for [`VerifyError::KeysUnavailable`], could not be checked).
    #[error("{0}")]
    Token(VerifyError),
    /// The token is valid but carries none of these roles.
    #[error("Requires one of: {}", .0.join(", "))]
    InsufficientRole(Vec<String>),
    /// The route has neither [`RequireAuthLayer`](super::RequireAuthLayer) nor an
    /// `Extension(ServiceAuth)` above it (a programming error).
    #[error("authentication is not configured for this route")]
    NotConfigured,
}

impl AuthRejection {
    /// The HTTP status of this refusal.
    pub fn status(&self) -> StatusCode {
        match self {
            AuthRejection::Missing => StatusCode::UNAUTHORIZED,
            AuthRejection::Token(e) if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            AuthRejection::Token(_) => StatusCode::UNAUTHORIZED,
            AuthRejection::InsufficientRole(_) => StatusCode::FORBIDDEN,
            AuthRejection::NotConfigured => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The envelope's `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthRejection::Missing => "token_missing",
            AuthRejection::Token(e) if e.is_unavailable() => "service_unavailable",
            AuthRejection::Token(e) => e.code(),
            AuthRejection::InsufficientRole(_) => "insufficient_role",
            AuthRejection::NotConfigured => "internal_error",
        }
    }

    /// The envelope's `message` (never internal details).
    pub fn message(&self) -> String {
        match self {
            AuthRejection::Token(e) if e.is_unavailable() => "Service temporarily unavailable, please retry".into(),
            AuthRejection::NotConfigured => "Internal server error".into(),
            other => other.to_string(),
        }
    }
}

impl From<VerifyError> for AuthRejection {
    fn from(e: VerifyError) -> AuthRejection {
        AuthRejection::Token(e)
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::json!({"detail": {"error": self.code(), "message": self.message()}});
        let mut response = (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            body.to_string(),
        )
            .into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        response
    }
}
