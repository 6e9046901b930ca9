//! `login-sessions serve` with GeoIP databases, run as a user would run it:
//! `--geoip-db` and `LOGIN_SESSIONS_GEOIP_DB`, the start-up message without
//! a database, `--demo` showing cities, and reloading on SIGHUP (a failed
//! reload keeps the old database). The databases are small MMDB files built
//! here, in both supported layouts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mmdb_writer::Writer;
use mmdb_writer::ipnet::IpNet;
use serde::Serialize;
use serde_json::{Value, json};

mod support;
use support::{Stderr, admin_credential, clear_environment, cli_json};

const CHROME_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

#[derive(Serialize)]
struct Names {
    en: String,
}

#[derive(Serialize)]
struct Named {
    #[serde(skip_serializing_if = "Option::is_none")]
    iso_code: Option<String>,
    names: Names,
}

#[derive(Serialize)]
struct GeoLite2City {
    city: Named,
    subdivisions: Vec<Named>,
    country: Named,
}

fn named(iso_code: Option<&str>, en: &str) -> Named {
    Named {
        iso_code: iso_code.map(str::to_string),
        names: Names { en: en.into() },
    }
}

/// A GeoLite2-City layout database: every network to one city.
fn geolite2(networks: &[&str], city: &str, state: &str, country: &str) -> Vec<u8> {
    let mut writer = Writer::new("GeoLite2-City");
    for network in networks {
        let record = GeoLite2City {
            city: named(None, city),
            subdivisions: vec![named(Some(state), state)],
            country: named(Some(country), country),
        };
        writer
            .insert(network.parse::<IpNet>().unwrap(), &record)
            .unwrap();
    }
    writer.to_bytes().unwrap()
}

/// An ip-location-db dbip-city layout database (`ipv4`: an IPv4 tree).
fn dbip(ipv4: bool, entries: &[(&str, &str, &str, &str)]) -> Vec<u8> {
    let mut writer = if ipv4 {
        Writer::builder("city ipv4")
            .ip_version(mmdb_writer::IpVersion::V4)
            .build()
    } else {
        Writer::new("city ipv6")
    };
    for (network, country_code, state1, city) in entries {
        let record = BTreeMap::from([
            ("country_code", *country_code),
            ("state1", *state1),
            ("state2", ""),
            ("city", *city),
            ("postcode", ""),
            ("timezone", ""),
        ]);
        writer
            .insert(network.parse::<IpNet>().unwrap(), &record)
            .unwrap();
    }
    writer.to_bytes().unwrap()
}

/// Replaces a file the way database updaters do: write beside, rename.
fn replace(path: &Path, bytes: &[u8]) {
    let temporary = path.with_extension("new");
    std::fs::write(&temporary, bytes).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

fn database(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("serve.db").display())
}

