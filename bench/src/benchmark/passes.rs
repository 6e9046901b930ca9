//! How one pass of operations is measured: the baseline first, then each
//! other operation in rounds alternating with it (its ratio the rounds'
//! median), or, in a pass without the baseline (the writes), each in one
//! piece against the baseline given. Every operation is probed once
//! before it is measured, and every measurement is logged as it ends.

use std::sync::Arc;

use crate::caches::{hit_rate, session_cache_counts};
use crate::fixture::{Fixture, Rng};
use crate::load;
use crate::operations::{Kind, Operation};
use crate::report::{self, OperationReport};

pub(super) fn log_operation(report: &OperationReport) {
    match &report.stats {
        Some(stats) => eprintln!(
            "  {:<w$} {:>8.0} req/s  p50 {:.3} ms  p99 {:.3} ms  server CPU {:.0} us/request{}",
            report.name,
            stats.requests_per_second,
            stats.p50_ms,
            stats.p99_ms,
            stats.server_cpu_us_per_request.unwrap_or(f64::NAN),
            if report.round_ratios.is_empty() {
                String::new()
            } else {
                let rounds: Vec<String> = report
                    .round_ratios
                    .iter()
                    .map(|r| format!("{r:.2}"))
                    .collect();
                format!("  rounds {}", rounds.join(" "))
            },
            w = report::NAME_WIDTH
        ),
        None => eprintln!(
            "  {:<w$} {}",
            report.name,
            report.note.as_deref().unwrap_or(""),
            w = report::NAME_WIDTH
        ),
    }
}

