// Copyright 2026 Oxide Computer Company

//! login-sessions: the server's own shape for the errors dropshot raises.
//!
//! A handler's errors have whatever shape its error type gives them, but the
//! errors dropshot raises itself -- no route for the path (404), no such
//! method on it (405), a path that does not decode (400), a request head
//! over the limits (414, 431; see `connections`), a handler error that
//! failed to serialize (500) -- always have dropshot's body,
//! `{request_id, error_code, message}`. A server whose paths speak several
//! APIs, each with its own error schema, cannot answer those in the shape
//! their clients parse. With an [`ErrorRenderer`]
//! (`ServerBuilder::error_renderer`), dropshot asks it for the response to
//! each such error instead; it still adds the error's own headers (such as
//! `Allow` on a 405) and `x-request-id`.

use crate::body::Body;
use crate::error::HttpError;

/// Renders the errors dropshot raises itself.
pub trait ErrorRenderer: Send + Sync + 'static {
    /// The response to `error`, raised for the request to `uri` whose id
    /// is `request_id`. Its status should be `error.status_code`.
    fn render(
        &self,
        uri: &http::Uri,
        request_id: &str,
        error: &HttpError,
    ) -> http::Response<Body>;
}
