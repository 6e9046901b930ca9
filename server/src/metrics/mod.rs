//! Metrics: what the server counts and times, for Prometheus to scrape.
//!
//! `serve --metrics-bind ADDR` serves them at `GET /metrics` on a listener
//! of its own ([`listener`]), never on the API's; without the flag nothing
//! listens and nothing is recorded ([`recording`]), so requests pay nothing
//! for metrics nobody reads. The figures are the process's: one
//! [`Metrics`] per process ([`global`]), recorded where the thing measured
//! happens, in the OpenMetrics text format that Prometheus scrapes.
//!
//! # The families
//!
//! Every name starts with `login_sessions_`. No label ever carries a
//! secret, a user, a session or anything else a client chooses: every
//! label's values come from a fixed set.
//!
//! | family | type | labels | what |
//! |---|---|---|---|
//! | `http_requests_total` | counter | `dialect`, `operation`, `status` | requests answered on the API listener (`operation` is `none` when no route matched) |
//! | `http_request_duration_seconds` | histogram | `dialect`, `operation` | from a request's head arriving to its response being ready |
//! | `store_query_duration_seconds` | histogram | `query` | each call into the store (`query`: the store method, e.g. `session`, `list_sessions`, `credential_by_secret`) |
//! | `store_errors_total` | counter | `query`, `error` | store calls that failed (`error`: `duplicate`, `unavailable`, `corrupt`, `internal`) |
//! | `cache_lookups_total` | counter | `cache`, `result` | lookups through an in-memory cache (`cache`: `credential`; `result`: `hit`, `miss`, or `bypass` while the cache cannot be trusted) |
//! | `sqlite_writer_batch_size` | histogram | | writes committed together by the SQLite writer |
//! | `sqlite_writer_commit_duration_seconds` | histogram | | one SQLite writer transaction, `BEGIN` to `COMMIT` |
//! | `sqlite_writer_failed_batches_total` | counter | | SQLite writer transactions that did not commit |
//! | `janitor_rounds_total` | counter | `outcome` | janitor rounds (`completed`, `skipped`: another replica held the lease, `failed`) |
//! | `janitor_deleted_sessions_total` | counter | | sessions the janitor deleted |
//! | `janitor_last_completed_round_timestamp_seconds` | gauge | | when this process last completed a round (Unix time) |
//! | `live_sessions` | gauge | | live sessions in the store, sampled ([`sampler`]) |
//! | `live_sessions_sampled_timestamp_seconds` | gauge | | when `live_sessions` was last sampled (Unix time) |
//!
//! There is one cache so far, the credential cache
//! (`crate::store::credential_cache`); another (of sessions, say) would
//! count under its own `cache` label. PostgreSQL has no writer thread:
//! its commits are inside the store calls, timed by
//! `store_query_duration_seconds`, and the `sqlite_writer_*` families stay
//! at zero.

pub mod listener;
pub mod sampler;
pub mod timed_store;

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use dropshot::HttpServer;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::clock::Clock;
use crate::store::{SharedSessions, StoreError};

/// The prefix of every family's name.
const PREFIX: &str = "login_sessions";

/// The upper bounds, in seconds, of the latency histograms' buckets: from
/// 100 µs (a cached read) to 10 s (a request that waited out a busy
/// database).
const LATENCY_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// The upper bounds of the writer's batch size buckets, up to its largest
/// batch (256 writes).
const BATCH_SIZE_BUCKETS: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// Starts what `serve --metrics-bind` adds: the metrics listener on
/// `bind` and the live sessions sampler over `store`, counting every
/// `sample_interval` by `clock`. Says on stderr where the listener is
/// (`metrics on http://ADDR/metrics`). The listener runs until the
/// returned handle is closed or dropped; the sampler as long as the
/// process.
pub fn start(
    bind: SocketAddr,
    store: SharedSessions,
    clock: Arc<dyn Clock>,
    sample_interval: Duration,
    log: slog::Logger,
) -> Result<HttpServer<()>, String> {
    let listener = listener::start(bind, log.new(slog::o!("listener" => "metrics")))?;
    RECORDING.store(true, Ordering::Relaxed);
    sampler::spawn(store, clock, sample_interval, log);
    eprintln!("metrics on http://{}/metrics", listener.local_addr());
    Ok(listener)
}

/// Whether anyone can read the figures: [`start`] turns it on. Until then
/// nothing is recorded, so a server without `--metrics-bind` spends
/// nothing on them per request.
static RECORDING: AtomicBool = AtomicBool::new(false);

