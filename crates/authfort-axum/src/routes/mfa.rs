//! TOTP MFA under `/auth/mfa`: `POST /verify` (anonymous, with the challenge token) and, for a
//! signed-in user, `POST /init`, `/confirm`, `/disable` (204), `/backup-codes/regenerate`
//! and `GET /status`.

use authfort_core::rate_limit::Bucket;
use authfort_core::{MfaSetup, MfaStatus};
use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::client::Client;
use crate::error::ApiError;
use crate::extract::CurrentUser;
use crate::json::{Fields, JsonBody};
use crate::rate_limit::limit_ip;
use crate::routes::token_response;
use crate::state::AuthState;

/// The `{"code": …}` body of confirm, disable and regenerate.
fn code_of(body: JsonBody) -> Result<String, ApiError> {
    let mut f = Fields::of(body, true)?;
    let code = f.required("code");
    f.finish()?;
    Ok(code)
}

/// A body with secrets in it: never cached.
fn no_store<B: serde::Serialize>(body: &B) -> Response {
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Completes an MFA login: 200 AuthResponse (+ cookies in cookie mode).
pub(crate) async fn verify(
    State(state): State<AuthState>,
    Client(client): Client,
    body: JsonBody,
) -> Result<Response, ApiError> {
    limit_ip(&state, Bucket::MfaVerify, &client).await?;
    let mut f = Fields::of(body, true)?;
    let mfa_token = f.required("mfa_token");
    let code = f.required("code");
    f.finish()?;
    let response = state.auth.complete_mfa_login(&mfa_token, &code, &client).await?;
    Ok(token_response(&state, StatusCode::OK, &response, &response.tokens))
}

/// Starts enrolment: `{"secret", "qr_uri"}`.
pub(crate) async fn init(State(state): State<AuthState>, CurrentUser(me): CurrentUser) -> Result<Response, ApiError> {
    let setup: MfaSetup = state.auth.enable_mfa_init(me.user.id).await?;
    Ok(no_store(&setup))
}

/// Confirms enrolment: the backup codes, shown once.
pub(crate) async fn confirm(
    State(state): State<AuthState>,
    CurrentUser(me): CurrentUser,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let code = code_of(body)?;
    let codes = state.auth.enable_mfa_confirm(me.user.id, &code).await?;
    Ok(no_store(&codes))
}

/// Turns MFA off with a TOTP or backup code: 204.
pub(crate) async fn disable(
    State(state): State<AuthState>,
    CurrentUser(me): CurrentUser,
    body: JsonBody,
) -> Result<StatusCode, ApiError> {
    let code = code_of(body)?;
    state.auth.disable_mfa(me.user.id, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// New backup codes for a TOTP code.
pub(crate) async fn regenerate(
    State(state): State<AuthState>,
    CurrentUser(me): CurrentUser,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let code = code_of(body)?;
    let codes = state.auth.regenerate_backup_codes(me.user.id, &code).await?;
    Ok(no_store(&codes))
}

/// `{"enabled", "backup_codes_remaining"}`.
pub(crate) async fn status(
    State(state): State<AuthState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<MfaStatus>, ApiError> {
    Ok(Json(state.auth.get_mfa_status(me.user.id).await?))
}
