//! Every tuning flag of `login-sessions serve`, run as a user runs it (the
//! real binary, flags and `LOGIN_SESSIONS_*` variables parsed, defaults
//! applied), observed from outside: through HTTP, the database file and
//! the server's log. Each test fails if its flag were ignored: it sets a
//! value whose effect the default would not have, and where the default
//! matters it checks the default too.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use login_sessions_tests::postgres::TestDatabase;

mod support;
use serde_json::{Value, json};
use support::{Stderr, admin_credential, clear_environment, cli_json};

const AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const IP: &str = "198.51.100.7";
const DAY_MILLIS: i64 = 86_400_000;
/// What the janitor logs for a round that deleted something (see
/// server/src/janitor.rs); rounds that delete nothing log nothing.
const JANITOR_LINE: &str = "janitor deleted sessions past their retention";

/// A database file in a temporary directory, and an admin token for it
/// issued by `credentials create --json`.
struct Database {
    _dir: tempfile::TempDir,
    path: PathBuf,
    url: String,
    token: String,
    credential_id: String,
}

impl Database {
    fn new() -> Database {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flags.db");
        let url = format!("sqlite:{}", path.display());
        let credential = admin_credential(&url);
        Database {
            _dir: dir,
            path,
            url,
            token: credential["native"]["token"].as_str().unwrap().to_string(),
            credential_id: credential["id"].as_str().unwrap().to_string(),
        }
    }

    /// The database file, opened beside the server (as an operator's
    /// `sqlite3` would).
    fn raw(&self) -> rusqlite::Connection {
        let connection = rusqlite::Connection::open(&self.path).unwrap();
        connection.busy_timeout(Duration::from_secs(10)).unwrap();
        connection
    }

