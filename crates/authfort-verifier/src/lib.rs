//! # authfort-verifier
//!
//! Verify AuthFort access tokens in any Rust service without pulling in the server.
//!
//! This crate owns the wire contract for tokens: the [`AccessClaims`] an access token
//! carries, the [`Jwk`] / [`JwkSet`] documents served at `/.well-known/jwks.json`, and a
//! [`Verifier`] that checks a token **pinned to RS256**, choosing the key only by the
//! token's `kid` from a keyset you supply (a token can never bring its own key).
//! The AuthFort server uses this same verifier for its own endpoints.
//!
//! What is checked, in this order (the order of AuthFort's Python verifier): the header
//! decodes and names a `kid`; the kid is in the keyset; the algorithm is RS256 and the
//! signature holds; `sub, email, roles, ver, exp, iat, iss` are present and non-null;
//! `iat` and `nbf` are not in the future and `exp` is; `iss` matches; there is no
//! non-empty `aud`. Clock leeway is zero unless you set one (at most 60 s). Every refusal
//! is a [`VerifyError`] whose code is `token_invalid`, except `token_expired`.
//!
//! ```
//! use authfort_verifier::{JwkSet, Verifier, VerifyError};
//!
//! let jwks: JwkSet = serde_json::from_str(r#"{"keys":[]}"#).unwrap();
//! let verifier = Verifier::from_jwks(&jwks, "authfort").with_leeway(2);
//! assert!(matches!(verifier.verify("not-a-jwt"), Err(VerifyError::Malformed)));
//! ```
//!
//! ## Features
//!
//! None is on by default: without features the crate does no I/O and depends only on
//! `jsonwebtoken`, `serde`, `serde_json`, `base64` and `thiserror`.
//!
//! | feature | adds |
//! |---|---|
//! | `jwks` | `JwksVerifier`: fetches the server's JWKS, caches it (1 h), refetches on an unknown `kid` at most every 30 s, keeps the last good keyset when the server is down and fails closed without one |
//! | `axum` | `axum::ServiceAuth`, the `axum::VerifiedUser` extractor, `axum::RequireRole` and `axum::require_any_role` guards, and `axum::RequireAuthLayer`; errors in AuthFort's `{"detail":{"error","message"}}` envelope |
//! | `introspect` | `IntrospectionClient` for `POST /auth/introspect` (instant revocation checks, optional short cache keyed by the token's SHA-256) |
//!
//! ## A microservice with axum and a remote JWKS
//!
//! With features `jwks` and `axum`:
//!
#![cfg_attr(all(feature = "jwks", feature = "axum"), doc = "```no_run")]
#![cfg_attr(not(all(feature = "jwks", feature = "axum")), doc = "```ignore")]
//! use axum::{routing::get, Router};
//! use authfort_verifier::axum::{require_any_role, AuthRejection, RequireAuthLayer, ServiceAuth, VerifiedUser};
//! use authfort_verifier::JwksVerifier;
//!
//! async fn me(VerifiedUser(claims): VerifiedUser) -> String {
//!     format!("hello {}", claims.email)
//! }
//!
//! async fn admin(user: VerifiedUser) -> Result<&'static str, AuthRejection> {
//!     require_any_role(&user, &["admin"])?;
//!     Ok("welcome, admin")
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = JwksVerifier::builder("http://auth:8000/.well-known/jwks.json")
//!     .issuer("authfort")
//!     .build()?;
//! // Bearer header first; the `access_token` cookie too, for browsers in cookie mode.
//! let auth = ServiceAuth::new(verifier).with_cookie();
//! let app = Router::new()
//!     .route("/me", get(me))
//!     .route("/admin", get(admin))
//!     .route_layer(RequireAuthLayer::new(auth));
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```
//!
//! Without the layer, put `Extension(auth)` above the routes and the extractors verify
//! the token themselves; `Option<VerifiedUser>` then gives optional authentication.
//!
//! ## Static keys
//!
//! A service that receives the keyset some other way (configuration, a file) builds a
//! [`Verifier`] with [`Verifier::from_jwks`]. It implements [`TokenVerifier`], so it plugs
//! into the axum integration exactly like `JwksVerifier`. Remember that the server
//! rotates keys: a static keyset must be updated when it does.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "axum")]
pub mod axum;
mod claims;
mod error;
#[cfg(feature = "introspect")]
pub mod introspect;
mod jwk;
#[cfg(feature = "jwks")]
pub mod jwks;
mod token_verifier;
mod verifier;

pub use claims::{AccessClaims, Amr};
pub use error::VerifyError;
#[cfg(feature = "introspect")]
pub use introspect::{IntrospectError, Introspection, IntrospectionClient, IntrospectionClientBuilder};
pub use jwk::{Jwk, JwkSet};
#[cfg(feature = "jwks")]
pub use jwks::{JwksError, JwksVerifier, JwksVerifierBuilder};
pub use token_verifier::{TokenVerifier, VerifyFuture};
pub use verifier::{Verifier, VerifyOptions, MAX_LEEWAY_SECONDS};
