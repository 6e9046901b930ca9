// Copyright 2026 Oxide Computer Company

//! login-sessions: limits on connections and on request heads.
//!
//! Upstream, the accept loop takes every connection the listener yields and
//! keeps it for as long as the client likes (hyper's 30-second header
//! timeout aside), and hyper alone bounds a request head, answering an
//! oversized one with an empty 414 or 431. A client holding a few thousand
//! idle or slow sockets runs the process out of file descriptors, and then
//! nobody is served.
//!
//! With [`ConnectionLimits`] (`ServerBuilder::connection_limits`), the plain
//! HTTP accept loop:
//!
//! * keeps at most `max_connections` open. To admit one more it closes,
//!   oldest first, a connection that has not sent a complete request head,
//!   else an idle keep-alive connection, else one whose request body is
//!   still arriving (all three have not sent a complete request). A
//!   connection whose request is complete and not yet answered (until its
//!   response is sent) is never closed to make room. When every connection
//!   has one, it stops accepting (the kernel's backlog holds newcomers)
//!   until one closes or goes idle.
//! * closes a connection that has not sent its first complete request head
//!   within `first_request_timeout`, and one that stays idle between
//!   requests for `idle_timeout` (these replace hyper's header timeout).
//!
//! With [`RequestHeadLimits`] (`ServerBuilder::request_head_limits`), a
//! request whose URI or header section exceeds the limits is refused with a
//! 414 or 431 `HttpError` before routing, so the server's error renderer
//! shapes it; hyper's own limits are set above ours, so that its empty
//! answers are not reached in practice.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::{Body as HttpBody, Bytes, Frame, SizeHint};
use slog::Logger;
use tokio::sync::Notify;

use crate::body::Body;
use crate::error::HttpError;
use crate::error_status_code::ClientErrorStatusCode;

/// Bounds on the connections a server keeps open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// The most connections open at once (at least 1). Keep it below the
    /// process's file-descriptor limit, with room for everything else the
    /// process opens.
    pub max_connections: usize,
    /// How long a new connection has to send its first complete request
    /// head.
    pub first_request_timeout: Duration,
    /// How long a connection may stay idle between requests (keep-alive).
    pub idle_timeout: Duration,
}

/// Bounds on a request's head, enforced before routing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestHeadLimits {
    /// The longest request target (the URI as sent), in bytes: 414 beyond.
    pub max_uri_bytes: usize,
    /// The largest header section (every name and value, plus four bytes
    /// of separators each), in bytes: 431 beyond.
    pub max_header_bytes: usize,
    /// The most header fields: 431 beyond.
    pub max_headers: usize,
}

/// The longest URI hyper parses; it answers an empty 414 beyond.
const HYPER_MAX_URI_BYTES: usize = 65_534;
/// The largest request head hyper buffers by default; it answers an empty
/// 431 beyond.
const HYPER_MAX_HEAD_BYTES: usize = 8192 + 4096 * 100;
/// How many header fields hyper parses by default (on the stack).
const HYPER_DEFAULT_MAX_HEADERS: usize = 100;

impl RequestHeadLimits {
    /// Why these limits cannot be ours, if they cannot: hyper must never
    /// refuse a head we would accept.
    pub(crate) fn problem(&self) -> Option<String> {
        if self.max_uri_bytes >= HYPER_MAX_URI_BYTES {
            return Some(format!(
                "max_uri_bytes must be below hyper's {HYPER_MAX_URI_BYTES}"
            ));
        }
        if self.max_uri_bytes + self.max_header_bytes >= HYPER_MAX_HEAD_BYTES {
            return Some(format!(
                "max_uri_bytes + max_header_bytes must be below hyper's \
                 {HYPER_MAX_HEAD_BYTES}"
            ));
        }
        None
    }

    /// How many header fields hyper is told to parse: above ours, so ours
    /// answers first.
    pub(crate) fn hyper_max_headers(&self) -> usize {
        self.max_headers.saturating_mul(2).max(HYPER_DEFAULT_MAX_HEADERS)
    }

