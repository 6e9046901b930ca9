//! The metrics endpoint of `login-sessions serve --metrics-bind`, run as
//! an operator runs it (the real binary) and scraped as Prometheus
//! scrapes it: requests in three dialects move the figures between two
//! scrapes, the endpoint is only on its own listener, and without the
//! flag no listener starts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use login_sessions_tests::postgres::TestDatabase;
use serde_json::{Value, json};

mod support;
use support::{Stderr, clear_environment, cli_json};

/// What `serve` says on stderr when the metrics listener is up.
const METRICS_LINE: &str = "metrics on http://";

/// A database with an admin credential, issued by `credentials create
/// --json`: a SQLite file, or a fresh PostgreSQL database with a server key.
struct Database {
    _dir: tempfile::TempDir,
    url: String,
    key_file: Option<String>,
    credential: Value,
    _postgres: Option<TestDatabase>,
}

impl Database {
    fn new() -> Database {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("metrics.db").display());
        let credential = admin_credential(&["--database", &url]);
        Database {
            _dir: dir,
            url,
            key_file: None,
            credential,
            _postgres: None,
        }
    }

    /// `None` when there is no PostgreSQL (and it is not required).
    fn postgres() -> Option<Database> {
        let postgres = TestDatabase::create_blocking()?;
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("server.key").display().to_string();
        let key = Command::new(support::bin())
            .args(["key", "generate"])
            .output()
            .unwrap();
        std::fs::write(&key_file, &key.stdout).unwrap();
        let credential = admin_credential(&["--database", &postgres.url, "--key-file", &key_file]);
        Some(Database {
            _dir: dir,
            url: postgres.url.clone(),
            key_file: Some(key_file),
            credential,
            _postgres: Some(postgres),
        })
    }

    /// `--database` and, with PostgreSQL, `--key-file`.
    fn store_args(&self) -> Vec<&str> {
        let mut args = vec!["--database", self.url.as_str()];
        if let Some(key_file) = &self.key_file {
            args.extend(["--key-file", key_file.as_str()]);
        }
        args
    }

    fn secret(&self, dialect: &str, name: &str) -> String {
        self.credential[dialect][name].as_str().unwrap().to_string()
    }
}

/// An admin credential issued in the store `store_args` name.
fn admin_credential(store_args: &[&str]) -> Value {
    let mut args = vec!["credentials", "create", "--role", "admin", "--json"];
    args.extend_from_slice(store_args);
    cli_json(&args)
}

/// A running `serve` on 127.0.0.1:0, killed when dropped.
struct Server {
    child: Child,
    addr: String,
    /// Where `/metrics` is, when the metrics listener started.
    metrics_addr: Option<String>,
    /// Every stderr line up to the API's "listening on" line.
    startup: Vec<String>,
    /// The rest of stderr (the access log), read so that the server never
    /// blocks writing it.
    _stderr: Stderr,
}

impl Server {
    fn start(database: &Database, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(support::bin());
        command
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(database.store_args())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        clear_environment(&mut command);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let mut lines = Stderr::of(&mut child);
        // The metrics listener starts, and says so, before the API's.
        lines.wait_for(
            "login-sessions listening on http://",
            Duration::from_secs(30),
        );
        let startup = lines.seen.clone();
        let address_after = |marker: &str| {
            startup.iter().find_map(|line| {
                let (_, rest) = line.split_once(marker)?;
                Some(rest.split(['/', ' ']).next()?.to_string())
            })
        };
        let addr = address_after("listening on http://").unwrap();
        let metrics_addr = address_after(METRICS_LINE);
        Server {
            child,
            addr,
            metrics_addr,
            startup,
            _stderr: lines,
        }
    }

    fn metrics_addr(&self) -> &str {
        self.metrics_addr
            .as_deref()
            .unwrap_or_else(|| panic!("no {METRICS_LINE:?} line in {:?}", self.startup))
    }

    /// Scrapes `/metrics`: checks the response is the OpenMetrics text
    /// format, and parses it.
    fn scrape(&self) -> Scrape {
        let response = http(self.metrics_addr(), "GET", "/metrics", &[], "");
        assert_eq!(response.status, 200, "{}", response.body);
        assert_eq!(
            response.header("content-type"),
            Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
        );
        Scrape::parse(&response.body)
    }

