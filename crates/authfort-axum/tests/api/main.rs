//! HTTP API tests through `app()` (no sockets), each run on SQLite and PostgreSQL.

mod helpers;

mod cookies;
mod errors;
mod hooks;
mod magic_link;
mod me;
mod refresh;
mod signup_login;
mod tokens;
