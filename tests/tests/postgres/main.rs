//! The PostgreSQL tests: the store conformance suite on PostgreSQL, the
//! PostgreSQL store's own guarantees (migrations under concurrent starts,
//! errors, the janitor's lease), several replicas over one database, and
//! the harness's promise to leave no PostgreSQL process behind.
//!
//! Runs under the harness's runner (see `tests/src/lib.rs`): with no
//! PostgreSQL installed every trial here is reported ignored, loudly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cluster;
mod replicas;
mod store;

use std::process::ExitCode;

use login_sessions_tests::runner::{self, Test};

fn main() -> ExitCode {
    if let Some(code) = cluster::probe_mode() {
        return code;
    }
    let mut tests: Vec<Test> = Vec::new();
    tests.extend(store::conformance_trials());
    tests.extend(store::cached_conformance_trials());
    tests.extend(store::trials());
    tests.extend(replicas::trials());
    tests.extend(cluster::trials());
    runner::run(tests)
}