/// Measures the operations of one pass in order, each with `suffix` added
/// to its name, and returns their reports, the baseline the pass measured
/// (the mean of its measurements) and whether all went well.
///
/// When the pass has the baseline, it is measured first, then each other
/// operation in `rounds` rounds alternating with the baseline (operation,
/// baseline, operation, baseline, ...). Each round's ratio is against the
/// mean of the baselines just before and just after it, and the
/// operation's ratio is the median of its rounds': the machine's drift
/// (another tenant's load on a shared host moved the baseline by half
/// within a minute) weighs on both sides of each ratio, and a burst that
/// hits one round does not move the median. Its other figures are all
/// its rounds' together, and the baseline's rounds after it are reported
/// as one measurement `again`. Operations of a pass without the baseline
/// (the writes) are measured in one piece and compared with `baseline`.
pub(super) async fn measure_pass(
    pass: &[&'static Operation],
    fixture: &Arc<Fixture>,
    addr: std::net::SocketAddr,
    config: load::LoadConfig,
    suffix: &str,
    baseline: Option<&report::Stats>,
    rounds: u32,
) -> (Vec<OperationReport>, Option<report::Stats>, bool) {
    let mut all_ok = true;
    let mut reports = Vec::new();
    let Some(baseline_op) = pass.iter().copied().find(|op| op.kind == Kind::Baseline) else {
        for &op in pass {
            let (mut op_report, ok) = measure(op, fixture.clone(), config, baseline).await;
            all_ok &= ok;
            op_report.name.push_str(suffix);
            log_operation(&op_report);
            reports.push(op_report);
        }
        return (reports, baseline.copied(), all_ok);
    };
    let (first, ok) = measure_baseline(baseline_op, fixture, config, suffix, false).await;
    all_ok &= ok;
    let mut baselines: Vec<report::Stats> = first.stats.into_iter().collect();
    let mut previous = first.stats;
    reports.push(first);
    let round_config = load::LoadConfig {
        warmup: config.warmup / rounds,
        duration: config.duration / rounds,
        ..config
    };
    for &op in pass.iter().filter(|op| op.kind != Kind::Baseline) {
        let cache_counts = session_cache_counts(addr).await;
        let alternated = alternate(op, baseline_op, fixture, round_config, rounds, previous).await;
        let (mut op_report, mut again, ok) = (alternated.op, alternated.baseline, alternated.ok);
        op_report.session_cache_hit_rate = hit_rate(cache_counts, session_cache_counts(addr).await);
        all_ok &= ok;
        op_report.name.push_str(suffix);
        again.name.push_str(suffix);
        again.name.push_str(report::AGAIN);
        log_operation(&op_report);
        log_operation(&again);
        baselines.extend(again.stats);
        previous = alternated.last_baseline.or(previous);
        reports.push(op_report);
        reports.push(again);
    }
    let measured = report::mean_of_baselines(&baselines);
    (reports, measured.or(baseline.copied()), all_ok)
}

/// What [`alternate`] measured.
struct Alternated {
    op: OperationReport,
    /// The baseline's rounds after the operation's, as one measurement.
    baseline: OperationReport,
    /// The baseline's last round, the one before whatever comes next.
    last_baseline: Option<report::Stats>,
    ok: bool,
}

/// Probes `op`, then measures it in `rounds` rounds, each followed by a
/// round of the baseline; `before` is the baseline measured just before
/// the first. See [`measure_pass`].
async fn alternate(
    op: &'static Operation,
    baseline_op: &'static Operation,
    fixture: &Arc<Fixture>,
    config: load::LoadConfig,
    rounds: u32,
    before: Option<report::Stats>,
) -> Alternated {
    let mut out = Alternated {
        op: empty_report(op),
        baseline: empty_report(baseline_op),
        last_baseline: None,
        ok: false,
    };
    if let Err(note) = probe(op, fixture, config.addr).await {
        out.op.note = Some(note);
        return out;
    }
    let mut op_runs: Option<load::RunResult> = None;
    let mut baseline_runs: Option<load::RunResult> = None;
    let mut round_ratios = Vec::new();
    let mut previous = before;
    for _ in 0..rounds {
        let runs = async {
            let measured = load::run(op, fixture.clone(), config).await?;
            let baseline = load::run(baseline_op, fixture.clone(), config).await?;
            anyhow::Ok((measured, baseline))
        };
        let (measured, baseline) = match runs.await {
            Ok(runs) => runs,
            Err(error) => {
                out.op.note = Some(format!("failed: {error:#}"));
                return out;
            }
        };
        let (measured_stats, baseline_stats) = (report::stats(&measured), report::stats(&baseline));
        let around = match &previous {
            Some(before) => report::mean_baseline(before, &baseline_stats),
            None => baseline_stats,
        };
        round_ratios.extend(report::ratios(&measured_stats, &around));
        previous = Some(baseline_stats);
        for (total, run) in [(&mut op_runs, measured), (&mut baseline_runs, baseline)] {
            match total {
                Some(total) => {
                    if let Err(error) = total.then(run) {
                        out.op.note = Some(format!("failed: {error:#}"));
                        return out;
                    }
                }
                None => *total = Some(run),
            }
        }
    }
    if let Some(runs) = op_runs {
        out.op.exhausted = runs.exhausted;
        out.op.note = runs.sample_error.clone();
        out.op.stats = Some(report::stats(&runs));
    }
    out.op.vs_baseline = report::median_ratios(&round_ratios);
    if rounds > 1 {
        out.op.round_ratios = round_ratios.iter().map(|r| r.throughput).collect();
    }
    out.baseline.stats = baseline_runs.as_ref().map(report::stats);
    out.last_baseline = previous;
    out.ok = true;
    out
}

/// One measurement of the baseline, named as the first of a pass or as
/// one of those measured `again`.
async fn measure_baseline(
    op: &'static Operation,
    fixture: &Arc<Fixture>,
    config: load::LoadConfig,
    suffix: &str,
    again: bool,
) -> (OperationReport, bool) {
    let (mut report, ok) = measure(op, fixture.clone(), config, None).await;
    report.name.push_str(suffix);
    if again {
        report.name.push_str(report::AGAIN);
    }
    log_operation(&report);
    (report, ok)
}

/// A report of `op` with nothing measured yet.
fn empty_report(op: &Operation) -> OperationReport {
    OperationReport {
        name: op.name.to_string(),
        kind: report::kind_name(op.kind),
        stats: None,
        vs_baseline: None,
        exhausted: false,
        note: None,
        session_cache_hit_rate: None,
        round_ratios: Vec::new(),
    }
}

/// Sends `op`'s first request once: an error saying why, unless it
/// answers the status `op` expects (its body is collected, as a measured
/// one's would be).
async fn probe(
    op: &'static Operation,
    fixture: &Fixture,
    addr: std::net::SocketAddr,
) -> Result<(), String> {
    let Some(probe) = (op.build)(fixture, &mut Rng::new(1)) else {
        return Err("nothing to do (no suitable sessions in the sample)".into());
    };
    match load::once(addr, &probe).await {
        Ok((status, body)) if status == op.expected_status => {
            if let Some(collect) = op.collect {
                collect(fixture, &body);
            }
            Ok(())
        }
        Ok((status, body)) => Err(format!(
            "probe failed: {} {} answered {status}: {}",
            probe.method,
            probe.path,
            String::from_utf8_lossy(&body[..body.len().min(300)])
        )),
        Err(error) => Err(format!("probe failed: {error:#}")),
    }
}

/// Probes the operation with one request, then measures it.
pub(super) async fn measure(
    op: &'static Operation,
    fixture: Arc<Fixture>,
    config: load::LoadConfig,
    baseline: Option<&report::Stats>,
) -> (OperationReport, bool) {
    let mut out = empty_report(op);
    if let Err(note) = probe(op, &fixture, config.addr).await {
        out.note = Some(note);
        return (out, false);
    }
    match load::run(op, fixture, config).await {
        Ok(result) => {
            let stats = report::stats(&result);
            out.vs_baseline = baseline.and_then(|b| report::ratios(&stats, b));
            out.exhausted = result.exhausted;
            out.note = result.sample_error.clone();
            out.stats = Some(stats);
            (out, true)
        }
        Err(error) => {
            out.note = Some(format!("failed: {error:#}"));
            (out, false)
        }
    }
}
