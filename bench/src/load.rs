//! The closed-loop load generator: `connections` tasks, each with its own
//! keep-alive HTTP/1.1 connection (a minimal client, see [`Connection`]), each
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
use std::io::Write as _;

use anyhow::bail;
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::fixture::{Fixture, Rng};
use crate::operations::{Operation, Request};

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

    /// This run followed by `later` on the same operation, as one: counts
    /// and latencies together, the measured windows and CPU times added.
    pub fn then(&mut self, later: RunResult) -> anyhow::Result<()> {
        let elapsed = self.elapsed + later.elapsed;
        let add = |a: Option<Duration>, b: Option<Duration>| a.zip(b).map(|(a, b)| a + b);
        let server_cpu = add(self.server_cpu, later.server_cpu);
        let client_cpu = add(self.client_cpu, later.client_cpu);
        self.merge(later)?;
        self.elapsed = elapsed;
        self.server_cpu = server_cpu;
        self.client_cpu = client_cpu;
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

/// One keep-alive HTTP/1.1 connection to the server.
///
/// A minimal client of its own rather than hyper's: one future per
/// connection, no connection task to hand each request to and wake, so the
/// generator, which shares the two cores with the server, costs as little
/// as it can per request, the same for every operation. It writes the
/// request in one buffer and reads the status, the headers it needs
/// (`Content-Length`, `Transfer-Encoding: chunked`, `Connection: close`)
/// and the body.
pub struct Connection {
    stream: TcpStream,
    addr: SocketAddr,
    host: String,
    out: Vec<u8>,
    input: BytesMut,
    /// The server said `Connection: close`: reopen before the next request.
    closed: bool,
}

/// The largest response head accepted.
const MAX_HEAD_BYTES: usize = 64 * 1024;

impl Connection {
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            addr,
            host: addr.to_string(),
            out: Vec::with_capacity(1024),
            input: BytesMut::with_capacity(16 * 1024),
            closed: false,
        })
    }

    /// Sends one request and reads the whole answer: status and body.
    pub async fn send(&mut self, request: &Request) -> anyhow::Result<(u16, Bytes)> {
        if self.closed {
            *self = Connection::open(self.addr).await?;
        }
        self.out.clear();
        write_request(&mut self.out, &self.host, request)?;
        self.stream.write_all(&self.out).await?;

        let head_end = loop {
            if let Some(end) = find(&self.input, b"\r\n\r\n") {
                break end + 4;
            }
            if self.input.len() > MAX_HEAD_BYTES {
                bail!("a response head longer than {MAX_HEAD_BYTES} bytes");
            }
            self.fill().await?;
        };
        let head = parse_head(&self.input[..head_end])?;
        self.closed = head.close;
        let _ = self.input.split_to(head_end);
        let body = match head.body {
            BodyLength::Fixed(length) => {
                while self.input.len() < length {
                    self.fill().await?;
                }
                self.input.split_to(length).freeze()
            }
            BodyLength::Chunked => self.read_chunked().await?,
        };
        Ok((head.status, body))
    }

    /// Reads more of the response; an error if the server closed.
    async fn fill(&mut self) -> anyhow::Result<()> {
        if self.input.capacity() - self.input.len() < 4096 {
            self.input.reserve(16 * 1024);
        }
        if self.stream.read_buf(&mut self.input).await? == 0 {
            self.closed = true;
            bail!("the server closed the connection");
        }
        Ok(())
    }

    async fn read_chunked(&mut self) -> anyhow::Result<Bytes> {
        let mut body = BytesMut::new();
        loop {
            let line_end = loop {
                if let Some(end) = find(&self.input, b"\r\n") {
                    break end;
                }
                self.fill().await?;
            };
            let size_text = std::str::from_utf8(&self.input[..line_end])?;
            let size_text = size_text.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .with_context(|| format!("a chunk size {size_text:?}"))?;
            let _ = self.input.split_to(line_end + 2);
            while self.input.len() < size + 2 {
                self.fill().await?;
            }
            body.extend_from_slice(&self.input[..size]);
            let _ = self.input.split_to(size + 2);
            if size == 0 {
                return Ok(body.freeze());
            }
        }
    }
}