    /// Listening TCP sockets the server process holds (Linux: its file
    /// descriptors matched against the kernel's socket tables).
    fn listening_sockets(&self) -> usize {
        let pid = self.child.id();
        let held: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
            .filter_map(|target| {
                let target = target.to_string_lossy().into_owned();
                let inode = target.strip_prefix("socket:[")?.strip_suffix(']')?;
                Some(inode.to_string())
            })
            .collect();
        ["/proc/net/tcp", "/proc/net/tcp6"]
            .iter()
            .filter_map(|table| std::fs::read_to_string(table).ok())
            .flat_map(|table| {
                table
                    .lines()
                    .skip(1)
                    .filter_map(listening_inode)
                    .collect::<Vec<_>>()
            })
            .filter(|inode| held.contains(inode))
            .count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The socket inode of a row of `/proc/net/tcp*`, if it is listening
/// (state `0A`, the fourth column; the inode is the tenth).
fn listening_inode(row: &str) -> Option<String> {
    let columns: Vec<&str> = row.split_whitespace().collect();
    if columns.get(3) != Some(&"0A") {
        return None;
    }
    columns.get(9).map(|inode| inode.to_string())
}

struct Response {
    status: u16,
    head: String,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (field, value) = line.split_once(':')?;
            field.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// One HTTP/1.1 request, the connection closed after it.
fn http(addr: &str, method: &str, target: &str, headers: &[(&str, &str)], body: &str) -> Response {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let mut request = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\n");
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
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    Response {
        status: head[9..12].parse().unwrap(),
        head: head.to_string(),
        body: body.to_string(),
    }
}

/// One scrape: every sample by name and labels, and the `# TYPE` lines.
struct Scrape {
    text: String,
    samples: BTreeMap<(String, BTreeMap<String, String>), f64>,
    types: BTreeMap<String, String>,
}

impl Scrape {
    fn parse(text: &str) -> Scrape {
        assert!(
            text.ends_with("# EOF\n"),
            "not a complete exposition:\n{text}"
        );
        let mut samples = BTreeMap::new();
        let mut types = BTreeMap::new();
        for line in text.lines() {
            if let Some(declaration) = line.strip_prefix("# TYPE ") {
                let (family, kind) = declaration.split_once(' ').unwrap();
                types.insert(family.to_string(), kind.to_string());
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (name, parse_labels(labels.strip_suffix('}').unwrap())),
                None => (series, BTreeMap::new()),
            };
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
            let previous = samples.insert((name.to_string(), labels), value);
            assert!(previous.is_none(), "a series twice: {line}");
        }
        Scrape {
            text: text.to_string(),
            samples,
            types,
        }
    }

    /// The sample with exactly these labels; 0 when absent (a counter or
    /// histogram series that has not been touched yet).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples
            .get(&(name.to_string(), labels))
            .copied()
            .unwrap_or(0.0)
    }

    /// A histogram's buckets for these labels, in order of their bounds.
    fn buckets(&self, name: &str, labels: &[(&str, &str)]) -> Vec<(f64, f64)> {
        let mut buckets: Vec<(f64, f64)> = self
            .samples
            .iter()
            .filter(|((sample, sample_labels), _)| {
                sample == &format!("{name}_bucket")
                    && sample_labels.len() == labels.len() + 1
                    && labels
                        .iter()
                        .all(|(k, v)| sample_labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|((_, sample_labels), count)| {
                let bound = match sample_labels["le"].as_str() {
                    "+Inf" => f64::INFINITY,
                    bound => bound.parse().unwrap(),
                };
                (bound, *count)
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        buckets
    }
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    // Label values here never hold quotes or commas.
    text.split(',')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap();
            let value = value.strip_prefix('"').unwrap().strip_suffix('"').unwrap();
            (name.to_string(), value.to_string())
        })
        .collect()
}

/// How much a series grew from `before` to `after`.
fn growth(before: &Scrape, after: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    after.value(name, labels) - before.value(name, labels)
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Checks a histogram series is one: buckets that never decrease, the
/// last (`+Inf`) equal to the count.
fn assert_consistent_histogram(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) {
    let buckets = scrape.buckets(name, labels);
    assert!(buckets.len() > 2, "{name}{labels:?} has buckets");
    assert!(
        buckets.windows(2).all(|pair| pair[0].1 <= pair[1].1),
        "{name}{labels:?}: cumulative buckets {buckets:?}"
    );
    let last = buckets.last().unwrap();
    assert_eq!(last.0, f64::INFINITY);
    assert_eq!(last.1, scrape.value(&format!("{name}_count"), labels));
}

/// A session id of the right shape that no session has.
const MISSING_SESSION: &str = "7zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz";

const AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// Creates two sessions of `user` from `ip` through the native API with
/// the bearer `native`; their ids.
fn create_two_sessions(addr: &str, native: &str, user: &str, ip: &str) -> Vec<String> {
    let headers = [
        ("Authorization", native),
        ("Content-Type", "application/json"),
    ];
    let body = json!({
        "identity_store_id": "acme",
        "user_id": user,
        "ip_address": ip,
        "user_agent": AGENT,
    });
    (0..2)
        .map(|_| {
            let created = http(
                addr,
                "POST",
                "/native/v1/sessions",
                &headers,
                &body.to_string(),
            );
            assert_eq!(created.status, 201, "{}", created.body);
            created.json()["id"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn requests_in_three_dialects_move_the_figures_between_two_scrapes() {
    let database = Database::new();
    let native = format!("Bearer {}", database.secret("native", "token"));
    let prefactor = format!("Bearer {}", database.secret("prefactor", "api_token"));
    // A credential cache long enough that a repeat is a hit however slow
    // the machine; the janitor and the sampler every second.
    let server = Server::start(
        &database,
        &[
            "--metrics-bind",
            "127.0.0.1:0",
            "--live-sessions-sample-seconds",
            "1",
            "--janitor-interval-seconds",
            "1",
            "--credential-cache-millis",
            "600000",
        ],
        &[],
    );
    assert_ne!(server.metrics_addr(), server.addr);
    assert_eq!(
        server.listening_sockets(),
        2,
        "the API's listener and the metrics listener"
    );
    // The janitor's first round and the first sample happen at start.
    let before = wait_for_scrape(&server, |scrape| {
        scrape.value(
            "login_sessions_janitor_rounds_total",
            &[("outcome", "completed")],
        ) >= 1.0
            && scrape.value(
                "login_sessions_live_sessions_sampled_timestamp_seconds",
                &[],
            ) > 0.0
    });
    assert_eq!(before.value("login_sessions_live_sessions", &[]), 0.0);

    // Native: two sessions created, one listing refused.
    let ids = create_two_sessions(&server.addr, &native, "metrics-user-7", "198.51.100.7");
    let refused = http(&server.addr, "GET", "/native/v1/sessions", &[], "");
    assert_eq!(refused.status, 401, "{}", refused.body);
    // Prefactor: one session fetched, one not found.
    let prefactor_auth = [("Authorization", prefactor.as_str())];
    let fetched = http(
        &server.addr,
        "GET",
        &format!("/api/v1/session/{}", ids[0]),
        &prefactor_auth,
        "",
    );
    assert_eq!(fetched.status, 200, "{}", fetched.body);
    let missing = http(
        &server.addr,
        "GET",
        &format!("/api/v1/session/{MISSING_SESSION}"),
        &prefactor_auth,
        "",
    );
    assert_eq!(missing.status, 404, "{}", missing.body);
    // Looker: a login with the client id and secret.
    let form = format!(
        "client_id={}&client_secret={}",
        database.secret("looker", "client_id"),
        database.secret("looker", "client_secret")
    );
    let login = http(
        &server.addr,
        "POST",
        "/api/4.0/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form,
    );
    assert_eq!(login.status, 200, "{}", login.body);
    let looker_token = login.json()["access_token"].as_str().unwrap().to_string();
    // No route: and /metrics is not one on the API's listener.
    assert_eq!(http(&server.addr, "GET", "/metrics", &[], "").status, 404);
    assert_eq!(http(&server.addr, "GET", "/nowhere", &[], "").status, 404);

    let after = wait_for_scrape(&server, |scrape| {
        scrape.value("login_sessions_live_sessions", &[]) == 2.0
    });

    // Requests, by dialect, operation and status: exactly those sent.
    let requests = "login_sessions_http_requests_total";
    for (dialect, operation, status, count) in [
        ("native", "session_create", "201", 2.0),
        ("native", "session_list", "401", 1.0),
        ("prefactor", "fetch_session", "200", 1.0),
        ("prefactor", "fetch_session", "404", 1.0),
        ("looker", "login", "200", 1.0),
        ("native", "none", "404", 2.0),
    ] {
        let labels = [
            ("dialect", dialect),
            ("operation", operation),
            ("status", status),
        ];
        assert_eq!(
            growth(&before, &after, requests, &labels),
            count,
            "{requests}{labels:?}"
        );
    }
    assert_eq!(after.types["login_sessions_http_requests"], "counter");

    // Latency, per operation: one observation per request.
    let latency = "login_sessions_http_request_duration_seconds";
    assert_eq!(after.types[latency], "histogram");
    for (dialect, operation, count) in [
        ("native", "session_create", 2.0),
        ("prefactor", "fetch_session", 2.0),
        ("looker", "login", 1.0),
    ] {
        let labels = [("dialect", dialect), ("operation", operation)];
        assert_eq!(
            growth(&before, &after, &format!("{latency}_count"), &labels),
            count
        );
        assert!(after.value(&format!("{latency}_sum"), &labels) > 0.0);
        assert_consistent_histogram(&after, latency, &labels);
    }

    // The store, by query kind.
    let store = "login_sessions_store_query_duration_seconds";
    assert_eq!(after.types[store], "histogram");
    let store_count = format!("{store}_count");
    assert_eq!(
        growth(
            &before,
            &after,
            &store_count,
            &[("query", "insert_session")]
        ),
        2.0
    );
    assert_eq!(
        growth(
            &before,
            &after,
            &store_count,
            &[("query", "insert_access_token")]
        ),
        1.0
    );
    assert!(growth(&before, &after, &store_count, &[("query", "session")]) >= 2.0);
    assert!(
        growth(
            &before,
            &after,
            &store_count,
            &[("query", "count_sessions")]
        ) >= 1.0
    );
    assert_consistent_histogram(&after, store, &[("query", "insert_session")]);

    // The credential cache: the native token, the Prefactor token and the
    // Looker client id each missed once; the repeats hit.
    let lookups = "login_sessions_cache_lookups_total";
    let hits = growth(
        &before,
        &after,
        lookups,
        &[("cache", "credential"), ("result", "hit")],
    );
    let misses = growth(
        &before,
        &after,
        lookups,
        &[("cache", "credential"), ("result", "miss")],
    );
    assert_eq!(misses, 3.0, "{}", after.text);
    assert_eq!(hits, 2.0, "{}", after.text);
    assert_eq!(
        growth(
            &before,
            &after,
            &store_count,
            &[("query", "credential_by_secret")]
        ),
        3.0,
        "a hit is no store call"
    );

    // The SQLite writer: the two sessions and the Looker token, at least.
    let batch = "login_sessions_sqlite_writer_batch_size";
    assert!(growth(&before, &after, &format!("{batch}_sum"), &[]) >= 3.0);
    assert!(growth(&before, &after, &format!("{batch}_count"), &[]) >= 1.0);
    assert_eq!(
        after.value(&format!("{batch}_count"), &[]),
        after.value(
            "login_sessions_sqlite_writer_commit_duration_seconds_count",
            &[]
        ),
        "every batch's commit is timed"
    );
    assert_consistent_histogram(
        &after,
        "login_sessions_sqlite_writer_commit_duration_seconds",
        &[],
    );
    assert_eq!(
        after.value("login_sessions_sqlite_writer_failed_batches_total", &[]),
        0.0
    );

    // The janitor, every second; the live sessions, sampled.
    assert!(
        growth(
            &before,
            &after,
            "login_sessions_janitor_rounds_total",
            &[("outcome", "completed")]
        ) >= 1.0
    );
    let now = unix_now();
    for stamp in [
        "login_sessions_janitor_last_completed_round_timestamp_seconds",
        "login_sessions_live_sessions_sampled_timestamp_seconds",
    ] {
        assert!(
            (now - after.value(stamp, &[])).abs() < 60.0,
            "{stamp} is recent"
        );
        assert_eq!(after.types[stamp], "gauge");
    }
    assert_eq!(after.types["login_sessions_live_sessions"], "gauge");

    // Nothing a client sent is a label: no secret, no id, no user.
    for secret in [
        database.secret("native", "token"),
        database.secret("prefactor", "api_token"),
        database.secret("looker", "client_id"),
        database.secret("looker", "client_secret"),
        looker_token,
        ids[0].clone(),
        ids[1].clone(),
        "metrics-user-7".to_string(),
        MISSING_SESSION.to_string(),
        "nowhere".to_string(),
    ] {
        assert!(!after.text.contains(&secret), "{secret} in the metrics");
    }

    // The metrics listener answers nothing else.
    assert_eq!(
        http(server.metrics_addr(), "GET", "/native/v1/sessions", &[], "").status,
        404
    );
}

/// Scrapes until `ready` holds (at most 15 s).
fn wait_for_scrape(server: &Server, ready: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let scrape = server.scrape();
        if ready(&scrape) {
            return scrape;
        }
        assert!(
            Instant::now() < deadline,
            "not ready within 15 s:\n{}",
            scrape.text
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// On PostgreSQL the store calls are timed and live sessions sampled as on
/// SQLite, while the SQLite writer's families stay at zero: PostgreSQL
/// commits inside the store calls.
#[test]
fn on_postgres_store_calls_are_timed_and_the_sqlite_writer_stays_still() {
    let Some(database) = Database::postgres() else {
        return;
    };
    let native = format!("Bearer {}", database.secret("native", "token"));
    let server = Server::start(
        &database,
        &[
            "--metrics-bind",
            "127.0.0.1:0",
            "--live-sessions-sample-seconds",
            "1",
        ],
        &[],
    );
    let before = wait_for_scrape(&server, |scrape| {
        scrape.value(
            "login_sessions_live_sessions_sampled_timestamp_seconds",
            &[],
        ) > 0.0
    });
    assert_eq!(before.value("login_sessions_live_sessions", &[]), 0.0);
    let ids = create_two_sessions(&server.addr, &native, "metrics-user-8", "198.51.100.8");
    let viewed = http(
        &server.addr,
        "GET",
        &format!("/native/v1/sessions/{}", ids[1]),
        &[("Authorization", native.as_str())],
        "",
    );
    assert_eq!(viewed.status, 200, "{}", viewed.body);
    let after = wait_for_scrape(&server, |scrape| {
        scrape.value("login_sessions_live_sessions", &[]) == 2.0
    });

    let store_count = "login_sessions_store_query_duration_seconds_count";
    assert_eq!(
        growth(&before, &after, store_count, &[("query", "insert_session")]),
        2.0,
        "{}",
        after.text
    );
    assert!(growth(&before, &after, store_count, &[("query", "session")]) >= 1.0);
    assert_consistent_histogram(
        &after,
        "login_sessions_store_query_duration_seconds",
        &[("query", "insert_session")],
    );
    assert_eq!(
        growth(
            &before,
            &after,
            "login_sessions_http_requests_total",
            &[
                ("dialect", "native"),
                ("operation", "session_create"),
                ("status", "201")
            ]
        ),
        2.0
    );
    for still in [
        "login_sessions_sqlite_writer_batch_size_count",
        "login_sessions_sqlite_writer_commit_duration_seconds_count",
        "login_sessions_sqlite_writer_failed_batches_total",
    ] {
        assert_eq!(after.value(still, &[]), 0.0, "{still}");
    }
}

#[test]
fn the_metrics_listener_is_off_unless_asked_for() {
    let database = Database::new();
    let server = Server::start(&database, &[], &[]);
    assert_eq!(server.metrics_addr, None, "{:?}", server.startup);
    assert_eq!(server.listening_sockets(), 1, "only the API's listener");
    assert_eq!(http(&server.addr, "GET", "/metrics", &[], "").status, 404);
    drop(server);

    // LOGIN_SESSIONS_METRICS_BIND asks for it as the flag does.
    let server = Server::start(
        &database,
        &[],
        &[("LOGIN_SESSIONS_METRICS_BIND", "127.0.0.1:0")],
    );
    assert_eq!(server.listening_sockets(), 2);
    let scrape = server.scrape();
    assert_eq!(scrape.types["login_sessions_live_sessions"], "gauge");
}
