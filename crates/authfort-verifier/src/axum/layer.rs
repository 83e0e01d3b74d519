//! A tower layer that lets only authenticated (and, optionally, suitably-roled) requests through.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::Request;
use axum::response::{IntoResponse, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::{AuthRejection, ServiceAuth, VerifiedUser};

/// Refuses requests without a valid access token, in AuthFort's envelope (401/503), and
/// optionally those whose token carries none of the given roles (403). Accepted requests
/// reach the inner service with a [`VerifiedUser`] in their extensions, so handlers extract
/// it without verifying again.
///
/// Use it with `Router::route_layer` so unknown paths still answer 404, not 401.
///
/// ```
/// use axum::{routing::get, Router};
/// use authfort_verifier::axum::{RequireAuthLayer, ServiceAuth, VerifiedUser};
/// use authfort_verifier::{JwkSet, Verifier};
///
/// async fn me(VerifiedUser(claims): VerifiedUser) -> String {
///     claims.sub
/// }
///
/// let auth = ServiceAuth::new(Verifier::from_jwks(&JwkSet::default(), "authfort"));
/// let app: Router = Router::new()
///     .route("/me", get(me))
///     .route_layer(RequireAuthLayer::new(auth.clone()))
///     .merge(
///         Router::new()
///             .route("/admin", get(|| async { "secret" }))
///             .route_layer(RequireAuthLayer::new(auth).require_any_role(["admin"])),
///     );
/// ```
#[derive(Debug, Clone)]
pub struct RequireAuthLayer {
    auth: ServiceAuth,
    roles: Arc<[String]>,
}

impl RequireAuthLayer {
    /// Requires a valid token.
    pub fn new(auth: ServiceAuth) -> RequireAuthLayer {
        RequireAuthLayer {
            auth,
            roles: Arc::from(Vec::new()),
        }
    }

    /// Also requires at least one of `roles` (403 `insufficient_role` otherwise).
    pub fn require_any_role<I, R>(mut self, roles: I) -> RequireAuthLayer
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }
}

impl<S> Layer<S> for RequireAuthLayer {
    type Service = RequireAuth<S>;

    fn layer(&self, inner: S) -> RequireAuth<S> {
        RequireAuth {
            inner,
            auth: self.auth.clone(),
            roles: self.roles.clone(),
        }
    }
}

/// The service made by [`RequireAuthLayer`].
#[derive(Debug, Clone)]
pub struct RequireAuth<S> {
    inner: S,
    auth: ServiceAuth,
    roles: Arc<[String]>,
}

impl<S, B> Service<Request<B>> for RequireAuth<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The clone that was polled ready is the one we call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = self.auth.clone();
        let roles = self.roles.clone();
        Box::pin(async move {
            let claims = match request.extensions().get::<VerifiedUser>() {
                Some(VerifiedUser(claims)) => claims.clone(),
                None => match auth.authenticate(request.headers()).await {
                    Ok(claims) => claims,
                    Err(rejection) => return Ok(rejection.into_response()),
                },
            };
            if !roles.is_empty() && !claims.has_any_role(&roles[..]) {
                return Ok(AuthRejection::InsufficientRole(roles.to_vec()).into_response());
            }
            request.extensions_mut().insert(VerifiedUser(claims));
            inner.call(request).await
        })
    }
}