    /// The HTTP/2 header list size hyper is told to accept: above ours.
    pub(crate) fn http2_max_header_list_size(&self) -> u32 {
        u32::try_from(
            self.max_uri_bytes
                .saturating_add(self.max_header_bytes)
                .saturating_mul(2),
        )
        .unwrap_or(u32::MAX)
    }

    /// Refuses a request whose head exceeds the limits.
    pub(crate) fn check<B>(
        &self,
        request: &http::Request<B>,
    ) -> Result<(), HttpError> {
        let uri = request.uri();
        let uri_bytes = uri.path_and_query().map_or(0, |pq| pq.as_str().len())
            + uri.authority().map_or(0, |a| a.as_str().len())
            + uri.scheme_str().map_or(0, |s| s.len() + 3);
        if uri_bytes > self.max_uri_bytes {
            return Err(HttpError::for_client_error(
                None,
                ClientErrorStatusCode::URI_TOO_LONG,
                format!(
                    "the request URI is longer than {} bytes",
                    self.max_uri_bytes
                ),
            ));
        }
        let headers = request.headers();
        if headers.len() > self.max_headers {
            return Err(HttpError::for_client_error(
                None,
                ClientErrorStatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                format!(
                    "the request has more than {} header fields",
                    self.max_headers
                ),
            ));
        }
        let header_bytes: usize = headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum();
        if header_bytes > self.max_header_bytes {
            return Err(HttpError::for_client_error(
                None,
                ClientErrorStatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                format!(
                    "the request's header fields are larger than {} bytes",
                    self.max_header_bytes
                ),
            ));
        }
        Ok(())
    }
}

/// How often, at most, the server warns that the limit is closing
/// connections.
const WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// How long the accept loop waits, when every connection is busy, before
/// it looks again.
const BUSY_RECHECK: Duration = Duration::from_millis(100);

/// When to wake for a deadline too far away to represent.
const FAR_FUTURE: Duration = Duration::from_secs(24 * 60 * 60);

/// The open connections, oldest first, and the limits they live under.
pub(crate) struct ConnectionTable {
    limits: ConnectionLimits,
    /// Times are kept as milliseconds since this instant.
    epoch: Instant,
    open: Mutex<OpenConnections>,
    /// Signalled when a connection closes.
    room: Notify,
    log: Logger,
}

struct OpenConnections {
    next_id: u64,
    by_age: BTreeMap<u64, Arc<Connection>>,
    /// Connections closed to make room since the last warning.
    closed_for_room: u64,
    last_warning: Option<Instant>,
}

/// One accepted connection, as the limits see it.
pub(crate) struct Connection {
    id: u64,
    remote_addr: SocketAddr,
    epoch: Instant,
    accepted_ms: u64,
    /// Requests whose head has arrived.
    requests: AtomicU64,
    /// Requests not yet answered.
    in_flight: AtomicUsize,
    /// Requests whose body has not been received in full.
    receiving: AtomicUsize,
    /// When the last request was answered.
    last_answered_ms: AtomicU64,
    /// Notified to close the connection at once.
    close: Notify,
}

/// Where a connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConnectionState {
    /// No complete request head yet.
    AwaitingFirstRequest,
    /// A request's head has arrived, its body has not in full.
    Receiving,
    /// A complete request is being answered.
    Busy,
    /// Between requests.
    Idle,
}

/// A request in flight on a connection; dropped when its response has
/// been sent (or the request abandoned).
pub(crate) struct InFlight(Arc<Connection>);

impl InFlight {
    /// The response, keeping the connection busy until its body is sent.
    pub(crate) fn until_sent(
        self,
        response: http::Response<Body>,
    ) -> http::Response<Body> {
        response.map(|body| Body::wrap(Sending { body, _in_flight: self }))
    }
}

/// A request body being received.
struct Receiving<B> {
    body: B,
    /// The connection, until the body has been received.
    arriving: Option<Arc<Connection>>,
}

