//! `POST /auth/login`.

use authfort_core::rate_limit::Bucket;
use axum::extract::State;
use axum::response::Response;

use crate::client::Client;
use crate::error::ApiError;
use crate::json::{Fields, JsonBody};
use crate::rate_limit::{limit_email, limit_ip};
use crate::routes::sign_in_response;
use crate::state::AuthState;

pub(crate) async fn login(
    State(state): State<AuthState>,
    Client(client): Client,
    body: JsonBody,
) -> Result<Response, ApiError> {
    limit_ip(&state, Bucket::Login, &client).await?;
    let mut f = Fields::of(body, true)?;
    let email = f.required("email");
    let password = f.required("password");
    f.finish()?;
    limit_email(&state, Bucket::Login, &client, &email).await?;
    let sign_in = state.auth.login(&email, &password, &client).await?;
    sign_in_response(&state, &sign_in, None)
}
