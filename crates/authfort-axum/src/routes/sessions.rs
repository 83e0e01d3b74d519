//! The caller's own sessions: `GET /auth/sessions`, `DELETE /auth/sessions/{id}`,
//! `POST /auth/sessions/revoke-all`.

use authfort_core::model::format_time;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use uuid::Uuid;

use crate::admin::body::Object;
use crate::admin::session_not_found;
use crate::cookies::append_clear_cookies;
use crate::error::ApiError;
use crate::extract::CurrentUser;
use crate::json::JsonBody;
use crate::state::AuthState;

/// One of the caller's sessions.
#[derive(Serialize)]
pub(crate) struct OwnSession {
    id: Uuid,
    user_agent: Option<String>,
    ip_address: Option<String>,
    created_at: String,
    expires_at: String,
    current: bool,
}

/// `{"sessions": [...]}`.
#[derive(Serialize)]
pub(crate) struct OwnSessions {
    sessions: Vec<OwnSession>,
}

/// A response that, in cookie mode, also clears the auth cookies (the caller's own session
/// was just revoked, so they are useless).
fn signed_out(state: &AuthState) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let cookie = &state.auth.config().cookie;
    if cookie.enabled {
        append_clear_cookies(response.headers_mut(), cookie, state.auth.clock().now());
    }
    response
}

/// `GET /auth/sessions`: active sessions, newest first, `current` marking the caller's.
pub(crate) async fn list(
    State(state): State<AuthState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<OwnSessions>, ApiError> {
    let sessions = state
        .auth
        .get_sessions(me.user.id, true)
        .await?
        .into_iter()
        .map(|s| OwnSession {
            current: Some(s.id) == me.session_id,
            id: s.id,
            user_agent: s.user_agent,
            ip_address: s.ip_address,
            created_at: format_time(&s.created_at),
            expires_at: format_time(&s.expires_at),
        })
        .collect();
    Ok(Json(OwnSessions { sessions }))
}

/// `DELETE /auth/sessions/{id}`: only the caller's own sessions; anything else is 404.
pub(crate) async fn revoke(
    State(state): State<AuthState>,
    CurrentUser(me): CurrentUser,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = path
        .ok()
        .and_then(|Path(raw)| Uuid::parse_str(&raw).ok())
        .ok_or_else(session_not_found)?;
    if state.auth.session_owner(id).await? != Some(me.user.id) {
        return Err(session_not_found());
    }
    state.auth.revoke_session(id).await?;
    if Some(id) == me.session_id {
        return Ok(signed_out(&state));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /auth/sessions/revoke-all` `{"keep_current": bool}` (optional, default true).
pub(crate) async fn revoke_all(
    State(state): State<AuthState>,
    CurrentUser(me): CurrentUser,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let mut f = Object::of(body, false)?;
    let keep_current = f.boolean("keep_current").unwrap_or(true);
    f.finish()?;
    let keep = if keep_current { me.session_id } else { None };
    state.auth.revoke_all_sessions(me.user.id, keep).await?;
    if keep.is_none() {
        return Ok(signed_out(&state));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
