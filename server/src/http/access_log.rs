//! The access log: one `info` record per request, "request completed",
//! through the vendored dropshot's `RequestLog` hook (`vendor/README.md`).
//!
//! Its fields: `req_id` (the `X-Request-Id`), `dialect` (by path prefix),
//! `operation` (the operation id, absent when no route matched), `method`,
//! `uri`, `remote_addr`, `status`, `latency_us` (from the request head to
//! the response), and on errors `error_message_internal` and
//! `error_message_external`. `serve --log-format` decides whether the line
//! is text or JSON (`crate::logging`).
//!
//! No secret is logged: clients send some in query strings (Looker's SDKs
//! and docs log in with `POST /api/4.0/login?client_id=...&client_secret=...`),
//! so [`RedactedUri`] replaces the value of every query parameter whose
//! name suggests a credential (`secret`, `token`, `password`, `passwd`,
//! `signature`, `key`, `auth`, `credential`; percent-decoded, any case) by
//! `REDACTED`, here and in the `uri` of every other record of the request.
//! Headers and bodies are never logged. A URI is logged up to
//! [`MAX_LOGGED_URI_BYTES`], so that a client cannot make every line of
//! the log as long as the longest URI the server reads.
//!
//! The same hook counts and times each request for the metrics
//! (`crate::metrics`: `http_requests_total`, `http_request_duration_seconds`).

use std::fmt;

use dropshot::{CompletedRequest, RequestLog};
use percent_encoding::percent_decode_str;

use super::dialect::Dialect;

/// Logs each completed request as one `info` record.
pub struct AccessLog {
    log: slog::Logger,
}

impl AccessLog {
    /// Requests logged to `log`.
    pub fn new(log: slog::Logger) -> AccessLog {
        AccessLog { log }
    }
}

impl RequestLog for AccessLog {
    fn logged_uri(&self, uri: &http::Uri) -> String {
        RedactedUri(uri).to_string()
    }

    fn request_completed(&self, request: &CompletedRequest<'_>) {
        let dialect = Dialect::for_path(request.uri.path()).name();
        if let Some(metrics) = crate::metrics::recording() {
            metrics.http.request_completed(
                dialect,
                request.operation_id,
                request.status.as_u16(),
                request.latency,
            );
        }
        let latency_us = u64::try_from(request.latency.as_micros()).unwrap_or(u64::MAX);
        slog::info!(self.log, "request completed";
            "req_id" => request.request_id,
            "dialect" => dialect,
            "operation" => request.operation_id,
            "method" => request.method.as_str(),
            "uri" => %RedactedUri(request.uri),
            "remote_addr" => %request.remote_addr,
            "status" => request.status.as_u16(),
            "latency_us" => latency_us,
            "error_message_internal" => request.error_message_internal,
            "error_message_external" => request.error_message_external,
        );
    }
}

/// The most of a URI logged; a longer one ends in `...`.
pub const MAX_LOGGED_URI_BYTES: usize = 2048;

/// A URI as logged: the value of every query parameter whose name
/// suggests a credential is `REDACTED`, and at most
/// [`MAX_LOGGED_URI_BYTES`] of it. Formatted without allocating unless a
/// parameter's name is percent-encoded.
pub struct RedactedUri<'a>(pub &'a http::Uri);

impl fmt::Display for RedactedUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bounded = Bounded {
            out: f,
            left: MAX_LOGGED_URI_BYTES,
        };
        match self.write_redacted(&mut bounded) {
            Err(fmt::Error) if bounded.left == 0 => f.write_str("..."),
            result => result,
        }
    }
}

/// Writes through to `out` until `left` bytes have been written, then
/// fails.
struct Bounded<'a, 'b> {
    out: &'a mut fmt::Formatter<'b>,
    left: usize,
}

