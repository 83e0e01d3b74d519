//! Extractors for your own routes: the signed-in user and role guards.

use std::marker::PhantomData;

use authfort_core::{AuthError, AuthFort};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::HeaderMap;

use crate::cookies::read_cookie;
use crate::error::ApiError;

/// The user behind the request's access token, checked as `/auth/me` checks it (signature,
/// expiry, user exists, not banned, token version current; roles fresh from storage).
///
/// The token comes from `Authorization: Bearer <token>`, or, in cookie mode only, the access
/// cookie. A present but bad bearer token is not retried with the cookie.
///
/// ```no_run
/// use authfort_axum::CurrentUser;
///
/// async fn profile(CurrentUser(me): CurrentUser) -> String {
///     format!("hello {}", me.user.email)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct CurrentUser(pub authfort_core::CurrentUser);

/// The access token of a request, per the rules above.
pub fn access_token(headers: &HeaderMap, auth: &AuthFort) -> Option<String> {
    if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        if let Some(token) = value.strip_prefix("Bearer ") {
            return Some(token.to_owned());
        }
    }
    let cookie = &auth.config().cookie;
    if cookie.enabled {
        return read_cookie(headers, &cookie.access_cookie_name);
    }
    None
}

impl<S> FromRequestParts<S> for CurrentUser
where
    AuthFort: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = AuthFort::from_ref(state);
        let token = access_token(&parts.headers, &auth).ok_or_else(AuthError::token_missing)?;
        Ok(CurrentUser(auth.authenticate(&token).await?))
    }
}

/// A set of roles for [`RequireRole`] (any-of).
///
/// ```
/// struct Admin;
/// impl authfort_axum::RoleSet for Admin {
///     const ROLES: &'static [&'static str] = &["admin"];
/// }
/// ```
pub trait RoleSet: Send + Sync + 'static {
    /// The accepted roles.
    const ROLES: &'static [&'static str];
}

/// Like [`CurrentUser`], but refuses with 403 `insufficient_role` unless the user has one
/// of `R::ROLES` (read fresh from storage).
pub struct RequireRole<R: RoleSet>(pub authfort_core::CurrentUser, PhantomData<R>);

impl<R: RoleSet> RequireRole<R> {
    /// The authenticated user.
    pub fn user(&self) -> &authfort_core::CurrentUser {
        &self.0
    }
}

impl<S, R> FromRequestParts<S> for RequireRole<R>
where
    AuthFort: FromRef<S>,
    S: Send + Sync,
    R: RoleSet,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        if !user.has_any_role(R::ROLES) {
            return Err(AuthError::insufficient_role(R::ROLES).into());
        }
        Ok(RequireRole(user, PhantomData))
    }
}
