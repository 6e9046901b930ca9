//! `serve --database memory`, run as a consumer's CI runs it: on
//! `--bind 127.0.0.1:0`, the bound URL read from stdout, ready at once,
//! nothing written to disk, and the commands that could not reach its data
//! refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a debug build on a busy machine may take to answer its first
/// readiness check. A release build takes a fraction of this.
const READY_WITHIN: Duration = Duration::from_secs(2);

/// A running `serve`, killed when dropped; its stdout, line by line.
struct Server {
    child: Child,
    url: String,
    stdout: Receiver<String>,
    /// What it printed before it listened (the demo's banner).
    banner: Vec<String>,
    started: Instant,
}

impl Server {
    fn start(cwd: &Path, args: &[&str]) -> Server {
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_login-sessions"))
            .args(["serve", "--database", "memory", "--bind", "127.0.0.1:0"])
            .args(args)
            .current_dir(cwd)
            .env_remove("LOGIN_SESSIONS_DATABASE")
            .env_remove("LOGIN_SESSIONS_KEY_FILE")
            .env_remove("LOGIN_SESSIONS_BIND")
            .env_remove("LOGIN_SESSIONS_DEMO")
            .env_remove("LOGIN_SESSIONS_PUBLIC_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (send, stdout) = channel();
        let pipe = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            url: String::new(),
            stdout,
            banner: Vec::new(),
            started,
        };
        let prefix = "listening on http://";
        loop {
            match server.stdout.recv_timeout(Duration::from_secs(30)) {
                Ok(line) if line.starts_with(prefix) => {
                    server.url = line.strip_prefix("listening on ").unwrap().to_string();
                    return server;
                }
                Ok(line) => server.banner.push(line),
                Err(_) => panic!(
                    "no stdout line starting {prefix:?}; seen:\n{:#?}",
                    server.banner
                ),
            }
        }
    }

    /// One request without a body; the status and the body as JSON (null
    /// if it is not).
    fn request(&self, method: &str, path: &str, token: Option<&str>) -> (u16, Value) {
        self.send(method, path, token, "")
    }

    /// One request with a JSON body.
    fn request_with_body(&self, method: &str, path: &str, token: &str, body: &str) -> (u16, Value) {
        self.send(method, path, Some(token), body)
    }

    fn send(&self, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
        let authority = self.url.strip_prefix("http://").unwrap();
        let mut stream = std::net::TcpStream::connect(authority).unwrap();
        let authorization = token
            .map(|token| format!("Authorization: Bearer {token}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {authority}\r\n{authorization}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response[9..12].parse().unwrap();
        let (_, body) = response.split_once("\r\n\r\n").unwrap();
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn entries(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn memory_serves_at_once_on_the_port_it_prints_and_writes_nothing() {
    let cwd = tempfile::tempdir().unwrap();
    let server = Server::start(cwd.path(), &[]);
    let port: u16 = server.url.rsplit_once(':').unwrap().1.parse().unwrap();
    assert_ne!(port, 0, "the URL names the port bound: {}", server.url);
    let (status, _) = server.request("GET", "/healthz/ready", None);
    assert_eq!(status, 200);
    let ready_after = server.started.elapsed();
    assert!(
        ready_after < READY_WITHIN,
        "ready after {ready_after:?}, not within {READY_WITHIN:?}"
    );
    // The contract names the URL actually bound, not port 0.
    let (status, document) = server.request("GET", "/openapi.json", None);
    assert_eq!(status, 200);
    assert_eq!(document["servers"][0]["url"], server.url.as_str());
    drop(server);
    assert_eq!(
        entries(cwd.path()),
        Vec::<String>::new(),
        "no database, no key"
    );
}

#[test]
fn memory_starts_empty_every_time_and_the_demo_works_in_it() {
    let cwd = tempfile::tempdir().unwrap();
    let mut counts = Vec::new();
    for _ in 0..2 {
        let server = Server::start(cwd.path(), &["--demo"]);
        let token = server
            .banner
            .iter()
            .flat_map(|line| line.split_whitespace())
            .find(|word| word.starts_with("lsn_"))
            .expect("the demo banner shows the admin's native token")
            .to_string();
        let list = "/native/v1/sessions?identity_store_id=acme&limit=1000";
        let (status, page) = server.request("GET", list, Some(&token));
        assert_eq!(status, 200, "{page}");
        counts.push(page["items"].as_array().unwrap().len());
        let (status, created) = server.request_with_body(
            "POST",
            "/native/v1/sessions",
            &token,
            r#"{"identity_store_id": "acme", "user_id": "7"}"#,
        );
        assert_eq!(status, 201, "{created}");
    }
    assert!(counts[0] > 0, "the demo seeded sessions");
    assert_eq!(
        counts[0], counts[1],
        "the second run never saw the first's session"
    );
    assert_eq!(entries(cwd.path()), Vec::<String>::new());
}

#[test]
fn commands_other_than_serve_refuse_memory() {
    for args in [
        &[
            "credentials",
            "create",
            "--role",
            "admin",
            "--database",
            "memory",
        ][..],
        &["credentials", "list", "--database", "memory"][..],
        &["init", "--database", "memory"][..],
        &["seed", "--sessions", "1", "--database", "memory"][..],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_login-sessions"))
            .args(args)
            .env_remove("LOGIN_SESSIONS_DATABASE")
            .env_remove("LOGIN_SESSIONS_KEY_FILE")
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("cannot use --database memory"),
            "{args:?}: {stderr}"
        );
    }
}
