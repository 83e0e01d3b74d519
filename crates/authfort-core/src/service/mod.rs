//! The operations, one file per flow. Each works in its own words (no HTTP), writes through
//! the store, and emits its events only after its writes are committed.

pub(crate) mod admin;
pub(crate) mod current_user;
pub(crate) mod email_otp;
pub(crate) mod email_proof;
pub(crate) mod email_verification;
pub(crate) mod introspect;
pub(crate) mod keys;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod magic_link;
pub(crate) mod mail;
pub(crate) mod mfa;
pub(crate) mod mfa_login;
pub(crate) mod oauth;
pub(crate) mod password;
pub(crate) mod refresh;
pub(crate) mod session;
pub(crate) mod signup;
pub(crate) mod users;
