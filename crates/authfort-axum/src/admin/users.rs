//! `/admin/users…`: list, read, create, update, delete, roles, bans.

use authfort_core::{AuthError, CreateUser, ListUsersResponse, RejectKind, UpdateUser, UserQuery, UserResponse};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::body::Object;
use super::{audit, invalid_query, query_bool, user_id, AdminPrincipal};
use crate::error::ApiError;
use crate::json::{Fields, JsonBody};
use crate::state::AuthState;

/// Default page size.
const DEFAULT_LIMIT: u32 = 50;
/// Largest page size; larger requests are capped.
const MAX_LIMIT: u32 = 500;
/// Longest search string accepted.
const MAX_QUERY_CHARS: usize = 255;

type QueryPairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// The `?query=&role=&banned=&limit=&offset=` filters (last occurrence wins, unknown keys
/// ignored, empty values count as absent).
fn user_query(pairs: QueryPairs) -> Result<UserQuery, ApiError> {
    let Query(pairs) = pairs.map_err(|_| invalid_query("Malformed query string"))?;
    let mut q = UserQuery {
        limit: DEFAULT_LIMIT,
        ..UserQuery::default()
    };
    for (key, value) in pairs {
        let value = value.trim();
        match key.as_str() {
            "query" => {
                if value.chars().count() > MAX_QUERY_CHARS {
                    return Err(invalid_query("query must be 255 characters or fewer"));
                }
                q.query = (!value.is_empty()).then(|| value.to_owned());
            }
            "role" => q.role = (!value.is_empty()).then(|| value.to_owned()),
            "banned" => q.banned = query_bool("banned", value)?,
            "limit" if value.is_empty() => q.limit = DEFAULT_LIMIT,
            "limit" => {
                let n: u64 = value
                    .parse()
                    .map_err(|_| invalid_query("limit must be a positive integer"))?;
                if n == 0 {
                    return Err(invalid_query("limit must be a positive integer"));
                }
                q.limit = u32::try_from(n.min(u64::from(MAX_LIMIT))).unwrap_or(MAX_LIMIT);
            }
            "offset" if value.is_empty() => q.offset = 0,
            "offset" => {
                q.offset = value
                    .parse()
                    .map_err(|_| invalid_query("offset must be a non-negative integer"))?;
            }
            _ => {}
        }
    }
    Ok(q)
}

/// 1–50 characters, none of them whitespace or control characters.
fn check_role(role: &str) -> Result<(), ApiError> {
    authfort_core::validation::validate_role(role)
        .map_err(|e| AuthError::rejected(RejectKind::BadRequest, e.code, e.message).into())
}

/// `GET /admin/users`.
pub(super) async fn list(
    admin: AdminPrincipal,
    State(state): State<AuthState>,
    pairs: QueryPairs,
) -> Result<Json<ListUsersResponse>, ApiError> {
    let query = user_query(pairs)?;
    let page = state.auth.list_users(&query).await?;
    audit(&admin, "users.list", "users");
    Ok(Json(page))
}

