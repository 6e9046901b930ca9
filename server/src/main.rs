//! The `login-sessions` binary: see `cli` for its commands.

use std::process::ExitCode;

/// The allocator. The session cache holds a million allocations of
/// different sizes, and with the system allocator (glibc) a lookup at a
/// million sessions spent about a quarter of the server's CPU inside
/// `malloc` and `free`, most of it walking free lists
/// (`unlink_chunk`, `malloc_consolidate`) fragmented by the cache's
/// entries. mimalloc's size-segregated pages do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    login_sessions_server::cli::main().await
}
