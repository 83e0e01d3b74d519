//! `authfort`: the standalone AuthFort server.
//!
//! Everything lives in the `authfort_server` library (see its docs); this file only parses
//! the command line and runs the chosen subcommand. Configuration, logging and errors are
//! handled there, so each subcommand exits non-zero with a message on stderr when it fails.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use authfort_server::cli::Cli;
use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    Cli::parse().run().await
}
