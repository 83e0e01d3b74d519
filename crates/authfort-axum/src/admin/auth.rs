//! Who may call `/admin`: the configured API key, or an access token whose user holds the
//! `admin` role.

use std::fmt;

use authfort_core::{AuthError, AuthFort};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::StatusCode;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// The role an access token's user needs for the admin API.
pub const ADMIN_ROLE: &str = "admin";

/// The caller of an admin request: `api-key`, or `user:<id>` for an admin-role user.
///
/// Read only from `Authorization: Bearer <credential>` (never from cookies, so browsers
/// cannot be tricked into sending it). When `admin.api_key` is configured and the credential
/// equals it (constant-time), the caller is `api-key`. Otherwise the credential must be a
/// valid access token (checked as `/auth/me` checks it) of a user with the `admin` role:
/// without the role the answer is 403 `insufficient_role`; token errors keep their own
/// codes, except that with a key configured an unparseable credential is 401 `unauthorized`
/// "Invalid admin credentials". A missing or non-Bearer header is 401 `unauthorized`.
///
/// ```no_run
/// use authfort_axum::AdminPrincipal;
///
/// async fn audit(admin: AdminPrincipal) -> String {
///     format!("called by {admin}")
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminPrincipal(String);

impl AdminPrincipal {
    /// `api-key` or `user:<id>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AdminPrincipal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// Constant-time equality that does not leak the key's length either (both sides hashed).
fn key_matches(presented: &str, key: &str) -> bool {
    let a = Sha256::digest(presented.as_bytes());
    let b = Sha256::digest(key.as_bytes());
    bool::from(a.as_slice().ct_eq(b.as_slice()))
}

impl<S> FromRequestParts<S> for AdminPrincipal
where
    AuthFort: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = AuthFort::from_ref(state);
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| unauthorized("Missing or invalid Authorization header"))?;
        let key = auth.config().admin.api_key.as_deref().filter(|k| !k.is_empty());
        if key.is_some_and(|k| key_matches(presented, k)) {
            return Ok(AdminPrincipal("api-key".into()));
        }
        match auth.authenticate(presented).await {
            Ok(user) if user.has_any_role(&[ADMIN_ROLE]) => Ok(AdminPrincipal(format!("user:{}", user.user.id))),
            Ok(_) => Err(AuthError::insufficient_role(&[ADMIN_ROLE]).into()),
            Err(e) if key.is_some() && e.is("token_invalid") => Err(unauthorized("Invalid admin credentials")),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::key_matches;

    #[test]
    fn keys_match_exactly() {
        let key = "k".repeat(40);
        assert!(key_matches(&key, &key));
        assert!(!key_matches(&key[..39], &key));
        assert!(!key_matches(&format!("{key}k"), &key));
        assert!(!key_matches("", &key));
    }
}
