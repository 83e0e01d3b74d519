//! Rate limiting on the wire: one call per key at the top of a handler.
//!
//! An endpoint opts in with one line per key, IP first (before schema validation, so
//! malformed-but-parsable bodies still count), then the email once the body is read:
//!
//! ```ignore
//! limit_ip(&state, Bucket::Login, &client).await?;
//! // … read and validate the body …
//! limit_email(&state, Bucket::Login, &client, &email).await?;
//! ```
//!
//! Over the limit: 429 `rate_limit_exceeded` with `Retry-After`. Store unavailable: 503 with
//! `Retry-After` (fail closed). Off (`rate_limit.enabled = false`, or the bucket has no
//! limit): nothing happens.

use authfort_core::rate_limit::{Bucket, RateKey, Throttled};
use authfort_core::ClientInfo;

use crate::error::ApiError;
use crate::state::AuthState;

/// Counts the request against `ip:<client ip>:<bucket>` (`unknown` when the IP is not known).
///
/// # Errors
/// 429 over the limit, 503 when the rate-limit store cannot answer.
pub async fn limit_ip(state: &AuthState, bucket: Bucket, client: &ClientInfo) -> Result<(), ApiError> {
    let ip = client.ip_address.as_deref();
    Ok(state.auth.rate_limit(bucket, RateKey::Ip(ip), ip).await?)
}

/// Counts the request against `email:<lower(trim(email))>:<bucket>`, with the address as
/// submitted (before any validation, so the answer is the same whether or not it exists).
///
/// # Errors
/// 429 over the limit, 503 when the rate-limit store cannot answer.
pub async fn limit_email(state: &AuthState, bucket: Bucket, client: &ClientInfo, email: &str) -> Result<(), ApiError> {
    let ip = client.ip_address.as_deref();
    Ok(state.auth.rate_limit(bucket, RateKey::Email(email), ip).await?)
}

impl From<Throttled> for ApiError {
    fn from(t: Throttled) -> ApiError {
        match t {
            Throttled::Exceeded { retry_after } => ApiError::rate_limited(retry_after),
            Throttled::Unavailable => ApiError::unavailable(),
        }
    }
}
