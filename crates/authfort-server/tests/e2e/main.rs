//! End-to-end tests of the real `authfort` binary: every test spawns the compiled program,
//! talks to it over HTTP or reads what it prints, and checks how it exits.
//!
//! All modules build into this one test binary. PostgreSQL comes from
//! `AUTHFORT_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`); those
//! tests fail when it is unreachable (see `authfort-test-support`).

mod cli;
mod commands;
mod config;
mod helpers;
mod oauth;
mod postgres;
mod python_verifier;
mod rate_limit;
mod secret_key;
mod serve;
mod service;
mod shutdown;
