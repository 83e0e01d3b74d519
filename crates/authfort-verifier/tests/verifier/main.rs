//! Integration tests for authfort-verifier: one binary, one RSA key pair per key name.

mod common;

mod static_keys;

#[cfg(feature = "jwks")]
mod jwks;

#[cfg(feature = "axum")]
mod service;

#[cfg(feature = "introspect")]
mod introspect;
