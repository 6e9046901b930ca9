//! The benchmark's report: per-operation figures and their ratios to the
//! baseline (computed in [`figures`]), as a readable table and as JSON
//! (pure functions, tested).

use std::fmt::Write as _;

use serde::Serialize;

use crate::fixture::Workload;
use crate::operations::Kind;
use crate::revocation::RevocationWindow;

mod figures;

pub use figures::{Ratios, Stats, mean_baseline, mean_of_baselines, median_ratios, ratios, stats};

/// One operation in one phase.
#[derive(Clone, Debug, Serialize)]
pub struct OperationReport {
    pub name: String,
    pub kind: &'static str,
    /// Measured figures; absent when the operation was skipped or failed.
    pub stats: Option<Stats>,
    pub vs_baseline: Option<Ratios>,
    /// The operation ran out of work before the duration was up.
    pub exhausted: bool,
    /// Why it was skipped or failed, or an example of its errors.
    pub note: Option<String>,
    /// The share of its session cache lookups answered from memory (the
    /// server's own count, `GET /bench/caches`), when it made any.
    pub session_cache_hit_rate: Option<f64>,
    /// Its throughput ratio to the baseline in each round it was measured
    /// in, alternating with the baseline; `vs_baseline` is their median.
    /// Empty when it was measured in one piece.
    pub round_ratios: Vec<f64>,
}

pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Baseline => "baseline",
        Kind::Lookup => "lookup",
        Kind::Write => "write",
    }
}

/// What seeding did.
#[derive(Clone, Copy, Debug, Serialize, serde::Deserialize)]
pub struct SeedFigures {
    pub inserted: u64,
    pub seconds: f64,
    pub sessions_per_second: f64,
    /// CPU time (user + system, all threads) the seeding process used.
    pub cpu_seconds: Option<f64>,
}

/// The database's size on disk.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct DatabaseSize {
    pub file_bytes: u64,
    pub wal_bytes: u64,
    pub bytes_per_session: f64,
}

/// One data size: seeding up to it, then the operations against it.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseReport {
    pub sessions: u64,
    pub seeding: SeedFigures,
    pub operations: Vec<OperationReport>,
    /// The server's peak resident set (VmHWM) over this phase.
    pub server_peak_rss_bytes: Option<u64>,
    /// What the session cache held at the end of the phase: entries, and
    /// its own estimate of their bytes (what `--session-cache-mib` bounds).
    pub session_cache: Option<(u64, u64)>,
    /// After seeding, before the server started.
    pub database_after_seeding: Option<DatabaseSize>,
    /// After the operations.
    pub database_after_run: Option<DatabaseSize>,
    /// The machine's 1-minute load average when the server started and
    /// when it stopped (other work on a shared machine shows here).
    pub load_average: [Option<f64>; 2],
    /// How long a second server on the same database accepted a Looker
    /// token after the first acknowledged its logout (the full size only).
    pub revocation_window: Option<RevocationWindow>,
    /// What the access log costs the baseline (the full size only).
    pub access_log_cost: Option<AccessLogCost>,
}

/// The baseline's throughput with the server's log level against `warn`,
/// measured alternately on two servers over the same data.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AccessLogCost {
    pub log_level: String,
    /// Mean requests/s over the rounds, at `log_level`.
    pub baseline_rps: f64,
    /// Mean requests/s over the rounds, at `warn`.
    pub baseline_rps_at_warn: f64,
    /// `1 - baseline_rps / baseline_rps_at_warn`: the fraction of the
    /// throughput the log takes (negative when noise favoured it).
    pub cost: f64,
}

impl AccessLogCost {
    pub fn new(log_level: &str, logged: &[f64], unlogged: &[f64]) -> AccessLogCost {
        let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len().max(1) as f64;
        let (baseline_rps, baseline_rps_at_warn) = (mean(logged), mean(unlogged));
        AccessLogCost {
            log_level: log_level.to_string(),
            baseline_rps,
            baseline_rps_at_warn,
            cost: if baseline_rps_at_warn > 0.0 {
                1.0 - baseline_rps / baseline_rps_at_warn
            } else {
                f64::NAN
            },
        }
    }
}

/// How a lookup's p50 grew from the small to the full data size.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scaling {
    pub name: String,
    pub small_sessions: u64,
    pub full_sessions: u64,
    pub p50_small_ms: f64,
    pub p50_full_ms: f64,
    pub ratio: f64,
    /// The same ratio with each p50 first divided by its phase's baseline
    /// p50: what is left once the machine's drift between the phases (the
    /// baseline's own ratio) is taken out.
    pub normalized_ratio: Option<f64>,
}

/// p50 at the last phase over p50 at the first, per lookup measured in
/// both.
/// What ends the name of the baseline measured again within a pass.
pub const AGAIN: &str = ", again";