impl<B> Receiving<B> {
    fn received(&mut self) {
        if let Some(connection) = self.arriving.take() {
            connection.receiving.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl<B> Drop for Receiving<B> {
    fn drop(&mut self) {
        self.received();
    }
}

impl<B: HttpBody + Unpin> HttpBody for Receiving<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let frame = Pin::new(&mut self.body).poll_frame(cx);
        let ended = match &frame {
            Poll::Ready(None | Some(Err(_))) => true,
            Poll::Ready(Some(Ok(_))) => self.body.is_end_stream(),
            Poll::Pending => false,
        };
        if ended {
            self.received();
        }
        frame
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }
}

/// A response body being sent.
struct Sending {
    body: Body,
    _in_flight: InFlight,
}

impl HttpBody for Sending {
    type Data = Bytes;
    type Error = <Body as HttpBody>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let connection = &self.0;
        connection
            .last_answered_ms
            .store(millis_since(connection.epoch), Ordering::Release);
        connection.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

fn millis_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Connection {
    /// Notes that a request's head has arrived; `body` is its body, which
    /// counts as arriving until it ends (or is dropped).
    pub(crate) fn request_started<B>(
        self: &Arc<Self>,
        body: B,
    ) -> (InFlight, Body)
    where
        B: HttpBody<Data = Bytes> + Send + Sync + Unpin + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.requests.fetch_add(1, Ordering::AcqRel);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.receiving.fetch_add(1, Ordering::AcqRel);
        let mut receiving =
            Receiving { body, arriving: Some(Arc::clone(self)) };
        if receiving.body.is_end_stream() {
            receiving.received();
        }
        (InFlight(Arc::clone(self)), Body::wrap(receiving))
    }

    fn state(&self) -> ConnectionState {
        let in_flight = self.in_flight.load(Ordering::Acquire);
        if in_flight == 0 {
            if self.requests.load(Ordering::Acquire) == 0 {
                ConnectionState::AwaitingFirstRequest
            } else {
                ConnectionState::Idle
            }
        } else if self.receiving.load(Ordering::Acquire) >= in_flight {
            ConnectionState::Receiving
        } else {
            ConnectionState::Busy
        }
    }

