//! The closed-loop load generator: `connections` tasks, each with its own
//! keep-alive HTTP/1.1 connection (hyper's low-level client, no pool), each
//! sending its next request as soon as the previous answer is read. A
//! warm-up is run and discarded, then requests are timed for a fixed
//! duration into a latency histogram.
//!
//! Bounded: every loop checks the deadline before it sends, and every
//! request has a timeout, so a run ends by itself. Traffic goes only to the
//! address given, which the harness makes 127.0.0.1.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::operations::{Fixture, Operation, Request, Rng};

/// The longest a single request may take before the run gives up on it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The highest latency the histogram holds (longer ones are clamped).
const HISTOGRAM_MAX_MICROS: u64 = 60_000_000;

/// How to drive an operation.
#[derive(Clone, Copy, Debug)]
pub struct LoadConfig {
    pub addr: SocketAddr,
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// The server's process, to measure the CPU time it spends.
    pub server_pid: Option<u32>,
}

/// What one run of an operation measured.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// Successful responses completed in the measured window.
    pub ok: u64,
    /// Responses with another status in the measured window, by status.
    pub unexpected: BTreeMap<u16, u64>,
    /// Requests that failed at the transport level or timed out.
    pub transport_errors: u64,
    /// Latency of the successful responses, in microseconds.
    pub histogram: Histogram<u64>,
    /// The measured window: from the end of the warm-up to the last
    /// response (at most the configured duration plus one request).
    pub elapsed: Duration,
    /// Whether a connection stopped early because the operation ran out
    /// of work (a pool of ids it consumes).
    pub exhausted: bool,
    /// One unexpected response body, for the report.
    pub sample_error: Option<String>,
    /// CPU time (user + system) the server spent in the measured window.
    pub server_cpu: Option<Duration>,
    /// CPU time the load generator (this process) spent in the window.
    pub client_cpu: Option<Duration>,
}

impl RunResult {
    fn empty() -> anyhow::Result<RunResult> {
        Ok(RunResult {
            ok: 0,
            unexpected: BTreeMap::new(),
            transport_errors: 0,
            histogram: new_histogram()?,
            elapsed: Duration::ZERO,
            exhausted: false,
            sample_error: None,
            server_cpu: None,
            client_cpu: None,
        })
    }

    fn merge(&mut self, other: RunResult) -> anyhow::Result<()> {
        self.ok += other.ok;
        for (status, count) in other.unexpected {
            *self.unexpected.entry(status).or_default() += count;
        }
        self.transport_errors += other.transport_errors;
        self.histogram
            .add(&other.histogram)
            .map_err(|e| anyhow::anyhow!("merging histograms: {e:?}"))?;
        self.elapsed = self.elapsed.max(other.elapsed);
        self.exhausted |= other.exhausted;
        if self.sample_error.is_none() {
            self.sample_error = other.sample_error;
        }
        Ok(())
    }

    /// Requests that did not succeed.
    pub fn errors(&self) -> u64 {
        self.unexpected.values().sum::<u64>() + self.transport_errors
    }
}

pub fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, HISTOGRAM_MAX_MICROS, 3)
        .map_err(|e| anyhow::anyhow!("creating a histogram: {e:?}"))
}

/// One keep-alive connection to the server.
pub struct Connection {
    sender: http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the server closes.
            let _ = connection.await;
        });
        Ok(Connection {
            sender,
            host: addr.to_string(),
        })
    }

    /// Sends one request and reads the whole answer: status and body.
    pub async fn send(&mut self, request: &Request) -> anyhow::Result<(u16, Bytes)> {
        let mut builder = hyper::Request::builder()
            .method(request.method.clone())
            .uri(request.path.as_str())
            .header(http::header::HOST, self.host.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(*name, value.as_str());
        }
        if let Some(content_type) = request.content_type {
            builder = builder.header(http::header::CONTENT_TYPE, content_type);
        }
        let http_request = builder.body(Full::new(request.body.clone()))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(http_request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// Drives `operation` as configured and returns what was measured.
pub async fn run(
    operation: &'static Operation,
    fixture: Arc<Fixture>,
    config: LoadConfig,
) -> anyhow::Result<RunResult> {
    let start = Instant::now();
    let measure_from = start + config.warmup;
    let deadline = measure_from + config.duration;
    let mut tasks = Vec::with_capacity(config.connections);
    for index in 0..config.connections {
        let fixture = fixture.clone();
        let connection = Connection::open(config.addr).await?;
        let seed = 0x5eed_0000 + index as u64;
        tasks.push(tokio::spawn(connection_loop(
            operation,
            fixture,
            connection,
            Rng::new(seed),
            measure_from,
            deadline,
        )));
    }
    // The server's CPU time at the start and the end of the measured window.
    // The CPU time of the server and of this process at the start and the
    // end of the measured window.
    let client_pid = std::process::id();
    let server_pid = config.server_pid;
    let cpu_at_start = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        (
            server_pid.and_then(process_cpu_time),
            process_cpu_time(client_pid),
        )
    });
    let mut total = RunResult::empty()?;
    for task in tasks {
        total.merge(task.await??)?;
    }
    let (server_start, client_start) = cpu_at_start.await?;
    let server_end = server_pid.and_then(process_cpu_time);
    let client_end = process_cpu_time(client_pid);
    total.server_cpu = server_end
        .zip(server_start)
        .and_then(|(end, start)| end.checked_sub(start));
    total.client_cpu = client_end
        .zip(client_start)
        .and_then(|(end, start)| end.checked_sub(start));
    Ok(total)
}