fn admin_token(db: &str) -> String {
    admin_credential(db)["native"]["token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Temporary Huawei credentials of credential `id`, as
/// `credentials create-temporary --json` prints them.
fn temporary_huawei_credentials(db: &str, id: &str) -> Value {
    cli_json(&[
        "credentials",
        "create-temporary",
        id,
        "--json",
        "--database",
        db,
    ])
}

/// A running `serve`, killed when dropped; its stderr, line by line.
struct Server {
    child: Child,
    bind: String,
    stderr: Stderr,
}

impl Server {
    fn start(db: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let bind = format!("127.0.0.1:{port}");
        let mut command = Command::new(support::bin());
        command
            .args(["serve", "--bind", &bind, "--database", db])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        clear_environment(&mut command);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let stderr = Stderr::of(&mut child);
        let mut server = Server {
            child,
            bind,
            stderr,
        };
        server.wait_for("listening on");
        server
    }

    /// Waits for a stderr line not read before containing `text`;
    /// returns it.
    fn wait_for(&mut self, text: &str) -> String {
        self.stderr.wait_for(text, Duration::from_secs(30))
    }

    fn hangup(&self) {
        self.signal("HUP");
    }

    /// Sends the process a signal by name (`HUP`, `TERM`, `INT`).
    fn signal(&self, name: &str) {
        let status = Command::new("sh")
            .args(["-c", &format!("kill -{name} {}", self.child.id())])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// One HTTP/1.1 request with these headers and body; the status and
    /// the body as text.
    fn send(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        let mut stream = std::net::TcpStream::connect(&self.bind).unwrap();
        let mut request = format!("{method} {target} HTTP/1.1\r\nHost: {}\r\n", self.bind);
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
        let (_, body) = response.split_once("\r\n\r\n").unwrap();
        (status, body.to_string())
    }

    /// One HTTP/1.1 request; the status and the JSON body.
    fn request(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let mut stream = std::net::TcpStream::connect(&self.bind).unwrap();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.bind,
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response[9..12].parse().unwrap();
        let (_, body) = response.split_once("\r\n\r\n").unwrap();
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    fn create(&self, token: &str, ip: &str) -> Value {
        let (status, session) = self.request(
            "POST",
            "/native/v1/sessions",
            token,
            Some(json!({
                "identity_store_id": "acme",
                "user_id": "42",
                "ip_address": ip,
                "user_agent": CHROME_MAC,
            })),
        );
        assert_eq!(status, 201, "{session}");
        session
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asked to stop (`TERM` or `INT`), `serve` answers the request already in
/// flight and exits 0.
fn stops_gracefully_on(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let token = admin_token(&db);
    let mut server = Server::start(&db, &[], &[]);
    // A request in flight: its headers sent, its body not yet.
    let body = json!({ "identity_store_id": "acme", "user_id": "42" }).to_string();
    let mut stream = std::net::TcpStream::connect(&server.bind).unwrap();
    write!(
        stream,
        "POST /native/v1/sessions HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.bind,
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    server.signal(signal);
    server.wait_for(&format!("SIG{signal}: stopping"));
    stream.write_all(body.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "serve did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "{status}; stderr:\n{}",
        server.stderr.seen.join("\n")
    );
}

#[test]
fn sigterm_finishes_the_request_in_flight_and_exits_0() {
    stops_gracefully_on("TERM");
}

#[test]
fn sigint_finishes_the_request_in_flight_and_exits_0() {
    stops_gracefully_on("INT");
}

/// Every dialect's authentication, at the most verbose log level, with
/// secrets in headers, bodies and (Looker's documented form) the query
/// string: no log line carries any of them, in either log format.
#[test]
fn no_secret_reaches_the_text_log_even_at_trace() {
    let log = no_secret_reaches_the_log_even_at_trace("text");
    // Text lines: an RFC 3339 time in UTC, the level, the message.
    let line = log
        .iter()
        .find(|line| line.contains("request completed"))
        .unwrap();
    let (timestamp, rest) = line.split_once(' ').unwrap();
    assert!(timestamp.ends_with('Z'), "{line}");
    chrono::DateTime::parse_from_rfc3339(timestamp).unwrap();
    assert!(
        rest.starts_with("INFO request completed; req_id="),
        "{line}"
    );
}

/// As above, with `--log-format json`: every log line is one JSON object,
/// and each request's line has its time, level, id, dialect, operation,
/// status and latency.
#[test]
fn no_secret_reaches_the_json_log_even_at_trace() {
    let log = no_secret_reaches_the_log_even_at_trace("json");
    let mut requests = 0;
    // The lines `serve` prints itself (listening, stopping) are plain text;
    // every line of the log is an object.
    for line in log.iter().filter(|line| line.starts_with('{')) {
        let record: Value =
            serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}"));
        let timestamp = record["timestamp"].as_str().unwrap();
        assert!(timestamp.ends_with('Z'), "{line}");
        chrono::DateTime::parse_from_rfc3339(timestamp).unwrap();
        assert!(record["level"].is_string(), "{line}");
        assert!(record["msg"].is_string(), "{line}");
        if record["msg"] == "request completed" {
            requests += 1;
            assert_eq!(record["level"], "info", "{line}");
            assert_eq!(record["req_id"].as_str().unwrap().len(), 32, "{line}");
            assert!(record["status"].is_u64(), "{line}");
            assert!(record["latency_us"].is_u64(), "{line}");
            assert!(record["operation"].is_string(), "{line}");
            let dialect = record["dialect"].as_str().unwrap();
            let uri = record["uri"].as_str().unwrap();
            let expected = if uri.starts_with("/api/v1/") {
                "prefactor"
            } else if uri.starts_with("/api/") {
                "looker"
            } else if uri.starts_with("/v1/") {
                "huawei"
            } else {
                "native"
            };
            assert_eq!(dialect, expected, "{line}");
        }
    }
    assert!(
        requests >= 8,
        "{requests} request lines:\n{}",
        log.join("\n")
    );
    assert!(
        log.iter()
            .all(|line| line.starts_with('{') || !line.contains("\"msg\"")),
        "a log line that is not one object"
    );
}

/// Runs every dialect's authentication against `serve --log-level trace
/// --log-format <format>`, asserts that no secret reached the log, and
/// returns the log's lines.
fn no_secret_reaches_the_log_even_at_trace(format: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let admin = admin_credential(&db);
    let secret = |pointer: &str| {
        admin
            .pointer(pointer)
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    };
    let native = secret("/native/token");
    let prefactor = secret("/prefactor/api_token");
    let (client_id, client_secret) = (secret("/looker/client_id"), secret("/looker/client_secret"));
    let (access_key, secret_key) = (secret("/huawei/access_key"), secret("/huawei/secret_key"));
    let temporary = temporary_huawei_credentials(&db, admin["id"].as_str().unwrap());
    let mut server = Server::start(&db, &["--log-level", "trace", "--log-format", format], &[]);
    let mut secrets = vec![
        native.clone(),
        prefactor.clone(),
        client_secret.clone(),
        secret_key.clone(),
    ];

    let session = server.create(&native, "203.0.113.9");
    let id = session["id"].as_str().unwrap();
    let bearer = |token: &str| format!("Bearer {token}");
    let (status, _) = server.send(
        "GET",
        &format!("/api/v1/session/{id}"),
        &[("Authorization", &bearer(&prefactor))],
        "",
    );
    assert_eq!(status, 200);

    // Looker: the query-string login, the form login, a wrong secret, and
    // the token it answers with.
    let login = format!("/api/4.0/login?client_id={client_id}&client_secret={client_secret}");
    let (status, body) = server.send("POST", &login, &[], "");
    assert_eq!(status, 200, "{body}");
    let form = format!("client_id={client_id}&client_secret={client_secret}");
    let form_headers = [("Content-Type", "application/x-www-form-urlencoded")];
    let (status, body) = server.send("POST", "/api/4.0/login", &form_headers, &form);
    assert_eq!(status, 200, "{body}");
    let wrong = format!("/api/4.0/login?client_id={client_id}&client_secret=wrong-{client_secret}");
    assert_eq!(server.send("POST", &wrong, &[], "").0, 404);
    let token: Value = serde_json::from_str(&body).unwrap();
    let access_token = token["access_token"].as_str().unwrap().to_string();
    let looker = format!("token {access_token}");
    let (status, _) = server.send(
        "GET",
        &format!("/api/4.0/users/42/sessions/{id}"),
        &[("Authorization", &looker)],
        "",
    );
    assert_eq!(status, 200);
    secrets.push(access_token);

    // Huawei: signed with the credential's AK/SK, with the wrong key, and
    // with temporary credentials (their security token signed too).
    let path = "/v1/identity-stores/acme/users/42/sessions";
    let date = huawei_signing::format_date(chrono::Utc::now());
    let signed_get = |access_key: &str, secret_key: &str, token: Option<&str>| {
        let mut headers = vec![
            ("host", server.bind.as_str()),
            ("x-sdk-date", date.as_str()),
        ];
        if let Some(token) = token {
            headers.push(("x-security-token", token));
        }
        let names: Vec<&str> = headers.iter().map(|(name, _)| *name).collect();
        let signed_headers = names.join(";");
        let canonical = huawei_signing::canonical_request(
            "GET",
            &huawei_signing::canonical_uri(path),
            "",
            &headers,
            &signed_headers,
            huawei_signing::EMPTY_PAYLOAD_HASH,
        );
        let signature = huawei_signing::signature(
            secret_key,
            &huawei_signing::string_to_sign(&date, &canonical),
        );
        let authorization = huawei_signing::authorization(access_key, &signed_headers, &signature);
        let mut sent = vec![
            ("Authorization", authorization.as_str()),
            ("X-Sdk-Date", date.as_str()),
        ];
        if let Some(token) = token {
            sent.push(("X-Security-Token", token));
        }
        let (status, _) = server.send("GET", path, &sent, "");
        (status, hex::encode(signature))
    };
    let (status, signature) = signed_get(&access_key, &secret_key, None);
    assert_eq!(status, 200);
    secrets.push(signature);
    assert_eq!(signed_get(&access_key, "not-the-secret-key", None).0, 401);
    let (status, signature) = signed_get(
        temporary["access_key"].as_str().unwrap(),
        temporary["secret_key"].as_str().unwrap(),
        temporary["security_token"].as_str(),
    );
    assert_eq!(status, 200);
    secrets.push(signature);
    for field in ["secret_key", "security_token"] {
        secrets.push(temporary[field].as_str().unwrap().to_string());
    }

    server.signal("TERM");
    server.wait_for("stopped");
    let log = server.stderr.seen.join("\n");
    assert!(
        log.contains("request completed"),
        "the log has request lines:\n{log}"
    );
    assert!(log.contains("client_secret=REDACTED"), "{log}");
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "a secret reached the log:\n{log}"
        );
    }
    server.stderr.seen.clone()
}

fn place(session: &Value) -> [&Value; 3] {
    [&session["city"], &session["state"], &session["country"]]
}

#[test]
fn serve_enriches_sessions_and_reloads_the_database_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let token = admin_token(&db);
    let geo = dir.path().join("city.mmdb");
    std::fs::write(&geo, geolite2(&["81.2.69.0/24"], "London", "ENG", "GB")).unwrap();

    let mut server = Server::start(&db, &["--geoip-db", geo.to_str().unwrap()], &[]);
    assert!(
        server
            .stderr
            .seen
            .iter()
            .any(|l| l.contains("GeoIP: ") && l.contains("GeoLite2-City")),
        "the loaded database is reported: {:?}",
        server.stderr.seen
    );

    let session = server.create(&token, "81.2.69.142");
    assert_eq!(session["browser"], "Chrome");
    assert_eq!(session["operating_system"], "Mac OS X 10.15.7");
    assert_eq!(
        place(&session),
        [&json!("London"), &json!("ENG"), &json!("GB")]
    );
    let private = server.create(&token, "10.1.2.3");
    assert_eq!(place(&private), [&Value::Null, &Value::Null, &Value::Null]);
    assert_eq!(private["browser"], "Chrome");

    // A new database, in the other layout, replaces the old one on SIGHUP.
    replace(
        &geo,
        &dbip(true, &[("81.2.69.0/24", "GB", "England", "Manchester")]),
    );
    server.hangup();
    server.wait_for("reloaded GeoIP database");
    let session = server.create(&token, "81.2.69.142");
    assert_eq!(
        place(&session),
        [&json!("Manchester"), &json!("England"), &json!("GB")]
    );

    // A broken file: the reload fails, says why, and the old one stays.
    replace(&geo, b"this is not a MaxMind database");
    server.hangup();
    let line = server.wait_for("GeoIP reload failed");
    assert!(line.contains("city.mmdb"), "{line}");
    let session = server.create(&token, "81.2.69.142");
    assert_eq!(session["city"], "Manchester");

    // Sessions created earlier keep what they were enriched with.
    let id = private["id"].as_str().unwrap();
    let (status, read) = server.request("GET", &format!("/native/v1/sessions/{id}"), &token, None);
    assert_eq!(status, 200);
    assert_eq!(read["city"], Value::Null);
}

#[test]
fn without_a_database_serve_says_so_once_and_places_are_null() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let token = admin_token(&db);
    let server = Server::start(&db, &[], &[]);
    let notices: Vec<_> = server
        .stderr
        .seen
        .iter()
        .filter(|l| l.contains("GeoIP: no database configured"))
        .collect();
    assert_eq!(notices.len(), 1, "{:?}", server.stderr.seen);
    assert!(notices[0].contains("LOGIN_SESSIONS_GEOIP_DB"));
    let session = server.create(&token, "81.2.69.142");
    assert_eq!(session["browser"], "Chrome");
    assert_eq!(place(&session), [&Value::Null, &Value::Null, &Value::Null]);
}

#[test]
fn the_demo_is_also_turned_on_by_its_environment_variable() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let token = admin_token(&db);
    let demo_sessions = |env: &[(&str, &str)]| {
        let server = Server::start(&db, &[], env);
        let (status, page) = server.request(
            "GET",
            "/native/v1/sessions?identity_store_id=acme&limit=100",
            &token,
            None,
        );
        assert_eq!(status, 200, "{page}");
        page["items"].as_array().unwrap().len()
    };
    assert_eq!(demo_sessions(&[("LOGIN_SESSIONS_DEMO", "false")]), 0);
    assert!(demo_sessions(&[("LOGIN_SESSIONS_DEMO", "true")]) > 0);
}

#[test]
fn a_missing_database_stops_serve_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(support::bin())
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database",
            &database(dir.path()),
            "--geoip-db",
            "/nonexistent/city.mmdb",
        ])
        .env_remove("LOGIN_SESSIONS_GEOIP_DB")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/city.mmdb"), "{stderr}");
}

