//! `POST /auth/refresh`.

use authfort_core::rate_limit::Bucket;
use authfort_core::AuthError;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::client::Client;
use crate::cookies::{append_clear_cookies, read_cookie};
use crate::error::ApiError;
use crate::json::JsonBody;
use crate::rate_limit::limit_ip;
use crate::routes::{body_refresh_token, token_response};
use crate::state::AuthState;

pub(crate) async fn refresh(
    State(state): State<AuthState>,
    Client(client): Client,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, ApiError> {
    limit_ip(&state, Bucket::Refresh, &client).await?;
    let from_body = body_refresh_token(body)?;
    let cookie = &state.auth.config().cookie;
    // Body token first; the cookie pair (refresh + access for the cross-check) only in cookie mode.
    let (token, access) = match from_body {
        Some(t) => (Some(t), None),
        None if cookie.enabled => (
            read_cookie(&headers, &cookie.refresh_cookie_name),
            read_cookie(&headers, &cookie.access_cookie_name),
        ),
        None => (None, None),
    };
    let Some(token) = token else {
        return Err(AuthError::refresh("refresh_token_missing").into());
    };
    match state.auth.refresh(&token, access.as_deref(), &client).await {
        Ok(response) => Ok(token_response(&state, StatusCode::OK, &response, &response.tokens)),
        Err(e) => {
            let mut response = ApiError::from(e).into_response();
            if cookie.enabled {
                append_clear_cookies(response.headers_mut(), cookie, state.auth.clock().now());
            }
            Ok(response)
        }
    }
}
