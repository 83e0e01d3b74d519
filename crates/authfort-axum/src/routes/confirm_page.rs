//! The landing pages emailed links open: `GET /auth/magic-link/confirm`,
//! `/auth/verify-email/confirm` and `/auth/password/reset/confirm`.
//!
//! A page never consumes anything: the token (in the URL fragment, so it reaches neither
//! servers, logs nor Referer headers) stays in the browser until the user presses the button,
//! which POSTs it to the API. Scanners that fetch links burn nothing.

use std::sync::Arc;

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

/// Which flow a page finishes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PageKind {
    /// Magic-link sign-in (`POST /auth/magic-link/verify`).
    SignIn,
    /// Email verification (`POST /auth/verify-email`).
    VerifyEmail,
    /// Password reset, with a new-password field (`POST /auth/password/reset`).
    ResetPassword,
}

/// A confirm page and its headers, rendered once per router.
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
    /// Renders the page of `kind`; `success_redirect` (sign-in only) is where to go after.
    pub(crate) fn render(kind: PageKind, success_redirect: Option<&str>) -> ConfirmPage {
        const TEMPLATE: &str = include_str!("../pages/confirm.html");
        const STYLE: &str = include_str!("../pages/confirm.css");
        const SCRIPT: &str = include_str!("../pages/confirm.js");
        let (title, intro, button, fields, config) = match kind {
            PageKind::SignIn => (
                "Sign in",
                "Press the button to finish signing in on this device.",
                "Continue",
                "",
                json!({
                    "verify": "verify",
                    "success": success_redirect,
                    "incomplete": "This link is incomplete. Please request a new sign-in link.",
                    "working": "Signing you in\u{2026}",
                    "failed": "This link is invalid or has expired.",
                    "done": "You are signed in as",
                }),
            ),
            PageKind::VerifyEmail => (
                "Confirm your email",
                "Press the button to confirm your email address.",
                "Confirm",
                "",
                json!({
                    "verify": "../verify-email",
                    "success": null,
                    "incomplete": "This link is incomplete. Please request a new verification email.",
                    "working": "Confirming\u{2026}",
                    "failed": "This link is invalid or has expired.",
                    "done": "Your email address is confirmed.",
                }),
            ),
            PageKind::ResetPassword => (
                "Choose a new password",
                "Enter your new password. Saving it signs you out on every device.",
                "Save password",
                "<label for=\"password\">New password</label>\n\
                 <input id=\"password\" type=\"password\" autocomplete=\"new-password\" required>\n",
                json!({
                    "verify": "../reset",
                    "success": null,
                    "incomplete": "This link is incomplete. Please request a new password-reset email.",
                    "working": "Saving\u{2026}",
                    "failed": "This link is invalid or has expired.",
                    "done": "Your password has been changed. You can now sign in.",
                }),
            ),
        };
        // `<` escaped so no value can close the script element.
        let config = config.to_string().replace('<', "\\u003c");
        let html = TEMPLATE
            .replace("{{STYLE}}", STYLE)
            .replace("{{SCRIPT}}", SCRIPT)
            .replace("{{TITLE}}", title)
            .replace("{{INTRO}}", intro)
            .replace("{{BUTTON}}", button)
            .replace("{{FIELDS}}", fields)
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

    /// Serves the page (`no-store`, `no-referrer`, `noindex`, a strict CSP, no framing).
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
