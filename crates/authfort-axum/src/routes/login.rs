//! `POST /auth/login`.

use authfort_core::SignIn;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::client::Client;
use crate::error::ApiError;
use crate::json::{Fields, JsonBody};
use crate::routes::token_response;
use crate::state::AuthState;

pub(crate) async fn login(
    State(state): State<AuthState>,
    Client(client): Client,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let mut f = Fields::of(body, true)?;
    let email = f.required("email");
    let password = f.required("password");
    f.finish()?;
    match state.auth.login(&email, &password, &client).await? {
        SignIn::Authenticated(response) => Ok(token_response(&state, StatusCode::OK, &response, &response.tokens)),
        #[allow(unreachable_patterns)]
        _ => Err(ApiError::internal()),
    }
}