/// Appends `request` to `out` as it goes on the wire: the request line,
/// `host: <host>` (the value a Huawei signature covers, so it must be
/// [`Fixture::host`](crate::fixture::Fixture::host)), the request's own
/// headers as given, `content-type` and `content-length`, then the body.
pub fn write_request(out: &mut Vec<u8>, host: &str, request: &Request) -> std::io::Result<()> {
    // Byte by byte rather than `write!`: the generator shares the
    // server's cores, and the formatting machinery was a visible part of
    // its cost per request.
    for part in [
        request.method.as_str(),
        " ",
        &request.path,
        " HTTP/1.1\r\nhost: ",
        host,
        "\r\n",
    ] {
        out.extend_from_slice(part.as_bytes());
    }
    for (name, value) in &request.headers {
        for part in [*name, ": ", value, "\r\n"] {
            out.extend_from_slice(part.as_bytes());
        }
    }
    if let Some(content_type) = request.content_type {
        write!(out, "content-type: {content_type}\r\n")?;
    }
    if !request.body.is_empty() || request.method == http::Method::POST {
        write!(out, "content-length: {}\r\n", request.body.len())?;
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&request.body);
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// How the body of a response is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyLength {
    Fixed(usize),
    Chunked,
}

/// What the generator needs from a response head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    pub body: BodyLength,
    pub close: bool,
}

/// Parses `HTTP/1.1 200 OK\r\nname: value\r\n...\r\n\r\n`.
pub fn parse_head(head: &[u8]) -> anyhow::Result<Head> {
    let text = std::str::from_utf8(head).context("a response head that is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        bail!("not an HTTP/1 response: {status_line:?}");
    }
    let status: u16 = parts
        .next()
        .unwrap_or("")
        .parse()
        .with_context(|| format!("a status line {status_line:?}"))?;
    let mut body = BodyLength::Fixed(0);
    let mut close = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            body = BodyLength::Fixed(value.parse().context("a Content-Length")?);
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            && value.to_ascii_lowercase().contains("chunked")
        {
            body = BodyLength::Chunked;
        } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
            close = true;
        }
    }
    Ok(Head {
        status,
        body,
        close,
    })
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
        if Instant::now() >= deadline {
            break;
        }
        let Some(request) = (operation.build)(&fixture, &mut rng) else {
            result.exhausted = true;
            break;
        };
        // Timed from here: building (and signing) the request is the
        // client's work, not the server's latency.
        let sent = Instant::now();
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
                connection = Connection::open(connection.addr).await?;
            }
            Err(_) => {
                result.transport_errors += 1;
                result
                    .sample_error
                    .get_or_insert_with(|| format!("no answer within {REQUEST_TIMEOUT:?}"));
                connection = Connection::open(connection.addr).await?;
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn response_heads() {
        let head = parse_head(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 467\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            head,
            Head {
                status: 200,
                body: BodyLength::Fixed(467),
                close: false
            }
        );
        let head = parse_head(
            b"HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        )
        .unwrap();
        assert_eq!(head.status, 404);
        assert_eq!(head.body, BodyLength::Chunked);
        assert!(head.close);
        assert!(parse_head(b"SSH-2.0\r\n\r\n").is_err());
    }

    #[test]
    fn cpu_ticks_from_proc_stat() {
        let stat = "4242 (login sessions) S 1 4242 4242 0 -1 4194304 1203 0 0 0 250 37 0 0 20 0 3 0 1234 0 0";
        assert_eq!(parse_cpu_ticks(stat), Some(287));
        assert_eq!(parse_cpu_ticks("garbage"), None);
    }
}
