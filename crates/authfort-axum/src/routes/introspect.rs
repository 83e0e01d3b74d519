//! `POST /auth/introspect`: JSON `{"token"}`, `Authorization: Bearer <introspect_secret>`.

use authfort_core::{AuthError, RejectKind};
use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::json::{Fields, JsonBody};
use crate::state::AuthState;

fn unauthorized(message: &str) -> ApiError {
    AuthError::rejected(RejectKind::Unauthenticated, "unauthorized", message).into()
}

pub(crate) async fn introspect(
    State(state): State<AuthState>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, ApiError> {
    // Off unless a secret is configured (the reference leaves it open to anyone).
    let Some(secret) = state.auth.config().introspect_secret.as_ref() else {
        return Err(ApiError::not_found());
    };
    let mut f = Fields::of(body, true)?;
    let token = f.required("token");
    f.finish()?;
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| unauthorized("Missing or invalid Authorization header"))?;
    // Compare digests so neither content nor length leaks through timing.
    let matches: bool = Sha256::digest(presented.as_bytes())
        .ct_eq(&Sha256::digest(secret.expose().as_bytes()))
        .into();
    if !matches {
        return Err(unauthorized("Invalid introspection secret"));
    }
    Ok(Json(state.auth.introspect(&token).await?).into_response())
}