/// Clock ticks per second in `/proc/<pid>/stat` (`USER_HZ`, 100 on Linux).
const USER_HZ: u64 = 100;

/// The CPU time (user + system) a process has used, from `/proc/<pid>/stat`.
pub fn process_cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_cpu_ticks(&stat).map(|ticks| Duration::from_millis(ticks * 1000 / USER_HZ))
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line. The
/// command name (field 2) is in parentheses and may hold spaces, so fields
/// are counted after its closing parenthesis.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state): utime is field 14, stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

async fn connection_loop(
    operation: &'static Operation,
    fixture: Arc<Fixture>,
    mut connection: Connection,
    mut rng: Rng,
    measure_from: Instant,
    deadline: Instant,
) -> anyhow::Result<RunResult> {
    let mut result = RunResult::empty()?;
    loop {
        let sent = Instant::now();
        if sent >= deadline {
            break;
        }
        let Some(request) = (operation.build)(&fixture, &mut rng) else {
            result.exhausted = true;
            break;
        };
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, connection.send(&request)).await;
        let done = Instant::now();
        let measured = done >= measure_from;
        match outcome {
            Ok(Ok((status, body))) if status == operation.expected_status => {
                if let Some(collect) = operation.collect {
                    collect(&fixture, &body);
                }
                if measured {
                    result.ok += 1;
                    let micros = u64::try_from(done.duration_since(sent).as_micros())
                        .unwrap_or(u64::MAX)
                        .clamp(1, HISTOGRAM_MAX_MICROS);
                    result.histogram.record(micros)?;
                }
            }
            Ok(Ok((status, body))) => {
                if measured {
                    *result.unexpected.entry(status).or_default() += 1;
                }
                if result.sample_error.is_none() {
                    result.sample_error = Some(format!(
                        "{} {} -> {status}: {}",
                        request.method,
                        request.path,
                        String::from_utf8_lossy(&body[..body.len().min(300)])
                    ));
                }
            }
            Ok(Err(error)) => {
                result.transport_errors += 1;
                result.sample_error.get_or_insert_with(|| error.to_string());
                // The connection is unusable: open a new one, unless the
                // server is gone.
                let addr = connection.host.parse()?;
                connection = Connection::open(addr).await?;
            }
            Err(_) => {
                result.transport_errors += 1;
                result
                    .sample_error
                    .get_or_insert_with(|| format!("no answer within {REQUEST_TIMEOUT:?}"));
                let addr = connection.host.parse()?;
                connection = Connection::open(addr).await?;
            }
        }
        if measured {
            result.elapsed = done.duration_since(measure_from);
        }
    }
    Ok(result)
}

/// Sends one request on a fresh connection (probes, logins).
pub async fn once(addr: SocketAddr, request: &Request) -> anyhow::Result<(u16, Bytes)> {
    let mut connection = Connection::open(addr).await?;
    tokio::time::timeout(REQUEST_TIMEOUT, connection.send(request))
        .await
        .context("no answer in time")?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_from_proc_stat() {
        let stat = "4242 (login sessions) S 1 4242 4242 0 -1 4194304 1203 0 0 0 250 37 0 0 20 0 3 0 1234 0 0";
        assert_eq!(parse_cpu_ticks(stat), Some(287));
        assert_eq!(parse_cpu_ticks("garbage"), None);
    }
}
