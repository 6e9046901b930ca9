//! What enriching a session costs, measured against baselines in the same
//! run (so the figures compare on any machine): `cargo xtask enrich-bench`
//! (which runs this example with `--release`).
//!
//! ```text
//! cargo xtask enrich-bench [-- --geoip-db PATH ... --corpus DIR --sessions N]
//! ```
//!
//! Without `--geoip-db` a GeoLite2-City layout database of 100,000 random
//! networks is generated in memory; with it, the real files are used and
//! looked up with random public addresses. `--corpus DIR` (uap-core's
//! tests) adds its 1,601 agents to the cold-parse mix.
//!
//! Measured, per operation:
//! * baseline: a `HashMap<String, _>` lookup by user agent;
//! * user agent parse, cold (no cache) and cached (the LRU the server uses);
//! * GeoIP lookup;
//! * enrichment of one session (cached parse + lookup, as the server does);
//! * the write path: recording a session through the session service into
//!   SQLite, without enrichment and with it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use login_sessions_server::clock::SystemClock;
use login_sessions_server::domain::credential::{Credential, Role};
use login_sessions_server::enrich::Enricher;
use login_sessions_server::enrich::geoip::{GeoIp, is_locatable};
use login_sessions_server::enrich::user_agent::{DEFAULT_CACHE_ENTRIES, UserAgentParser};
use login_sessions_server::pfid::Pfid;
use login_sessions_server::service::{NewSession, SessionService, SessionSettings};
use login_sessions_server::store::SharedStore;
use login_sessions_server::store::sqlite::SqliteStore;
use mmdb_writer::Writer;
use mmdb_writer::ipnet::{IpNet, Ipv4Net};
use serde::Serialize;

const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
    "looker-sdk-python/26.22.0",
    "curl/8.5.0",
];

struct Options {
    geoip: Vec<PathBuf>,
    corpus: Option<PathBuf>,
    sessions: usize,
}

fn options() -> Options {
    let mut options = Options {
        geoip: Vec::new(),
        corpus: None,
        sessions: 3000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--geoip-db" => options
                .geoip
                .push(args.next().expect("--geoip-db PATH").into()),
            "--corpus" => options.corpus = Some(args.next().expect("--corpus DIR").into()),
            "--sessions" => {
                options.sessions = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--sessions N")
            }
            other => {
                panic!("unknown argument {other}; use --geoip-db PATH, --corpus DIR, --sessions N")
            }
        }
    }
    options
}

/// A small, fast, deterministic generator (xorshift64*).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn public_ipv4(&mut self) -> IpAddr {
        loop {
            let ip = IpAddr::V4(Ipv4Addr::from(self.next() as u32));
            if is_locatable(ip) {
                return ip;
            }
        }
    }
}

#[derive(Serialize)]
struct Named {
    iso_code: &'static str,
    names: HashMap<&'static str, String>,
}

#[derive(Serialize)]
struct City {
    city: HashMap<&'static str, HashMap<&'static str, String>>,
    subdivisions: Vec<Named>,
    country: Named,
}

/// A GeoLite2-City layout database of `networks` random /24s (a tree as
/// deep as real ones), 2,000 distinct cities.
fn generated_database(random: &mut Random, networks: usize) -> Vec<u8> {
    let mut writer = Writer::new("GeoLite2-City");
    for i in 0..networks {
        let ip = match random.public_ipv4() {
            IpAddr::V4(v4) => v4,
            IpAddr::V6(_) => unreachable!(),
        };
        let network = Ipv4Net::new(ip, 24).unwrap().trunc();
        let city = City {
            city: HashMap::from([(
                "names",
                HashMap::from([("en", format!("City {}", i % 2000))]),
            )]),
            subdivisions: vec![Named {
                iso_code: "CA",
                names: HashMap::from([("en", "California".to_string())]),
            }],
            country: Named {
                iso_code: "US",
                names: HashMap::from([("en", "United States".to_string())]),
            },
        };
        writer.insert(IpNet::V4(network), &city).unwrap();
    }
    writer.to_bytes().unwrap()
}

fn corpus_agents(dir: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("test_ua.yaml")).expect("test_ua.yaml");
    let corpus: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    corpus["test_cases"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|case| case["user_agent_string"].as_str().map(str::to_string))
        .collect()
}

