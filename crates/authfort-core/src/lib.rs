//! # authfort-core
//!
//! The AuthFort authentication engine: users, passwords, RS256 access tokens, rotating
//! refresh tokens grouped into sessions, signing keys, bans, roles and event hooks, on
//! SQLite or PostgreSQL. It has no HTTP types; `authfort-axum` puts it on the wire.
//!
//! ```no_run
//! # async fn demo() -> Result<(), authfort_core::AuthError> {
//! use authfort_core::{AuthFort, ClientInfo, CreateUser};
//!
//! let auth = AuthFort::builder("sqlite://authfort.db").build().await?;
//! let signed_up = auth
//!     .create_user(CreateUser::new("alice@example.com", "correct horse battery"))
//!     .await?;
//! let me = auth.authenticate(&signed_up.tokens.access_token).await?;
//! assert_eq!(me.user.email, "alice@example.com");
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod auth;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod delivery;
mod error;
pub mod events;
pub mod links;
pub mod model;
pub mod oauth;
mod pwned;
pub mod rate_limit;
mod service;
pub mod store;
pub mod validation;

pub use auth::{AuthFort, AuthFortBuilder};
pub use authfort_verifier::{AccessClaims, Amr, Jwk, JwkSet};
pub use config::{
    AdminConfig, AuthConfig, ConfigError, CookieConfig, CorsConfig, EmailVerificationConfig, PasswordHashingConfig,
    PwnedPasswordsConfig, RateLimitConfig, Secret,
};
pub use error::{AuthError, AuthResult, RejectKind};
pub use model::{AuthResponse, AuthTokens, ClientInfo, MfaChallenge, MfaSetup, MfaStatus, UserResponse};
pub use service::current_user::CurrentUser;
pub use service::introspect::Introspection;
pub use service::login::SignIn;
pub use service::magic_link::MagicLinkSignIn;
pub use service::mfa_login::MFA_CHALLENGE_TTL_SECONDS;
pub use service::oauth::{OAuthCallback, OAuthFinish, OAuthOutcome, OAuthStart, ProviderTokens};
pub use service::signup::CreateUser;
pub use service::users::{ListUsersResponse, SessionInfo, UpdateUser};
pub use store::{UserQuery, UserSort};
