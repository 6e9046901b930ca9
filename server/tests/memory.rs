//! `serve --database memory`, run as a consumer's CI runs it: on
//! `--bind 127.0.0.1:0`, the bound URL read from stdout, ready at once,
//! nothing written to disk, and the commands that could not reach its data
//! refused; started from `--fixtures` (the documented example), whose
//! secrets work in every dialect and whose sessions read as declared, and
//! refusing fixtures no vendor could have produced before it listens; and
//! its testing API (`--testing-api`): the clock moved past a session's
//! expiry and a Looker token's lifetime, faults answered in each dialect's
//! own shape, the journal, and a reset back to the fixtures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a debug build may take to answer its first readiness check
/// while the other tests of this file start servers beside it on a busy
/// machine (alone, on two loaded cores, it takes about 0.9 s, most of it
/// the unoptimised user agent parser's set-up; a release build takes a
/// fraction of that). Generous, so the test fails on a real regression
/// (a migration replayed per connection, a file opened) and not on noise.
const READY_WITHIN: Duration = Duration::from_secs(5);

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
        let authorization = token.map(|token| format!("Bearer {token}"));
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(authorization) = &authorization {
            headers.push(("Authorization", authorization));
        }
        self.send_with_headers(method, path, &headers, body)
    }

    fn authority(&self) -> &str {
        self.url.strip_prefix("http://").unwrap()
    }

    fn send_with_headers(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, Value) {
        let (status, _head, body) = self.send_raw(method, path, headers, body);
        (status, body)
    }

    /// One request; the status, the response head (lowercased) and the
    /// body as JSON.
    fn send_raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String, Value) {
        let authority = self.authority();
        let mut stream = std::net::TcpStream::connect(authority).unwrap();
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ));
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response[9..12].parse().unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        (
            status,
            head.to_ascii_lowercase(),
            serde_json::from_str(body).unwrap_or(Value::Null),
        )
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

/// The documented example, which consumers copy.
fn example() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/testing/fixtures.example.json")
}

fn example_json() -> Value {
    serde_json::from_str(&std::fs::read_to_string(example()).unwrap()).unwrap()
}

/// A GET signed with Huawei's SDK-HMAC-SHA256, as Huawei's SDKs sign.
fn huawei_get(server: &Server, path: &str, access_key: &str, secret_key: &str) -> (u16, Value) {
    use huawei_signing as signing;
    let date = signing::format_date(chrono::Utc::now());
    let host = server.authority().to_string();
    let signed_headers = "host;x-sdk-date";
    let canonical = signing::canonical_request(
        "GET",
        &signing::canonical_uri(path),
        "",
        &[("host", &host), ("x-sdk-date", &date)],
        signed_headers,
        &signing::payload_hash(b""),
    );
    let signature = signing::signature(secret_key, &signing::string_to_sign(&date, &canonical));
    let authorization = signing::authorization(access_key, signed_headers, &signature);
    server.send_with_headers(
        "GET",
        path,
        &[("X-Sdk-Date", &date), ("Authorization", &authorization)],
        "",
    )
}

