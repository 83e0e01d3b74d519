//! The admin API, nested at `/admin`: user management, sessions and key rotation.
//!
//! Every route requires an [`AdminPrincipal`]. Every successful action is logged at INFO
//! with `principal`, `action` and `target` (never a key, token or password).

mod auth;
pub(crate) mod body;
mod keys;
mod sessions;
mod users;

use axum::extract::rejection::PathRejection;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::Router;
use uuid::Uuid;

use authfort_core::{AuthError, AuthFort};

use crate::error::ApiError;
use crate::state::AuthState;

pub use auth::{AdminPrincipal, ADMIN_ROLE};

/// The admin routes, to nest at `/admin`:
///
/// | Method | Path | |
/// |---|---|---|
/// | GET | `/users?query=&role=&banned=&limit=&offset=` | one page of users |
/// | POST | `/users` | create a user (201) |
/// | GET, PATCH, DELETE | `/users/{id}` | read, update profile, delete (`?hard=true`) |
/// | POST | `/users/{id}/roles` | add a role (`{"role"}`) |
/// | DELETE | `/users/{id}/roles/{role}` | remove a role |
/// | POST | `/users/{id}/ban`, `/users/{id}/unban` | ban, lift a ban |
/// | POST | `/users/{id}/mfa/disable` | turn the user's MFA off (204) |
/// | GET | `/users/{id}/sessions` | all sessions, newest first |
/// | POST | `/users/{id}/sessions/revoke-all` | revoke every session |
/// | DELETE | `/sessions/{id}` | revoke one session |
/// | POST | `/keys/rotate` | new signing key (`{"kid"}`) |
pub fn admin_router(auth: AuthFort) -> Router {
    Router::new()
        .route("/users", get(users::list).post(users::create))
        .route(
            "/users/{id}",
            get(users::get).patch(users::update).delete(users::remove),
        )
        .route("/users/{id}/roles", post(users::add_role))
        .route("/users/{id}/roles/{role}", delete(users::remove_role))
        .route("/users/{id}/ban", post(users::ban))
        .route("/users/{id}/unban", post(users::unban))
        .route("/users/{id}/mfa/disable", post(users::disable_mfa))
        .route("/users/{id}/sessions", get(sessions::list))
        .route("/users/{id}/sessions/revoke-all", post(sessions::revoke_all))
        .route("/sessions/{id}", delete(sessions::revoke))
        .route("/keys/rotate", post(keys::rotate))
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(AuthState::new(auth))
}

/// Logs one admin action.
fn audit(principal: &AdminPrincipal, action: &str, target: &str) {
    tracing::info!(principal = principal.as_str(), action, target, "admin action");
}

/// A user id from the path; anything malformed is simply not found.
fn user_id(path: Result<Path<String>, PathRejection>) -> Result<Uuid, ApiError> {
    path.ok()
        .and_then(|Path(raw)| Uuid::parse_str(&raw).ok())
        .ok_or_else(|| AuthError::user_not_found().into())
}

/// 404 `session_not_found`.
pub(crate) fn session_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "session_not_found", "Session not found")
}

/// 400 `invalid_query`.
fn invalid_query(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", message)
}

/// A lenient boolean query value: `true`/`false`/`1`/`0`/`yes`/`no` (any case); empty is
/// absent.
fn query_bool(name: &str, raw: &str) -> Result<Option<bool>, ApiError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "true" | "1" | "yes" => Ok(Some(true)),
        "false" | "0" | "no" => Ok(Some(false)),
        _ => Err(invalid_query(&format!("{name} must be true or false"))),
    }
}