/// The process's metrics, if they are served ([`start`]): where the
/// things measured happen, record through this.
pub fn recording() -> Option<&'static Metrics> {
    RECORDING.load(Ordering::Relaxed).then(global)
}

/// The process's metrics, recorded or not.
pub fn global() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

/// Every family, and the registry that encodes them.
pub struct Metrics {
    registry: Registry,
    pub http: HttpMetrics,
    pub store: StoreMetrics,
    pub cache: CacheMetrics,
    pub sqlite_writer: WriterMetrics,
    pub janitor: JanitorMetrics,
    pub live_sessions: LiveSessionMetrics,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix(PREFIX);
        Metrics {
            http: HttpMetrics::register(&mut registry),
            store: StoreMetrics::register(&mut registry),
            cache: CacheMetrics::register(&mut registry),
            sqlite_writer: WriterMetrics::register(&mut registry),
            janitor: JanitorMetrics::register(&mut registry),
            live_sessions: LiveSessionMetrics::register(&mut registry),
            registry,
        }
    }

    /// Every family in the OpenMetrics text format.
    pub fn encode(&self) -> Result<String, fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// Requests on the API listener.
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    durations: Family<OperationLabels, Histogram, fn() -> Histogram>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    dialect: &'static str,
    operation: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    dialect: &'static str,
    operation: String,
}

/// The `operation` of a request no route matched.
pub const NO_OPERATION: &str = "none";

impl HttpMetrics {
    fn register(registry: &mut Registry) -> HttpMetrics {
        let metrics = HttpMetrics {
            requests: Family::default(),
            durations: Family::new_with_constructor(latency_histogram),
        };
        registry.register(
            "http_requests",
            "Requests answered on the API listener, by dialect, operation and status",
            metrics.requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "From a request's head arriving to its response being ready, by operation",
            Unit::Seconds,
            metrics.durations.clone(),
        );
        metrics
    }

    /// Counts a request answered with `status` after `latency`.
    /// `operation` is the operation id its route named, if one matched:
    /// operation ids come from the API description, a fixed set.
    pub fn request_completed(
        &self,
        dialect: &'static str,
        operation: Option<&str>,
        status: u16,
        latency: Duration,
    ) {
        let operation = operation.unwrap_or(NO_OPERATION).to_string();
        self.durations
            .get_or_create(&OperationLabels {
                dialect,
                operation: operation.clone(),
            })
            .observe(latency.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                dialect,
                operation,
                status,
            })
            .inc();
    }
}

/// Calls into the store ([`timed_store`]).
pub struct StoreMetrics {
    durations: Family<QueryLabels, Histogram, fn() -> Histogram>,
    errors: Family<QueryErrorLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueryLabels {
    query: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueryErrorLabels {
    query: &'static str,
    error: &'static str,
}

impl StoreMetrics {
    fn register(registry: &mut Registry) -> StoreMetrics {
        let metrics = StoreMetrics {
            durations: Family::new_with_constructor(latency_histogram),
            errors: Family::default(),
        };
        registry.register_with_unit(
            "store_query_duration",
            "Calls into the store, by kind of query (the store method)",
            Unit::Seconds,
            metrics.durations.clone(),
        );
        registry.register(
            "store_errors",
            "Store calls that failed, by kind of query and of error",
            metrics.errors.clone(),
        );
        metrics
    }

    /// Records a store call of kind `query` that took `took`; counts its
    /// error if it failed.
    pub fn query_completed(&self, query: &'static str, took: Duration, error: Option<&StoreError>) {
        self.durations
            .get_or_create(&QueryLabels { query })
            .observe(took.as_secs_f64());
        if let Some(error) = error {
            let error = match error {
                StoreError::Duplicate(_) => "duplicate",
                StoreError::Unavailable(_) => "unavailable",
                StoreError::Corrupt(_) => "corrupt",
                StoreError::Internal(_) => "internal",
            };
            self.errors
                .get_or_create(&QueryErrorLabels { query, error })
                .inc();
        }
    }
}

/// Lookups through the in-memory caches.
pub struct CacheMetrics {
    lookups: Family<CacheLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    cache: &'static str,
    result: &'static str,
}

/// Which cache a lookup went through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cache {
    /// `crate::store::credential_cache`.
    Credential,
    /// `crate::store::session_cache`.
    Session,
}

/// How a cache answered a lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// From memory.
    Hit,
    /// From the store (and kept, if found).
    Miss,
    /// From the store, the cache not trusted meanwhile (see
    /// `crate::store::coherence`).
    Bypass,
}

