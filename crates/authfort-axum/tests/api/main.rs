//! HTTP API tests through `app()` (no sockets), each run on SQLite and PostgreSQL.

mod helpers;

mod admin_auth;
mod admin_helpers;
mod admin_sessions;
mod admin_users;
mod cookies;
mod email_flows_mail;
mod errors;
mod fail_closed;
mod hooks;
mod introspect;
mod magic_link;
mod magic_link_mail;
mod me;
mod mfa;
mod oauth;
mod oauth_browser;
mod oauth_claim;
mod oauth_github;
mod oauth_google;
mod otp;
mod passwords;
mod rate_limit;
mod refresh;
mod security;
mod sessions;
mod signup_login;
mod tokens;
mod verify_email;
