//! One interface over the static and the remote verifier, for framework integrations.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::{AccessClaims, Verifier, VerifyError};

/// The future returned by [`TokenVerifier::verify_token`].
pub type VerifyFuture<'a> = Pin<Box<dyn Future<Output = Result<AccessClaims, VerifyError>> + Send + 'a>>;

/// Anything that turns an access token into verified [`AccessClaims`].
///
/// Implemented by [`Verifier`] (a fixed keyset) and, with the `jwks` feature, by
/// `JwksVerifier` (a remote, cached JWKS). The axum integration holds an
/// `Arc<dyn TokenVerifier>`, so either works there, and so does your own implementation
/// (for example one that also asks the server's introspection endpoint).
///
/// ```
/// use authfort_verifier::{JwkSet, TokenVerifier, Verifier, VerifyError};
///
/// # async fn demo() {
/// let verifier: std::sync::Arc<dyn TokenVerifier> =
///     std::sync::Arc::new(Verifier::from_jwks(&JwkSet::default(), "authfort"));
/// assert_eq!(verifier.verify_token("x").await, Err(VerifyError::Malformed));
/// # }
/// ```
pub trait TokenVerifier: Send + Sync + 'static {
    /// Verifies `token` and returns its claims.
    ///
    /// # Errors
    /// A [`VerifyError`] saying why the token is refused.
    fn verify_token<'a>(&'a self, token: &'a str) -> VerifyFuture<'a>;
}

impl TokenVerifier for Verifier {
    fn verify_token<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        Box::pin(std::future::ready(self.verify(token)))
    }
}

impl<T: TokenVerifier + ?Sized> TokenVerifier for Arc<T> {
    fn verify_token<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        (**self).verify_token(token)
    }
}
