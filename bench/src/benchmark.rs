//! `cargo xtask bench`: what users pay for, measured end to end.
//!
//! Builds the release server, issues an admin credential, seeds a small
//! data set (`--small-sessions`, 10,000) through the bulk path
//! (`login-sessions seed`), starts the server on 127.0.0.1 and measures the
//! baseline and every lookup; stops it, seeds up to `--sessions`
//! (1,000,000), starts it again and measures the baseline, the lookups and
//! the writes. Each operation runs closed-loop over `--connections`
//! keep-alive connections for `--duration` after a discarded `--warmup`
//! (see [`load`]), and is reported with its ratios to the baseline measured
//! before and after it in the same pass (a constant body the size of a
//! Looker `Session`, from the same server: absolute figures drift on
//! shared machines, ratios much less). The caches are warmed before the
//! lookups, and each lookup's session cache hit rate is reported
//! ([`crate::caches`]). Also reported: the server's peak RSS, the database's
//! size per session, seeding's rate, how each lookup's p50 grew with the
//! data, and at the full size what [`full_size`] measures on servers of
//! its own.
//!
//! The operations are listed in [`OPERATIONS`]. The report is
//! printed as a table and written as JSON to
//! `<target dir>/bench/<timestamp>.json`.

mod full_size;
mod passes;

use full_size::{QUIET_LOG_LEVEL, access_log_cost, revocation_window, under_idle_sockets};
use passes::measure_pass;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

use crate::caches::{session_cache_held, warm_caches};
use crate::fixture::{Credentials, Fixture, SampledSession, SeedSample, Workload};
use crate::load;
use crate::operations::{Kind, Needs, OPERATIONS, Operation, Request};
use crate::report::{self, BenchReport, Machine, PhaseReport, RunConfig, StoreReport};
use crate::server::{self, Binary, Database};

/// The environment variable naming a PostgreSQL database to benchmark.
pub const DATABASE_URL_ENV: &str = "LOGIN_SESSIONS_BENCH_DATABASE_URL";

/// The options of `cargo xtask bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Sessions in the full data set.
    #[arg(long, default_value_t = 1_000_000)]
    sessions: u64,
    /// Sessions in the small data set the lookups are first measured on
    /// (0: measure at the full size only).
    #[arg(long, default_value_t = 10_000)]
    small_sessions: u64,
    /// Users the sessions belong to. Default: one per ten sessions.
    #[arg(long)]
    users: Option<u64>,
    /// Which live sessions the lookups read: all sampled ones equally
    /// (uniform, the figures in docs/benchmark.md) or a hot tenth of them.
    #[arg(long, value_enum, default_value_t = Workload::Uniform)]
    workload: Workload,
    /// Concurrent keep-alive connections (closed loop).
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Measured seconds per operation.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Warm-up seconds per operation, not measured.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Rounds each lookup is measured in, alternating with the baseline
    /// (each round `--duration`/N after `--warmup`/N); its ratio is the
    /// median of the rounds'. 1: the lookup in one piece between two
    /// baselines.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=20))]
    rounds: u32,
    /// Connections of the light-load pass: the baseline and the lookups
    /// measured again at every size with this few connections, for
    /// their latency without queueing (0: no such pass).
    #[arg(long, default_value_t = 1)]
    light_connections: usize,
    /// Worker threads of the load generator (it shares the machine with
    /// the server).
    #[arg(long, default_value_t = 2)]
    client_threads: usize,
    /// The stores to measure (repeatable). Default: sqlite, and postgres
    /// too when a database URL is given.
    #[arg(long, value_enum)]
    store: Vec<StoreKind>,
    /// The PostgreSQL database for `--store postgres`: a dedicated one, the
    /// benchmark adds sessions and a credential to it.
    #[arg(long, env = DATABASE_URL_ENV)]
    database_url: Option<String>,
    /// Only the operations whose name contains one of these (repeatable);
    /// the baseline always runs.
    #[arg(long)]
    only: Vec<String>,
    /// The server's log level: `serve`'s default, `info`, writes the access
    /// log (one line per request); `warn` measures without it.
    #[arg(long, default_value = "info")]
    server_log_level: String,
    /// Rounds of the access log's cost at the full size: the baseline on a
    /// fresh server at the run's level, then on one at `warn`, alternately (0: not
    /// measured; nor is it when the server runs at `warn`).
    #[arg(long, default_value_t = 4)]
    access_log_rounds: usize,
    /// Revocations whose window is measured at the full size: logged out
    /// on the server, awaited on a second server on the same database (0:
    /// not measured; see [`crate::revocation`]).
    #[arg(long, default_value_t = 200)]
    revocation_rounds: usize,
    /// Sockets an attacker holds open (silent, half a head, a stalled
    /// body; reopened when closed) while the baseline and native
    /// `session_view` are measured again at light load, on a server whose
    /// connection bound is what a 1,024 open-file limit gives (0: not
    /// measured; see [`crate::idle_sockets`]).
    #[arg(long, default_value_t = 1500)]
    idle_sockets: usize,
    /// Use the release binary as it is instead of building it.
    #[arg(long)]
    no_build: bool,
    /// Run this `login-sessions` binary instead of building the release
    /// one (the harness's own test runs it with the debug build).
    #[arg(long, conflicts_with = "no_build")]
    server_binary: Option<PathBuf>,
    /// Keep the run's directory (database, logs, samples) afterwards.
    #[arg(long)]
    keep_data: bool,
    /// Run in this directory and keep it: seed it the first time, and on
    /// later runs measure its data as it is (the full size only, no
    /// seeding), so that changes to the server can be compared on the
    /// same data (writes then meet sessions earlier runs revoked). SQLite
    /// only.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StoreKind {
    Sqlite,
    Postgres,
}