impl CacheMetrics {
    fn register(registry: &mut Registry) -> CacheMetrics {
        let metrics = CacheMetrics {
            lookups: Family::default(),
        };
        registry.register(
            "cache_lookups",
            "Lookups through an in-memory cache: hit, miss, or bypass while it cannot be trusted",
            metrics.lookups.clone(),
        );
        // Every series from the start, so that rates of hits and misses
        // exist before the first miss.
        for cache in [Cache::Credential, Cache::Session] {
            for result in [Lookup::Hit, Lookup::Miss, Lookup::Bypass] {
                let _ = metrics
                    .lookups
                    .get_or_create(&CacheLabels::of(cache, result));
            }
        }
        metrics
    }

    /// Counts one lookup.
    pub fn lookup(&self, cache: Cache, result: Lookup) {
        self.lookups
            .get_or_create(&CacheLabels::of(cache, result))
            .inc();
    }
}

impl CacheLabels {
    fn of(cache: Cache, result: Lookup) -> CacheLabels {
        CacheLabels {
            cache: match cache {
                Cache::Credential => "credential",
                Cache::Session => "session",
            },
            result: match result {
                Lookup::Hit => "hit",
                Lookup::Miss => "miss",
                Lookup::Bypass => "bypass",
            },
        }
    }
}

/// The SQLite store's writer thread (`crate::store::sqlite::writer`).
pub struct WriterMetrics {
    batch_sizes: Histogram,
    commit_durations: Histogram,
    failed_batches: Counter,
}

impl WriterMetrics {
    fn register(registry: &mut Registry) -> WriterMetrics {
        let metrics = WriterMetrics {
            batch_sizes: Histogram::new(BATCH_SIZE_BUCKETS),
            commit_durations: latency_histogram(),
            failed_batches: Counter::default(),
        };
        registry.register(
            "sqlite_writer_batch_size",
            "Writes the SQLite writer committed in one transaction",
            metrics.batch_sizes.clone(),
        );
        registry.register_with_unit(
            "sqlite_writer_commit_duration",
            "One SQLite writer transaction, BEGIN to COMMIT: what each of its writes waits for",
            Unit::Seconds,
            metrics.commit_durations.clone(),
        );
        registry.register(
            "sqlite_writer_failed_batches",
            "SQLite writer transactions that did not commit",
            metrics.failed_batches.clone(),
        );
        metrics
    }

    /// Records a transaction of `writes` writes that took `took`, and
    /// whether it committed.
    pub fn batch_completed(&self, writes: usize, took: Duration, committed: bool) {
        // Batches hold at most a few hundred writes: exact as a float.
        self.batch_sizes.observe(writes as f64);
        self.commit_durations.observe(took.as_secs_f64());
        if !committed {
            self.failed_batches.inc();
        }
    }
}

/// The janitor's rounds (`crate::janitor`).
pub struct JanitorMetrics {
    rounds: Family<OutcomeLabels, Counter>,
    deleted_sessions: Counter,
    last_completed_round: Gauge,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// How a janitor round ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoundOutcome {
    /// It ran and deleted this many sessions (maybe none).
    Completed { deleted: u64 },
    /// Another process held the lease.
    Skipped,
    /// The store failed.
    Failed,
}

impl JanitorMetrics {
    fn register(registry: &mut Registry) -> JanitorMetrics {
        let metrics = JanitorMetrics {
            rounds: Family::default(),
            deleted_sessions: Counter::default(),
            last_completed_round: Gauge::default(),
        };
        registry.register(
            "janitor_rounds",
            "Janitor rounds, by outcome: completed, skipped (another replica held the lease), failed",
            metrics.rounds.clone(),
        );
        registry.register(
            "janitor_deleted_sessions",
            "Sessions the janitor deleted past their retention",
            metrics.deleted_sessions.clone(),
        );
        registry.register_with_unit(
            "janitor_last_completed_round_timestamp",
            "When this process last completed a janitor round, in Unix time",
            Unit::Seconds,
            metrics.last_completed_round.clone(),
        );
        for outcome in ["completed", "skipped", "failed"] {
            let _ = metrics.rounds.get_or_create(&OutcomeLabels { outcome });
        }
        metrics
    }

    /// Records a round that ended at `at` (Unix seconds).
    pub fn round(&self, outcome: RoundOutcome, at: i64) {
        let outcome = match outcome {
            RoundOutcome::Completed { deleted } => {
                self.deleted_sessions.inc_by(deleted);
                self.last_completed_round.set(at);
                "completed"
            }
            RoundOutcome::Skipped => "skipped",
            RoundOutcome::Failed => "failed",
        };
        self.rounds.get_or_create(&OutcomeLabels { outcome }).inc();
    }
}

