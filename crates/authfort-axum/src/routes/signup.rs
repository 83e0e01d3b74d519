//! `POST /auth/signup`.

use authfort_core::rate_limit::Bucket;
use authfort_core::CreateUser;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::client::Client;
use crate::error::ApiError;
use crate::json::{Fields, JsonBody};
use crate::rate_limit::{limit_email, limit_ip};
use crate::routes::token_response;
use crate::state::AuthState;

pub(crate) async fn signup(
    State(state): State<AuthState>,
    Client(client): Client,
    body: JsonBody,
) -> Result<Response, ApiError> {
    limit_ip(&state, Bucket::Signup, &client).await?;
    let mut f = Fields::of(body, true)?;
    let input = CreateUser {
        email: f.required("email"),
        password: f.required("password"),
        name: f.optional("name"),
        avatar_url: f.optional("avatar_url"),
        phone: f.optional("phone"),
        email_verified: false,
    };
    f.finish()?;
    limit_email(&state, Bucket::Signup, &client, &input.email).await?;
    let response = state.auth.signup(input, &client).await?;
    Ok(token_response(&state, StatusCode::CREATED, &response, &response.tokens))
}
