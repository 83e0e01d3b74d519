//! Extractors: the verified user and role guards.

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;

use super::{AuthRejection, ServiceAuth};
use crate::AccessClaims;

/// The verified claims of the request's access token.
///
/// Works below [`RequireAuthLayer`](super::RequireAuthLayer) (the layer already verified the
/// token; the extractor just takes the claims from the request extensions) or below
/// `Extension(ServiceAuth)` (the extractor verifies the token itself). Anywhere else it
/// answers 500, since the route was wired without authentication.
///
/// As `Option<VerifiedUser>` it is optional: no token gives `None`, while a token that is
/// present but refused still answers 401 (so clients know to refresh).
///
/// ```
/// use authfort_verifier::axum::VerifiedUser;
///
/// async fn whoami(VerifiedUser(claims): VerifiedUser) -> String {
///     format!("{} ({})", claims.email, claims.sub)
/// }
///
/// async fn greeting(user: Option<VerifiedUser>) -> String {
///     match user {
///         Some(VerifiedUser(claims)) => format!("hello {}", claims.email),
///         None => "hello stranger".into(),
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedUser(pub AccessClaims);

impl VerifiedUser {
    /// Refuses with 403 `insufficient_role` unless the claims carry one of `roles`.
    ///
    /// # Errors
    /// [`AuthRejection::InsufficientRole`].
    pub fn require_any_role(&self, roles: &[&str]) -> Result<(), AuthRejection> {
        require_any_role(&self.0, roles)
    }
}

impl std::ops::Deref for VerifiedUser {
    type Target = AccessClaims;

    fn deref(&self) -> &AccessClaims {
        &self.0
    }
}

/// Runtime role guard (any-of): `Ok` if `claims` carry at least one of `roles`.
///
/// ```
/// use authfort_verifier::axum::{require_any_role, AuthRejection, VerifiedUser};
///
/// async fn delete_everything(VerifiedUser(claims): VerifiedUser) -> Result<&'static str, AuthRejection> {
///     require_any_role(&claims, &["admin", "owner"])?;
///     Ok("done")
/// }
/// ```
///
/// # Errors
/// [`AuthRejection::InsufficientRole`] (403, "Requires one of: admin, owner").
pub fn require_any_role(claims: &AccessClaims, roles: &[&str]) -> Result<(), AuthRejection> {
    if claims.has_any_role(roles) {
        Ok(())
    } else {
        Err(AuthRejection::InsufficientRole(
            roles.iter().map(|r| (*r).to_owned()).collect(),
        ))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for VerifiedUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<VerifiedUser>() {
            return Ok(user.clone());
        }
        let auth = parts
            .extensions
            .get::<ServiceAuth>()
            .cloned()
            .ok_or(AuthRejection::NotConfigured)?;
        let user = VerifiedUser(auth.authenticate(&parts.headers).await?);
        // Later extractors of the same request (a role guard, say) need not verify again.
        parts.extensions.insert(user.clone());
        Ok(user)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for VerifiedUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, Self::Rejection> {
        if parts.extensions.get::<VerifiedUser>().is_none() {
            let auth = parts
                .extensions
                .get::<ServiceAuth>()
                .ok_or(AuthRejection::NotConfigured)?;
            if auth.token_from(&parts.headers).is_none() {
                return Ok(None);
            }
        }
        <VerifiedUser as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}

/// A set of roles for [`RequireRole`] (any-of).
///
/// ```
/// struct Admin;
/// impl authfort_verifier::axum::RoleSet for Admin {
///     const ROLES: &'static [&'static str] = &["admin"];
/// }
/// ```
pub trait RoleSet: Send + Sync + 'static {
    /// The accepted roles.
    const ROLES: &'static [&'static str];
}

/// Like [`VerifiedUser`], but refuses with 403 `insufficient_role` unless the token carries
/// one of `R::ROLES` (roles as of token issue; the server bumps the token version on role
/// changes, so a stale role lives at most one access-token lifetime).
///
/// ```
/// use authfort_verifier::axum::{RequireRole, RoleSet};
///
/// struct Staff;
/// impl RoleSet for Staff {
///     const ROLES: &'static [&'static str] = &["admin", "support"];
/// }
///
/// async fn tickets(RequireRole(claims, ..): RequireRole<Staff>) -> String {
///     format!("tickets for {}", claims.email)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct RequireRole<R: RoleSet>(pub AccessClaims, pub PhantomData<R>);

impl<S: Send + Sync, R: RoleSet> FromRequestParts<S> for RequireRole<R> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let VerifiedUser(claims) = <VerifiedUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        require_any_role(&claims, R::ROLES)?;
        Ok(RequireRole(claims, PhantomData))
    }
}
