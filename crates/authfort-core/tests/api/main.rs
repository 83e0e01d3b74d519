//! Library API tests: the `AuthFort` operations end to end, on SQLite and on PostgreSQL.

mod common;

mod authenticate;
mod email_otp;
mod email_verification;
mod hooks;
mod keys;
mod login;
mod mfa;
mod multi_instance;
mod passwords;
mod refresh;
mod sessions;
mod signup;
mod tokens;
mod users;