#[test]
fn the_example_fixtures_hold_working_secrets_in_every_dialect_and_sessions_as_declared() {
    let cwd = tempfile::tempdir().unwrap();
    let example_path = example();
    let server = Server::start(cwd.path(), &["--fixtures", example_path.to_str().unwrap()]);
    let fixtures = example_json();
    let admin = &fixtures["credentials"][0];
    let declared = &fixtures["sessions"][0];
    let id = declared["id"].as_str().unwrap();

    let token = admin["native"]["token"].as_str().unwrap();
    let (status, session) =
        server.request("GET", &format!("/native/v1/sessions/{id}"), Some(token));
    assert_eq!(status, 200, "{session}");
    for field in [
        "identity_store_id",
        "user_id",
        "status",
        "session_type",
        "credentials_type",
        "expires_at",
        "title",
    ] {
        assert_eq!(session[field], declared[field], "{field}");
    }
    assert_eq!(
        session["last_seen"]["ip_address"],
        declared["last_seen"]["ip_address"]
    );
    assert_eq!(
        session["browser"], "Chrome",
        "enriched from first_seen's user agent"
    );
    assert_eq!(
        session["live"], true,
        "the clock starts where the fixtures set it"
    );
    let revoked = fixtures["sessions"][2]["id"].as_str().unwrap();
    let (_, session) = server.request(
        "GET",
        &format!("/native/v1/sessions/{revoked}"),
        Some(token),
    );
    assert_eq!(session["status"], "revoked");
    assert_eq!(session["ended_at"], "2030-01-11T17:30:00Z");

    let prefactor = admin["prefactor"]["api_token"].as_str().unwrap();
    let (status, fetched) =
        server.request("GET", &format!("/api/v1/session/{id}"), Some(prefactor));
    assert_eq!(status, 200, "{fetched}");

    let form = format!(
        "client_id={}&client_secret={}",
        admin["looker"]["client_id"].as_str().unwrap(),
        admin["looker"]["client_secret"].as_str().unwrap()
    );
    let (status, login) = server.send_with_headers(
        "POST",
        "/api/4.0/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form,
    );
    assert_eq!(status, 200, "{login}");
    assert!(login["access_token"].is_string());

    let (status, listed) = huawei_get(
        &server,
        "/v1/identity-stores/acme/users/42/sessions",
        admin["huawei"]["access_key"].as_str().unwrap(),
        admin["huawei"]["secret_key"].as_str().unwrap(),
    );
    assert_eq!(status, 200, "{listed}");
    assert!(!listed["session_list"].as_array().unwrap().is_empty());

    // The store-scoped credential sees its own store only.
    let acme = fixtures["credentials"][1]["native"]["token"]
        .as_str()
        .unwrap();
    let globex = fixtures["sessions"][5]["id"].as_str().unwrap();
    let (status, _) = server.request("GET", &format!("/native/v1/sessions/{globex}"), Some(acme));
    assert_eq!(status, 404);
}