pub fn scaling(phases: &[PhaseReport]) -> Vec<Scaling> {
    let (Some(small), Some(full)) = (phases.first(), phases.last()) else {
        return Vec::new();
    };
    if phases.len() < 2 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for op in &full.operations {
        if op.kind != "lookup" && op.kind != "baseline" {
            continue;
        }
        // The baseline measured again around each lookup repeats one name
        // many times: compare its first measurement only.
        if op.kind == "baseline" && op.name.ends_with(AGAIN) {
            continue;
        }
        let Some(full_stats) = op.stats else { continue };
        let Some(small_stats) = small
            .operations
            .iter()
            .find(|o| o.name == op.name)
            .and_then(|o| o.stats)
        else {
            continue;
        };
        if small_stats.p50_ms <= 0.0 {
            continue;
        }
        let baseline_p50 = |phase: &PhaseReport| {
            phase
                .operations
                .iter()
                .find(|o| o.kind == "baseline")
                .and_then(|o| o.stats)
                .map(|s| s.p50_ms)
                .filter(|p50| *p50 > 0.0)
        };
        let normalized_ratio = match (baseline_p50(small), baseline_p50(full)) {
            (Some(small_base), Some(full_base)) if op.kind != "baseline" => {
                Some((full_stats.p50_ms / full_base) / (small_stats.p50_ms / small_base))
            }
            _ => None,
        };
        out.push(Scaling {
            name: op.name.clone(),
            small_sessions: small.sessions,
            full_sessions: full.sessions,
            p50_small_ms: small_stats.p50_ms,
            p50_full_ms: full_stats.p50_ms,
            ratio: full_stats.p50_ms / small_stats.p50_ms,
            normalized_ratio,
        });
    }
    out
}

/// Everything measured on one store.
#[derive(Clone, Debug, Serialize)]
pub struct StoreReport {
    pub store: String,
    pub phases: Vec<PhaseReport>,
    pub scaling: Vec<Scaling>,
    /// Why the run on this store stopped, if it did.
    pub error: Option<String>,
}

/// The machine the figures come from.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_bytes: u64,
    pub kernel: String,
}

/// How the run was configured.
#[derive(Clone, Debug, Serialize)]
pub struct RunConfig {
    pub sessions: u64,
    pub small_sessions: u64,
    pub connections: usize,
    /// Connections of the light-load pass (its rows are marked `[n conn]`).
    pub light_connections: usize,
    pub duration_seconds: f64,
    pub warmup_seconds: f64,
    /// Rounds each lookup alternated with the baseline in.
    pub rounds: u32,
    pub client_threads: usize,
    pub server_log_level: String,
    pub workload: Workload,
}

/// The whole report, as written to the JSON file.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub started_at: String,
    pub git_commit: Option<String>,
    pub machine: Machine,
    pub config: RunConfig,
    pub stores: Vec<StoreReport>,
}

/// The width of the operation column: the longest name
/// (`native session_interaction_create [new address]`) and a little room.
pub const NAME_WIDTH: usize = 56;

