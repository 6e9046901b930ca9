//! The figures of a measurement and how they compare with the baseline's:
//! throughput and latency from a run's histogram, their ratios, the
//! baseline several measurements make together, and the median over a
//! lookup's rounds.

use serde::Serialize;

use crate::load::RunResult;

/// Throughput and latency of one run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Stats {
    pub requests: u64,
    pub errors: u64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// Server CPU time (user + system) per successful request, in
    /// microseconds: unlike throughput, barely moved by other work on the
    /// machine.
    pub server_cpu_us_per_request: Option<f64>,
    /// The load generator's CPU time per successful request, in
    /// microseconds (it shares the machine with the server).
    pub client_cpu_us_per_request: Option<f64>,
}

/// The figures of a run (latencies from the histogram, in microseconds).
pub fn stats(result: &RunResult) -> Stats {
    let seconds = result.elapsed.as_secs_f64();
    let histogram = &result.histogram;
    let ms = |micros: u64| micros as f64 / 1000.0;
    let empty = histogram.is_empty();
    let quantile = |q: f64| {
        if empty {
            0.0
        } else {
            ms(histogram.value_at_quantile(q))
        }
    };
    Stats {
        requests: result.ok,
        errors: result.errors(),
        requests_per_second: if seconds > 0.0 {
            result.ok as f64 / seconds
        } else {
            0.0
        },
        p50_ms: quantile(0.5),
        p99_ms: quantile(0.99),
        p999_ms: quantile(0.999),
        max_ms: if empty { 0.0 } else { ms(histogram.max()) },
        server_cpu_us_per_request: result
            .server_cpu
            .filter(|_| result.ok > 0)
            .map(|cpu| cpu.as_secs_f64() * 1e6 / result.ok as f64),
        client_cpu_us_per_request: result
            .client_cpu
            .filter(|_| result.ok > 0)
            .map(|cpu| cpu.as_secs_f64() * 1e6 / result.ok as f64),
    }
}

/// An operation's figures relative to the baseline's in the same phase:
/// throughput as a fraction of the baseline's (higher is better), p50 and
/// p99 as multiples of the baseline's (lower is better).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Ratios {
    pub throughput: f64,
    pub p50: f64,
    pub p99: f64,
}

pub fn ratios(operation: &Stats, baseline: &Stats) -> Option<Ratios> {
    if baseline.requests_per_second <= 0.0 || baseline.p50_ms <= 0.0 || baseline.p99_ms <= 0.0 {
        return None;
    }
    Some(Ratios {
        throughput: operation.requests_per_second / baseline.requests_per_second,
        p50: operation.p50_ms / baseline.p50_ms,
        p99: operation.p99_ms / baseline.p99_ms,
    })
}

/// The baseline two measurements make together: their mean throughput,
/// p50 and p99 (the rest is the first's).
pub fn mean_baseline(first: &Stats, second: &Stats) -> Stats {
    Stats {
        requests_per_second: (first.requests_per_second + second.requests_per_second) / 2.0,
        p50_ms: (first.p50_ms + second.p50_ms) / 2.0,
        p99_ms: (first.p99_ms + second.p99_ms) / 2.0,
        ..*first
    }
}

/// The mean throughput, p50 and p99 of several measurements of the
/// baseline (the rest is the first's); `None` when there are none.
pub fn mean_of_baselines(baselines: &[Stats]) -> Option<Stats> {
    let first = baselines.first()?;
    let count = baselines.len() as f64;
    let mean = |figure: fn(&Stats) -> f64| baselines.iter().map(figure).sum::<f64>() / count;
    Some(Stats {
        requests_per_second: mean(|b| b.requests_per_second),
        p50_ms: mean(|b| b.p50_ms),
        p99_ms: mean(|b| b.p99_ms),
        ..*first
    })
}

