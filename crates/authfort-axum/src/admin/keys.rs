//! `/admin/keys/rotate`.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::{audit, AdminPrincipal};
use crate::error::ApiError;
use crate::state::AuthState;

/// `POST /admin/keys/rotate`: `{"kid": <new kid>}`; the old key stays published for
/// `key_rotation_ttl_seconds`.
pub(super) async fn rotate(admin: AdminPrincipal, State(state): State<AuthState>) -> Result<Json<Value>, ApiError> {
    let kid = state.auth.rotate_key().await?;
    audit(&admin, "keys.rotate", &kid);
    Ok(Json(json!({ "kid": kid })))
}
