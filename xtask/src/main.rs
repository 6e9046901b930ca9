//! `cargo xtask`: the workspace's code-generation tasks.
//!
//! * `cargo xtask openapi generate|check` — the published OpenAPI document,
//!   `openapi/login-sessions.json`, generated from the API trait in
//!   `login-sessions-api` plus the security transform (see [`security`]).
//! * `cargo xtask client generate|check` — the Rust client,
//!   `client/src/generated.rs`, generated with progenitor from the
//!   checked-in OpenAPI document.
//!
//! * `cargo xtask bench` — the benchmark: seeds a database, starts the
//!   release server on 127.0.0.1, drives it with a closed-loop load
//!   generator and reports throughput, latency, memory and size (see
//!   [`bench`]).
//!
//! `generate` writes the file; `check` regenerates it in memory and fails,
//! with a unified diff and the command that fixes it, when the checked-in
//! file differs. The same checks run as `#[test]`s, so `cargo test` catches
//! drift too.

mod bench;
mod client;
mod golden;
mod openapi;
mod security;
mod workspace;

use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use golden::{Drift, Golden};

/// Code-generation tasks of the login-sessions workspace.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The published OpenAPI document, openapi/login-sessions.json.
    Openapi {
        #[command(subcommand)]
        action: Action,
    },
    /// The generated Rust client, client/src/generated.rs.
    Client {
        #[command(subcommand)]
        action: Action,
    },
    /// Benchmark the release server: throughput and latency per operation
    /// against a baseline endpoint, memory, database size, seeding rate.
    Bench(bench::BenchArgs),
}

#[derive(Clone, Copy, Debug, Subcommand)]
enum Action {
    /// Write the file from its source.
    Generate,
    /// Fail if the checked-in file differs from what `generate` would write.
    Check,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one command; `Ok(ExitCode::FAILURE)` is a check that found drift.
fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let root = workspace::root()?;
    let (golden, action) = match cli.command {
        Command::Openapi { action } => (openapi::golden(), action),
        Command::Client { action } => (client::golden(), action),
        Command::Bench(args) => {
            return Ok(if bench::run(args, &root)? {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
    };
    match action {
        Action::Generate => generate(&golden, &root),
        Action::Check => check(&golden, &root),
    }
}

/// Writes a golden file and says whether it changed.
fn generate(golden: &Golden, root: &Path) -> anyhow::Result<ExitCode> {
    if golden.write(root)? {
        eprintln!("wrote {}", golden.path);
    } else {
        eprintln!("{} is up to date", golden.path);
    }
    Ok(ExitCode::SUCCESS)
}

/// Compares a golden file with its source and reports any drift.
fn check(golden: &Golden, root: &Path) -> anyhow::Result<ExitCode> {
    match golden.check(root)? {
        Drift::None => {
            eprintln!("{} is up to date", golden.path);
            Ok(ExitCode::SUCCESS)
        }
        drift => {
            eprintln!("{}", golden.report(&drift));
            Ok(ExitCode::FAILURE)
        }
    }
}