/// Runs `op` over `inputs` round-robin for at least `budget`; ns per op.
fn measure<T>(name: &str, inputs: &[T], budget: Duration, mut op: impl FnMut(&T)) -> f64 {
    for input in inputs.iter().take(1000) {
        op(input); // warm up
    }
    let start = Instant::now();
    let mut n = 0usize;
    while start.elapsed() < budget {
        for input in inputs {
            op(input);
        }
        n += inputs.len();
    }
    let ns = start.elapsed().as_nanos() as f64 / n as f64;
    println!("{name:<52} {:>12.0} ns/op", ns);
    ns
}

/// This process's resident memory in MB (Linux), for the memory report.
fn rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// What the compiled rules cost in memory: resident memory before and
/// after compiling them, and after parsing `agents` (the regex engines
/// grow their caches as rules are used).
fn memory_report(agents: &[String]) {
    let Some(before) = rss_mb() else {
        println!("memory: /proc/self/status is not available here");
        return;
    };
    let parser = UserAgentParser::new(0).unwrap();
    let compiled = rss_mb().unwrap_or(before);
    for agent in agents {
        black_box(parser.parse(agent));
    }
    let used = rss_mb().unwrap_or(compiled);
    let parser = Arc::new(parser);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            let parser = parser.clone();
            scope.spawn(move || {
                for agent in agents.iter().rev() {
                    black_box(parser.parse(agent));
                }
            });
        }
    });
    let threads = rss_mb().unwrap_or(used);
    println!(
        "memory: uap-core rules compiled +{:.1} MB; after parsing {} agents +{:.1} MB; after 8 more threads parsed them all +{:.1} MB",
        compiled - before,
        agents.len(),
        used - before,
        threads - before
    );
}

fn admin() -> Credential {
    Credential {
        id: Pfid::ZERO,
        name: None,
        role: Role::Admin,
        identity_store_id: None,
        user_id: None,
        rate_limit: None,
        created_at: chrono::DateTime::UNIX_EPOCH,
        revoked_at: None,
    }
}

