//! What the tests that run the `login-sessions` binary share: its path, a
//! command run for the JSON it prints, an environment cleared of every
//! variable `serve` reads, and a child's stderr read line by line.
//!
//! Each test binary includes this module (`mod support;`) and uses part of
//! it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `login-sessions` binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_login-sessions")
}

/// Every `LOGIN_SESSIONS_*` variable `serve` and the commands read.
pub const SERVE_VARIABLES: &[&str] = &[
    "LOGIN_SESSIONS_BENCH_ENDPOINTS",
    "LOGIN_SESSIONS_BIND",
    "LOGIN_SESSIONS_CORS_ORIGINS_HUAWEI",
    "LOGIN_SESSIONS_CORS_ORIGINS_LOOKER",
    "LOGIN_SESSIONS_CORS_ORIGINS_NATIVE",
    "LOGIN_SESSIONS_CORS_ORIGINS_PREFACTOR",
    "LOGIN_SESSIONS_CREDENTIAL_CACHE_MILLIS",
    "LOGIN_SESSIONS_DATABASE",
    "LOGIN_SESSIONS_DATABASE_POOL_SIZE",
    "LOGIN_SESSIONS_DEFAULT_SESSION_TTL",
    "LOGIN_SESSIONS_DEMO",
    "LOGIN_SESSIONS_DOCS_URL",
    "LOGIN_SESSIONS_FIRST_REQUEST_TIMEOUT_SECONDS",
    "LOGIN_SESSIONS_FIXTURES",
    "LOGIN_SESSIONS_GEOIP_DB",
    "LOGIN_SESSIONS_JANITOR_BATCH_SIZE",
    "LOGIN_SESSIONS_JANITOR_INTERVAL_SECONDS",
    "LOGIN_SESSIONS_KEEP_ALIVE_TIMEOUT_SECONDS",
    "LOGIN_SESSIONS_KEY_FILE",
    "LOGIN_SESSIONS_LAST_SEEN_GRANULARITY",
    "LOGIN_SESSIONS_LIVE_SESSIONS_SAMPLE_SECONDS",
    "LOGIN_SESSIONS_LOG_FORMAT",
    "LOGIN_SESSIONS_LOG_LEVEL",
    "LOGIN_SESSIONS_MAX_CONNECTIONS",
    "LOGIN_SESSIONS_METRICS_BIND",
    "LOGIN_SESSIONS_PUBLIC_URL",
    "LOGIN_SESSIONS_RETENTION_DAYS",
    "LOGIN_SESSIONS_TESTING_API",
];

/// `command` without any of [`SERVE_VARIABLES`], so that only what a test
/// sets counts.
pub fn clear_environment(command: &mut Command) -> &mut Command {
    for variable in SERVE_VARIABLES {
        command.env_remove(variable);
    }
    command
}

/// What a `login-sessions` command prints as JSON; it must succeed.
pub fn cli_json(args: &[&str]) -> Value {
    let output = clear_environment(&mut Command::new(bin()))
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A new admin credential in the database `database` (a `--database`
/// value), as `credentials create --json` prints it.
pub fn admin_credential(database: &str) -> Value {
    cli_json(&[
        "credentials",
        "create",
        "--role",
        "admin",
        "--json",
        "--database",
        database,
    ])
}

/// A child's stderr, line by line, read on a thread of its own so that the
/// child never blocks writing it.
pub struct Stderr {
    lines: Receiver<String>,
    /// Every line read so far.
    pub seen: Vec<String>,
}

impl Stderr {
    /// Takes `child`'s stderr, which must be piped.
    pub fn of(child: &mut Child) -> Stderr {
        let (send, lines) = channel();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Stderr {
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits, at most `within`, for a line not read before that contains
    /// `text`; returns it.
    pub fn wait_for(&mut self, text: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line with {text:?} within {within:?}; seen:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Every line so far, including those that arrived since the last read.
    pub fn all(&mut self) -> &[String] {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        &self.seen
    }
}