    /// When the connection is to be closed if nothing changes, in
    /// milliseconds since the epoch; `None` while a request is in flight.
    fn deadline_ms(&self, limits: &ConnectionLimits) -> Option<u64> {
        match self.state() {
            ConnectionState::Busy | ConnectionState::Receiving => None,
            ConnectionState::AwaitingFirstRequest => Some(
                self.accepted_ms
                    .saturating_add(millis(limits.first_request_timeout)),
            ),
            ConnectionState::Idle => Some(
                self.last_answered_ms
                    .load(Ordering::Acquire)
                    .saturating_add(millis(limits.idle_timeout)),
            ),
        }
    }
}

fn lock(open: &Mutex<OpenConnections>) -> MutexGuard<'_, OpenConnections> {
    open.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ConnectionTable {
    pub(crate) fn new(limits: ConnectionLimits, log: Logger) -> Self {
        ConnectionTable {
            limits,
            epoch: Instant::now(),
            open: Mutex::new(OpenConnections {
                next_id: 0,
                by_age: BTreeMap::new(),
                closed_for_room: 0,
                last_warning: None,
            }),
            room: Notify::new(),
            log,
        }
    }

    /// Returns once a connection can be admitted: there is room, or a
    /// connection that can be closed to make room.
    pub(crate) async fn wait_for_room(&self) {
        loop {
            let closed = self.room.notified();
            {
                let open = lock(&self.open);
                if open.by_age.len() < self.limits.max_connections
                    || open
                        .by_age
                        .values()
                        .any(|c| c.state() != ConnectionState::Busy)
                {
                    return;
                }
            }
            // A connection that goes idle does not signal: look again soon.
            let _ = tokio::time::timeout(BUSY_RECHECK, closed).await;
        }
    }

    /// Registers a newly accepted connection, closing the oldest one that
    /// has sent no request (else the oldest idle one) if that makes room.
    pub(crate) fn admit(&self, remote_addr: SocketAddr) -> Arc<Connection> {
        let now_ms = millis_since(self.epoch);
        let mut open = lock(&self.open);
        let id = open.next_id;
        open.next_id += 1;
        let connection = Arc::new(Connection {
            id,
            remote_addr,
            epoch: self.epoch,
            accepted_ms: now_ms,
            requests: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            receiving: AtomicUsize::new(0),
            last_answered_ms: AtomicU64::new(now_ms),
            close: Notify::new(),
        });
        open.by_age.insert(id, Arc::clone(&connection));
        while open.by_age.len() > self.limits.max_connections {
            let oldest = |wanted: ConnectionState| {
                open.by_age
                    .iter()
                    .find(|(_, c)| c.id != id && c.state() == wanted)
                    .map(|(id, _)| *id)
            };
            let Some(victim) = oldest(ConnectionState::AwaitingFirstRequest)
                .or_else(|| oldest(ConnectionState::Idle))
                .or_else(|| oldest(ConnectionState::Receiving))
            else {
                break;
            };
            if let Some(victim) = open.by_age.remove(&victim) {
                debug!(self.log, "closing a connection to make room";
                    "remote_addr" => %victim.remote_addr,
                    "state" => ?victim.state(),
                );
                victim.close.notify_one();
                open.closed_for_room += 1;
            }
        }
        if open.closed_for_room > 0
            && open
                .last_warning
                .is_none_or(|last| last.elapsed() >= WARNING_INTERVAL)
        {
            warn!(self.log, "connection limit reached: closed the oldest \
                connections without a request in flight to make room";
                "max_connections" => self.limits.max_connections,
                "closed" => open.closed_for_room,
            );
            open.closed_for_room = 0;
            open.last_warning = Some(Instant::now());
        }
        connection
    }

    fn remove(&self, id: u64) {
        let removed = lock(&self.open).by_age.remove(&id);
        if removed.is_some() {
            self.room.notify_waiters();
        }
    }

    /// Runs `serving` (the connection's HTTP future) until it ends, the
    /// connection is closed to make room, or its deadline passes; then
    /// forgets the connection (dropping `serving` closes the socket).
    pub(crate) async fn serve<F: Future>(
        self: Arc<Self>,
        connection: Arc<Connection>,
        serving: F,
    ) {
        let _forget = scopeguard::guard((), |()| self.remove(connection.id));
        let mut serving = std::pin::pin!(serving);
        loop {
            let wake_ms =
                connection.deadline_ms(&self.limits).unwrap_or_else(|| {
                    millis_since(self.epoch)
                        .saturating_add(millis(self.limits.idle_timeout))
                });
            let wake = self
                .epoch
                .checked_add(Duration::from_millis(wake_ms))
                .unwrap_or_else(|| Instant::now() + FAR_FUTURE);
            tokio::select! {
                _ = &mut serving => return,
                () = connection.close.notified() => return,
                () = tokio::time::sleep_until(wake.into()) => {
                    let expired = connection
                        .deadline_ms(&self.limits)
                        .is_some_and(|deadline| {
                            deadline <= millis_since(self.epoch)
                        });
                    if expired {
                        debug!(self.log, "closing a connection past its deadline";
                            "remote_addr" => %connection.remote_addr,
                            "state" => ?connection.state(),
                        );
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn limits(max_connections: usize) -> ConnectionLimits {
        ConnectionLimits {
            max_connections,
            first_request_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
        }
    }

    fn table(max_connections: usize) -> ConnectionTable {
        ConnectionTable::new(
            limits(max_connections),
            Logger::root(slog::Discard, o!()),
        )
    }

    fn addr() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 1))
    }

    /// A request on `connection` whose body has arrived in full.
    fn complete(connection: &Arc<Connection>) -> InFlight {
        connection.request_started(Body::empty()).0
    }

    /// A body of which nothing has arrived yet.
    struct Arriving;

    impl HttpBody for Arriving {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Pending
        }
    }

    /// A request on `connection` whose body is still arriving.
    fn arriving(connection: &Arc<Connection>) -> (InFlight, Body) {
        connection.request_started(Arriving)
    }

    fn open_ids(table: &ConnectionTable) -> Vec<u64> {
        lock(&table.open).by_age.keys().copied().collect()
    }

    #[test]
    fn room_is_made_by_closing_the_oldest_connection_without_a_request() {
        let table = table(3);
        let first = table.admit(addr());
        let _busy = complete(&first);
        let second = table.admit(addr());
        let third = table.admit(addr());
        drop(complete(&third));
        // Full: the fourth displaces the second, which never sent a
        // request (not the older, busy first; not the idle third).
        let _fourth = table.admit(addr());
        assert_eq!(open_ids(&table), [0, 2, 3]);
        assert_eq!(second.state(), ConnectionState::AwaitingFirstRequest);
        // The fourth is the only one without a request: it is newer than
        // the idle third, but connections without a request go first.
        let fifth = table.admit(addr());
        assert_eq!(open_ids(&table), [0, 2, 4]);
        // With the fifth's body arriving, the idle third goes first...
        let (_in_flight, body) = arriving(&fifth);
        assert_eq!(fifth.state(), ConnectionState::Receiving);
        let _sixth = table.admit(addr());
        assert_eq!(open_ids(&table), [0, 4, 5]);
        // ...then, with the sixth busy too, the fifth, whose request is
        // not complete.
        let _busy_sixth = complete(&_sixth);
        let _seventh = table.admit(addr());
        assert_eq!(open_ids(&table), [0, 5, 6]);
        // Its body, received in full or dropped, no longer counts.
        drop(body);
        assert_eq!(fifth.receiving.load(Ordering::Acquire), 0);
    }

    #[test]
    fn busy_connections_are_never_closed_to_make_room() {
        let table = table(1);
        let first = table.admit(addr());
        let _busy = complete(&first);
        let _second = table.admit(addr());
        assert_eq!(open_ids(&table), [0, 1]);
    }

    #[test]
    fn deadlines_follow_the_connection_state() {
        let table = table(10);
        let connection = table.admit(addr());
        let limits = limits(10);
        assert_eq!(
            connection.deadline_ms(&limits),
            Some(connection.accepted_ms + 10_000)
        );
        let in_flight = complete(&connection);
        assert_eq!(connection.state(), ConnectionState::Busy);
        assert_eq!(connection.deadline_ms(&limits), None);
        drop(in_flight);
        let answered = connection.last_answered_ms.load(Ordering::Acquire);
        assert_eq!(connection.deadline_ms(&limits), Some(answered + 30_000));
    }

    #[test]
    fn oversized_heads_are_refused() {
        let limits = RequestHeadLimits {
            max_uri_bytes: 16,
            max_header_bytes: 32,
            max_headers: 2,
        };
        let request = |uri: &str, headers: &[(&str, &str)]| {
            let mut builder = http::Request::builder().uri(uri);
            for (name, value) in headers {
                builder = builder.header(*name, *value);
            }
            builder.body(()).unwrap()
        };
        assert!(limits.check(&request("/short", &[("a", "b")])).is_ok());
        let status = |result: Result<(), HttpError>| {
            result.unwrap_err().status_code.as_u16()
        };
        assert_eq!(
            status(limits.check(&request("/seventeen-bytes!", &[]))),
            414
        );
        assert_eq!(
            status(
                limits.check(&request(
                    "/",
                    &[("a", "1"), ("b", "2"), ("c", "3")]
                ))
            ),
            431
        );
        assert_eq!(
            status(limits.check(&request("/", &[("a", &"x".repeat(28))]))),
            431
        );
        assert!(limits.problem().is_none());
        let too_long =
            RequestHeadLimits { max_uri_bytes: HYPER_MAX_URI_BYTES, ..limits };
        assert!(too_long.problem().is_some());
    }
}
