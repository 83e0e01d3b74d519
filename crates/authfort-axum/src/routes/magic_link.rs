//! `POST /auth/magic-link`, `POST /auth/magic-link/verify` (the confirm page is in
//! [`crate::routes::confirm_page`]).

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

/// The fixed answer of `POST /auth/magic-link`, whatever the address.
pub(crate) const REQUESTED: &str = "If an account exists, a magic link has been sent.";

pub(crate) async fn request(
    State(state): State<AuthState>,
    Client(client): Client,
    body: JsonBody,
) -> Result<Response, ApiError> {
    limit_ip(&state, Bucket::MagicLink, &client).await?;
    let mut f = Fields::of(body, true)?;
    let email = f.required("email");
    let redirect_to = f.optional("redirect_to");
    f.finish()?;
    limit_email(&state, Bucket::MagicLink, &client, &email).await?;
    state.auth.request_magic_link(&email, redirect_to.as_deref()).await?;
    Ok(Json(json!({ "message": REQUESTED })).into_response())
}

pub(crate) async fn verify(
    State(state): State<AuthState>,
    Client(client): Client,
    body: JsonBody,
) -> Result<Response, ApiError> {
    limit_ip(&state, Bucket::MagicLinkVerify, &client).await?;
    let mut f = Fields::of(body, true)?;
    let token = f.required("token");
    f.finish()?;
    let signed_in = state.auth.verify_magic_link(&token, &client).await?;
    let redirect_to = json!(signed_in.redirect_to);
    let mut response = sign_in_response(&state, &signed_in.sign_in, Some(("redirect_to", redirect_to)))?;
    response
        .headers_mut()
        .insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(response)
}
