// Copyright 2026 Oxide Computer Company

//! login-sessions: the server's own access log.
//!
//! Upstream, dropshot logs every request as an `info` record, "request
//! completed", built inside dropshot, and puts the request's full URI on
//! every record of the request. The server cannot choose the record's
//! fields or format (a dialect, the operation id, JSON), nor keep secrets
//! that clients send in query strings out of the URI. With a [`RequestLog`]
//! (`ServerBuilder::request_log`), dropshot calls it once per completed
//! request instead of logging "request completed", and asks it for the
//! `uri` value of the request's other records, only when one is emitted.

use std::net::SocketAddr;
use std::time::Duration;

/// A request that has been answered, as the access log sees it.
#[derive(Debug)]
pub struct CompletedRequest<'a> {
    /// The request's id (also its `x-request-id` response header).
    pub request_id: &'a str,
    pub remote_addr: SocketAddr,
    pub method: &'a http::Method,
    /// The URI as received, secrets and all: redact before logging.
    pub uri: &'a http::Uri,
    /// The operation the request was routed to, if any.
    pub operation_id: Option<&'a str>,
    pub status: http::StatusCode,
    /// From the request's head being received to its response being ready.
    pub latency: Duration,
    /// For an error, what dropshot would log as `error_message_internal`.
    pub error_message_internal: Option<&'a str>,
    /// For an error dropshot raised, the message it sends.
    pub error_message_external: Option<&'a str>,
}

/// Logs requests for the server.
pub trait RequestLog: Send + Sync + 'static {
    /// The `uri` value of the request's log records (dropshot's "incoming
    /// request" at `trace`, the handlers' `rqctx.log`). Called only when a
    /// record is emitted.
    fn logged_uri(&self, uri: &http::Uri) -> String;

    /// Logs a completed request (in place of dropshot's "request
    /// completed"). Called on the request's task: keep it cheap.
    fn request_completed(&self, request: &CompletedRequest<'_>);
}

/// The `uri` value of a request's records: formatted when a record is
/// emitted, by the server's [`RequestLog`] if it has one.
pub(crate) struct LoggedUri {
    pub(crate) uri: http::Uri,
    pub(crate) request_log:
        Option<std::panic::AssertUnwindSafe<std::sync::Arc<dyn RequestLog>>>,
}

impl slog::Value for LoggedUri {
    fn serialize(
        &self,
        _record: &slog::Record<'_>,
        key: slog::Key,
        serializer: &mut dyn slog::Serializer,
    ) -> slog::Result {
        match &self.request_log {
            Some(request_log) => {
                serializer.emit_str(key, &request_log.logged_uri(&self.uri))
            }
            None => {
                serializer.emit_arguments(key, &format_args!("{}", self.uri))
            }
        }
    }
}
