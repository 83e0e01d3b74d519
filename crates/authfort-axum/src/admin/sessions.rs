//! `/admin/users/{id}/sessions…` and `/admin/sessions/{id}`.

use authfort_core::SessionInfo;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use uuid::Uuid;

use super::{audit, session_not_found, user_id, AdminPrincipal};
use crate::error::ApiError;
use crate::state::AuthState;

/// `{"sessions": [...]}`.
#[derive(Serialize)]
pub(super) struct Sessions {
    sessions: Vec<SessionInfo>,
}

/// `GET /admin/users/{id}/sessions`: every session, revoked ones included, newest first.
pub(super) async fn list(
    admin: AdminPrincipal,
    State(state): State<AuthState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Sessions>, ApiError> {
    let id = user_id(path)?;
    state.auth.get_user(id).await?;
    let sessions = state.auth.get_sessions(id, false).await?;
    audit(&admin, "sessions.list", &id.to_string());
    Ok(Json(Sessions { sessions }))
}

/// `POST /admin/users/{id}/sessions/revoke-all`.
pub(super) async fn revoke_all(
    admin: AdminPrincipal,
    State(state): State<AuthState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = user_id(path)?;
    state.auth.get_user(id).await?;
    state.auth.revoke_all_sessions(id, None).await?;
    audit(&admin, "sessions.revoke_all", &id.to_string());
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /admin/sessions/{id}`: 404 `session_not_found` for unknown or malformed ids.
pub(super) async fn revoke(
    admin: AdminPrincipal,
    State(state): State<AuthState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = path
        .ok()
        .and_then(|Path(raw)| Uuid::parse_str(&raw).ok())
        .ok_or_else(session_not_found)?;
    if state.auth.session_owner(id).await?.is_none() {
        return Err(session_not_found());
    }
    state.auth.revoke_session(id).await?;
    audit(&admin, "sessions.revoke", &id.to_string());
    Ok(StatusCode::NO_CONTENT)
}
