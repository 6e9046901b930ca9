//! The measurements that need the server: the benchmark and the user agent
//! parser's accuracy. A crate of their own so that `cargo xtask`'s drift
//! checks build only the API crate and the generators; `cargo xtask bench`
//! and `cargo xtask ua-accuracy` run this binary with their arguments.
//!
//! * `bench` — the benchmark: seeds a database, starts the release server
//!   on 127.0.0.1, drives it with a closed-loop load generator and reports
//!   throughput, latency, memory and size (see [`benchmark`]).
//! * `ua-accuracy --corpus DIR` — browser- and OS-family agreement of the
//!   server's user agent parser with uap-core's test corpus (see
//!   [`ua_accuracy`]); CI runs it.

mod benchmark;
mod caches;
mod fixture;
mod idle_sockets;
mod load;
mod operations;
mod report;
mod revocation;
mod server;
mod ua_accuracy;
mod workspace;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Measurements of the login-sessions server.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Benchmark the release server: throughput and latency per operation
    /// against a baseline endpoint, memory, database size, seeding rate.
    Bench(Box<benchmark::BenchArgs>),
    /// Browser- and OS-family agreement of the user agent parser with a
    /// uap-core test corpus (a directory holding test_ua.yaml and
    /// test_os.yaml).
    UaAccuracy {
        /// The corpus directory.
        #[arg(long)]
        corpus: PathBuf,
        /// Fail when either agreement is below this percentage.
        #[arg(long, default_value_t = 95.0)]
        min_agreement: f64,
    },
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

/// Runs one command; `Ok(ExitCode::FAILURE)` is a measurement that ran and
/// fell short (an operation failed, agreement below the minimum).
fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Bench(args) => {
            let root = workspace::root()?;
            Ok(if benchmark::run(*args, &root)? {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::UaAccuracy {
            corpus,
            min_agreement,
        } => ua_accuracy::run(&corpus, min_agreement),
    }
}
