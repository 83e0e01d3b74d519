//! `POST /auth/otp` (enumeration-safe request) and `POST /auth/otp/verify`.
//!
//! Both count against the shared `otp` bucket (IP and email), as in the reference, so requests
//! and verifications together are limited; verification also counts against `otp_verify`.

use authfort_core::rate_limit::Bucket;
use axum::extract::State;
use axum::http::header::REFERRER_POLICY;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::client::Client;
use crate::error::ApiError;
use crate::json::{Fields, JsonBody};
use crate::rate_limit::{limit_email, limit_ip};
use crate::routes::sign_in_response;
use crate::state::AuthState;

/// The fixed answer of `POST /auth/otp`, whatever the address.
pub(crate) const REQUESTED: &str = "If an account exists, a verification code has been sent.";

pub(crate) async fn request(
    State(state): State<AuthState>,
    Client(client): Client,
    body: JsonBody,
) -> Result<Response, ApiError> {
    limit_ip(&state, Bucket::Otp, &client).await?;
    let mut f = Fields::of(body, true)?;
    let email = f.required("email");
    f.finish()?;
    limit_email(&state, Bucket::Otp, &client, &email).await?;
    state.auth.create_email_otp(&email).await?;
    Ok(Json(json!({ "message": REQUESTED })).into_response())
}

pub(crate) async fn verify(
    State(state): State<AuthState>,
    Client(client): Client,
    body: JsonBody,
) -> Result<Response, ApiError> {
    limit_ip(&state, Bucket::Otp, &client).await?;
    limit_ip(&state, Bucket::OtpVerify, &client).await?;
    let mut f = Fields::of(body, true)?;
    let email = f.required("email");
    let code = f.required("code");
    f.finish()?;
    limit_email(&state, Bucket::Otp, &client, &email).await?;
    limit_email(&state, Bucket::OtpVerify, &client, &email).await?;
    let sign_in = state.auth.verify_email_otp(&email, &code, &client).await?;
    let mut response = sign_in_response(&state, &sign_in, None)?;
    response
        .headers_mut()
        .insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(response)
}
