//! Liveness and readiness.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::AuthState;

/// `GET /healthz`: the process is up.
pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: the database answers (503 otherwise).
pub(crate) async fn readyz(State(state): State<AuthState>) -> Result<Json<Value>, ApiError> {
    state.auth.ping().await?;
    Ok(Json(json!({"status": "ready"})))
}
