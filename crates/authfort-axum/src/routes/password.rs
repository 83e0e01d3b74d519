//! Passwords: `POST /auth/password/forgot` (enumeration-safe), `/auth/password/reset`,
//! `/auth/password/change` (signed in) and `/auth/set-password` (signed in, no password yet).

use authfort_core::rate_limit::Bucket;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::client::Client;
use crate::error::ApiError;
use crate::extract::CurrentUser;
use crate::json::{Fields, JsonBody};
use crate::rate_limit::{limit_email, limit_ip};
use crate::state::AuthState;

/// The fixed answer of `POST /auth/password/forgot`, whatever the address.
pub(crate) const FORGOT: &str = "If an account exists, a password reset link has been sent.";

fn message(text: &str) -> Json<Value> {
    Json(json!({ "message": text }))
}

pub(crate) async fn forgot(
    State(state): State<AuthState>,
    Client(client): Client,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    limit_ip(&state, Bucket::PasswordForgot, &client).await?;
    let mut f = Fields::of(body, true)?;
    let email = f.required("email");
    f.finish()?;
    limit_email(&state, Bucket::PasswordForgot, &client, &email).await?;
    state.auth.create_password_reset_token(&email).await?;
    Ok(message(FORGOT))
}

/// Sets a new password with an emailed token; every session of the user ends.
pub(crate) async fn reset(
    State(state): State<AuthState>,
    Client(client): Client,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    limit_ip(&state, Bucket::PasswordReset, &client).await?;
    let mut f = Fields::of(body, true)?;
    let token = f.required("token");
    let new_password = f.required("new_password");
    f.finish()?;
    state.auth.reset_password(&token, &new_password).await?;
    Ok(message("Password reset successfully."))
}

/// Changes the caller's password; the caller's session stays (refresh to get a new access
/// token), every other session ends.
pub(crate) async fn change(
    State(state): State<AuthState>,
    Client(client): Client,
    CurrentUser(me): CurrentUser,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    limit_ip(&state, Bucket::PasswordChange, &client).await?;
    let mut f = Fields::of(body, true)?;
    let old_password = f.required("old_password");
    let new_password = f.required("new_password");
    f.finish()?;
    state
        .auth
        .change_password_keeping_session(me.user.id, me.session_id, &old_password, &new_password)
        .await?;
    Ok(message("Password changed successfully."))
}

/// `POST /auth/set-password`: a first password for a passwordless account; every session
/// of the user ends, the caller's included (as the reference).
pub(crate) async fn set(
    State(state): State<AuthState>,
    CurrentUser(me): CurrentUser,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let mut f = Fields::of(body, true)?;
    let password = f.required("password");
    f.finish()?;
    state.auth.set_password(me.user.id, &password).await?;
    Ok(message("Password set successfully."))
}
