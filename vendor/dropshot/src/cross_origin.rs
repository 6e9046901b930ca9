// Copyright 2026 Oxide Computer Company

//! login-sessions: answers for browsers on other origins (CORS).
//!
//! A browser lets a page read a response from another origin only if the
//! response says so (`Access-Control-Allow-Origin`), and asks first, with
//! an `OPTIONS` preflight, before a request it does not consider simple
//! (one with an `Authorization` header, or a JSON body). Dropshot has no
//! middleware: a server can neither add headers to every response (the
//! errors dropshot raises itself included) nor answer `OPTIONS` on a path
//! without declaring an `OPTIONS` operation, which would then appear in
//! its OpenAPI document. With a [`CrossOrigin`]
//! (`ServerBuilder::cross_origin`), dropshot asks it, for each request,
//! for headers to add to the response, whatever gives it; and, for an
//! `OPTIONS` request to a path that has operations but no `OPTIONS` one,
//! for an answer in place of the 405.

use crate::body::Body;

/// Decides what browsers on other origins may do.
pub trait CrossOrigin: Send + Sync + 'static {
    /// Headers to append to the response to `request`, whichever answers
    /// it (a handler, its error, an error dropshot raises, [`preflight`]).
    /// Called before routing, with the request's body unread; an empty map
    /// adds nothing.
    ///
    /// [`preflight`]: CrossOrigin::preflight
    fn response_headers(
        &self,
        request: &http::Request<Body>,
    ) -> http::HeaderMap;

    /// The answer to an `OPTIONS` `request` for a path whose operations
    /// have the methods `allowed`, none of them `OPTIONS`; `None` keeps
    /// dropshot's 405.
    fn preflight(
        &self,
        request: &http::Request<Body>,
        allowed: &[http::Method],
    ) -> Option<http::Response<Body>>;
}
