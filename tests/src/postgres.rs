//! PostgreSQL for the tests: one server per test process, a fresh database
//! per test.
//!
//! # Which server
//!
//! - `LOGIN_SESSIONS_TEST_DATABASE_URL` set: that server. The URL names a
//!   role allowed to `CREATE DATABASE` (its database is only used to
//!   connect); every test gets a database `t_<random>` of its own, dropped
//!   when the test ends.
//! - Otherwise a throwaway cluster: `initdb` into a temporary directory
//!   (as the `postgres` OS user when running as root, since PostgreSQL
//!   refuses to run as root), and `postgres` on 127.0.0.1 and a free port.
//!   The binaries are looked up in `PATH`, then in
//!   `/usr/lib/postgresql/<newest>/bin` (Debian's `postgresql` package).
//! - Neither: PostgreSQL is [`Availability::Missing`] and the runner reports
//!   every PostgreSQL trial as *ignored* with a banner saying how to enable
//!   them — unless `LOGIN_SESSIONS_TEST_REQUIRE_POSTGRES` is set (CI sets
//!   it): then they fail. A server that should be there but cannot be
//!   reached or started is [`Availability::Broken`]: those trials fail.
//!
//! # Nothing left behind
//!
//! Rust runs no destructor of a static at exit, and a test process may be
//! killed. So the cluster runs under a small watchdog shell, started in a
//! process group of its own, whose standard input is a pipe from the test
//! process: it starts `postgres`, reads its standard input until end of
//! file — which happens when the test process exits *for any reason*,
//! since the kernel closes the pipe — then stops `postgres` (fast
//! shutdown), waits for it and removes the directory. The runner also
//! closes the pipe and waits for the watchdog at the end of a normal run
//! ([`shutdown`]), so the cluster is gone before the process exits. The
//! `postgres` test binary checks both paths.

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The variable naming an existing server to test against.
pub const DATABASE_URL_VARIABLE: &str = "LOGIN_SESSIONS_TEST_DATABASE_URL";

/// Set (to anything but empty) where the PostgreSQL tests must run, as in
/// CI: no PostgreSQL then fails them instead of ignoring them.
pub const REQUIRE_VARIABLE: &str = "LOGIN_SESSIONS_TEST_REQUIRE_POSTGRES";

/// How to enable the PostgreSQL tests, for banners and failures.
pub const HOW_TO_ENABLE: &str = "install PostgreSQL's server binaries (Debian: \
     `apt-get install postgresql`; initdb and postgres are then found in \
     /usr/lib/postgresql/*/bin or PATH), or set LOGIN_SESSIONS_TEST_DATABASE_URL=\
     postgres://USER:PASSWORD@HOST:PORT/postgres (a role allowed to CREATE DATABASE)";

/// Whether the PostgreSQL tests can run in this process.
#[derive(Debug)]
pub enum Availability {
    /// A server answers at this URL (its maintenance database).
    Ready(Server),
    /// No PostgreSQL here at all: the trials are ignored, loudly.
    Missing(String),
    /// PostgreSQL should be usable but is not: the trials fail.
    Broken(String),
}

/// The server the tests use.
#[derive(Debug)]
pub struct Server {
    /// Connects as a role that may create databases.
    pub admin_url: String,
    /// The throwaway cluster, when the harness started one.
    cluster: Mutex<Option<Cluster>>,
    /// Where the throwaway cluster lives (for the clean-up test).
    pub cluster_dir: Option<PathBuf>,
    /// The watchdog's process id (for the clean-up test).
    pub watchdog_pid: Option<u32>,
}

#[derive(Debug)]
struct Cluster {
    watchdog: Child,
    /// Held open for as long as the cluster should run.
    lifeline: Option<ChildStdin>,
}

static AVAILABILITY: OnceLock<Availability> = OnceLock::new();

/// The server for this process, found or started on first use. Blocks
/// (starting a cluster takes a second or two); call it outside any async
/// runtime, as the runner does before running trials.
pub fn availability() -> &'static Availability {
    AVAILABILITY.get_or_init(find_or_start)
}

