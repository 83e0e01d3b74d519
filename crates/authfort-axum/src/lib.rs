//! # authfort-axum
//!
//! AuthFort's HTTP API for axum, wire-compatible with AuthFort (paths, JSON shapes, status
//! codes, error envelope, cookies).
//!
//! Embed it in your app:
//!
//! ```no_run
//! use authfort_axum::{AuthFortRouter, CurrentUser};
//! use authfort_core::AuthFort;
//! use axum::{routing::get, Router};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = AuthFort::builder("sqlite://app.db").build().await?;
//! let app = Router::new()
//!     .route("/hello", get(|CurrentUser(me): CurrentUser| async move { format!("hi {}", me.user.email) }))
//!     .with_state(auth.clone())
//!     .nest("/auth", auth.router())
//!     .merge(auth.well_known_router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
//! # Ok(()) }
//! ```
//!
//! The admin API ([`admin_router`], nested at `/admin`) is part of [`app`]; embed it with
//! `.nest("/admin", auth.admin_router())`.
//!
//! Or serve the complete standalone app with [`app`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod admin;
mod client;
mod cookies;
mod error;
mod extract;
mod json;
mod rate_limit;
mod routes;
mod state;

use authfort_core::AuthFort;
use axum::http::{header, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use admin::{admin_router, AdminPrincipal, ADMIN_ROLE};
pub use client::{client_ip, Client};
pub use cookies::{clear_cookie, set_cookie};
pub use error::{status_of, ApiError};
pub use extract::{access_token, CurrentUser, RequireRole, RoleSet};
pub use json::{Fields, JsonBody};
pub use rate_limit::{limit_email, limit_ip};
pub use state::AuthState;

/// The routes to nest under `/auth`: signup, login, refresh, logout, me, the caller's own
/// sessions (list, revoke one, revoke all), magic links (request, verify, confirm page),
/// email one-time codes, email verification (verify, resend, confirm page) and passwords
/// (forgot, reset with its page, change, set), and, with providers configured, OAuth sign-in
/// (`/oauth/{provider}/authorize`, `/oauth/{provider}/callback`).
pub fn router(auth: AuthFort) -> Router {
    use routes::confirm_page::{ConfirmPage, PageKind};
    let page = |kind| {
        let page = ConfirmPage::render(kind, auth.config().links.success_redirect.as_deref());
        get(move || std::future::ready(page.response()))
    };
    let mut router = Router::new();
    if auth.config().oauth.any() {
        router = router
            .route("/oauth/{provider}/authorize", get(routes::oauth::authorize))
            .route("/oauth/{provider}/callback", get(routes::oauth::callback));
    }
    router
        .route("/introspect", post(routes::introspect::introspect))
        .route("/magic-link", post(routes::magic_link::request))
        .route("/magic-link/verify", post(routes::magic_link::verify))
        .route("/magic-link/confirm", page(PageKind::SignIn))
        .route("/otp", post(routes::otp::request))
        .route("/otp/verify", post(routes::otp::verify))
        .route("/verify-email", post(routes::verify_email::verify))
        .route("/verify-email/resend", post(routes::verify_email::resend))
        .route("/verify-email/confirm", page(PageKind::VerifyEmail))
        .route("/password/forgot", post(routes::password::forgot))
        .route("/password/reset", post(routes::password::reset))
        .route("/password/reset/confirm", page(PageKind::ResetPassword))
        .route("/password/change", post(routes::password::change))
        .route("/set-password", post(routes::password::set))
        .route("/signup", post(routes::signup::signup))
        .route("/login", post(routes::login::login))
        .route("/refresh", post(routes::refresh::refresh))
        .route("/logout", post(routes::logout::logout))
        .route("/me", get(routes::me::me))
        .route("/mfa/verify", post(routes::mfa::verify))
        .route("/mfa/init", post(routes::mfa::init))
        .route("/mfa/confirm", post(routes::mfa::confirm))
        .route("/mfa/disable", post(routes::mfa::disable))
        .route("/mfa/backup-codes/regenerate", post(routes::mfa::regenerate))
        .route("/mfa/status", get(routes::mfa::status))
        .route("/sessions", get(routes::sessions::list))
        .route("/sessions/revoke-all", post(routes::sessions::revoke_all))
        .route("/sessions/{id}", delete(routes::sessions::revoke))
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(AuthState::new(auth))
}

/// `/.well-known/jwks.json`, to merge at the root.
pub fn well_known_router(auth: AuthFort) -> Router {
    Router::new()
        .route("/.well-known/jwks.json", get(routes::jwks::jwks))
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(AuthState::new(auth))
}

/// The complete standalone application: `/auth/*`, `/admin/*`, JWKS, `/healthz`, `/readyz`, JSON 404/405,
/// panics turned into a generic 500, and CORS for the configured origins.
///
/// Serve it with `into_make_service_with_connect_info::<SocketAddr>()` so client IPs are known.
pub fn app(auth: AuthFort) -> Router {
    let health = Router::new()
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz))
        .with_state(AuthState::new(auth.clone()));
    let mut app = Router::new()
        .nest("/auth", router(auth.clone()))
        .nest("/admin", admin_router(auth.clone()))
        .merge(well_known_router(auth.clone()))
        .merge(health)
        .fallback(|| async { ApiError::not_found() });
    if let Some(cors) = cors_layer(&auth) {
        app = app.layer(cors);
    }
    app.layer(CatchPanicLayer::custom(
        |_panic: Box<dyn std::any::Any + Send>| -> Response {
            tracing::error!("request handler panicked");
            ApiError::internal().into_response()
        },
    ))
}

/// CORS for `cors.allowed_origins` (exact origins, credentials allowed); `None` when empty.
pub fn cors_layer(auth: &AuthFort) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = auth
        .config()
        .cors
        .allowed_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_credentials(true)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PATCH,
                Method::DELETE,
                Method::OPTIONS,
            ])
            .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// `auth.router()` and friends as methods on [`AuthFort`].
pub trait AuthFortRouter {
    /// See [`router`].
    fn router(&self) -> Router;
    /// See [`well_known_router`].
    fn well_known_router(&self) -> Router;
    /// See [`admin_router`].
    fn admin_router(&self) -> Router;
    /// See [`app`].
    fn app(&self) -> Router;
}

impl AuthFortRouter for AuthFort {
    fn router(&self) -> Router {
        router(self.clone())
    }
    fn well_known_router(&self) -> Router {
        well_known_router(self.clone())
    }
    fn admin_router(&self) -> Router {
        admin_router(self.clone())
    }
    fn app(&self) -> Router {
        app(self.clone())
    }
}