impl StoreKind {
    fn name(self) -> &'static str {
        match self {
            StoreKind::Sqlite => "sqlite",
            StoreKind::Postgres => "postgres",
        }
    }
}

/// Runs the benchmark; fails if a store could not be measured or an
/// operation that should work did not.
pub fn run(args: BenchArgs, root: &Path) -> anyhow::Result<bool> {
    let mut stores = args.store.clone();
    if stores.is_empty() {
        stores.push(StoreKind::Sqlite);
        if args.database_url.is_some() {
            stores.push(StoreKind::Postgres);
        }
    }
    if args.data_dir.is_some() && stores != [StoreKind::Sqlite] {
        bail!("--data-dir works with --store sqlite only");
    }
    if stores.contains(&StoreKind::Postgres) && args.database_url.is_none() {
        bail!(
            "--store postgres needs a database: give --database-url postgres://... or set {DATABASE_URL_ENV}"
        );
    }
    if args.connections == 0 || args.duration <= 0.0 || args.warmup < 0.0 {
        bail!("--connections and --duration must be positive, --warmup not negative");
    }
    if args.sessions == 0 {
        bail!("--sessions must be positive");
    }

    let binary = if let Some(path) = &args.server_binary {
        if !path.is_file() {
            bail!("--server-binary: there is no file at {}", path.display());
        }
        Binary { path: path.clone() }
    } else if args.no_build {
        let path = server::target_dir(root)
            .join("release")
            .join("login-sessions");
        if !path.is_file() {
            bail!(
                "--no-build: there is no release binary at {}",
                path.display()
            );
        }
        Binary { path }
    } else {
        Binary {
            path: server::build_release(root)?,
        }
    };

    let started = chrono::Utc::now();
    let stamp = started.format("%Y%m%dT%H%M%SZ").to_string();
    let bench_dir = server::target_dir(root).join("bench");
    let run_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| bench_dir.join(format!("run-{stamp}")));
    std::fs::create_dir_all(&run_dir).with_context(|| format!("creating {}", run_dir.display()))?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .enable_all()
        .build()
        .context("starting the load generator's runtime")?;

    let mut store_reports = Vec::new();
    let mut all_ok = true;
    for store in &stores {
        let dir = run_dir.join(store.name());
        std::fs::create_dir_all(&dir)?;
        let mut store_report = StoreReport {
            store: store.name().to_string(),
            phases: Vec::new(),
            scaling: Vec::new(),
            error: None,
        };
        let outcome =
            runtime.block_on(bench_store(&args, *store, &binary, &dir, &mut store_report));
        match outcome {
            Ok(ok) => all_ok &= ok,
            Err(error) => {
                all_ok = false;
                store_report.error = Some(format!("{error:#}"));
            }
        }
        store_report.scaling = report::scaling(&store_report.phases);
        store_reports.push(store_report);
    }

    let bench_report = BenchReport {
        started_at: started.to_rfc3339(),
        git_commit: git_commit(root),
        machine: machine(),
        config: RunConfig {
            sessions: args.sessions,
            small_sessions: args.small_sessions.min(args.sessions),
            connections: args.connections,
            light_connections: args.light_connections,
            duration_seconds: args.duration,
            warmup_seconds: args.warmup,
            rounds: args.rounds,
            client_threads: args.client_threads,
            server_log_level: args.server_log_level.clone(),
            workload: args.workload,
        },
        stores: store_reports,
    };
    println!("\n{}", report::table(&bench_report));
    let json_path = bench_dir.join(format!("{stamp}.json"));
    std::fs::write(&json_path, serde_json::to_string_pretty(&bench_report)?)
        .with_context(|| format!("writing {}", json_path.display()))?;
    println!("JSON report: {}", json_path.display());
    if args.keep_data || args.data_dir.is_some() {
        println!("data kept in {}", run_dir.display());
    } else if let Err(error) = std::fs::remove_dir_all(&run_dir) {
        eprintln!("could not remove {}: {error}", run_dir.display());
    }
    Ok(all_ok)
}

