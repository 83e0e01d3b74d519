//! `GET /.well-known/jwks.json`.

use authfort_core::JwkSet;
use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::response::IntoResponse;
use axum::Json;

use crate::error::ApiError;
use crate::state::AuthState;

pub(crate) async fn jwks(State(state): State<AuthState>) -> Result<impl IntoResponse, ApiError> {
    let keys: JwkSet = state.auth.get_jwks().await?;
    Ok(([(CACHE_CONTROL, "public, max-age=3600")], Json(keys)))
}