#[test]
fn demo_with_ipv4_and_ipv6_databases_from_the_environment_shows_cities() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let v4 = dir.path().join("dbip-city-ipv4.mmdb");
    let v6 = dir.path().join("dbip-city-ipv6.mmdb");
    std::fs::write(
        &v4,
        dbip(
            true,
            &[
                ("8.8.8.0/24", "US", "California", "Mountain View"),
                ("193.0.0.0/21", "NL", "North Holland", "Amsterdam"),
                ("81.2.69.0/24", "GB", "England", "London"),
                ("1.1.1.0/24", "AU", "New South Wales", "Sydney"),
            ],
        ),
    )
    .unwrap();
    std::fs::write(
        &v6,
        dbip(
            false,
            &[("2001:67c:2e8::/48", "NL", "North Holland", "Amsterdam")],
        ),
    )
    .unwrap();
    let paths = format!("{}:{}", v4.display(), v6.display());
    let token = admin_token(&db);
    let server = Server::start(
        &db,
        &["--demo"],
        &[("LOGIN_SESSIONS_GEOIP_DB", paths.as_str())],
    );
    assert_eq!(
        server
            .stderr
            .seen
            .iter()
            .filter(|l| l.contains("GeoIP: ") && l.contains("city ipv"))
            .count(),
        2,
        "{:?}",
        server.stderr.seen
    );
    let (status, page) = server.request(
        "GET",
        "/native/v1/sessions?identity_store_id=acme&limit=100",
        &token,
        None,
    );
    assert_eq!(status, 200, "{page}");
    let sessions = page["items"].as_array().unwrap();
    let cities: std::collections::BTreeSet<&str> =
        sessions.iter().filter_map(|s| s["city"].as_str()).collect();
    assert!(cities.len() >= 3, "{cities:?}");
    let ipv6 = sessions
        .iter()
        .find(|s| s["first_seen"]["ip_address"].as_str() == Some("2001:67c:2e8:22::c100:68b"))
        .expect("a demo session from the IPv6 address");
    assert_eq!(
        place(ipv6),
        [&json!("Amsterdam"), &json!("North Holland"), &json!("NL")]
    );
    assert!(sessions.iter().any(|s| s["browser"] == "Chrome"));
}