/// `GET /admin/users/{id}`.
pub(super) async fn get(
    admin: AdminPrincipal,
    State(state): State<AuthState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<UserResponse>, ApiError> {
    let id = user_id(path)?;
    let user = state.auth.get_user(id).await?;
    audit(&admin, "users.get", &id.to_string());
    Ok(Json(user))
}

/// `POST /admin/users`: 201 with the new user, roles included.
pub(super) async fn create(
    admin: AdminPrincipal,
    State(state): State<AuthState>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let mut f = Object::of(body, true)?;
    let input = CreateUser {
        email: f.required("email"),
        password: f.required("password"),
        name: f.optional("name"),
        avatar_url: f.optional("avatar_url"),
        phone: f.optional("phone"),
        email_verified: f.boolean("email_verified").unwrap_or(false),
    };
    let roles = f.string_list("roles").unwrap_or_default();
    f.finish()?;
    // Checked before anything is written, so a bad role never leaves a half-made user.
    for role in &roles {
        check_role(role)?;
    }
    let created = state.auth.admin_create_user(input).await?;
    // No tokens exist yet, so there is nothing to invalidate.
    for role in &roles {
        state.auth.add_role(created.id, role, false).await?;
    }
    let user = if roles.is_empty() {
        created
    } else {
        state.auth.get_user(created.id).await?
    };
    audit(&admin, "users.create", &user.id.to_string());
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

/// `PATCH /admin/users/{id}`: absent fields unchanged, `null` clears.
pub(super) async fn update(
    admin: AdminPrincipal,
    State(state): State<AuthState>,
    path: Result<Path<String>, PathRejection>,
    body: JsonBody,
) -> Result<Json<UserResponse>, ApiError> {
    let id = user_id(path)?;
    let mut f = Object::of(body, false)?;
    let update = UpdateUser {
        name: f.nullable("name"),
        avatar_url: f.nullable("avatar_url"),
        phone: f.nullable("phone"),
        email_verified: f.boolean("email_verified"),
    };
    f.finish()?;
    let user = state.auth.update_user(id, update).await?;
    audit(&admin, "users.update", &id.to_string());
    Ok(Json(user))
}

/// `DELETE /admin/users/{id}` (`?hard=true` removes the row).
pub(super) async fn remove(
    admin: AdminPrincipal,
    State(state): State<AuthState>,
    path: Result<Path<String>, PathRejection>,
    pairs: QueryPairs,
) -> Result<StatusCode, ApiError> {
    let id = user_id(path)?;
    let Query(pairs) = pairs.map_err(|_| invalid_query("Malformed query string"))?;
    let mut hard = false;
    for (key, value) in &pairs {
        if key == "hard" {
            hard = query_bool("hard", value)?.unwrap_or(false);
        }
    }
    state.auth.delete_user(id, hard).await?;
    audit(
        &admin,
        if hard { "users.delete_hard" } else { "users.delete" },
        &id.to_string(),
    );
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /admin/users/{id}/roles` `{"role"}`: immediate (outstanding access tokens die).
pub(super) async fn add_role(
    admin: AdminPrincipal,
    State(state): State<AuthState>,
    path: Result<Path<String>, PathRejection>,
    body: JsonBody,
) -> Result<StatusCode, ApiError> {
    let id = user_id(path)?;
    let mut f = Fields::of(body, true)?;
    let role = f.required("role");
    f.finish()?;
    check_role(&role)?;
    state.auth.add_role(id, &role, true).await?;
    audit(&admin, "users.role_add", &format!("{id} role={role}"));
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /admin/users/{id}/roles/{role}`: immediate.
pub(super) async fn remove_role(
    admin: AdminPrincipal,
    State(state): State<AuthState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let (raw_id, role) = path
        .map(|Path(p)| p)
        .map_err(|_| ApiError::from(AuthError::user_not_found()))?;
    let id = user_id(Ok(Path(raw_id)))?;
    // Not validated: whatever a library caller once added can still be removed. Unknown and
    // soft-deleted users are refused by the core (404 `user_not_found`).
    state.auth.remove_role(id, &role, true).await?;
    audit(&admin, "users.role_remove", &format!("{id} role={role}"));
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /admin/users/{id}/ban`.
pub(super) async fn ban(
    admin: AdminPrincipal,
    State(state): State<AuthState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = user_id(path)?;
    state.auth.ban_user(id).await?;
    audit(&admin, "users.ban", &id.to_string());
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /admin/users/{id}/mfa/disable`: turns the user's MFA off without a code (lost
/// device). 204; 404 `user_not_found`; 400 `mfa_not_enabled`.
pub(super) async fn disable_mfa(
    admin: AdminPrincipal,
    State(state): State<AuthState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = user_id(path)?;
    state.auth.admin_disable_mfa(id).await?;
    audit(&admin, "users.mfa_disable", &id.to_string());
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /admin/users/{id}/unban`.
pub(super) async fn unban(
    admin: AdminPrincipal,
    State(state): State<AuthState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = user_id(path)?;
    state.auth.unban_user(id).await?;
    audit(&admin, "users.unban", &id.to_string());
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Result<UserQuery, ApiError> {
        user_query(Ok(Query(
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        )))
    }

    #[test]
    fn query_parsing_is_lenient_but_strict_on_bad_values() {
        let d = q(&[]).unwrap();
        assert_eq!((d.limit, d.offset, d.banned), (50, 0, None));
        let p = q(&[
            ("limit", "9999"),
            ("offset", "7"),
            ("banned", "TRUE"),
            ("query", " a "),
            ("x", "y"),
        ])
        .unwrap();
        assert_eq!(
            (p.limit, p.offset, p.banned, p.query.as_deref()),
            (500, 7, Some(true), Some("a"))
        );
        let e = q(&[("limit", ""), ("banned", ""), ("role", "")]).unwrap();
        assert_eq!((e.limit, e.banned, e.role), (50, None, None));
        for bad in [
            ("limit", "0"),
            ("limit", "-1"),
            ("limit", "ten"),
            ("offset", "-3"),
            ("banned", "maybe"),
        ] {
            assert_eq!(q(&[bad]).unwrap_err().status(), StatusCode::BAD_REQUEST, "{bad:?}");
        }
    }
}
