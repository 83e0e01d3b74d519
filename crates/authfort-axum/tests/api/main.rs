//! HTTP API tests through `app()` (no sockets), each run on SQLite and PostgreSQL.

mod helpers;

mod cookies;
mod errors;
mod hooks;
mod magic_link;
mod magic_link_mail;
mod me;
mod refresh;
mod security;
mod signup_login;
mod tokens;