/// The median of `ratios`, each figure on its own (the mean of the two
/// middle ones for an even count); `None` when there are none.
pub fn median_ratios(ratios: &[Ratios]) -> Option<Ratios> {
    fn median(mut values: Vec<f64>) -> Option<f64> {
        values.sort_by(f64::total_cmp);
        let middle = values.len() / 2;
        match values.len() {
            0 => None,
            n if n % 2 == 1 => Some(values[middle]),
            _ => Some((values[middle - 1] + values[middle]) / 2.0),
        }
    }
    Some(Ratios {
        throughput: median(ratios.iter().map(|r| r.throughput).collect())?,
        p50: median(ratios.iter().map(|r| r.p50).collect())?,
        p99: median(ratios.iter().map(|r| r.p99).collect())?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(super) mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::load::new_histogram;

    fn result(latencies_us: &[u64], seconds: u64) -> RunResult {
        let mut histogram = new_histogram().unwrap();
        for &l in latencies_us {
            histogram.record(l).unwrap();
        }
        RunResult {
            ok: latencies_us.len() as u64,
            unexpected: BTreeMap::from([(409, 2)]),
            transport_errors: 1,
            histogram,
            elapsed: Duration::from_secs(seconds),
            exhausted: false,
            sample_error: None,
            server_cpu: Some(Duration::from_millis(500)),
            client_cpu: None,
        }
    }

    #[test]
    fn stats_come_from_the_histogram() {
        let latencies: Vec<u64> = (1..=1000).collect();
        let s = stats(&result(&latencies, 2));
        assert_eq!(s.requests, 1000);
        assert_eq!(s.errors, 3);
        assert!((s.requests_per_second - 500.0).abs() < 1e-9);
        assert!((s.p50_ms - 0.5).abs() < 0.001, "{}", s.p50_ms);
        assert!((s.p99_ms - 0.99).abs() < 0.001, "{}", s.p99_ms);
        assert!((s.p999_ms - 0.999).abs() < 0.001, "{}", s.p999_ms);
        assert!((s.max_ms - 1.0).abs() < 0.001, "{}", s.max_ms);
        assert_eq!(s.server_cpu_us_per_request, Some(500.0));
        assert_eq!(s.client_cpu_us_per_request, None);
        let empty = stats(&result(&[], 0));
        assert_eq!((empty.requests_per_second, empty.p50_ms), (0.0, 0.0));
    }

    /// Figures with every latency the p50's value.
    pub(in crate::report) fn figures(rps: f64, p50: f64) -> Stats {
        Stats {
            requests: 1,
            errors: 0,
            requests_per_second: rps,
            p50_ms: p50,
            p99_ms: p50,
            p999_ms: p50,
            max_ms: p50,
            server_cpu_us_per_request: Some(50.0),
            client_cpu_us_per_request: Some(20.0),
        }
    }

    #[test]
    fn ratios_to_the_baseline() {
        let r = ratios(&figures(8_000.0, 3.0), &figures(10_000.0, 2.0)).unwrap();
        assert!((r.throughput - 0.8).abs() < 1e-9);
        assert!((r.p50 - 1.5).abs() < 1e-9);
        // `figures` gives every latency the p50's value.
        assert!((r.p99 - 1.5).abs() < 1e-9);
        assert_eq!(ratios(&figures(1.0, 1.0), &figures(0.0, 1.0)), None);
    }

    #[test]
    fn baselines_are_averaged_figure_by_figure() {
        let both = mean_baseline(&figures(8_000.0, 1.0), &figures(12_000.0, 3.0));
        assert!((both.requests_per_second - 10_000.0).abs() < 1e-9);
        assert!((both.p50_ms - 2.0).abs() < 1e-9);
        assert!((both.p99_ms - 2.0).abs() < 1e-9);
        let all = mean_of_baselines(&[
            figures(6_000.0, 1.0),
            figures(9_000.0, 2.0),
            figures(12_000.0, 6.0),
        ])
        .unwrap();
        assert!((all.requests_per_second - 9_000.0).abs() < 1e-9);
        assert!((all.p50_ms - 3.0).abs() < 1e-9);
        assert!((all.p99_ms - 3.0).abs() < 1e-9);
        assert!(mean_of_baselines(&[]).is_none());
    }

    #[test]
    fn the_median_of_round_ratios() {
        let r = |throughput, p50| Ratios {
            throughput,
            p50,
            p99: p50 * 2.0,
        };
        assert_eq!(median_ratios(&[]), None);
        assert_eq!(median_ratios(&[r(0.7, 1.4)]), Some(r(0.7, 1.4)));
        // Each figure on its own; one disturbed round does not move it.
        assert_eq!(
            median_ratios(&[r(0.72, 1.3), r(0.35, 2.9), r(0.70, 1.5)]),
            Some(r(0.70, 1.5))
        );
        let even = median_ratios(&[r(0.8, 1.0), r(0.6, 2.0), r(0.7, 1.2), r(0.75, 1.4)]).unwrap();
        assert!((even.throughput - 0.725).abs() < 1e-9);
        assert!((even.p50 - 1.3).abs() < 1e-9);
        assert!((even.p99 - 2.6).abs() < 1e-9);
    }
}
