//! The revocation window: how long a second server on the same database
//! goes on accepting what the first one has revoked.
//!
//! The promise (docs/operations.md, "Revocation and the caches"): a
//! revocation is refused at once by the process that made it and by every
//! other process sharing the database within 50 ms of its acknowledgement,
//! with the caches at their defaults. The tests assert that the other
//! replica refuses eventually; this measures how soon.
//!
//! Each round logs in to Looker on the primary, uses the access token on
//! the replica until the replica accepts it (so that the replica's
//! credential cache holds it), logs out on the primary, and from the
//! moment the logout is acknowledged asks the replica again and again on
//! one keep-alive connection. The round's window is the time from the
//! acknowledgement to the sending of the first request the replica
//! refused: the revocation reached the replica between the previous
//! request's sending and that one, so the figure errs long by at most one
//! request's latency.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;

use crate::fixture::Credentials;
use crate::load::Connection;
use crate::operations::Request;

/// The window the promise allows.
pub const PROMISED: Duration = Duration::from_millis(50);

/// How long a round waits for the replica to refuse before it counts the
/// round as never refused.
const GIVE_UP_AFTER: Duration = Duration::from_secs(5);

/// The windows of a run of rounds.
#[derive(Clone, Debug, Serialize)]
pub struct RevocationWindow {
    pub rounds: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Rounds whose window was longer than [`PROMISED`].
    pub over_promise: usize,
    /// Rounds the replica had not refused after [`GIVE_UP_AFTER`].
    pub never_refused: usize,
}

/// Measures `rounds` revocations made on `primary` and awaited on
/// `replica`.
pub async fn measure(
    primary: SocketAddr,
    replica: SocketAddr,
    credentials: &Credentials,
    rounds: usize,
) -> anyhow::Result<RevocationWindow> {
    let mut to_primary = Connection::open(primary).await?;
    let mut to_replica = Connection::open(replica).await?;
    let mut windows = Vec::with_capacity(rounds);
    let mut never_refused = 0;
    for _ in 0..rounds {
        match round(&mut to_primary, &mut to_replica, credentials).await? {
            Some(window) => windows.push(window),
            None => never_refused += 1,
        }
    }
    Ok(summarize(&windows, never_refused))
}

/// One login, warm-up, logout and wait; `None` if the replica never
/// refused.
async fn round(
    to_primary: &mut Connection,
    to_replica: &mut Connection,
    credentials: &Credentials,
) -> anyhow::Result<Option<Duration>> {
    let token = login(to_primary, credentials).await?;
    let probe = probe(&token);
    let warmed = Instant::now();
    loop {
        match to_replica.send(&probe).await?.0 {
            200 => break,
            _ if warmed.elapsed() > GIVE_UP_AFTER => {
                bail!("the replica never accepted a token the primary issued")
            }
            _ => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
    let logout = Request {
        method: http::Method::DELETE,
        path: "/api/4.0/logout".into(),
        headers: vec![("authorization", format!("token {token}"))],
        content_type: None,
        body: bytes::Bytes::new(),
    };
    let (status, _) = to_primary.send(&logout).await?;
    if status != 204 {
        bail!("logging out on the primary answered {status}");
    }
    let acknowledged = Instant::now();
    loop {
        let sent = Instant::now();
        let (status, _) = to_replica.send(&probe).await?;
        match status {
            401 => return Ok(Some(sent.saturating_duration_since(acknowledged))),
            200 if acknowledged.elapsed() < GIVE_UP_AFTER => {}
            200 => return Ok(None),
            other => bail!("the replica answered {other} to a logged-out token"),
        }
    }
}

/// A Looker access token from the primary.
async fn login(connection: &mut Connection, credentials: &Credentials) -> anyhow::Result<String> {
    let request = Request {
        method: http::Method::POST,
        path: "/api/4.0/login".into(),
        headers: Vec::new(),
        content_type: Some("application/x-www-form-urlencoded"),
        body: bytes::Bytes::from(format!(
            "client_id={}&client_secret={}",
            credentials.looker.client_id, credentials.looker.client_secret
        )),
    };
    let (status, body) = connection.send(&request).await?;
    if status != 200 {
        bail!("Looker login on the primary answered {status}");
    }
    let value: serde_json::Value = serde_json::from_slice(&body).context("the login's body")?;
    value["access_token"]
        .as_str()
        .map(str::to_string)
        .context("the login's body has no access_token")
}

/// A Looker request authenticated with `token` that does nothing else of
/// note: the sessions of a user nobody has.
fn probe(token: &str) -> Request {
    Request {
        method: http::Method::GET,
        path: "/api/4.0/users/revocation-probe/sessions".into(),
        headers: vec![("authorization", format!("token {token}"))],
        content_type: None,
        body: bytes::Bytes::new(),
    }
}

/// The windows' percentiles (nearest rank) and the rounds over the
/// promise.
fn summarize(windows: &[Duration], never_refused: usize) -> RevocationWindow {
    let mut millis: Vec<f64> = windows.iter().map(|w| w.as_secs_f64() * 1e3).collect();
    millis.sort_by(f64::total_cmp);
    let rank = |q: f64| -> f64 {
        if millis.is_empty() {
            return f64::NAN;
        }
        let index = ((q * millis.len() as f64).ceil() as usize).clamp(1, millis.len()) - 1;
        millis[index]
    };
    RevocationWindow {
        rounds: windows.len() + never_refused,
        p50_ms: rank(0.50),
        p99_ms: rank(0.99),
        max_ms: millis.last().copied().unwrap_or(f64::NAN),
        over_promise: windows.iter().filter(|w| **w > PROMISED).count(),
        never_refused,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_rounds_over_the_promise() {
        let windows: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let summary = summarize(&windows, 2);
        assert_eq!(summary.rounds, 102);
        assert_eq!(summary.p50_ms, 50.0);
        assert_eq!(summary.p99_ms, 99.0);
        assert_eq!(summary.max_ms, 100.0);
        assert_eq!(summary.over_promise, 50);
        assert_eq!(summary.never_refused, 2);
    }

    #[test]
    fn no_rounds_is_not_a_figure() {
        let summary = summarize(&[], 3);
        assert!(summary.p50_ms.is_nan());
        assert_eq!(summary.rounds, 3);
    }
}
