//! The one HTTP error type: maps core errors to AuthFort's wire envelope.
//!
//! Every refusal is `{"detail":{"error":<code>,"message":<text>}}` with the status its
//! [`RejectKind`] implies. Storage failures answer 503 with `Retry-After` (fail closed);
//! internal errors answer a generic 500 and are logged, never echoed.

use authfort_core::{AuthError, RejectKind};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Value,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An envelope error with any status and code.
    pub fn new(status: StatusCode, code: &str, message: &str) -> ApiError {
        ApiError {
            status,
            body: json!({"detail": {"error": code, "message": message}}),
            retry_after: None,
        }
    }

    /// A FastAPI-style validation error: 422 `{"detail": [ … ]}`.
    pub fn validation(items: Vec<Value>) -> ApiError {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: json!({ "detail": items }),
            retry_after: None,
        }
    }

    /// 413 for a body over the configured limit.
    pub fn payload_too_large() -> ApiError {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "Request body too large",
        )
    }

    /// 404 `{"detail":"Not Found"}` for unknown routes.
    pub fn not_found() -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            body: json!({"detail": "Not Found"}),
            retry_after: None,
        }
    }

    /// 405 `{"detail":"Method Not Allowed"}`.
    pub fn method_not_allowed() -> ApiError {
        ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            body: json!({"detail": "Method Not Allowed"}),
            retry_after: None,
        }
    }

    /// 503, fail closed.
    pub fn unavailable() -> ApiError {
        ApiError {
            retry_after: Some(5),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "Service temporarily unavailable, please retry",
            )
        }
    }

    /// 429 `rate_limit_exceeded` with `Retry-After: retry_after` (seconds).
    pub fn rate_limited(retry_after: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_exceeded",
                "Too many requests. Please try again later.",
            )
        }
    }

    /// Generic 500.
    pub fn internal() -> ApiError {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal server error",
        )
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

/// The status an AuthFort refusal maps to.
pub fn status_of(kind: RejectKind) -> StatusCode {
    match kind {
        RejectKind::BadRequest => StatusCode::BAD_REQUEST,
        RejectKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        RejectKind::Forbidden => StatusCode::FORBIDDEN,
        RejectKind::NotFound => StatusCode::NOT_FOUND,
        RejectKind::Conflict => StatusCode::CONFLICT,
        RejectKind::TooMany => StatusCode::TOO_MANY_REQUESTS,
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> ApiError {
        match e {
            AuthError::Rejected {
                kind,
                code,
                message,
                providers,
            } => {
                let mut detail = json!({"error": code, "message": message});
                if let Some(p) = providers {
                    detail["providers"] = json!(p);
                }
                ApiError {
                    status: status_of(kind),
                    body: json!({ "detail": detail }),
                    retry_after: None,
                }
            }
            AuthError::Unavailable(why) => {
                tracing::error!(error = %why, "dependency unavailable; failing closed");
                ApiError::unavailable()
            }
            AuthError::Internal(why) => {
                tracing::error!(error = %why, "internal error");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