/// The phases of one store; false when an operation failed.
async fn bench_store(
    args: &BenchArgs,
    store: StoreKind,
    binary: &Binary,
    dir: &Path,
    out: &mut StoreReport,
) -> anyhow::Result<bool> {
    let database = match store {
        StoreKind::Sqlite => {
            let file = dir.join("bench.db");
            Database {
                url: format!("sqlite:{}", file.display()),
                key_file: Some(dir.join("bench.key")),
                sqlite_file: Some(file),
            }
        }
        StoreKind::Postgres => Database {
            url: args.database_url.clone().unwrap_or_default(),
            key_file: Some(dir.join("bench.key")),
            sqlite_file: None,
        },
    };
    // What a reused --data-dir holds from its first run.
    let reused_path = dir.join("reuse.json");
    let reused: Option<Reused> = match &args.data_dir {
        Some(_) if reused_path.is_file() => Some(
            serde_json::from_slice(&std::fs::read(&reused_path)?)
                .with_context(|| format!("reading {}", reused_path.display()))?,
        ),
        _ => None,
    };
    let credentials = match &reused {
        Some(reused) => reused.credentials.clone(),
        None => {
            let key_file = database.key_file.clone().unwrap_or(dir.join("bench.key"));
            binary.generate_key(&key_file)?;
            binary.init(&database)?;
            binary
                .admin_credential(&database)
                .with_context(|| format!("issuing a credential on {}", store.name()))?
        }
    };

    let small = args.small_sessions.min(args.sessions);
    let mut sizes = vec![];
    if reused.is_none() && small > 0 && small < args.sessions {
        sizes.push(small);
    }
    sizes.push(reused.as_ref().map_or(args.sessions, |r| r.sessions));

    let mut all_ok = true;
    let mut seeded = 0u64;
    let mut sample: Vec<SampledSession> = Vec::new();
    for (index, &size) in sizes.iter().enumerate() {
        let last = index + 1 == sizes.len();
        let adding = size - seeded;
        let users = args.users.unwrap_or((size / 10).max(1));
        // Enough live ids for the writes in the last phase.
        let sample_size = if last { 200_000 } else { 10_000 }.min(adding as usize);
        let sample_path = dir.join(format!("sample-{size}.json"));
        let seeding = match &reused {
            Some(reused) => {
                eprintln!(
                    "{}: reusing {} with {size} sessions",
                    store.name(),
                    dir.display()
                );
                reused.seeding
            }
            None => {
                eprintln!("{}: seeding {adding} sessions (up to {size})", store.name());
                binary.seed(&database, adding, users, &sample_path, sample_size)?
            }
        };
        let fresh: SeedSample = serde_json::from_slice(
            &std::fs::read(&sample_path)
                .with_context(|| format!("reading {}", sample_path.display()))?,
        )?;
        // Keep the sample uniform over everything seeded so far.
        let keep = (sample.len() as u128 * u128::from(seeded) / u128::from(size.max(1))) as usize;
        sample.truncate(keep);
        sample.extend(fresh.sample);
        seeded = size;
        let database_after_seeding = database.size(size);
        if last && args.data_dir.is_some() && reused.is_none() {
            // Later runs measure this data as it is now.
            let record = Reused {
                sessions: size,
                seeding,
                credentials: credentials.clone(),
            };
            std::fs::write(&reused_path, serde_json::to_vec(&record)?)?;
            let merged = dir.join(format!("sample-{size}.json"));
            std::fs::write(
                &merged,
                serde_json::to_vec(&serde_json::json!({
                    "designated_user": fresh.designated_user,
                    "sample": sample,
                }))?,
            )?;
        }

        let load_at_start = load_average();
        let log = dir.join(format!("server-{size}.log"));
        let server = binary
            .serve(&database, &args.server_log_level, &log)
            .await?;
        eprintln!(
            "{}: server pid {} on {} with {size} sessions",
            store.name(),
            server.pid(),
            server.addr
        );
        let selected: Vec<&'static Operation> = OPERATIONS
            .iter()
            .filter(|op| match op.kind {
                Kind::Baseline => true,
                Kind::Lookup => selected(args, op),
                Kind::Write => last && selected(args, op),
            })
            .collect();
        let looker_token = if selected.iter().any(|op| op.needs == Needs::LookerToken) {
            looker_login(server.addr, &credentials).await
        } else {
            None
        };
        let fixture = Arc::new(Fixture::new(
            server.addr.to_string(),
            credentials.clone(),
            looker_token,
            SeedSample {
                designated_user: fresh.designated_user,
                sample: sample.clone(),
            },
            args.workload,
        ));
        let config = load::LoadConfig {
            addr: server.addr,
            connections: args.connections,
            warmup: Duration::from_secs_f64(args.warmup),
            duration: Duration::from_secs_f64(args.duration),
            server_pid: Some(server.pid()),
        };
        // The reads at full concurrency, the reads again at light load
        // (latency without queueing), then the writes (which end sessions
        // the reads use).
        let reads: Vec<&'static Operation> = selected
            .iter()
            .copied()
            .filter(|op| op.kind != Kind::Write)
            .collect();
        let writes: Vec<&'static Operation> = selected
            .iter()
            .copied()
            .filter(|op| op.kind == Kind::Write)
            .collect();
        // Every session the lookups read, and its user's live sessions,
        // once: the caches are warm when the reads are measured.
        warm_caches(server.addr, &fixture)
            .await
            .context("warming the caches")?;
        let mut passes = vec![(reads.clone(), config, "")];
        let light_label = format!(" [{} conn]", args.light_connections);
        if args.light_connections > 0 && args.light_connections != args.connections {
            let light = load::LoadConfig {
                connections: args.light_connections,
                ..config
            };
            passes.push((reads, light, light_label.as_str()));
        }
        passes.push((writes, config, ""));
        let mut operations = Vec::new();
        let mut full_baseline = None;
        for (pass, pass_config, suffix) in passes {
            let (reports, baseline, ok) = measure_pass(
                &pass,
                &fixture,
                server.addr,
                pass_config,
                suffix,
                if suffix.is_empty() {
                    full_baseline.as_ref()
                } else {
                    None
                },
                args.rounds,
            )
            .await;
            all_ok &= ok;
            operations.extend(reports);
            // The writes are compared with the full-concurrency baseline.
            if suffix.is_empty() && baseline.is_some() {
                full_baseline = baseline;
            }
        }
        if last && args.idle_sockets > 0 {
            let (reports, ok) =
                under_idle_sockets(args, binary, &database, &fixture, config, dir).await?;
            all_ok &= ok;
            operations.extend(reports);
        }
        let revocation_window = if last && args.revocation_rounds > 0 {
            let window = revocation_window(args, binary, &database, &server, &credentials, dir)
                .await
                .inspect_err(|_| all_ok = false)?;
            Some(window)
        } else {
            None
        };
        let access_log_cost =
            if last && args.access_log_rounds > 0 && args.server_log_level != QUIET_LOG_LEVEL {
                let cost = access_log_cost(args, binary, &database, &fixture, config, dir)
                    .await
                    .inspect_err(|_| all_ok = false)?;
                Some(cost)
            } else {
                None
            };
        let server_peak_rss_bytes = server.peak_rss();
        let session_cache = session_cache_held(server.addr).await;
        server.stop()?;
        out.phases.push(PhaseReport {
            sessions: size,
            seeding,
            operations,
            server_peak_rss_bytes,
            session_cache,
            database_after_seeding,
            database_after_run: database.size(size),
            load_average: [load_at_start, load_average()],
            revocation_window,
            access_log_cost,
        });
    }
    Ok(all_ok)
}

