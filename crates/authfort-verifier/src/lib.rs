//! # authfort-verifier
//!
//! Verify AuthFort access tokens in any Rust service without pulling in the server.
//!
//! This crate owns the wire contract for tokens: the [`AccessClaims`] an access token
//! carries, the [`Jwk`] / [`JwkSet`] documents served at `/.well-known/jwks.json`, and a
//! [`Verifier`] that checks a token **pinned to RS256**, choosing the key only by the
//! token's `kid` from a keyset you supply (a token can never bring its own key).
//!
//! The AuthFort server uses this same verifier for its own endpoints.
//!
//! ```
//! use authfort_verifier::{JwkSet, Verifier, VerifyError};
//!
//! let jwks: JwkSet = serde_json::from_str(r#"{"keys":[]}"#).unwrap();
//! let verifier = Verifier::from_jwks(&jwks, "authfort");
//! assert!(matches!(verifier.verify("not-a-jwt"), Err(VerifyError::Malformed)));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod claims;
mod error;
mod jwk;
mod verifier;

pub use claims::{AccessClaims, Amr};
pub use error::VerifyError;
pub use jwk::{Jwk, JwkSet};
pub use verifier::{Verifier, VerifyOptions};