/// The server, or why there is none.
pub fn server() -> Result<&'static Server, String> {
    match availability() {
        Availability::Ready(server) => Ok(server),
        Availability::Missing(reason) => Err(format!(
            "PostgreSQL is not available ({reason}); to run these tests, {HOW_TO_ENABLE}"
        )),
        Availability::Broken(reason) => Err(format!("PostgreSQL could not be used: {reason}")),
    }
}

/// Stops the throwaway cluster, if this process started one, and waits
/// until it is gone (its directory removed). Idempotent.
pub fn shutdown() {
    let Some(Availability::Ready(server)) = AVAILABILITY.get() else {
        return;
    };
    let mut cluster = server
        .cluster
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(mut cluster) = cluster.take() {
        drop(cluster.lifeline.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match cluster.watchdog.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() > deadline => {
                    eprintln!(
                        "warning: the PostgreSQL watchdog did not finish in 30 s; killing it"
                    );
                    let _ = cluster.watchdog.kill();
                    let _ = cluster.watchdog.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
}

fn find_or_start() -> Availability {
    if let Ok(url) = std::env::var(DATABASE_URL_VARIABLE) {
        return match probe(&url) {
            Ok(()) => Availability::Ready(Server {
                admin_url: url,
                cluster: Mutex::new(None),
                cluster_dir: None,
                watchdog_pid: None,
            }),
            Err(error) => Availability::Broken(format!(
                "{DATABASE_URL_VARIABLE} is set but the server does not answer: {error}"
            )),
        };
    }
    let Some(bin) = find_binaries() else {
        let reason = "no initdb and postgres in PATH or /usr/lib/postgresql/*/bin".to_string();
        if std::env::var_os(REQUIRE_VARIABLE).is_some_and(|value| !value.is_empty()) {
            return Availability::Broken(format!("{reason}, and {REQUIRE_VARIABLE} is set"));
        }
        return Availability::Missing(reason);
    };
    let mut last_error = String::new();
    // A port found free can be taken before postgres binds it: try again.
    for _ in 0..3 {
        match start_cluster(&bin) {
            Ok(server) => return Availability::Ready(server),
            Err(error) => last_error = error,
        }
    }
    Availability::Broken(format!(
        "could not start a throwaway cluster with {}: {last_error}",
        bin.display()
    ))
}

/// Where PostgreSQL's versions are installed (Debian's layout); the
/// harness's own tests point [`LIB_DIR_VARIABLE`] elsewhere to see what
/// happens without PostgreSQL.
const DEFAULT_LIB_DIR: &str = "/usr/lib/postgresql";

/// Overrides [`DEFAULT_LIB_DIR`].
pub const LIB_DIR_VARIABLE: &str = "LOGIN_SESSIONS_TEST_POSTGRES_LIB_DIR";

/// The directory holding `initdb` and `postgres`.
fn find_binaries() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_both(&dir) {
                return Some(dir);
            }
        }
    }
    let lib_dir = std::env::var_os(LIB_DIR_VARIABLE).unwrap_or_else(|| DEFAULT_LIB_DIR.into());
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(lib_dir)
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_both(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// The uid and gid of the `postgres` OS user when running as root (the
/// server refuses to run as root); `None` otherwise.
fn run_as() -> Result<Option<(u32, u32)>, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|error| format!("reading /proc/self/status: {error}"))?;
    let effective_uid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|uid| uid.parse::<u32>().ok())
        .ok_or("no Uid in /proc/self/status")?;
    if effective_uid != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd")
        .map_err(|error| format!("reading /etc/passwd: {error}"))?;
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&"postgres") && fields.len() > 3)
                .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
                .flatten()
        })
        .map(Some)
        .ok_or_else(|| {
            "running as root, and there is no `postgres` OS user to run the server as \
             (Debian's postgresql package creates it)"
                .to_string()
        })
}

fn as_user(command: &mut Command, user: Option<(u32, u32)>) -> &mut Command {
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
    }
    command
}

