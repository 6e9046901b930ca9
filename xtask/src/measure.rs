//! The measurements, which need the server: `cargo xtask bench` and
//! `cargo xtask ua-accuracy` run the login-sessions-bench crate's binary,
//! `cargo xtask enrich-bench` the server crate's `enrich_bench` example,
//! each through a cargo of its own. So xtask itself depends on neither the
//! server nor the client, and its drift checks build neither.
//!
//! The arguments go through as given (`--help` included), and the exit
//! code is the measurement's: 0 when it passed, 1 when it ran and failed,
//! 2 for a usage error, 101 when cargo could not build it.

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::Context;

/// Runs `login-sessions-bench <command> <args>`: a dev build whose hot
/// crates are optimised (see the root `Cargo.toml`), as the load generator
/// shares the machine with the server it measures.
pub fn bench_crate(root: &Path, command: &str, args: &[String]) -> anyhow::Result<ExitCode> {
    cargo_run(
        root,
        &["--package", "login-sessions-bench", "--", command],
        args,
    )
}

/// Runs the server crate's `enrich_bench` example, optimised.
pub fn enrich_bench(root: &Path, args: &[String]) -> anyhow::Result<ExitCode> {
    cargo_run(
        root,
        &[
            "--release",
            "--package",
            "login-sessions-server",
            "--example",
            "enrich_bench",
            "--",
        ],
        args,
    )
}

/// `cargo run --quiet --locked <selection> <args>` in the workspace root,
/// with the program's exit code.
fn cargo_run(root: &Path, selection: &[&str], args: &[String]) -> anyhow::Result<ExitCode> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["run", "--quiet", "--locked"])
        .args(selection)
        .args(args)
        .status()
        .context("running cargo run")?;
    Ok(status
        .code()
        .and_then(|code| u8::try_from(code).ok())
        .map_or(ExitCode::FAILURE, ExitCode::from))
}
