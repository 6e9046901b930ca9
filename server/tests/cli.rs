//! The `login-sessions` binary's subcommands, run as a user would run them,
//! on fresh database files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn login_sessions(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_login-sessions"));
    command
        .args(args)
        .env_remove("LOGIN_SESSIONS_DATABASE")
        .env_remove("LOGIN_SESSIONS_KEY_FILE");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("run login-sessions")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "command failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn database(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("cli.db").display())
}

#[test]
fn credentials_create_works_on_a_fresh_file_and_prints_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let output = login_sessions(
        &[
            "credentials",
            "create",
            "--role",
            "store-admin",
            "--identity-store",
            "acme",
            "--json",
            "--database",
            &db,
        ],
        &[],
    );
    let issued: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let keys: Vec<_> = issued.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        ["huawei", "id", "looker", "native", "prefactor", "role"]
    );
    assert_eq!(issued["role"], "store-admin");
    assert!(
        issued["native"]["token"]
            .as_str()
            .unwrap()
            .starts_with("lsn_")
    );
    assert_eq!(issued["looker"]["client_id"].as_str().unwrap().len(), 20);
    assert_eq!(
        issued["looker"]["client_secret"].as_str().unwrap().len(),
        24
    );
    assert!(
        issued["prefactor"]["api_token"]
            .as_str()
            .unwrap()
            .starts_with("lsp_")
    );
    assert_eq!(issued["huawei"]["access_key"].as_str().unwrap().len(), 20);
    assert_eq!(issued["huawei"]["secret_key"].as_str().unwrap().len(), 40);
    assert!(
        dir.path().join("cli.db.key").exists(),
        "key created beside the database"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("created a new server key"));

    let secret = issued["huawei"]["secret_key"].as_str().unwrap();
    let database_bytes = std::fs::read(dir.path().join("cli.db")).unwrap();
    let wal = std::fs::read(dir.path().join("cli.db-wal")).unwrap_or_default();
    for haystack in [&database_bytes, &wal] {
        for secret in [secret, issued["native"]["token"].as_str().unwrap()] {
            assert!(
                !haystack
                    .windows(secret.len())
                    .any(|w| w == secret.as_bytes()),
                "a secret is stored in the clear"
            );
        }
    }

    let id = issued["id"].as_str().unwrap();
    let listed: serde_json::Value = serde_json::from_str(&stdout(&login_sessions(
        &["credentials", "list", "--json", "--database", &db],
        &[],
    )))
    .unwrap();
    assert_eq!(listed[0]["id"], id);
    assert_eq!(listed[0]["identity_store_id"], "acme");
    assert_eq!(listed[0]["revoked_at"], serde_json::Value::Null);
    assert!(
        !listed.to_string().contains(secret),
        "list shows no secrets"
    );

    stdout(&login_sessions(
        &["credentials", "revoke", id],
        &[("LOGIN_SESSIONS_DATABASE", &db)],
    ));
    let listed: serde_json::Value = serde_json::from_str(&stdout(&login_sessions(
        &["credentials", "list", "--json", "--database", &db],
        &[],
    )))
    .unwrap();
    assert!(listed[0]["revoked_at"].is_string());
    let again = login_sessions(&["credentials", "revoke", id, "--database", &db], &[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("revoked already"));
}

#[test]
fn bad_credential_requests_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let output = login_sessions(
        &[
            "credentials",
            "create",
            "--role",
            "store-admin",
            "--database",
            &db,
        ],
        &[],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--identity-store"));
    let output = login_sessions(
        &["credentials", "create", "--role", "user", "--database", &db],
        &[],
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("--user-id"));
    let output = login_sessions(&["credentials", "list", "--database", "mysql://nope"], &[]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("unsupported database URL"));
}

