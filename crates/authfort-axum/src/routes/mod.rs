//! The `/auth` routes, one file per flow.

pub(crate) mod confirm_page;
pub(crate) mod health;
pub(crate) mod introspect;
pub(crate) mod jwks;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod magic_link;
pub(crate) mod me;
pub(crate) mod mfa;
pub(crate) mod oauth;
pub(crate) mod otp;
pub(crate) mod password;
pub(crate) mod refresh;
pub(crate) mod sessions;
pub(crate) mod signup;
pub(crate) mod verify_email;

use authfort_core::AuthTokens;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::cookies::append_auth_cookies;
use crate::state::AuthState;

/// The optional `{"refresh_token": …}` body of `/refresh` and `/logout` (empty counts as absent).
pub(crate) fn body_refresh_token(body: crate::json::JsonBody) -> Result<Option<String>, crate::error::ApiError> {
    let mut f = crate::json::Fields::of(body, false)?;
    let token = f.optional("refresh_token").filter(|t| !t.is_empty());
    f.finish()?;
    Ok(token)
}

/// The answer of a first factor: tokens (+ cookies), or for a user with MFA the challenge
/// (`Cache-Control: no-store`, no cookies). `extra` adds fields to the body (e.g.
/// `redirect_to`).
pub(crate) fn sign_in_response(
    state: &AuthState,
    sign_in: &authfort_core::SignIn,
    extra: Option<(&str, serde_json::Value)>,
) -> Result<Response, crate::error::ApiError> {
    let internal = |_: serde_json::Error| crate::error::ApiError::internal();
    match sign_in {
        authfort_core::SignIn::Authenticated(response) => {
            let mut body = serde_json::to_value(response).map_err(internal)?;
            if let Some((key, value)) = extra {
                body[key] = value;
            }
            Ok(token_response(state, StatusCode::OK, &body, &response.tokens))
        }
        authfort_core::SignIn::MfaRequired(challenge) => {
            let mut response = (StatusCode::OK, Json(challenge)).into_response();
            response
                .headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(response)
        }
        #[allow(unreachable_patterns)]
        _ => Err(crate::error::ApiError::internal()),
    }
}

/// A token-issuing response: JSON body, `Cache-Control: no-store`, and in cookie mode the
/// two auth cookies.
pub(crate) fn token_response<B: serde::Serialize>(
    state: &AuthState,
    status: StatusCode,
    body: &B,
    tokens: &AuthTokens,
) -> Response {
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let config = state.auth.config();
    if config.cookie.enabled {
        append_auth_cookies(headers, &config.cookie, tokens, config.refresh_token_ttl_seconds);
    }
    response
}