/// The watchdog: starts postgres, waits for its standard input to close,
/// stops postgres and removes the cluster's directory.
const WATCHDOG: &str = r#"
trap '' INT TERM HUP
"$1" -D "$2" -p "$3" \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories= \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
    -c max_connections=400 -c shared_buffers=64MB -c max_locks_per_transaction=128 &
pg=$!
cat >/dev/null
kill -INT "$pg" 2>/dev/null
wait "$pg"
rm -rf "$4"
"#;

fn start_cluster(bin: &Path) -> Result<Server, String> {
    let user = run_as()?;
    let root = tempfile::Builder::new()
        .prefix("login-sessions-pg-")
        .tempdir()
        .map_err(|error| format!("a temporary directory: {error}"))?
        .keep();
    let remove_root = |error: String| {
        let _ = std::fs::remove_dir_all(&root);
        error
    };
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(&root, Some(uid), Some(gid))
            .map_err(|error| remove_root(format!("chown {}: {error}", root.display())))?;
    }
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700))
        .map_err(|error| remove_root(format!("chmod {}: {error}", root.display())))?;
    let data = root.join("data");
    let output = as_user(&mut Command::new(bin.join("initdb")), user)
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|error| remove_root(format!("running initdb: {error}")))?;
    if !output.status.success() {
        return Err(remove_root(format!(
            "initdb failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|error| remove_root(format!("finding a free port: {error}")))?
        .port();
    let log_path = std::env::temp_dir().join(format!(
        "login-sessions-pg-{}-{port}.log",
        std::process::id()
    ));
    let log = std::fs::File::create(&log_path)
        .map_err(|error| remove_root(format!("{}: {error}", log_path.display())))?;
    let mut watchdog = as_user(&mut Command::new("sh"), user)
        .arg("-c")
        .arg(WATCHDOG)
        .arg("login-sessions-pg-watchdog")
        .arg(bin.join("postgres"))
        .arg(&data)
        .arg(port.to_string())
        .arg(&root)
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .map_err(|error| remove_root(format!("starting the watchdog: {error}")))?;
    let lifeline = watchdog.stdin.take();
    let admin_url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let deadline = Instant::now() + Duration::from_secs(60);
    let failure = loop {
        if let Ok(Some(status)) = watchdog.try_wait() {
            break format!("postgres exited ({status})");
        }
        match probe(&admin_url) {
            Ok(()) => {
                let _ = std::fs::remove_file(&log_path);
                return Ok(Server {
                    admin_url,
                    watchdog_pid: Some(watchdog.id()),
                    cluster: Mutex::new(Some(Cluster { watchdog, lifeline })),
                    cluster_dir: Some(root),
                });
            }
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(error) => break format!("postgres did not answer in 60 s: {error}"),
        }
    };
    drop(lifeline);
    let _ = watchdog.kill();
    let _ = watchdog.wait();
    let mut log = String::new();
    let _ = std::fs::File::open(&log_path).and_then(|mut file| file.read_to_string(&mut log));
    let _ = std::fs::remove_file(&log_path);
    Err(remove_root(format!("{failure}; its log:\n{log}")))
}

/// Runs `future` to completion on a runtime of its own, on a thread of its
/// own (so it works whether or not the caller is inside a runtime).
fn block_on<T: Send + 'static>(
    future: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T, String> {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|runtime| runtime.block_on(future))
            .map_err(|error| format!("a runtime: {error}"))
    })
    .join()
    .map_err(|_| "the helper thread panicked".to_string())?
}

/// Connects and runs `SELECT 1`.
fn probe(url: &str) -> Result<(), String> {
    let url = url.to_string();
    block_on(async move {
        let client = connect(&url).await?;
        client
            .simple_query("SELECT 1")
            .await
            .map_err(|error| error.to_string())?;
        Ok(())
    })?
}

/// A connection whose driver runs on the current runtime.
pub async fn connect(url: &str) -> Result<tokio_postgres::Client, String> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|error| describe(&error))?;
    tokio::spawn(connection);
    Ok(client)
}