/// A server key whose database is gone means the database was moved or
/// deleted: no command but `init` creates an empty one in its place (the
/// credentials would all be refused and the sessions seem lost), and
/// `init` does not touch a database that exists.
#[test]
fn no_command_but_init_creates_a_database_beside_an_existing_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    stdout(&login_sessions(
        &["credentials", "list", "--database", &db],
        &[],
    ));
    let file = dir.path().join("cli.db");
    assert!(file.exists() && dir.path().join("cli.db.key").exists());
    std::fs::remove_file(&file).unwrap();

    for command in [
        vec!["credentials", "list", "--database", &db],
        vec![
            "credentials",
            "create",
            "--role",
            "admin",
            "--database",
            &db,
        ],
        vec!["serve", "--database", &db, "--bind", "127.0.0.1:0"],
    ] {
        let refused = login_sessions(&command, &[]);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "{command:?}");
        assert!(
            stderr.contains("does not exist, but its server key") && stderr.contains("init"),
            "{command:?}: {stderr}"
        );
        assert!(!file.exists(), "{command:?} created nothing");
    }

    let init = login_sessions(&["init", "--database", &db], &[]);
    stdout(&init);
    assert!(String::from_utf8_lossy(&init.stderr).contains("created a new database"));
    assert!(file.exists());
    stdout(&login_sessions(
        &["credentials", "list", "--database", &db],
        &[],
    ));
    let again = login_sessions(&["init", "--database", &db], &[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
}

/// `backup` copies a live database into a new private file that serves as
/// the original did; it never overwrites, and sends PostgreSQL users to
/// their own tools.
#[test]
fn backup_copies_a_database_that_works_as_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let created = stdout(&login_sessions(
        &[
            "credentials",
            "create",
            "--role",
            "admin",
            "--json",
            "--database",
            &db,
        ],
        &[],
    ));
    let created: serde_json::Value = serde_json::from_str(&created).unwrap();
    let copy = dir.path().join("copy.db");
    let copy_text = copy.to_str().unwrap();
    let backed_up = login_sessions(&["backup", copy_text, "--database", &db], &[]);
    stdout(&backed_up);
    assert!(String::from_utf8_lossy(&backed_up.stderr).contains("key file"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert!(!dir.path().join("copy.db-wal").exists(), "one file, no log");

    // The copy, with the original's key, is the same database.
    let key = dir.path().join("cli.db.key");
    let listed = stdout(&login_sessions(
        &[
            "credentials",
            "list",
            "--json",
            "--database",
            &format!("sqlite:{copy_text}"),
            "--key-file",
            key.to_str().unwrap(),
        ],
        &[],
    ));
    assert!(listed.contains(created["id"].as_str().unwrap()), "{listed}");

    let again = login_sessions(&["backup", copy_text, "--database", &db], &[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    let postgres = login_sessions(
        &[
            "backup",
            "x.db",
            "--database",
            "postgres://u@127.0.0.1:1/db",
        ],
        &[],
    );
    assert!(!postgres.status.success());
    assert!(String::from_utf8_lossy(&postgres.stderr).contains("pg_dump"));
}

/// `key rotate` wants the new key first and the old one after it, and
/// says what it re-sealed.
#[test]
fn key_rotate_reseals_with_the_first_key_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    stdout(&login_sessions(
        &[
            "credentials",
            "create",
            "--role",
            "admin",
            "--database",
            &db,
        ],
        &[],
    ));
    let old_key = dir.path().join("cli.db.key");
    let one = login_sessions(
        &[
            "key",
            "rotate",
            "--database",
            &db,
            "--key-file",
            old_key.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!one.status.success());
    assert!(String::from_utf8_lossy(&one.stderr).contains("holds one key"));

    let new = stdout(&login_sessions(&["key", "generate"], &[]));
    let ring = dir.path().join("ring.key");
    let old = std::fs::read_to_string(&old_key).unwrap();
    std::fs::write(&ring, format!("{}\n{}", new.trim(), old)).unwrap();
    let ring = ring.to_str().unwrap();
    let rotated = stdout(&login_sessions(
        &["key", "rotate", "--database", &db, "--key-file", ring],
        &[],
    ));
    assert!(rotated.contains("re-sealed 1 secrets"), "{rotated}");
    assert!(rotated.contains("remove the other lines"), "{rotated}");
    let again = stdout(&login_sessions(
        &["key", "rotate", "--database", &db, "--key-file", ring],
        &[],
    ));
    assert!(
        again.contains("re-sealed 0 secrets with the first key (1 were already"),
        "{again}"
    );
}

#[test]
fn key_generate_prints_a_key_that_key_file_accepts() {
    let key = stdout(&login_sessions(&["key", "generate"], &[]));
    let key = key.trim();
    assert_eq!(key.len(), 64);
    assert!(key.chars().all(|c| c.is_ascii_hexdigit()));

    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("server.key");
    std::fs::write(&key_file, format!("{key}\n")).unwrap();
    let db = database(dir.path());
    let key_path = key_file.to_str().unwrap();
    // A key without its database: only `init` starts one.
    let init = login_sessions(&["init", "--database", &db, "--key-file", key_path], &[]);
    stdout(&init);
    assert!(
        String::from_utf8_lossy(&init.stderr).contains("created a new database"),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    stdout(&login_sessions(
        &[
            "credentials",
            "create",
            "--role",
            "admin",
            "--database",
            &db,
            "--key-file",
            key_path,
        ],
        &[],
    ));
    assert!(
        !dir.path().join("cli.db.key").exists(),
        "the given key file is used"
    );

    let missing = login_sessions(
        &[
            "credentials",
            "list",
            "--database",
            &db,
            "--key-file",
            "/nonexistent/key",
        ],
        &[],
    );
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/key"));
}

#[test]
fn serve_demo_seeds_and_answers_healthz() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let bind = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_login-sessions"))
        .args([
            "serve",
            "--demo",
            "--bind",
            &bind,
            "--database",
            &db,
            "--log-level",
            "warn",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let healthy = loop {
        if let Ok(mut stream) = std::net::TcpStream::connect(&bind) {
            use std::io::{Read, Write};
            write!(
                stream,
                "GET /healthz HTTP/1.1\r\nHost: {bind}\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).unwrap();
            break response.starts_with("HTTP/1.1 200");
        }
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(100));
    };
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(healthy, "healthz answers 200");
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(printed.contains("Seeded 17 demo sessions"), "{printed}");
    assert!(printed.contains("native API token:"));
    assert!(printed.contains(&format!("http://{bind}/native/v1/sessions")));
}

#[test]
fn credentials_create_temporary_prints_json_and_refuses_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let issued: serde_json::Value = serde_json::from_str(&stdout(&login_sessions(
        &[
            "credentials",
            "create",
            "--role",
            "admin",
            "--json",
            "--database",
            &db,
        ],
        &[],
    )))
    .unwrap();
    let id = issued["id"].as_str().unwrap();

    let temporary: serde_json::Value = serde_json::from_str(&stdout(&login_sessions(
        &[
            "credentials",
            "create-temporary",
            id,
            "--ttl-seconds",
            "7200",
            "--json",
            "--database",
            &db,
        ],
        &[],
    )))
    .unwrap();
    let keys: Vec<_> = temporary.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        ["access_key", "expires_at", "secret_key", "security_token"]
    );
    assert_eq!(temporary["access_key"].as_str().unwrap().len(), 20);
    assert_eq!(temporary["secret_key"].as_str().unwrap().len(), 40);
    assert_eq!(temporary["security_token"].as_str().unwrap().len(), 64);
    let expires_at =
        chrono::DateTime::parse_from_rfc3339(temporary["expires_at"].as_str().unwrap())
            .unwrap()
            .to_utc();
    let lifetime = expires_at - chrono::Utc::now();
    assert!(
        lifetime > chrono::TimeDelta::seconds(7100) && lifetime <= chrono::TimeDelta::seconds(7200),
        "{lifetime}"
    );
    assert_ne!(temporary["access_key"], issued["huawei"]["access_key"]);

    // Neither the SK nor the token is stored in the clear.
    let database_bytes = std::fs::read(dir.path().join("cli.db")).unwrap();
    let wal = std::fs::read(dir.path().join("cli.db-wal")).unwrap_or_default();
    for haystack in [&database_bytes, &wal] {
        for secret in ["secret_key", "security_token"] {
            let secret = temporary[secret].as_str().unwrap();
            assert!(
                !haystack
                    .windows(secret.len())
                    .any(|w| w == secret.as_bytes()),
                "a temporary secret is stored in the clear"
            );
        }
    }

    let text = stdout(&login_sessions(
        &["credentials", "create-temporary", id, "--database", &db],
        &[],
    ));
    assert!(text.contains("security token:"), "{text}");

    for (ttl, complaint) in [("899", "900 to 86400"), ("86401", "900 to 86400")] {
        let output = login_sessions(
            &[
                "credentials",
                "create-temporary",
                id,
                "--ttl-seconds",
                ttl,
                "--database",
                &db,
            ],
            &[],
        );
        assert!(!output.status.success());
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(complaint),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let unknown = login_sessions(
        &[
            "credentials",
            "create-temporary",
            "00000000000000000000000000000000",
            "--database",
            &db,
        ],
        &[],
    );
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no credential"));
    stdout(&login_sessions(
        &["credentials", "revoke", id, "--database", &db],
        &[],
    ));
    let revoked = login_sessions(
        &["credentials", "create-temporary", id, "--database", &db],
        &[],
    );
    assert!(!revoked.status.success());
    assert!(String::from_utf8_lossy(&revoked.stderr).contains("is revoked"));
}

#[test]
fn seed_adds_sessions_reports_its_rate_and_writes_a_sample() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let sample = dir.path().join("sample.json");
    let output = login_sessions(
        &[
            "seed",
            "--sessions",
            "500",
            "--users",
            "50",
            "--stores",
            "3",
            "--batch",
            "200",
            "--sample",
            sample.to_str().unwrap(),
            "--sample-size",
            "40",
            "--json",
            "--database",
            &db,
        ],
        &[],
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    // The designated user's ten sessions come on top.
    assert_eq!(report["inserted"], 510);
    assert!(report["sessions_per_second"].as_f64().unwrap() > 0.0);
    let progress = String::from_utf8_lossy(&output.stderr);
    assert!(progress.contains("500/500"), "{progress}");
    let sample: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&sample).unwrap()).unwrap();
    assert_eq!(sample["sample"].as_array().unwrap().len(), 40);
    assert_eq!(
        sample["designated_user"]["user_id"],
        "bench-user-ten-sessions"
    );
    for entry in sample["sample"].as_array().unwrap() {
        assert_eq!(entry["id"].as_str().unwrap().len(), 32, "{entry}");
        assert!(entry["live"].is_boolean(), "{entry}");
    }
}

/// Starts `serve` on a free port with `extra` arguments, sends one `GET
/// path`, stops the server and returns the raw response.
fn serve_and_get(extra: &[&str], path: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let bind = format!("127.0.0.1:{port}");
    let mut args = vec![
        "serve",
        "--bind",
        &bind,
        "--database",
        &db,
        "--log-level",
        "warn",
    ];
    args.extend_from_slice(extra);
    let mut child = Command::new(env!("CARGO_BIN_EXE_login-sessions"))
        .args(&args)
        .env_remove("LOGIN_SESSIONS_BENCH_ENDPOINTS")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let response = loop {
        if let Ok(mut stream) = std::net::TcpStream::connect(&bind) {
            use std::io::{Read, Write};
            write!(
                stream,
                "GET {path} HTTP/1.1\r\nHost: {bind}\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).unwrap();
            break response;
        }
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(100));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    response
}

#[test]
fn the_bench_baseline_answers_only_with_bench_endpoints() {
    let off = serve_and_get(&[], "/bench/baseline");
    assert!(off.starts_with("HTTP/1.1 404"), "{off}");
    assert!(off.contains("\"error_code\":\"NotFound\""), "{off}");
    assert!(off.contains("--bench-endpoints"), "{off}");

    let on = serve_and_get(&["--bench-endpoints"], "/bench/baseline");
    assert!(on.starts_with("HTTP/1.1 200"), "{on}");
    let (_, body) = on.split_once("\r\n\r\n").unwrap();
    assert_eq!(body.len(), login_sessions_api::bench::BASELINE_BODY_BYTES);
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["can"], serde_json::json!({}));
}

#[test]
fn the_native_session_reference_answers_only_with_bench_endpoints() {
    let off = serve_and_get(&[], "/bench/native-session");
    assert!(off.starts_with("HTTP/1.1 404"), "{off}");
    assert!(off.contains("--bench-endpoints"), "{off}");

    let on = serve_and_get(&["--bench-endpoints"], "/bench/native-session");
    assert!(on.starts_with("HTTP/1.1 200"), "{on}");
    let (_, body) = on.split_once("\r\n\r\n").unwrap();
    assert_eq!(
        body.len(),
        login_sessions_api::bench::NATIVE_SESSION_BODY_BYTES
    );
    // The shape of what native `session_view` answers.
    let session: login_sessions_api::native::Session = serde_json::from_str(body).unwrap();
    assert!(session.live);
    assert!(session.first_seen.is_some() && session.last_seen.is_some());
}

/// `credentials list | head`: the reader goes away before the output is
/// written. The command exits 0 without a word, never a panic.
#[test]
fn a_closed_output_pipe_ends_a_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let created = login_sessions(
        &[
            "credentials",
            "create",
            "--role",
            "admin",
            "--database",
            &db,
        ],
        &[],
    );
    assert!(created.status.success());
    for args in [
        vec!["credentials", "list", "--database", &db],
        vec!["credentials", "list", "--json", "--database", &db],
        vec!["key", "generate"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_login-sessions"))
            .args(&args)
            .env_remove("LOGIN_SESSIONS_DATABASE")
            .env_remove("LOGIN_SESSIONS_KEY_FILE")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Close the only reader of its stdout at once.
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{args:?}: {}\n{stderr}",
            output.status
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.trim().is_empty(), "{args:?} said: {stderr}");
    }
}

/// A command that creates a database says so, with its path, and makes it
/// (and its key) readable by its owner only; one that opens an existing
/// database says nothing of the kind.
#[test]
fn a_new_database_is_announced_and_private() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let path = dir.path().join("cli.db");
    let first = login_sessions(
        &[
            "credentials",
            "create",
            "--role",
            "admin",
            "--database",
            &db,
        ],
        &[],
    );
    assert!(first.status.success());
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(
        stderr.contains(&format!("created a new database: {}", path.display())),
        "{stderr}"
    );
    for file in [path.clone(), dir.path().join("cli.db.key")] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
    let again = login_sessions(&["credentials", "list", "--database", &db], &[]);
    assert!(again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!stderr.contains("created a new database"), "{stderr}");
}