fn thousands(n: f64) -> String {
    let rounded = n.round() as u64;
    let digits = rounded.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The report as a readable table.
pub fn table(report: &BenchReport) -> String {
    let mut out = String::new();
    let machine = &report.machine;
    let _ = writeln!(
        out,
        "machine: {} CPUs ({}), {} memory, {}",
        machine.cpus,
        machine.cpu_model,
        mib(machine.memory_bytes),
        machine.kernel
    );
    let config = &report.config;
    let _ = writeln!(
        out,
        "load: {} connections, closed loop, {:.0} s per operation after {:.0} s warm-up (lookups in {} rounds alternating with the baseline; their ratio the rounds' median), {} client threads; server log level {}; lookups {}",
        config.connections,
        config.duration_seconds,
        config.warmup_seconds,
        config.rounds,
        config.client_threads,
        config.server_log_level,
        match config.workload {
            Workload::Uniform => "uniform over the sampled live sessions",
            Workload::Hot => "on a hot tenth of the sampled live sessions",
        }
    );
    for store in &report.stores {
        for phase in &store.phases {
            let cpu = phase.seeding.cpu_seconds.map_or(String::new(), |cpu| {
                format!(
                    ", {:.0}% of one CPU",
                    cpu * 100.0 / phase.seeding.seconds.max(1e-9)
                )
            });
            let _ = writeln!(
                out,
                "\n{} with {} sessions (seeded {} at {} sessions/s{cpu})",
                store.store,
                thousands(phase.sessions as f64),
                thousands(phase.seeding.inserted as f64),
                thousands(phase.seeding.sessions_per_second)
            );
            let _ = writeln!(
                out,
                "{:<w$} {:>9} {:>8} {:>8} {:>8} {:>10} {:>9} {:>9} {:>11} {:>11} {:>7} {:>7}",
                "operation",
                "req/s",
                "p50 ms",
                "p99 ms",
                "p99.9 ms",
                "tput/base",
                "p50/base",
                "p99/base",
                "srv CPU us",
                "gen CPU us",
                "errors",
                "hits %",
                w = NAME_WIDTH
            );
            for op in &phase.operations {
                match op.stats {
                    Some(stats) => {
                        let [tput, p50, p99] = op.vs_baseline.map_or_else(
                            || ["-".to_string(), "-".to_string(), "-".to_string()],
                            |r| [r.throughput, r.p50, r.p99].map(|ratio| format!("{ratio:.2}")),
                        );
                        let cpu = stats
                            .server_cpu_us_per_request
                            .map_or("-".to_string(), |us| format!("{us:.0}"));
                        let client_cpu = stats
                            .client_cpu_us_per_request
                            .map_or("-".to_string(), |us| format!("{us:.0}"));
                        let _ = writeln!(
                            out,
                            "{:<w$} {:>9} {:>8.3} {:>8.3} {:>8.3} {:>10} {:>9} {:>9} {:>11} {:>11} {:>7} {:>7}{}",
                            op.name,
                            thousands(stats.requests_per_second),
                            stats.p50_ms,
                            stats.p99_ms,
                            stats.p999_ms,
                            tput,
                            p50,
                            p99,
                            cpu,
                            client_cpu,
                            stats.errors,
                            op.session_cache_hit_rate
                                .map_or("-".to_string(), |rate| format!("{:.1}", rate * 100.0)),
                            if op.exhausted {
                                "  (ran out of ids)"
                            } else {
                                ""
                            },
                            w = NAME_WIDTH
                        );
                    }
                    None => {
                        let _ = writeln!(
                            out,
                            "{:<w$} {}",
                            op.name,
                            op.note.as_deref().unwrap_or("not measured"),
                            w = NAME_WIDTH
                        );
                    }
                }
            }
            if let [Some(before), Some(after)] = phase.load_average {
                let _ = writeln!(
                    out,
                    "machine load average (1 min): {before:.2} at the start, {after:.2} at the end"
                );
            }
            if let Some(cost) = &phase.access_log_cost {
                let _ = writeln!(
                    out,
                    "access log at {}: baseline {} req/s against {} at warn, a {:.1}% cost",
                    cost.log_level,
                    thousands(cost.baseline_rps),
                    thousands(cost.baseline_rps_at_warn),
                    cost.cost * 100.0
                );
            }
            if let Some(window) = &phase.revocation_window {
                let _ = writeln!(
                    out,
                    "revocation window on a second server, {} rounds: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {} over {} ms, {} never refused",
                    window.rounds,
                    window.p50_ms,
                    window.p99_ms,
                    window.max_ms,
                    window.over_promise,
                    crate::revocation::PROMISED.as_millis(),
                    window.never_refused
                );
            }
            if let Some(rss) = phase.server_peak_rss_bytes {
                let _ = writeln!(out, "server peak RSS (VmHWM): {}", mib(rss));
            }
            if let Some((entries, bytes)) = phase.session_cache {
                let _ = writeln!(
                    out,
                    "session cache at the end: {} entries, {} by its own estimate",
                    thousands(entries as f64),
                    mib(bytes)
                );
            }
            for (label, size) in [
                ("after seeding", phase.database_after_seeding),
                ("after the run", phase.database_after_run),
            ] {
                if let Some(size) = size {
                    let _ = writeln!(
                        out,
                        "database {label}: {} file + {} WAL = {:.0} bytes/session",
                        mib(size.file_bytes),
                        mib(size.wal_bytes),
                        size.bytes_per_session
                    );
                }
            }
        }
        if !store.scaling.is_empty() {
            let _ = writeln!(
                out,
                "\n{}: lookup p50 at full size / at small size",
                store.store
            );
            for s in &store.scaling {
                let normalized = s.normalized_ratio.map_or(String::new(), |r| {
                    format!(" (x{r:.2} relative to the baseline)")
                });
                let _ = writeln!(
                    out,
                    "  {:<w$} {:.3} ms at {} -> {:.3} ms at {}: x{:.2}{normalized}",
                    s.name,
                    s.p50_small_ms,
                    thousands(s.small_sessions as f64),
                    s.p50_full_ms,
                    thousands(s.full_sessions as f64),
                    s.ratio,
                    w = NAME_WIDTH
                );
            }
        }
        if let Some(error) = &store.error {
            let _ = writeln!(out, "\n{}: FAILED: {error}", store.store);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::figures::tests::figures;
    use super::*;

    fn phase(sessions: u64, p50: f64) -> PhaseReport {
        PhaseReport {
            sessions,
            seeding: SeedFigures {
                inserted: sessions,
                seconds: 1.0,
                sessions_per_second: sessions as f64,
                cpu_seconds: None,
            },
            operations: vec![
                OperationReport {
                    name: "baseline".into(),
                    kind: "baseline",
                    stats: Some(figures(2000.0, 0.5)),
                    vs_baseline: None,
                    exhausted: false,
                    note: None,
                    session_cache_hit_rate: None,
                    round_ratios: Vec::new(),
                },
                OperationReport {
                    name: "prefactor fetch_session".into(),
                    kind: "lookup",
                    stats: Some(figures(1000.0, p50)),
                    vs_baseline: None,
                    exhausted: false,
                    note: None,
                    session_cache_hit_rate: None,
                    round_ratios: Vec::new(),
                },
                OperationReport {
                    name: "native session_create".into(),
                    kind: "write",
                    stats: Some(figures(1000.0, p50)),
                    vs_baseline: None,
                    exhausted: false,
                    note: None,
                    session_cache_hit_rate: None,
                    round_ratios: Vec::new(),
                },
            ],
            server_peak_rss_bytes: Some(50 << 20),
            session_cache: None,
            database_after_seeding: Some(DatabaseSize {
                file_bytes: 1 << 20,
                wal_bytes: 0,
                bytes_per_session: 512.0,
            }),
            database_after_run: None,
            load_average: [Some(0.5), None],
            revocation_window: None,
            access_log_cost: None,
        }
    }

    #[test]
    fn the_access_log_cost_is_the_throughput_it_takes() {
        let cost = AccessLogCost::new("info", &[900.0, 1100.0], &[1200.0, 1300.0]);
        assert_eq!(cost.baseline_rps, 1000.0);
        assert_eq!(cost.baseline_rps_at_warn, 1250.0);
        assert!((cost.cost - 0.2).abs() < 1e-12);
        assert!(AccessLogCost::new("info", &[1.0], &[]).cost.is_nan());
    }

    #[test]
    fn scaling_compares_lookups_only() {
        let again = |mut phase: PhaseReport| {
            let mut repeated = phase.operations[0].clone();
            repeated.name.push_str(AGAIN);
            phase.operations.push(repeated);
            phase
        };
        let s = scaling(&[again(phase(10_000, 1.0)), again(phase(1_000_000, 1.2))]);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "baseline");
        assert_eq!(s[0].normalized_ratio, None);
        assert_eq!(s[1].name, "prefactor fetch_session");
        assert!((s[1].ratio - 1.2).abs() < 1e-9);
        assert!((s[1].normalized_ratio.unwrap() - 1.2).abs() < 1e-9);
        assert!(scaling(&[phase(10, 1.0)]).is_empty());
    }

    #[test]
    fn the_json_has_the_documented_shape() {
        let phases = vec![phase(10_000, 1.0), phase(1_000_000, 1.2)];
        let report = BenchReport {
            started_at: "2026-01-01T00:00:00Z".into(),
            git_commit: None,
            machine: Machine {
                cpus: 2,
                cpu_model: "test".into(),
                memory_bytes: 1 << 30,
                kernel: "linux".into(),
            },
            config: RunConfig {
                sessions: 1_000_000,
                small_sessions: 10_000,
                connections: 32,
                light_connections: 1,
                duration_seconds: 10.0,
                warmup_seconds: 2.0,
                rounds: 4,
                client_threads: 2,
                server_log_level: "warn".into(),
                workload: Workload::Uniform,
            },
            stores: vec![StoreReport {
                store: "sqlite".into(),
                scaling: scaling(&phases),
                phases,
                error: None,
            }],
        };
        let json = serde_json::to_value(&report).unwrap();
        let store = &json["stores"][0];
        assert_eq!(store["store"], "sqlite");
        let op = &store["phases"][1]["operations"][1];
        for key in ["requests_per_second", "p50_ms", "p99_ms", "p999_ms"] {
            assert!(op["stats"][key].is_number(), "{key}: {op}");
        }
        assert!(store["phases"][0]["server_peak_rss_bytes"].is_number());
        assert!(store["phases"][0]["database_after_seeding"]["bytes_per_session"].is_number());
        assert!(store["scaling"][1]["ratio"].is_number());
        assert!(store["scaling"][1]["normalized_ratio"].is_number());
        assert_eq!(json["config"]["connections"], 32);
        let text = table(&report);
        assert!(text.contains("prefactor fetch_session"), "{text}");
        assert!(text.contains("1,000,000 sessions"), "{text}");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
    }
}
