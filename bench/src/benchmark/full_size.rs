//! What the harness measures at the full size only, each on servers of
//! its own over the same data: the revocation window to a second server,
//! the latency under an idle-socket attack, and the access log's cost.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

use super::BenchArgs;
use super::passes::{log_operation, measure};
use crate::fixture::{Credentials, Fixture};
use crate::idle_sockets::IdleSockets;
use crate::load;
use crate::operations::{Kind, OPERATIONS};
use crate::report::{AccessLogCost, OperationReport};
use crate::revocation::{self, RevocationWindow};
use crate::server::{self, Binary, Database};

/// The revocation window between `server` and a replica started on the
/// same database with the same flags.
pub(super) async fn revocation_window(
    args: &BenchArgs,
    binary: &Binary,
    database: &Database,
    server: &server::Server,
    credentials: &Credentials,
    dir: &Path,
) -> anyhow::Result<RevocationWindow> {
    let log = dir.join("replica.log");
    let replica = binary
        .serve(database, &args.server_log_level, &log)
        .await
        .context("starting a replica for the revocation window")?;
    let window = revocation::measure(
        server.addr,
        replica.addr,
        credentials,
        args.revocation_rounds,
    )
    .await;
    replica.stop()?;
    let window = window?;
    eprintln!(
        "  revocation window over {} rounds: p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({} over {} ms, {} never refused)",
        window.rounds,
        window.p50_ms,
        window.p99_ms,
        window.max_ms,
        window.over_promise,
        revocation::PROMISED.as_millis(),
        window.never_refused
    );
    Ok(window)
}

/// The connection bound `serve` sets itself under a 1,024 open-file limit
/// (less 128 spare descriptors and the default database pool of 16).
const BOUND_UNDER_1024_FILES: &str = "880";

/// The baseline and native `session_view` at light load on a server with
/// `BOUND_UNDER_1024_FILES` connections while `--idle-sockets` attacking
/// sockets are held open against it.
pub(super) async fn under_idle_sockets(
    args: &BenchArgs,
    binary: &Binary,
    database: &Database,
    fixture: &Arc<Fixture>,
    config: load::LoadConfig,
    dir: &Path,
) -> anyhow::Result<(Vec<OperationReport>, bool)> {
    let server = binary
        .serve_with(
            database,
            &args.server_log_level,
            &dir.join("attacked.log"),
            &["--max-connections", BOUND_UNDER_1024_FILES],
        )
        .await
        .context("starting a server for the idle-socket attack")?;
    let held = IdleSockets::hold(server.addr, args.idle_sockets);
    // Let the attack fill the server before measuring.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let config = load::LoadConfig {
        addr: server.addr,
        connections: args.light_connections.max(1),
        server_pid: Some(server.pid()),
        ..config
    };
    let suffix = format!(
        " [{} conn, {} idle sockets]",
        config.connections, args.idle_sockets
    );
    let mut reports = Vec::new();
    let mut all_ok = true;
    let mut baseline = None;
    for name in ["baseline (constant body)", "native session_view"] {
        let op = OPERATIONS
            .iter()
            .find(|op| op.name == name)
            .with_context(|| format!("no operation {name}"))?;
        let (mut report, ok) = measure(op, fixture.clone(), config, baseline.as_ref()).await;
        all_ok &= ok;
        if op.kind == Kind::Baseline {
            baseline = report.stats;
        }
        report.name.push_str(&suffix);
        log_operation(&report);
        reports.push(report);
    }
    eprintln!(
        "  the attacker reopened {} sockets the server closed",
        held.reopened()
    );
    drop(held);
    server.stop()?;
    Ok((reports, all_ok))
}

/// The log level of the server the access log's cost is measured against.
pub(super) const QUIET_LOG_LEVEL: &str = "warn";

/// The access log's cost: the baseline on a fresh server at
/// `--server-log-level` and on one at `warn`, alternately,
/// `--access-log-rounds` times each, on the same data.
pub(super) async fn access_log_cost(
    args: &BenchArgs,
    binary: &Binary,
    database: &Database,
    fixture: &Arc<Fixture>,
    config: load::LoadConfig,
    dir: &Path,
) -> anyhow::Result<AccessLogCost> {
    let baseline = OPERATIONS
        .iter()
        .find(|op| op.kind == Kind::Baseline)
        .context("no baseline operation")?;
    // Two fresh servers on the same data, differing only in their log
    // level: the run's server has served every write by now, and its
    // state (a long write-ahead log, a full cache) would weigh on one
    // side only.
    let server = binary
        .serve(database, &args.server_log_level, &dir.join("logged.log"))
        .await
        .context("starting a server for the access log's cost")?;
    let quiet = binary
        .serve(database, QUIET_LOG_LEVEL, &dir.join("quiet.log"))
        .await
        .context("starting a server at warn for the access log's cost")?;
    let mut logged = Vec::new();
    let mut unlogged = Vec::new();
    for _ in 0..args.access_log_rounds {
        for (addr, pid, into) in [
            (server.addr, server.pid(), &mut logged),
            (quiet.addr, quiet.pid(), &mut unlogged),
        ] {
            let config = load::LoadConfig {
                addr,
                server_pid: Some(pid),
                ..config
            };
            let (op_report, ok) = measure(baseline, fixture.clone(), config, None).await;
            match op_report.stats {
                Some(stats) if ok => into.push(stats.requests_per_second),
                _ => bail!(
                    "the baseline failed while measuring the access log: {}",
                    op_report.note.unwrap_or_default()
                ),
            }
        }
    }
    quiet.stop()?;
    server.stop()?;
    let cost = AccessLogCost::new(&args.server_log_level, &logged, &unlogged);
    eprintln!(
        "  access log at {}: baseline {:.0} req/s against {:.0} at warn, {:.1}% cost",
        cost.log_level,
        cost.baseline_rps,
        cost.baseline_rps_at_warn,
        cost.cost * 100.0
    );
    Ok(cost)
}
