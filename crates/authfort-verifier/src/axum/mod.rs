//! Axum integration: where the token comes from, and who may pass.
//!
//! - [`ServiceAuth`]: the verifier plus the token-source rules; put it above your routes
//!   with `Extension(auth)` or hand it to [`RequireAuthLayer`].
//! - [`VerifiedUser`]: extractor for the verified claims (`Option<VerifiedUser>` for
//!   optional authentication).
//! - [`RequireRole`] / [`RoleSet`] and [`require_any_role`]: role guards (any-of, 403).
//! - [`RequireAuthLayer`]: a tower layer that refuses unauthenticated requests and leaves
//!   the claims in the request extensions for handlers.
//! - [`AuthRejection`]: the refusals, in AuthFort's JSON envelope.

mod extract;
mod layer;
mod rejection;

use std::sync::Arc;

use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::HeaderMap;

use crate::{AccessClaims, TokenVerifier};

pub use extract::{require_any_role, RequireRole, RoleSet, VerifiedUser};
pub use layer::{RequireAuth, RequireAuthLayer};
pub use rejection::AuthRejection;

/// The access-cookie name AuthFort's server uses by default.
pub const DEFAULT_ACCESS_COOKIE: &str = "access_token";

/// How a service authenticates requests: a verifier and where tokens are read from.
///
/// The token comes from `Authorization: Bearer <token>` (exactly that prefix: `bearer x` is
/// not recognised), else, only if a cookie name is configured, from that cookie. A present
/// but bad bearer token is not retried with the cookie. This is the token-source rule of
/// AuthFort's server and of its Python `authfort-service`.
///
/// Cheap to clone.
///
/// ```
/// use authfort_verifier::{axum::ServiceAuth, JwkSet, Verifier};
///
/// let verifier = Verifier::from_jwks(&JwkSet::default(), "authfort");
/// let auth = ServiceAuth::new(verifier).with_cookie(); // also read the `access_token` cookie
/// assert_eq!(auth.cookie_name(), Some("access_token"));
/// ```
#[derive(Clone)]
pub struct ServiceAuth {
    verifier: Arc<dyn TokenVerifier>,
    cookie_name: Option<Arc<str>>,
}

impl std::fmt::Debug for ServiceAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAuth")
            .field("cookie_name", &self.cookie_name)
            .finish_non_exhaustive()
    }
}

impl ServiceAuth {
    /// Bearer-only authentication with `verifier` (a [`Verifier`](crate::Verifier), a
    /// `JwksVerifier`, or your own [`TokenVerifier`]).
    pub fn new(verifier: impl TokenVerifier) -> ServiceAuth {
        ServiceAuth::from_arc(Arc::new(verifier))
    }

    /// Like [`ServiceAuth::new`] with a shared verifier.
    pub fn from_arc(verifier: Arc<dyn TokenVerifier>) -> ServiceAuth {
        ServiceAuth {
            verifier,
            cookie_name: None,
        }
    }

    /// Also read the token from the server's default access cookie, `access_token` (for
    /// browsers talking to a server in cookie mode on the same site).
    pub fn with_cookie(self) -> ServiceAuth {
        self.with_cookie_name(DEFAULT_ACCESS_COOKIE)
    }

    /// Also read the token from the cookie `name` (must equal the server's access-cookie name).
    pub fn with_cookie_name(mut self, name: impl Into<String>) -> ServiceAuth {
        self.cookie_name = Some(Arc::from(name.into()));
        self
    }

    /// The cookie read as a fallback, if any.
    pub fn cookie_name(&self) -> Option<&str> {
        self.cookie_name.as_deref()
    }

    /// The verifier.
    pub fn verifier(&self) -> &Arc<dyn TokenVerifier> {
        &self.verifier
    }

    /// The access token of a request, per the rules above (`None`: no token at all).
    pub fn token_from(&self, headers: &HeaderMap) -> Option<String> {
        if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
            if let Some(token) = value.strip_prefix("Bearer ") {
                return Some(token.to_owned());
            }
        }
        let name = self.cookie_name.as_deref()?;
        read_cookie(headers, name)
    }

    /// Finds and verifies the request's token (what the extractor and the layer do).
    ///
    /// # Errors
    /// [`AuthRejection::Missing`] without a token, [`AuthRejection::Token`] if it is refused.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<AccessClaims, AuthRejection> {
        let token = self.token_from(headers).ok_or(AuthRejection::Missing)?;
        self.verifier.verify_token(&token).await.map_err(AuthRejection::Token)
    }
}

/// The first non-empty value of cookie `name` across all `Cookie` headers.
fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
}