    /// Moves every time of these sessions `millis` into the past, as if
    /// they had been created, ended and last seen that long ago.
    fn age(&self, ids: &[&str], millis: i64) {
        let raw = self.raw();
        let list = ids
            .iter()
            .map(|id| format!("'{id}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let changed = raw
            .execute(
                &format!(
                    "UPDATE sessions SET created_at = created_at - ?1, \
                     expires_at = expires_at - ?1, ended_at = ended_at - ?1, \
                     extended_at = extended_at - ?1, first_seen_at = first_seen_at - ?1, \
                     last_seen_at = last_seen_at - ?1 WHERE id IN ({list})"
                ),
                [millis],
            )
            .unwrap();
        assert_eq!(changed, ids.len(), "every session aged");
    }
}

/// A running `serve` on 127.0.0.1:0, killed when dropped; its stderr (the
/// log), line by line.
struct Server {
    child: Child,
    addr: String,
    stderr: Stderr,
}

impl Server {
    fn start(database: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(support::bin());
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--database", database])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        clear_environment(&mut command);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let stderr = Stderr::of(&mut child);
        let mut server = Server {
            child,
            addr: String::new(),
            stderr,
        };
        let line = server.wait_for("listening on http://", Duration::from_secs(30));
        let (_, rest) = line.split_once("listening on http://").unwrap();
        server.addr = rest.split_whitespace().next().unwrap().to_string();
        server
    }

    /// A log line containing `text`: one already read, or the next that
    /// comes within `within`.
    fn wait_for(&mut self, text: &str, within: Duration) -> String {
        match self.stderr.seen.iter().find(|line| line.contains(text)) {
            Some(line) => line.clone(),
            None => self.stderr.wait_for(text, within),
        }
    }

    /// Every log line so far.
    fn log(&mut self) -> &[String] {
        self.stderr.all()
    }

    /// The log lines so far that contain `text`.
    fn lines_with(&mut self, text: &str) -> Vec<String> {
        self.log()
            .iter()
            .filter(|line| line.contains(text))
            .cloned()
            .collect()
    }

    /// One HTTP/1.1 request; the status and the JSON body (`Null` when
    /// it is not JSON).
    fn request(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        request_to(&self.addr, method, path, token, body)
    }

    /// A new session for user 42, with `extra` fields in the request.
    fn create(&self, token: &str, extra: Value) -> Value {
        let mut body = json!({
            "identity_store_id": "acme",
            "user_id": "42",
            "ip_address": IP,
            "user_agent": AGENT,
        });
        for (name, value) in extra.as_object().unwrap() {
            body[name] = value.clone();
        }
        let (status, session) = self.request("POST", "/native/v1/sessions", token, Some(body));
        assert_eq!(status, 201, "{session}");
        session
    }

    /// A session, logged out; its id.
    fn ended(&self, token: &str) -> String {
        let session = self.create(token, json!({ "ttl_seconds": 3600 }));
        let id = session["id"].as_str().unwrap().to_string();
        let (status, body) = self.request(
            "POST",
            &format!("/native/v1/sessions/{id}/logout"),
            token,
            None,
        );
        assert_eq!(status, 200, "{body}");
        id
    }

    /// The status of viewing session `id`.
    fn view_status(&self, token: &str, id: &str) -> u16 {
        self.request("GET", &format!("/native/v1/sessions/{id}"), token, None)
            .0
    }

    /// Waits (at most 15 s) until session `id` is gone (404).
    fn wait_until_deleted(&self, token: &str, id: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match self.view_status(token, id) {
                404 => return,
                200 => assert!(
                    Instant::now() < deadline,
                    "session {id} still there after 15 s"
                ),
                other => panic!("viewing {id}: {other}"),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap_or_else(|| panic!("a time: {value}")))
        .unwrap()
        .with_timezone(&Utc)
}

/// A session's lifetime as created: `expires_at - created_at`, in ms.
fn lifetime_millis(session: &Value) -> i64 {
    (time(&session["expires_at"]) - time(&session["created_at"])).num_milliseconds()
}

/// The number after `name=` in a text log line (`crate::logging`'s
/// key-value pairs).
fn logged_number(line: &str, name: &str) -> u64 {
    let (_, rest) = line
        .split_once(&format!(" {name}="))
        .unwrap_or_else(|| panic!("no {name} in {line:?}"));
    rest.chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no number for {name} in {line:?}"))
}

#[test]
fn default_session_ttl_sets_the_lifetime_of_sessions_created_without_one() {
    let database = Database::new();
    let token = &database.token;
    {
        let server = Server::start(&database.url, &["--default-session-ttl", "2"], &[]);
        let session = server.create(token, json!({}));
        assert_eq!(lifetime_millis(&session), 2_000, "{session}");
        assert_eq!(session["live"], json!(true), "{session}");
        let id = session["id"].as_str().unwrap();
        std::thread::sleep(Duration::from_millis(2_300));
        let (status, session) =
            server.request("GET", &format!("/native/v1/sessions/{id}"), token, None);
        assert_eq!(status, 200);
        assert_eq!(
            session["live"],
            json!(false),
            "expired after 2 s: {session}"
        );
        // A lifetime given in the request still wins.
        let given = server.create(token, json!({ "ttl_seconds": 600 }));
        assert_eq!(lifetime_millis(&given), 600_000, "{given}");
    }
    {
        let server = Server::start(
            &database.url,
            &[],
            &[("LOGIN_SESSIONS_DEFAULT_SESSION_TTL", "7200")],
        );
        let session = server.create(token, json!({}));
        assert_eq!(lifetime_millis(&session), 7_200_000, "{session}");
    }
    {
        let server = Server::start(&database.url, &[], &[]);
        let session = server.create(token, json!({}));
        assert_eq!(
            lifetime_millis(&session),
            86_400_000,
            "the default: {session}"
        );
    }
}

/// `last_seen` after a session's creation and after each of two
/// interactions from its address and agent, 100 ms apart.
fn last_seen_after_two_interactions(server: &Server, token: &str) -> [Value; 3] {
    let session = server.create(token, json!({}));
    let id = session["id"].as_str().unwrap();
    let interact = || {
        std::thread::sleep(Duration::from_millis(100));
        let (status, session) = server.request(
            "POST",
            &format!("/native/v1/sessions/{id}/interactions"),
            token,
            Some(json!({ "ip_address": IP, "user_agent": AGENT })),
        );
        assert_eq!(status, 200, "{session}");
        session["last_seen"]["at"].clone()
    };
    let created = session["last_seen"]["at"].clone();
    let first = interact();
    let second = interact();
    assert!(
        created.is_string(),
        "created with an interaction: {session}"
    );
    [created, first, second]
}

#[test]
fn last_seen_granularity_0_writes_every_interaction() {
    let database = Database::new();
    let server = Server::start(&database.url, &["--last-seen-granularity", "0"], &[]);
    let [created, first, second] = last_seen_after_two_interactions(&server, &database.token);
    assert!(time(&first) > time(&created), "{created} then {first}");
    assert!(time(&second) > time(&first), "{first} then {second}");
}

#[test]
fn last_seen_granularity_coalesces_interactions_by_default_and_as_set() {
    let database = Database::new();
    {
        // The default, 60 s: both interactions come within it.
        let server = Server::start(&database.url, &[], &[]);
        let [created, first, second] = last_seen_after_two_interactions(&server, &database.token);
        assert_eq!(first, created, "coalesced");
        assert_eq!(second, created, "coalesced");
    }
    {
        // 1 s: within a second coalesced, after it written.
        let server = Server::start(
            &database.url,
            &[],
            &[("LOGIN_SESSIONS_LAST_SEEN_GRANULARITY", "1")],
        );
        let [created, first, _] = last_seen_after_two_interactions(&server, &database.token);
        assert_eq!(first, created, "coalesced within the second");
        let session = server.create(&database.token, json!({}));
        let id = session["id"].as_str().unwrap();
        std::thread::sleep(Duration::from_millis(1_200));
        let (_, later) = server.request(
            "POST",
            &format!("/native/v1/sessions/{id}/interactions"),
            &database.token,
            Some(json!({ "ip_address": IP, "user_agent": AGENT })),
        );
        assert!(
            time(&later["last_seen"]["at"]) > time(&session["last_seen"]["at"]),
            "written after the granularity: {session} then {later}"
        );
    }
}

/// Whether the admin's credential is served from the cache: requests are
/// answered (and, the SQLite watcher being sure by then, the lookup
/// cached), then the credential row is corrupted in the file behind the
/// server's back — an edit, not a revocation, so the watcher does not
/// flush the cache. The statuses of the next request, and of one after
/// `later`.
fn statuses_after_corrupting_the_credential(
    database: &Database,
    server: &Server,
    later: Duration,
) -> (u16, u16) {
    let list = "/native/v1/sessions?limit=1";
    assert_eq!(server.request("GET", list, &database.token, None).0, 200);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.request("GET", list, &database.token, None).0, 200);
    let changed = database
        .raw()
        .execute(
            "UPDATE credentials SET role = 'emperor' WHERE id = ?1",
            [&database.credential_id],
        )
        .unwrap();
    assert_eq!(changed, 1);
    let next = server.request("GET", list, &database.token, None).0;
    std::thread::sleep(later);
    let after = server.request("GET", list, &database.token, None).0;
    database
        .raw()
        .execute(
            "UPDATE credentials SET role = 'admin' WHERE id = ?1",
            [&database.credential_id],
        )
        .unwrap();
    (next, after)
}

#[test]
fn credential_cache_millis_0_looks_every_credential_up() {
    let database = Database::new();
    let server = Server::start(&database.url, &["--credential-cache-millis", "0"], &[]);
    let (next, _) = statuses_after_corrupting_the_credential(&database, &server, Duration::ZERO);
    assert_eq!(next, 500, "the corrupt row was read at once");
}

#[test]
fn credential_cache_millis_keeps_lookups_that_long() {
    let database = Database::new();
    {
        // The default, 1 s: the next request is served from the cache,
        // one 1.5 s later reads the row.
        let server = Server::start(&database.url, &[], &[]);
        let (next, after) = statuses_after_corrupting_the_credential(
            &database,
            &server,
            Duration::from_millis(1_500),
        );
        assert_eq!((next, after), (200, 500), "cached for 1 s by default");
    }
    {
        let server = Server::start(&database.url, &["--credential-cache-millis", "60000"], &[]);
        let (next, after) = statuses_after_corrupting_the_credential(
            &database,
            &server,
            Duration::from_millis(1_500),
        );
        assert_eq!((next, after), (200, 200), "cached for a minute");
    }
}

#[test]
fn retention_days_and_janitor_interval_delete_what_is_past_retention() {
    let database = Database::new();
    let token = &database.token;
    let mut server = Server::start(
        &database.url,
        &["--retention-days", "1", "--janitor-interval-seconds", "1"],
        &[],
    );
    let two_days = server.ended(token);
    let half_a_day = server.ended(token);
    let live = server.create(token, json!({}))["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Past a day's retention only now, after the janitor's first round at
    // start-up: with the default interval (300 s) no round would come.
    database.age(&[&two_days], 2 * DAY_MILLIS);
    database.age(&[&half_a_day], DAY_MILLIS / 2);
    server.wait_until_deleted(token, &two_days);
    let line = server.wait_for(JANITOR_LINE, Duration::from_secs(5));
    assert_eq!(logged_number(&line, "sessions"), 1, "{line}");
    // More rounds come every second; they keep what is within retention.
    std::thread::sleep(Duration::from_millis(2_500));
    assert_eq!(server.view_status(token, &half_a_day), 200);
    assert_eq!(server.view_status(token, &live), 200);
    assert_eq!(server.lines_with(JANITOR_LINE).len(), 1);
}

#[test]
fn the_default_retention_keeps_ended_sessions_30_days() {
    let database = Database::new();
    let token = &database.token;
    // The interval through its variable this time.
    let mut server = Server::start(
        &database.url,
        &[],
        &[("LOGIN_SESSIONS_JANITOR_INTERVAL_SECONDS", "1")],
    );
    let two_days = server.ended(token);
    let a_month = server.ended(token);
    database.age(&[&two_days], 2 * DAY_MILLIS);
    database.age(&[&a_month], 31 * DAY_MILLIS);
    // A round ran (it deleted what is past 30 days) ...
    server.wait_until_deleted(token, &a_month);
    let line = server.wait_for(JANITOR_LINE, Duration::from_secs(5));
    assert_eq!(logged_number(&line, "sessions"), 1, "{line}");
    // ... and kept what is within them.
    assert_eq!(server.view_status(token, &two_days), 200);
}

#[test]
fn janitor_interval_0_turns_the_janitor_off() {
    let database = Database::new();
    let token = &database.token;
    let off = ["--retention-days", "1", "--janitor-interval-seconds", "0"];
    let id = {
        let server = Server::start(&database.url, &off, &[]);
        server.ended(token)
    };
    database.age(&[&id], 2 * DAY_MILLIS);
    {
        // Deletable from the start: any janitor (the default one included:
        // its first round is at start-up) would delete it at once.
        let mut server = Server::start(&database.url, &off, &[]);
        std::thread::sleep(Duration::from_secs(3));
        assert_eq!(server.view_status(token, &id), 200, "no janitor ran");
        assert_eq!(server.lines_with("janitor"), Vec::<String>::new());
    }
    {
        // The same database and session with the janitor on: deleted, so
        // what kept it above was the janitor being off.
        let mut server = Server::start(
            &database.url,
            &["--retention-days", "1", "--janitor-interval-seconds", "1"],
            &[],
        );
        server.wait_until_deleted(token, &id);
        let line = server.wait_for(JANITOR_LINE, Duration::from_secs(5));
        assert_eq!(logged_number(&line, "sessions"), 1, "{line}");
    }
}

/// The `sessions` and `batches` a round logs when three sessions become
/// deletable at once, under these extra flags and variables.
fn janitor_round_of_three(args: &[&str], env: &[(&str, &str)]) -> (u64, u64) {
    let database = Database::new();
    let token = &database.token;
    let mut all = vec!["--retention-days", "1", "--janitor-interval-seconds", "1"];
    all.extend_from_slice(args);
    let mut server = Server::start(&database.url, &all, env);
    let ids = [
        server.ended(token),
        server.ended(token),
        server.ended(token),
    ];
    // One statement: a round sees all three or none.
    database.age(
        &ids.iter().map(String::as_str).collect::<Vec<_>>(),
        2 * DAY_MILLIS,
    );
    let line = server.wait_for(JANITOR_LINE, Duration::from_secs(15));
    for id in &ids {
        assert_eq!(server.view_status(token, id), 404);
    }
    (
        logged_number(&line, "sessions"),
        logged_number(&line, "batches"),
    )
}

#[test]
fn janitor_batch_size_bounds_each_delete() {
    // Batches of one: three full ones, then the short (empty) one that
    // ends the round.
    assert_eq!(
        janitor_round_of_three(&["--janitor-batch-size", "1"], &[]),
        (3, 4)
    );
    // Batches of two, through the variable: one full, one short.
    assert_eq!(
        janitor_round_of_three(&[], &[("LOGIN_SESSIONS_JANITOR_BATCH_SIZE", "2")]),
        (3, 2)
    );
    // The default (1000): one short batch.
    assert_eq!(janitor_round_of_three(&[], &[]), (3, 1));
}

#[test]
fn public_url_is_where_links_and_the_published_document_point() {
    let database = Database::new();
    for (args, env) in [
        (
            &["--public-url", "https://sessions.example.test"][..],
            &[][..],
        ),
        (
            &[][..],
            &[(
                "LOGIN_SESSIONS_PUBLIC_URL",
                "https://sessions.example.test/",
            )][..],
        ),
    ] {
        let server = Server::start(&database.url, args, env);
        let (status, error) = server.request("GET", "/api/4.0/users/42/sessions", "", None);
        assert_eq!(status, 401, "{error}");
        let link = error["documentation_url"].as_str().unwrap();
        assert!(
            link.starts_with("https://sessions.example.test/docs/"),
            "{link}"
        );
        let (status, document) = server.request("GET", "/openapi.json", "", None);
        assert_eq!(status, 200);
        assert_eq!(
            document["servers"],
            json!([{ "url": "https://sessions.example.test" }])
        );
    }
    // Without it, links point at the address served.
    let server = Server::start(&database.url, &[], &[]);
    let (_, document) = server.request("GET", "/openapi.json", "", None);
    assert_ne!(
        document["servers"],
        json!([{ "url": "https://sessions.example.test" }])
    );
}

/// The most connections `serve --database-pool-size 2` holds while 32
/// clients send requests at once: the pool's (application
/// `login-sessions`), the revocation listener's aside.
#[test]
fn database_pool_size_bounds_the_connections_of_serve() {
    let Some(database) = TestDatabase::create_blocking() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("server.key");
    let key = Command::new(support::bin())
        .args(["key", "generate"])
        .output()
        .unwrap();
    std::fs::write(&key_file, &key.stdout).unwrap();
    let key_file = key_file.to_str().unwrap();
    let credential = cli_json(&[
        "credentials",
        "create",
        "--role",
        "admin",
        "--json",
        "--database",
        &database.url,
        "--key-file",
        key_file,
    ]);
    let token = credential["native"]["token"].as_str().unwrap().to_string();
    let most = |pool_size: &str| -> i64 {
        let server = Server::start(
            &database.url,
            &[
                "--key-file",
                key_file,
                "--janitor-interval-seconds",
                "0",
                "--database-pool-size",
                pool_size,
            ],
            &[],
        );
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let raw = runtime
            .block_on(login_sessions_tests::postgres::connect(&database.url))
            .unwrap();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let clients: Vec<_> = (0..32)
            .map(|_| {
                let addr = server.addr.clone();
                let token = token.clone();
                let done = done.clone();
                std::thread::spawn(move || {
                    while !done.load(std::sync::atomic::Ordering::Relaxed) {
                        let (status, body) =
                            request_to(&addr, "GET", "/native/v1/sessions?limit=5", &token, None);
                        assert_eq!(status, 200, "{body}");
                    }
                })
            })
            .collect();
        let mut most = 0;
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            let count: i64 = runtime
                .block_on(raw.query_one(
                    "SELECT count(*) FROM pg_stat_activity \
                     WHERE datname = current_database() AND application_name = 'login-sessions' \
                     AND query NOT LIKE 'LISTEN %' AND query NOT LIKE '%login_sessions_heartbeat_%'",
                    &[],
                ))
                .unwrap()
                .get(0);
            most = most.max(count);
            std::thread::sleep(Duration::from_millis(20));
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        for client in clients {
            client.join().unwrap();
        }
        most
    };
    assert_eq!(
        most("2"),
        2,
        "at most 2 pooled connections, and all of them used"
    );
    assert!(
        most("6") > 2,
        "a larger pool opens more under the same load"
    );
}

/// One HTTP/1.1 request to `addr`, with `token` as the bearer unless it
/// is empty; the status and the JSON body (`Null` when it is not JSON).
fn request_to(
    addr: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let authorization = if token.is_empty() {
        String::new()
    } else {
        format!("Authorization: Bearer {token}\r\n")
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{authorization}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}