/// A PostgreSQL error with the server's own message (tokio-postgres's
/// `Display` says only "db error").
fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{error}: {} ({})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}

/// Serialises `CREATE DATABASE` within a test process: PostgreSQL refuses
/// to copy the template database while another creation is copying it.
static CREATING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How many times a test database is tried before the test fails: a
/// cluster under a parallel test load refuses now and then (too many
/// connections while others close, the template in use).
const CREATE_ATTEMPTS: u32 = 20;

/// Creates database `name` through the server at `admin_url`.
async fn create_database(admin_url: &str, name: &str) -> Result<(), String> {
    let _one_at_a_time = CREATING.lock().await;
    let admin = connect(admin_url).await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .map_err(|error| describe(&error))
}

/// A database of one test's own. With a server of the environment's it is
/// dropped when this is; a throwaway cluster goes away whole.
#[derive(Debug)]
pub struct TestDatabase {
    /// Connects to this database.
    pub url: String,
    name: String,
    drop_on_drop: bool,
}

impl TestDatabase {
    /// Creates a fresh, empty database.
    pub async fn create() -> TestDatabase {
        let server = server().unwrap_or_else(|reason| panic!("{reason}"));
        let name = format!("t_{:016x}", rand::random::<u64>());
        let mut attempt = 1;
        while let Err(error) = create_database(&server.admin_url, &name).await {
            assert!(
                attempt < CREATE_ATTEMPTS,
                "creating database {name} on {}: {error}",
                redact(&server.admin_url)
            );
            tokio::time::sleep(std::time::Duration::from_millis(50 * u64::from(attempt))).await;
            attempt += 1;
        }
        TestDatabase {
            url: with_database(&server.admin_url, &name),
            name,
            drop_on_drop: server.cluster_dir.is_none(),
        }
    }
}

impl TestDatabase {
    /// A fresh database for a test without a runtime of its own (one that
    /// runs the `login-sessions` binary against it), or `None`, said on
    /// stderr, when there is no PostgreSQL and [`REQUIRE_VARIABLE`] is not
    /// set.
    pub fn create_blocking() -> Option<TestDatabase> {
        if let Availability::Missing(reason) = availability()
            && std::env::var_os(REQUIRE_VARIABLE).is_none_or(|v| v.is_empty())
        {
            eprintln!("SKIPPED, no PostgreSQL ({reason}); set {REQUIRE_VARIABLE} to fail instead");
            return None;
        }
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        Some(runtime.block_on(TestDatabase::create()))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if !self.drop_on_drop {
            return;
        }
        let Ok(server) = server() else { return };
        let admin_url = server.admin_url.clone();
        let name = self.name.clone();
        let dropped = block_on(async move {
            let admin = connect(&admin_url).await?;
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .map_err(|error| error.to_string())
        });
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(error)) | Err(error) => {
                eprintln!(
                    "warning: could not drop test database {}: {error}",
                    self.name
                );
            }
        }
    }
}

/// `url` with its database replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
    let authority = rest
        .split_once('/')
        .map_or(rest, |(authority, _)| authority);
    let mut result = format!("{scheme}://{authority}/{database}");
    if let Some(query) = query {
        // A `dbname` parameter would override the path.
        let kept: Vec<&str> = query
            .split('&')
            .filter(|parameter| !parameter.starts_with("dbname="))
            .collect();
        if !kept.is_empty() {
            result = format!("{result}?{}", kept.join("&"));
        }
    }
    result
}

/// `url` without its password, for messages.
pub fn redact(url: &str) -> String {
    login_sessions_server::config::DatabaseUrl::Postgres(url.to_string()).redacted()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5/postgres", "t_1"),
            "postgres://postgres@127.0.0.1:5/t_1"
        );
        assert_eq!(
            with_database("postgresql://u:p@h:5432?sslmode=disable&dbname=x", "t_2"),
            "postgresql://u:p@h:5432/t_2?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h/db?dbname=x", "t_3"),
            "postgres://h/t_3"
        );
    }
}