/// What a `--data-dir` keeps from its first run: the size seeded, how
/// fast, and the credential (a throwaway one, in the throwaway database).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Reused {
    sessions: u64,
    seeding: report::SeedFigures,
    credentials: Credentials,
}

fn selected(args: &BenchArgs, op: &Operation) -> bool {
    args.only.is_empty() || args.only.iter().any(|s| op.name.contains(s.as_str()))
}

/// A Looker access token (`POST /api/4.0/login`), if the server has the
/// Looker dialect.
async fn looker_login(addr: std::net::SocketAddr, credentials: &Credentials) -> Option<String> {
    let body = format!(
        "client_id={}&client_secret={}",
        credentials.looker.client_id, credentials.looker.client_secret
    );
    let request = Request {
        method: http::Method::POST,
        path: "/api/4.0/login".into(),
        headers: Vec::new(),
        content_type: Some("application/x-www-form-urlencoded"),
        body: bytes::Bytes::from(body),
    };
    let (status, body) = load::once(addr, &request).await.ok()?;
    if status != 200 {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(&body).ok()?;
    value["access_token"].as_str().map(str::to_string)
}

/// The 1-minute load average.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn git_commit(root: &Path) -> Option<String> {
    let output = std::process::Command::new("git")
        .current_dir(root)
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn machine() -> Machine {
    let read = |path: &str| std::fs::read_to_string(PathBuf::from(path)).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu_model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "unknown".to_string(), |(_, m)| m.trim().to_string());
    Machine {
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        cpu_model,
        memory_bytes: server::parse_kib_field(&read("/proc/meminfo"), "MemTotal:").unwrap_or(0),
        kernel: format!("Linux {}", read("/proc/sys/kernel/osrelease").trim()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        bench: BenchArgs,
    }

    fn chosen(args: &[&str]) -> Vec<&'static str> {
        let cli =
            Cli::try_parse_from(std::iter::once("bench").chain(args.iter().copied())).unwrap();
        OPERATIONS
            .iter()
            .filter(|op| op.kind == Kind::Baseline || selected(&cli.bench, op))
            .map(|op| op.name)
            .collect()
    }

    #[test]
    fn only_selects_by_part_of_the_name() {
        assert_eq!(
            chosen(&["--only", "huawei", "--only", "interaction"]),
            [
                "baseline (constant body)",
                "huawei ListSessions",
                "native session_interaction_create",
                "native session_interaction_create [new address]",
            ]
        );
        assert_eq!(
            chosen(&["--only", "[new address]"]),
            [
                "baseline (constant body)",
                "native session_interaction_create [new address]",
            ]
        );
        assert_eq!(chosen(&[]).len(), OPERATIONS.len());
    }
}
