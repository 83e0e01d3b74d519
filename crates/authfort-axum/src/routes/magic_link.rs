//! `POST /auth/magic-link`, `POST /auth/magic-link/verify`, `GET /auth/magic-link/confirm`.

use std::sync::Arc;

use authfort_core::rate_limit::Bucket;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::client::Client;
use crate::error::ApiError;
use crate::json::{Fields, JsonBody};
use crate::rate_limit::{limit_email, limit_ip};
use crate::routes::token_response;
use crate::state::AuthState;

/// The fixed answer of `POST /auth/magic-link`, whatever the address.
pub(crate) const REQUESTED: &str = "If an account exists, a magic link has been sent.";

pub(crate) async fn request(
    State(state): State<AuthState>,
    Client(client): Client,
    body: JsonBody,
) -> Result<Response, ApiError> {
    limit_ip(&state, Bucket::MagicLink, &client).await?;
    let mut f = Fields::of(body, true)?;
    let email = f.required("email");
    let redirect_to = f.optional("redirect_to");
    f.finish()?;
    limit_email(&state, Bucket::MagicLink, &client, &email).await?;
    state.auth.request_magic_link(&email, redirect_to.as_deref()).await?;
    Ok(Json(json!({ "message": REQUESTED })).into_response())
}

pub(crate) async fn verify(
    State(state): State<AuthState>,
    Client(client): Client,
    body: JsonBody,
) -> Result<Response, ApiError> {
    limit_ip(&state, Bucket::MagicLinkVerify, &client).await?;
    let mut f = Fields::of(body, true)?;
    let token = f.required("token");
    f.finish()?;
    let signed_in = state.auth.verify_magic_link(&token, &client).await?;
    let mut body = serde_json::to_value(&signed_in.response).map_err(|_| ApiError::internal())?;
    body["redirect_to"] = json!(signed_in.redirect_to);
    let mut response = token_response(&state, StatusCode::OK, &body, &signed_in.response.tokens);
    response
        .headers_mut()
        .insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(response)
}

/// The confirm page and its headers, rendered once per router.
#[derive(Clone)]
pub(crate) struct ConfirmPage {
    html: Arc<str>,
    csp: HeaderValue,
}

fn csp_hash(source: &str) -> String {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(source.as_bytes()))
    )
}

impl ConfirmPage {
    pub(crate) fn render(success_redirect: Option<&str>) -> ConfirmPage {
        const TEMPLATE: &str = include_str!("../pages/confirm.html");
        const STYLE: &str = include_str!("../pages/confirm.css");
        const SCRIPT: &str = include_str!("../pages/confirm.js");
        // `<` escaped so no value can close the script element.
        let config = json!({ "verify": "verify", "success": success_redirect })
            .to_string()
            .replace('<', "\\u003c");
        let html = TEMPLATE
            .replace("{{STYLE}}", STYLE)
            .replace("{{SCRIPT}}", SCRIPT)
            .replace("{{CONFIG}}", &config);
        let csp = format!(
            "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; img-src 'none'; \
             form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
            csp_hash(SCRIPT),
            csp_hash(STYLE)
        );
        ConfirmPage {
            html: html.into(),
            csp: HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'")),
        }
    }

    /// Serves the page. It never consumes anything: the token stays in the browser until
    /// the user presses Continue (scanners that GET links burn nothing).
    pub(crate) fn response(&self) -> Response {
        let mut response = (StatusCode::OK, self.html.to_string()).into_response();
        let h = response.headers_mut();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        h.insert(CONTENT_SECURITY_POLICY, self.csp.clone());
        h.insert(
            HeaderName::from_static("x-robots-tag"),
            HeaderValue::from_static("noindex"),
        );
        h.insert(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        );
        h.insert(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        );
        response
    }
}
