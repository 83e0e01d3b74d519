//! `GET /auth/oauth/{provider}/authorize` and `GET /auth/oauth/{provider}/callback`.
//!
//! The authorize step sets a short-lived HttpOnly cookie binding the flow to this browser
//! (also in bearer mode: it is not an auth cookie); the callback needs it back, clears it,
//! and answers with JSON, a redirect, or the popup page, setting the auth cookies in cookie
//! mode on each of them (the reference drops them on the redirect and the popup).

use std::collections::HashMap;

use authfort_core::links::{oauth_destination, popup_target_origin};
use authfort_core::rate_limit::Bucket;
use authfort_core::{AuthTokens, OAuthCallback, OAuthFinish, OAuthOutcome};
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, REFERRER_POLICY, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::client::Client;
use crate::cookies::{append_auth_cookies, read_cookie};
use crate::error::ApiError;
use crate::rate_limit::limit_ip;
use crate::routes::token_response;
use crate::state::AuthState;

/// The cookie binding a started sign-in to the browser.
pub(crate) const STATE_COOKIE: &str = "authfort_oauth_state";

type Params = Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>;

fn param(q: &Params, name: &str) -> Option<String> {
    q.as_ref().ok().and_then(|Query(m)| m.get(name).cloned())
}

/// `SameSite=Lax` always: the callback arrives as a top-level navigation from the provider's
/// site, which `Strict` would strip the cookie from.
fn state_cookie(state: &AuthState, value: &str, max_age: u64) -> String {
    let c = &state.auth.config().cookie;
    let mut s = format!(
        "{STATE_COOKIE}={value}; HttpOnly; Max-Age={max_age}; Path={}; SameSite=lax",
        c.path
    );
    if c.secure {
        s.push_str("; Secure");
    }
    s
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}

pub(crate) async fn authorize(
    State(state): State<AuthState>,
    Path(provider): Path<String>,
    Client(client): Client,
    q: Params,
) -> Result<Response, ApiError> {
    limit_ip(&state, Bucket::OauthAuthorize, &client).await?;
    let redirect_to = param(&q, "redirect_to");
    let mode = param(&q, "mode");
    let start = state
        .auth
        .oauth_authorize(&provider, redirect_to.as_deref(), mode.as_deref())
        .await?;
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    headers.insert(
        LOCATION,
        HeaderValue::from_str(&start.location).map_err(|_| ApiError::internal())?,
    );
    if let Ok(v) = HeaderValue::from_str(&state_cookie(&state, &start.binding, start.max_age)) {
        headers.append(SET_COOKIE, v);
    }
    no_store(headers);
    Ok(response)
}

pub(crate) async fn callback(
    State(state): State<AuthState>,
    Path(provider): Path<String>,
    Client(client): Client,
    headers: HeaderMap,
    q: Params,
) -> Response {
    let params = OAuthCallback {
        code: param(&q, "code"),
        state: param(&q, "state"),
        error: param(&q, "error"),
        binding: read_cookie(&headers, STATE_COOKIE),
    };
    let mut response = match state.auth.oauth_callback(&provider, &params, &client).await {
        Ok(finish) => finish_response(&state, finish),
        Err(e) => ApiError::from(e).into_response(),
    };
    let h = response.headers_mut();
    if params.binding.is_some() {
        if let Ok(v) = HeaderValue::from_str(&state_cookie(&state, "", 0)) {
            h.append(SET_COOKIE, v);
        }
    }
    no_store(h);
    response
}

fn with_auth_cookies(state: &AuthState, mut response: Response, tokens: &AuthTokens) -> Response {
    let config = state.auth.config();
    if config.cookie.enabled {
        append_auth_cookies(
            response.headers_mut(),
            &config.cookie,
            tokens,
            config.refresh_token_ttl_seconds,
        );
    }
    response
}

fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => {
            let mut r = StatusCode::FOUND.into_response();
            r.headers_mut().insert(LOCATION, v);
            r
        }
        Err(_) => ApiError::internal().into_response(),
    }
}

fn finish_response(state: &AuthState, finish: OAuthFinish) -> Response {
    let config = state.auth.config();
    match (finish.outcome, finish.popup) {
        (outcome, true) => {
            let (payload, tokens) = match &outcome {
                OAuthOutcome::SignedIn(r) => (serde_json::to_value(r).unwrap_or_default(), Some(&r.tokens)),
                OAuthOutcome::MfaRequired { mfa_token, expires_in } => (
                    json!({"mfa_required": true, "mfa_token": mfa_token, "expires_in": expires_in}),
                    None,
                ),
            };
            let page = popup_page(&payload, popup_target_origin(config).as_deref());
            match tokens {
                Some(t) => with_auth_cookies(state, page, t),
                None => page,
            }
        }
        (OAuthOutcome::MfaRequired { mfa_token, .. }, false) => {
            // The token goes in the fragment: never sent to servers, logs or Referer headers.
            let target = oauth_destination(config, finish.redirect_to.as_deref().unwrap_or("/"));
            let base = target.split('#').next().unwrap_or_default();
            redirect(&format!("{base}#mfa_token={mfa_token}"))
        }
        (OAuthOutcome::SignedIn(r), false) => match finish.redirect_to {
            Some(to) => with_auth_cookies(state, redirect(&oauth_destination(config, &to)), &r.tokens),
            None => token_response(state, StatusCode::OK, &r, &r.tokens),
        },
    }
}

/// JSON safe inside a `<script>` element.
fn script_json(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// The popup page: posts the result to the opener, only at `target_origin`, and closes.
/// Without a known origin nothing is posted. The script is pinned by a CSP hash.
fn popup_page(payload: &serde_json::Value, target_origin: Option<&str>) -> Response {
    let origin = target_origin
        .map(|o| json!(o).to_string())
        .unwrap_or_else(|| "null".into());
    let script = format!(
        "(function(){{var d={};var o={};if(window.opener&&o){{window.opener.postMessage(d,o);}}window.close();}})();",
        script_json(payload),
        origin
    );
    let hash = STANDARD.encode(Sha256::digest(script.as_bytes()));
    let html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Signing in</title></head>\
         <body><script>{script}</script></body></html>"
    );
    let mut response = (StatusCode::OK, html).into_response();
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("default-src 'none'; script-src 'sha256-{hash}'")) {
        h.insert(CONTENT_SECURITY_POLICY, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_the_script_element() {
        let s = script_json(&json!({"name": "</script><script>alert(1)</script>&"}));
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
    }
}