impl fmt::Write for Bounded<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        if text.len() <= self.left {
            self.left -= text.len();
            return self.out.write_str(text);
        }
        // URIs are ASCII; for anything else, cut at a character boundary.
        let mut end = self.left;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.left = 0;
        self.out.write_str(&text[..end])?;
        Err(fmt::Error)
    }
}

impl RedactedUri<'_> {
    fn write_redacted(&self, f: &mut impl fmt::Write) -> fmt::Result {
        let uri = self.0;
        let Some(query) = uri.query() else {
            return write!(f, "{uri}");
        };
        if let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) {
            write!(f, "{scheme}://{authority}")?;
        }
        write!(f, "{}?", uri.path())?;
        for (index, pair) in query.split('&').enumerate() {
            if index > 0 {
                f.write_str("&")?;
            }
            match pair.split_once('=') {
                Some((name, _)) if is_secret_name(name) => write!(f, "{name}=REDACTED")?,
                _ => f.write_str(pair)?,
            }
        }
        Ok(())
    }
}

/// Words that make a query parameter's name a credential's.
const SECRET_WORDS: [&str; 8] = [
    "secret",
    "token",
    "password",
    "passwd",
    "signature",
    "key",
    "auth",
    "credential",
];

/// Whether a query parameter's name (as sent: percent-encoded, `+` for a
/// space) suggests a credential.
fn is_secret_name(name: &str) -> bool {
    if !name.contains(['%', '+']) {
        return names_a_secret(name.as_bytes());
    }
    let decoded = percent_decode_str(&name.replace('+', " ")).collect::<Vec<u8>>();
    names_a_secret(&decoded)
}

fn names_a_secret(name: &[u8]) -> bool {
    SECRET_WORDS.iter().any(|word| {
        name.windows(word.len())
            .any(|window| window.eq_ignore_ascii_case(word.as_bytes()))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn logged(uri: &str) -> String {
        RedactedUri(&uri.parse().unwrap()).to_string()
    }

    #[test]
    fn credentials_in_the_query_are_redacted() {
        assert_eq!(
            logged("/api/4.0/login?client_id=abc&client_secret=s3cret"),
            "/api/4.0/login?client_id=abc&client_secret=REDACTED"
        );
        assert_eq!(
            logged("/x?Access_Token=t&API%4Bey=k&pass+word=p&Passwd=q&sig=s"),
            "/x?Access_Token=REDACTED&API%4Bey=REDACTED&pass+word=p&Passwd=REDACTED&sig=s"
        );
        assert_eq!(
            logged("/x?X-Amz-Signature=a&authorization=b&credentials=c&flag&=v"),
            "/x?X-Amz-Signature=REDACTED&authorization=REDACTED&credentials=REDACTED&flag&=v"
        );
        assert_eq!(
            logged("/native/v1/sessions?user_id=42&limit=5"),
            "/native/v1/sessions?user_id=42&limit=5"
        );
        assert_eq!(logged("/healthz"), "/healthz");
        assert_eq!(
            logged("http://host:8080/a?token=t"),
            "http://host:8080/a?token=REDACTED"
        );
    }

    #[test]
    fn long_uris_are_cut() {
        let long = format!("/native/v1/sessions?user_id={}", "a".repeat(5000));
        let logged = logged(&long);
        assert_eq!(logged.len(), MAX_LOGGED_URI_BYTES + 3);
        assert!(logged.ends_with("aaa..."), "{logged}");
        assert!(long.starts_with(logged.trim_end_matches("...")));
        let exactly = format!("/{}", "b".repeat(MAX_LOGGED_URI_BYTES - 1));
        assert_eq!(super::tests::logged(&exactly), exactly);
    }

    #[test]
    fn a_name_that_is_not_utf8_once_decoded_is_still_checked() {
        assert_eq!(logged("/x?%FFtoken=t"), "/x?%FFtoken=REDACTED");
        assert_eq!(logged("/x?%FF=t"), "/x?%FF=t");
    }
}