fn service(enricher: Arc<Enricher>, dir: &std::path::Path, name: &str) -> SessionService {
    let store: SharedStore = Arc::new(SqliteStore::open(&dir.join(name)).unwrap());
    SessionService::new(store, Arc::new(SystemClock), SessionSettings::default())
        .with_enricher(enricher)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Builds sessions (the CPU part of recording one: validation, id,
/// enrichment) and records them (that plus the SQLite insert) through each
/// service, one without enrichment and one with, alternating in rounds so
/// that disk and machine noise fall on both alike; the median round, in ns
/// per session: `[[build plain, build enriched], [record plain, record
/// enriched]]`.
async fn write_paths(
    plain: &SessionService,
    enriched: &SessionService,
    addresses: &[IpAddr],
    count: usize,
) -> [[f64; 2]; 2] {
    let caller = admin();
    let request = |i: usize| NewSession {
        identity_store_id: "bench".into(),
        user_id: Some(format!("user-{}", i % 500)),
        ip: Some(addresses[i % addresses.len()]),
        user_agent: Some(AGENTS[i % AGENTS.len()].into()),
        ..Default::default()
    };
    let rounds = 21;
    let per_round = count.div_ceil(rounds).max(1);
    let mut samples: [[Vec<f64>; 2]; 2] = Default::default();
    let mut i = 0;
    for round in 0..=rounds {
        for (k, service) in [plain, enriched].into_iter().enumerate() {
            let start = Instant::now();
            for j in 0..per_round * 10 {
                black_box(service.new_session(&caller, request(i + j)).unwrap());
            }
            let build = start.elapsed().as_nanos() as f64 / (per_round * 10) as f64;
            let start = Instant::now();
            for j in 0..per_round {
                service.create(&caller, request(i + j)).await.unwrap();
            }
            let record = start.elapsed().as_nanos() as f64 / per_round as f64;
            if round > 0 {
                // round 0 warms up
                samples[0][k].push(build);
                samples[1][k].push(record);
            }
        }
        i += per_round;
    }
    let [build, record] = samples.map(|pair| pair.map(median));
    for (name, ns) in [
        ("build a session (service), no enrichment", build[0]),
        ("build a session (service), enriched", build[1]),
        (
            "record a session (build + SQLite), no enrichment",
            record[0],
        ),
        ("record a session (build + SQLite), enriched", record[1]),
    ] {
        println!("{name:<52} {ns:>12.0} ns/op");
    }
    [build, record]
}

#[tokio::main]
async fn main() {
    let options = options();
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let mut memory_agents: Vec<String> = AGENTS.iter().map(|a| a.to_string()).collect();
    if let Some(dir) = &options.corpus {
        memory_agents.extend(corpus_agents(dir));
    }
    memory_report(&memory_agents);
    let budget = Duration::from_millis(700);

    let geoip = if options.geoip.is_empty() {
        let bytes = generated_database(&mut random, 100_000);
        println!(
            "GeoIP: generated GeoLite2-City layout database, 100000 networks, {:.1} MB",
            bytes.len() as f64 / 1e6
        );
        GeoIp::from_bytes(vec![("generated".into(), bytes)]).unwrap()
    } else {
        let geoip = GeoIp::open(options.geoip.clone()).unwrap();
        for database in geoip.databases() {
            println!("GeoIP: {database}");
        }
        geoip
    };
    let addresses: Vec<IpAddr> = (0..10_000).map(|_| random.public_ipv4()).collect();
    let mut cold_agents: Vec<String> = AGENTS.iter().map(|a| a.to_string()).collect();
    if let Some(dir) = &options.corpus {
        cold_agents.extend(corpus_agents(dir));
    }
    println!(
        "{} agents for the cold parse, {} for the cached one, {} random public IPv4 addresses\n",
        cold_agents.len(),
        AGENTS.len(),
        addresses.len()
    );

    let table: HashMap<String, usize> = AGENTS
        .iter()
        .enumerate()
        .map(|(i, a)| (a.to_string(), i))
        .collect();
    let agents: Vec<String> = AGENTS.iter().map(|a| a.to_string()).collect();
    let baseline = measure(
        "baseline: HashMap<String, _> lookup",
        &agents,
        budget,
        |a| {
            black_box(table.get(a.as_str()));
        },
    );
    let cold = UserAgentParser::new(0).unwrap();
    let parse_cold = measure("user agent parse, no cache", &cold_agents, budget, |a| {
        black_box(cold.parse(a));
    });
    let cached = UserAgentParser::new(DEFAULT_CACHE_ENTRIES).unwrap();
    let parse_cached = measure("user agent parse, cached (LRU hit)", &agents, budget, |a| {
        black_box(cached.parse(a));
    });
    let lookup = measure("GeoIP lookup", &addresses, budget, |ip| {
        black_box(geoip.lookup(*ip));
    });
    let enricher = Arc::new(Enricher::new(Some(Arc::new(cached)), geoip));
    let pairs: Vec<(IpAddr, &str)> = addresses
        .iter()
        .enumerate()
        .map(|(i, ip)| (*ip, AGENTS[i % AGENTS.len()]))
        .collect();
    let enrich = measure(
        "enrich one session (cached parse + lookup)",
        &pairs,
        budget,
        |(ip, agent)| {
            black_box(enricher.enrich(Some(*ip), Some(agent)));
        },
    );
    let enrich_cold = parse_cold + lookup;

    println!();
    let dir = tempfile::tempdir().unwrap();
    let [build, record] = write_paths(
        &service(
            Arc::new(Enricher::new(None, GeoIp::none())),
            dir.path(),
            "plain.db",
        ),
        &service(enricher.clone(), dir.path(), "enriched.db"),
        &addresses,
        options.sessions,
    )
    .await;

    println!("\nratios:");
    for (name, ns) in [
        ("parse, no cache", parse_cold),
        ("parse, cached", parse_cached),
        ("GeoIP lookup", lookup),
        ("enrich (cached parse)", enrich),
        ("enrich (cold parse)", enrich_cold),
    ] {
        println!(
            "  {name:<22} = {:>8.1} x HashMap lookup = {:>5.2}% of recording a session",
            ns / baseline,
            100.0 * ns / record[0]
        );
    }
    println!(
        "  building a session: enriched / plain = {:.2} (+{:.0} ns)",
        build[1] / build[0],
        build[1] - build[0]
    );
    println!(
        "  recording a session: enriched / plain = {:.2} (median rounds; the SQLite write dominates and varies with the disk)",
        record[1] / record[0]
    );
}
