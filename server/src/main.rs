//! The `login-sessions` binary: see `cli` for its commands.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    login_sessions_server::cli::main().await
}