/// The sampled count of live sessions ([`sampler`]).
pub struct LiveSessionMetrics {
    live: Gauge,
    sampled_at: Gauge,
}

impl LiveSessionMetrics {
    fn register(registry: &mut Registry) -> LiveSessionMetrics {
        let metrics = LiveSessionMetrics {
            live: Gauge::default(),
            sampled_at: Gauge::default(),
        };
        registry.register(
            "live_sessions",
            "Live sessions in the store (open and unexpired), as last sampled",
            metrics.live.clone(),
        );
        registry.register_with_unit(
            "live_sessions_sampled_timestamp",
            "When live_sessions was last sampled, in Unix time",
            Unit::Seconds,
            metrics.sampled_at.clone(),
        );
        metrics
    }

    /// Records `live` sessions counted at `at` (Unix seconds).
    pub fn sampled(&self, live: u64, at: i64) {
        self.live.set(i64::try_from(live).unwrap_or(i64::MAX));
        self.sampled_at.set(at);
    }
}

/// The wall clock's Unix time, in seconds, for the `*_timestamp_seconds`
/// gauges (which Prometheus compares with its own `time()`).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn families_encode_with_their_prefix_units_and_labels() {
        let metrics = Metrics::new();
        metrics
            .http
            .request_completed("looker", Some("login"), 200, Duration::from_millis(3));
        metrics
            .http
            .request_completed("native", None, 404, Duration::from_micros(50));
        metrics.store.query_completed(
            "session",
            Duration::from_micros(300),
            Some(&StoreError::Unavailable("busy".into())),
        );
        metrics.cache.lookup(Cache::Credential, Lookup::Hit);
        metrics
            .sqlite_writer
            .batch_completed(3, Duration::from_millis(2), false);
        metrics
            .janitor
            .round(RoundOutcome::Completed { deleted: 7 }, 1_700_000_000);
        metrics.live_sessions.sampled(42, 1_700_000_001);
        let text = metrics.encode().unwrap();
        for line in [
            "login_sessions_http_requests_total{dialect=\"looker\",operation=\"login\",status=\"200\"} 1",
            "login_sessions_http_requests_total{dialect=\"native\",operation=\"none\",status=\"404\"} 1",
            "login_sessions_http_request_duration_seconds_count{dialect=\"looker\",operation=\"login\"} 1",
            "login_sessions_http_request_duration_seconds_bucket{le=\"0.005\",dialect=\"looker\",operation=\"login\"} 1",
            "login_sessions_http_request_duration_seconds_bucket{le=\"0.0025\",dialect=\"looker\",operation=\"login\"} 0",
            "login_sessions_store_query_duration_seconds_count{query=\"session\"} 1",
            "login_sessions_store_errors_total{query=\"session\",error=\"unavailable\"} 1",
            "login_sessions_cache_lookups_total{cache=\"credential\",result=\"hit\"} 1",
            "login_sessions_cache_lookups_total{cache=\"credential\",result=\"miss\"} 0",
            "login_sessions_sqlite_writer_batch_size_sum 3.0",
            "login_sessions_sqlite_writer_commit_duration_seconds_count 1",
            "login_sessions_sqlite_writer_failed_batches_total 1",
            "login_sessions_janitor_rounds_total{outcome=\"completed\"} 1",
            "login_sessions_janitor_rounds_total{outcome=\"skipped\"} 0",
            "login_sessions_janitor_deleted_sessions_total 7",
            "login_sessions_janitor_last_completed_round_timestamp_seconds 1700000000",
            "login_sessions_live_sessions 42",
            "login_sessions_live_sessions_sampled_timestamp_seconds 1700000001",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn a_failed_janitor_round_leaves_the_last_completed_time_alone() {
        let metrics = Metrics::new();
        metrics
            .janitor
            .round(RoundOutcome::Completed { deleted: 0 }, 100);
        metrics.janitor.round(RoundOutcome::Failed, 200);
        metrics.janitor.round(RoundOutcome::Skipped, 300);
        let text = metrics.encode().unwrap();
        assert!(
            text.contains("login_sessions_janitor_last_completed_round_timestamp_seconds 100\n")
        );
        assert!(text.contains("login_sessions_janitor_rounds_total{outcome=\"failed\"} 1\n"));
        assert!(text.contains("login_sessions_janitor_rounds_total{outcome=\"skipped\"} 1\n"));
    }
}
