//! The test stand-in as a consumer's CI runs it: the real `login-sessions`
//! binary, `serve --database memory --bind 127.0.0.1:0 --fixtures FILE
//! --testing-api`, its URL read from the `listening on` line of its stdout,
//! and its testing API.
//!
//! [`StandIn::start`] builds the binary if it is not up to date (this
//! crate cannot name another crate's binary) and kills the process when
//! dropped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use crate::python::workspace_root;

/// The documented example fixtures, which the stand-in tests load.
pub fn example_fixtures() -> PathBuf {
    workspace_root().join("docs/testing/fixtures.example.json")
}

/// The example fixtures as JSON.
pub fn example_fixtures_json() -> Value {
    serde_json::from_str(&std::fs::read_to_string(example_fixtures()).unwrap()).unwrap()
}

/// The server crate's `login-sessions` binary (dev profile), built once
/// per test process if it is not up to date.
pub fn login_sessions_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        let output = Command::new(&cargo)
            .current_dir(workspace_root())
            .args([
                "build",
                "--locked",
                "--quiet",
                "--package",
                "login-sessions-server",
                "--bin",
                "login-sessions",
                "--message-format",
                "json-render-diagnostics",
            ])
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", cargo.to_string_lossy()));
        assert!(
            output.status.success(),
            "building the login-sessions binary failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|message| {
                message["reason"] == "compiler-artifact"
                    && message["target"]["name"] == "login-sessions"
            })
            .and_then(|artifact| artifact["executable"].as_str().map(PathBuf::from))
            .expect("cargo named the login-sessions executable it built")
    })
}

/// A running stand-in, stopped when dropped.
pub struct StandIn {
    child: Child,
    /// `http://127.0.0.1:PORT`, as the server printed it.
    pub url: String,
    /// The admin credential's native token, for the testing API.
    admin_token: String,
    http: reqwest::Client,
}

impl StandIn {
    /// Starts the binary on `fixtures` with the testing API.
    pub fn start(fixtures: &Path) -> StandIn {
        let directory = tempfile::tempdir().unwrap();
        let mut child = Command::new(login_sessions_binary())
            .args(["serve", "--database", "memory", "--bind", "127.0.0.1:0"])
            .arg("--fixtures")
            .arg(fixtures)
            .arg("--testing-api")
            .current_dir(directory.path())
            .env_remove("LOGIN_SESSIONS_DATABASE")
            .env_remove("LOGIN_SESSIONS_KEY_FILE")
            .env_remove("LOGIN_SESSIONS_DEMO")
            .env_remove("LOGIN_SESSIONS_PUBLIC_URL")
            .env_remove("LOGIN_SESSIONS_BIND")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, receive) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = send.send(url.to_string());
                }
            }
        });
        let url = receive
            .recv_timeout(Duration::from_secs(60))
            .expect("the stand-in printed `listening on http://...`");
        let fixtures: Value =
            serde_json::from_str(&std::fs::read_to_string(fixtures).unwrap()).unwrap();
        let admin_token = fixtures["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .find(|credential| credential["role"] == "admin")
            .and_then(|credential| credential["native"]["token"].as_str())
            .expect("the fixtures hold an admin credential with a native token")
            .to_string();
        StandIn {
            child,
            url,
            admin_token,
            http: reqwest::Client::new(),
        }
    }

    /// A testing API request; the status and the JSON body (null if none).
    pub async fn testing(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method: reqwest::Method = method.parse().unwrap();
        let mut request = self
            .http
            .request(method, format!("{}/testing/v1{path}", self.url))
            .bearer_auth(&self.admin_token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Moves the server's clock forward.
    pub async fn advance(&self, seconds: i64) -> Value {
        let (status, clock) = self
            .testing(
                "POST",
                "/clock/advance",
                Some(serde_json::json!({ "seconds": seconds })),
            )
            .await;
        assert_eq!(status, 200, "{clock}");
        clock
    }

    /// Injects a fault.
    pub async fn fault(&self, dialect: &str, operation: &str, status: u16, count: u32) {
        let (answered, fault) = self
            .testing(
                "POST",
                "/faults",
                Some(serde_json::json!({
                    "dialect": dialect, "operation": operation, "status": status, "count": count,
                })),
            )
            .await;
        assert_eq!(answered, 201, "{fault}");
    }

    /// The journal entries of one dialect.
    pub async fn journal(&self, dialect: &str) -> Vec<Value> {
        let (status, journal) = self
            .testing("GET", &format!("/journal?dialect={dialect}"), None)
            .await;
        assert_eq!(status, 200, "{journal}");
        journal["items"].as_array().unwrap().clone()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
