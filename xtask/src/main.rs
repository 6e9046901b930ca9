//! `cargo xtask`: the workspace's code-generation tasks.
//!
//! * `cargo xtask openapi generate|check` — the published OpenAPI document,
//!   `openapi/login-sessions.json`: the API crate's `openapi_document()`,
//!   and its copy as a published version in `openapi/versions/`, which may
//!   not change incompatibly without a major version bump (see
//!   [`versions`] and [`compat`]); and the testing API's document,
//!   `openapi/login-sessions-testing.json` (`testing_openapi_document()`),
//!   drift-checked the same way but not versioned.
//! * `cargo xtask client generate|check` — the Rust client,
//!   `client/src/generated.rs`, generated with progenitor from the
//!   checked-in OpenAPI document.
//! * `cargo xtask vendor generate|check` — the patched copy of dropshot in
//!   `vendor/dropshot`: the published crate plus `vendor/dropshot.patch`
//!   (see [`vendor`]); CI runs the check.
//!
//! `generate` writes the file; `check` regenerates it in memory and fails,
//! with a unified diff and the command that fixes it, when the checked-in
//! file differs. The same checks run as `#[test]`s, so `cargo test` catches
//! drift too. They need the API crate and the generators, not the server,
//! and build only those.
//!
//! The measurements run other crates' binaries (see [`measure`]):
//!
//! * `cargo xtask ua-accuracy --corpus DIR` — browser- and OS-family
//!   agreement of the server's user agent parser with uap-core's test
//!   corpus; CI runs it.
//! * `cargo xtask bench` — the benchmark: seeds a database, starts the
//!   release server on 127.0.0.1, drives it with a closed-loop load
//!   generator and reports throughput, latency, memory and size.
//! * `cargo xtask enrich-bench` — the cost of enriching a session, against
//!   baselines measured in the same run (the server crate's `enrich_bench`
//!   example, in release mode).

mod client;
mod compat;
mod golden;
mod measure;
mod openapi;
mod vendor;
mod versions;
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
    /// Browser- and OS-family agreement of the user agent parser with a
    /// uap-core test corpus (`--help` lists the options).
    #[command(disable_help_flag = true)]
    UaAccuracy {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Measure what enriching a session costs (parse + lookup), in release
    /// mode, against baselines measured in the same run.
    EnrichBench {
        /// Arguments for the benchmark (for example --geoip-db PATH to use
        /// a real database instead of a generated one).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Benchmark the release server: throughput and latency per operation
    /// against a baseline endpoint, memory, database size, seeding rate
    /// (`--help` lists the options).
    #[command(disable_help_flag = true)]
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The patched copy of dropshot, vendor/dropshot (downloads the
    /// published crate).
    Vendor {
        #[command(subcommand)]
        action: Action,
    },
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

/// Runs one command; `Ok` with a failing code is a check that found drift
/// or a measurement that failed.
fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let root = workspace::root()?;
    let (golden, action) = match cli.command {
        Command::Openapi { action } => return openapi_command(&root, action),
        Command::Client { action } => (client::golden(), action),
        Command::UaAccuracy { args } => return measure::bench_crate(&root, "ua-accuracy", &args),
        Command::EnrichBench { args } => return measure::enrich_bench(&root, &args),
        Command::Bench { args } => return measure::bench_crate(&root, "bench", &args),
        Command::Vendor { action } => {
            return match action {
                Action::Generate => vendor::generate(&root),
                Action::Check => vendor::check(&root),
            };
        }
    };
    match action {
        Action::Generate => generate(&golden, &root),
        Action::Check => check(&golden, &root),
    }
}

/// `cargo xtask openapi generate|check`: the document, then its version.
fn openapi_command(root: &Path, action: Action) -> anyhow::Result<ExitCode> {
    let golden = openapi::golden();
    match action {
        Action::Generate => {
            let code = generate(&golden, root)?;
            generate(&openapi::testing_golden(), root)?;
            let text = openapi::contents()?;
            if versions::record(root, &text)? {
                eprintln!(
                    "wrote {}",
                    versions::path(root, &login_sessions_api::API_VERSION).display()
                );
            }
            Ok(code)
        }
        Action::Check => {
            let main = check(&golden, root)?;
            let testing = check(&openapi::testing_golden(), root)?;
            let code = if testing == ExitCode::SUCCESS {
                main
            } else {
                testing
            };
            let problems = versions::check(root, &openapi::contents()?)?;
            if problems.is_empty() {
                return Ok(code);
            }
            eprintln!("{}", problems.join("\n"));
            Ok(ExitCode::FAILURE)
        }
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
