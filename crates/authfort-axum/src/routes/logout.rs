//! `POST /auth/logout`: always 204.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::cookies::{append_clear_cookies, read_cookie};
use crate::error::ApiError;
use crate::json::JsonBody;
use crate::routes::body_refresh_token;
use crate::state::AuthState;

pub(crate) async fn logout(
    State(state): State<AuthState>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let from_body = body_refresh_token(body)?;
    let cookie = &state.auth.config().cookie;
    let token = from_body.or_else(|| {
        cookie
            .enabled
            .then(|| read_cookie(&headers, &cookie.refresh_cookie_name))
            .flatten()
    });
    if let Some(token) = token {
        state.auth.logout(&token).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    if cookie.enabled {
        append_clear_cookies(response.headers_mut(), cookie, state.auth.clock().now());
    }
    Ok(response)
}