/// Runs `serve` expecting it to refuse to start; its stderr.
fn refused_start(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_login-sessions"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .args(args)
        .env_remove("LOGIN_SESSIONS_DATABASE")
        .env_remove("LOGIN_SESSIONS_KEY_FILE")
        .env_remove("LOGIN_SESSIONS_DEMO")
        .output()
        .unwrap();
    assert!(!output.status.success(), "{args:?} started");
    assert!(output.stdout.is_empty(), "it never listened");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn fixtures_no_vendor_could_produce_stop_serve_naming_the_entry() {
    let directory = tempfile::tempdir().unwrap();
    let mut fixtures = example_json();
    fixtures["credentials"][2]["huawei"]["secret_key"] = "0123456789".into();
    let path = directory.path().join("bad.json");
    std::fs::write(&path, fixtures.to_string()).unwrap();
    let stderr = refused_start(&["--database", "memory", "--fixtures", path.to_str().unwrap()]);
    assert!(stderr.contains("--fixtures: credentials[2] ("), "{stderr}");
    assert!(
        stderr.contains("huawei.secret_key must be 40 characters"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("0123456789"),
        "the secret is not repeated: {stderr}"
    );

    let yaml = directory.path().join("bad.yaml");
    std::fs::write(&yaml, "sessions:\n  - id: not-a-pfid\n").unwrap();
    let stderr = refused_start(&["--database", "memory", "--fixtures", yaml.to_str().unwrap()]);
    assert!(stderr.contains("sessions[0] (not-a-pfid)"), "{stderr}");
}

#[test]
fn fixtures_need_memory_and_exclude_the_demo() {
    let directory = tempfile::tempdir().unwrap();
    let file = format!("sqlite:{}", directory.path().join("a.db").display());
    let example_path = example();
    let example = example_path.to_str().unwrap();
    let stderr = refused_start(&["--database", &file, "--fixtures", example]);
    assert!(
        stderr.contains("--fixtures needs --database memory"),
        "{stderr}"
    );
    let stderr = refused_start(&["--database", "memory", "--fixtures", example, "--demo"]);
    assert!(stderr.contains("--fixtures and --demo"), "{stderr}");
}

#[test]
fn the_testing_api_is_off_by_default_and_only_with_memory() {
    let cwd = tempfile::tempdir().unwrap();
    let example_path = example();
    let example = example_path.to_str().unwrap();
    let server = Server::start(cwd.path(), &["--fixtures", example]);
    let admin = example_json()["credentials"][0]["native"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = server.request("GET", "/testing/v1/clock", Some(&admin));
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error_code"], "NotFound");
    drop(server);
    let file = format!("sqlite:{}", cwd.path().join("a.db").display());
    let stderr = refused_start(&["--database", &file, "--testing-api"]);
    assert!(
        stderr.contains("--testing-api needs --database memory, not a database file"),
        "{stderr}"
    );
    let stderr = refused_start(&["--database", "postgres://u@127.0.0.1:1/db", "--testing-api"]);
    assert!(stderr.contains("not PostgreSQL"), "{stderr}");
}

/// Logs in to the Looker dialect with a credential's client id and secret;
/// the access token.
fn looker_login(server: &Server, credential: &Value) -> String {
    let form = format!(
        "client_id={}&client_secret={}",
        credential["looker"]["client_id"].as_str().unwrap(),
        credential["looker"]["client_secret"].as_str().unwrap()
    );
    let (status, login) = server.send_with_headers(
        "POST",
        "/api/4.0/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form,
    );
    assert_eq!(status, 200, "{login}");
    login["access_token"].as_str().unwrap().to_string()
}

#[test]
fn the_testing_api_moves_the_clock_injects_faults_journals_and_resets() {
    let cwd = tempfile::tempdir().unwrap();
    let example_path = example();
    let server = Server::start(
        cwd.path(),
        &[
            "--fixtures",
            example_path.to_str().unwrap(),
            "--testing-api",
        ],
    );
    let fixtures = example_json();
    let admin = &fixtures["credentials"][0];
    let token = admin["native"]["token"].as_str().unwrap();
    let expiring = fixtures["sessions"][0]["id"].as_str().unwrap();
    let session_path = format!("/native/v1/sessions/{expiring}");

    // Only an admin drives it.
    let (status, _) = server.request("GET", "/testing/v1/clock", None);
    assert_eq!(status, 401);
    let store_admin = fixtures["credentials"][1]["native"]["token"]
        .as_str()
        .unwrap();
    let (status, _) = server.request("GET", "/testing/v1/clock", Some(store_admin));
    assert_eq!(status, 403);
    let (status, clock) = server.request("GET", "/testing/v1/clock", Some(token));
    assert_eq!(status, 200, "{clock}");
    assert!(
        clock["now"]
            .as_str()
            .unwrap()
            .starts_with("2030-01-15T09:00:"),
        "{clock}"
    );

    // Past the session's expiry (10:00) and a Looker token's lifetime (1 h).
    let looker_token = looker_login(&server, admin);
    let looker_auth = format!("token {looker_token}");
    let sessions = "/api/4.0/users/42/sessions";
    let (status, _) =
        server.send_with_headers("GET", sessions, &[("Authorization", &looker_auth)], "");
    assert_eq!(status, 200);
    let (_, session) = server.request("GET", &session_path, Some(token));
    assert_eq!(session["live"], true);
    let (status, clock) = server.request_with_body(
        "POST",
        "/testing/v1/clock/advance",
        token,
        r#"{"seconds": 3601}"#,
    );
    assert_eq!(status, 200, "{clock}");
    assert!(
        clock["now"]
            .as_str()
            .unwrap()
            .starts_with("2030-01-15T10:00:"),
        "{clock}"
    );
    let (_, session) = server.request("GET", &session_path, Some(token));
    assert_eq!(session["live"], false, "{session}");
    assert_eq!(session["status"], "complete");
    assert_eq!(session["end_reason"], "expired");
    let (status, expired) =
        server.send_with_headers("GET", sessions, &[("Authorization", &looker_auth)], "");
    assert_eq!(status, 401, "{expired}");
    assert_eq!(expired["message"], "Requires authentication.");

    // A 429 in Looker's shape, once; then served again.
    let looker_token = looker_login(&server, admin);
    let looker_auth = format!("token {looker_token}");
    let (status, fault) = server.request_with_body(
        "POST",
        "/testing/v1/faults",
        token,
        r#"{"dialect": "looker", "operation": "all_user_sessions", "status": 429, "count": 1}"#,
    );
    assert_eq!(status, 201, "{fault}");
    let (status, head, limited) =
        server.send_raw("GET", sessions, &[("Authorization", &looker_auth)], "");
    assert_eq!(status, 429, "{limited}");
    assert!(head.contains("retry-after: 1"), "{head}");
    assert!(
        limited["message"].is_string() && limited["documentation_url"].is_string(),
        "{limited}"
    );
    let (status, _) =
        server.send_with_headers("GET", sessions, &[("Authorization", &looker_auth)], "");
    assert_eq!(status, 200);

    // A 503 in Huawei's shape, for every Huawei operation.
    let (status, _) = server.request_with_body(
        "POST",
        "/testing/v1/faults",
        token,
        r#"{"dialect": "huawei", "operation": "*", "status": 503, "count": 1}"#,
    );
    assert_eq!(status, 201);
    let (status, unavailable) = huawei_get(
        &server,
        "/v1/identity-stores/acme/users/42/sessions",
        admin["huawei"]["access_key"].as_str().unwrap(),
        admin["huawei"]["secret_key"].as_str().unwrap(),
    );
    assert_eq!(status, 503, "{unavailable}");
    assert!(unavailable["error_code"].is_string() && unavailable["request_id"].is_string());

    // Faults that cannot be answered are refused.
    let (status, refused) = server.request_with_body(
        "POST",
        "/testing/v1/faults",
        token,
        r#"{"dialect": "native", "operation": "*", "status": 418, "count": 1}"#,
    );
    assert_eq!(status, 400, "{refused}");

    // The journal: what each dialect answered, by whom, and no secret.
    let (status, journal) = server.request(
        "GET",
        "/testing/v1/journal?dialect=looker&operation=all_user_sessions",
        Some(token),
    );
    assert_eq!(status, 200, "{journal}");
    let statuses: Vec<u64> = journal["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 401, 429, 200]);
    let entries = journal["items"].as_array().unwrap();
    assert_eq!(entries[0]["credential_id"], admin["id"]);
    assert_eq!(entries[0]["path"], sessions);
    assert_eq!(
        entries[1]["credential_id"],
        Value::Null,
        "the expired token names nobody"
    );
    let (_, everything) = server.request("GET", "/testing/v1/journal", Some(token));
    let text = everything.to_string();
    assert!(text.contains("\"ListSessions\""), "{text}");
    assert!(
        !text.contains("/testing/v1"),
        "the testing API is not journaled"
    );
    for secret in [
        &admin["native"]["token"],
        &admin["looker"]["client_secret"],
        &admin["huawei"]["secret_key"],
    ] {
        assert!(
            !text.contains(secret.as_str().unwrap()),
            "a secret in the journal"
        );
    }
    assert!(!text.contains(&looker_token));

    // Back to the fixtures: clock, sessions, tokens, faults and journal.
    let (status, _) = server.request_with_body(
        "POST",
        "/testing/v1/faults",
        token,
        r#"{"dialect": "native", "operation": "session_view", "status": 500, "count": 5}"#,
    );
    assert_eq!(status, 201);
    let (status, _) = server.request("POST", "/testing/v1/reset", Some(token));
    assert_eq!(status, 204);
    let (_, clock) = server.request("GET", "/testing/v1/clock", Some(token));
    assert!(
        clock["now"]
            .as_str()
            .unwrap()
            .starts_with("2030-01-15T09:00:"),
        "{clock}"
    );
    let (status, session) = server.request("GET", &session_path, Some(token));
    assert_eq!(status, 200, "the fault was cleared: {session}");
    assert_eq!(session["live"], true);
    let (status, _) =
        server.send_with_headers("GET", sessions, &[("Authorization", &looker_auth)], "");
    assert_eq!(status, 401, "tokens issued since the fixtures are gone");
    // The journal starts again at the reset: only that last refusal.
    let (_, journal) = server.request("GET", "/testing/v1/journal?dialect=looker", Some(token));
    let entries = journal["items"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{journal}");
    assert_eq!(entries[0]["status"], 401);
    let (_, faults) = server.request("GET", "/testing/v1/faults", Some(token));
    assert_eq!(faults["items"], Value::Array(Vec::new()));
}

#[test]
fn a_reset_gives_rate_limited_credentials_a_fresh_start() {
    let cwd = tempfile::tempdir().unwrap();
    let example_path = example();
    let server = Server::start(
        cwd.path(),
        &[
            "--fixtures",
            example_path.to_str().unwrap(),
            "--testing-api",
        ],
    );
    let fixtures = example_json();
    let admin = fixtures["credentials"][0]["native"]["token"]
        .as_str()
        .unwrap();
    // User 42 may make 1 request a second, in bursts of 2.
    let user = &fixtures["credentials"][2];
    assert_eq!(user["rate_limit"], 1);
    let token = user["native"]["token"].as_str().unwrap();
    let own = "/native/v1/sessions?user_id=42&identity_store_id=acme";
    let statuses: Vec<u16> = (0..4)
        .map(|_| server.request("GET", own, Some(token)).0)
        .collect();
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let (status, _) = server.request("POST", "/testing/v1/reset", Some(admin));
    assert_eq!(status, 204);
    let (status, body) = server.request("GET", own, Some(token));
    assert_eq!(status, 200, "a fresh bucket after the reset: {body}");
}
