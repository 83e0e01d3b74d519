//! Store conformance suite: every check runs against the `Store` trait on SQLite and on
//! PostgreSQL (via `on_both_backends!`), so both implementations must agree exactly.

mod common;

mod bans;
mod concurrency;
mod email_flows;
mod mfa;
mod oauth;
mod pool_size;
mod rate_limit_redis;
mod roles;
mod rotation;
mod sessions;
mod signing_keys;
mod sqlite_wal;
mod text;
mod timestamps;
mod users;
