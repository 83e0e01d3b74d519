//! `POST /auth/verify-email` and `POST /auth/verify-email/resend` (signed in).

use authfort_core::rate_limit::Bucket;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::client::Client;
use crate::error::ApiError;
use crate::extract::CurrentUser;
use crate::json::{Fields, JsonBody};
use crate::rate_limit::limit_ip;
use crate::state::AuthState;

pub(crate) async fn verify(
    State(state): State<AuthState>,
    Client(client): Client,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    limit_ip(&state, Bucket::VerifyEmail, &client).await?;
    let mut f = Fields::of(body, true)?;
    let token = f.required("token");
    f.finish()?;
    state.auth.verify_email(&token).await?;
    Ok(Json(json!({ "message": "Email verified successfully." })))
}

/// Queues a new verification email for the caller; earlier links stop working.
pub(crate) async fn resend(
    State(state): State<AuthState>,
    Client(client): Client,
    CurrentUser(me): CurrentUser,
) -> Result<Json<Value>, ApiError> {
    limit_ip(&state, Bucket::VerifyEmailResend, &client).await?;
    state.auth.resend_email_verification(me.user.id).await?;
    Ok(Json(json!({ "message": "Verification email sent." })))
}
