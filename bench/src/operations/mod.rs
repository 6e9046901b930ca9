//! What the benchmark measures: one entry per operation, each a name and a
//! request builder; the builders are in one module per dialect.
//!
//! # Adding an operation
//!
//! Write a `fn(&Fixture, &mut Rng) -> Option<Request>` in its dialect's
//! module that builds one request (return `None` when a pool of ids it
//! consumes is exhausted: the connection then stops), and add an
//! [`Operation`] to [`OPERATIONS`]. The order of that list is the order of
//! the run (reads before the writes that change what they read; revoke
//! last, since it ends sessions). Credentials are in
//! [`Fixture::credentials`]; a Looker access token, obtained once per
//! server start when any selected operation has
//! `needs: Needs::LookerToken`, is in [`Fixture::looker_authorization`].
//!
//! Before measuring, one probe request is sent: an operation whose probe
//! does not answer its expected status fails the run loudly. Huawei's
//! `ListSessions` is signed per request, as Huawei's SDKs sign it (see
//! [`huawei`]); interactions are measured twice, coalescible and always
//! written (see [`native`]).

mod huawei;
mod looker;
mod native;
mod prefactor;

pub use native::warm_up;

use bytes::Bytes;
use http::Method;

use crate::fixture::{Fixture, Rng};

/// Which part of the run an operation belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The trivial endpoint every other operation is compared with; run
    /// first at every data size.
    Baseline,
    /// A read: measured at the small and at the full data size.
    Lookup,
    /// A write: measured at the full data size only.
    Write,
}

/// What an operation needs set up before it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    Nothing,
    /// A Looker access token from `POST /api/4.0/login`.
    LookerToken,
}

/// One measured operation.
pub struct Operation {
    /// The name in the report: `<dialect> <operation id>`.
    pub name: &'static str,
    pub kind: Kind,
    /// The status every successful response has.
    pub expected_status: u16,
    pub needs: Needs,
    /// Builds the next request; `None` when there is nothing left to do.
    pub build: fn(&Fixture, &mut Rng) -> Option<Request>,
    /// Called with the body of every successful response (to collect the
    /// ids of created sessions, for instance).
    pub collect: Option<fn(&Fixture, &[u8])>,
}

/// Every operation, in the order they run.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        name: "baseline (constant body)",
        kind: Kind::Baseline,
        expected_status: 200,
        needs: Needs::Nothing,
        build: baseline,
        collect: None,
    },
    Operation {
        name: "looker user_session",
        kind: Kind::Lookup,
        expected_status: 200,
        needs: Needs::LookerToken,
        build: looker::user_session,
        collect: None,
    },
    Operation {
        name: "looker all_user_sessions",
        kind: Kind::Lookup,
        expected_status: 200,
        needs: Needs::LookerToken,
        build: looker::all_user_sessions,
        collect: None,
    },
    Operation {
        name: "prefactor fetch_session",
        kind: Kind::Lookup,
        expected_status: 200,
        needs: Needs::Nothing,
        build: prefactor::fetch_session,
        collect: None,
    },
    Operation {
        name: "huawei ListSessions",
        kind: Kind::Lookup,
        expected_status: 200,
        needs: Needs::Nothing,
        build: huawei::list_sessions,
        collect: None,
    },
    Operation {
        name: "reference: native session body (constant)",
        kind: Kind::Lookup,
        expected_status: 200,
        needs: Needs::Nothing,
        build: native_session_reference,
        collect: None,
    },
    Operation {
        name: "native session_view",
        kind: Kind::Lookup,
        expected_status: 200,
        needs: Needs::Nothing,
        build: native::session_view,
        collect: None,
    },
    Operation {
        name: "native session_create",
        kind: Kind::Write,
        expected_status: 201,
        needs: Needs::Nothing,
        build: native::session_create,
        collect: Some(native::collect_created),
    },
    Operation {
        name: "native session_interaction_create",
        kind: Kind::Write,
        expected_status: 200,
        needs: Needs::Nothing,
        build: native::session_interaction_create,
        collect: None,
    },
    Operation {
        name: "native session_interaction_create [new address]",
        kind: Kind::Write,
        expected_status: 200,
        needs: Needs::Nothing,
        build: native::session_interaction_create_new_address,
        collect: None,
    },
    Operation {
        name: "native session_revoke",
        kind: Kind::Write,
        expected_status: 200,
        needs: Needs::Nothing,
        build: native::session_revoke,
        collect: None,
    },
];

/// One HTTP request, as the load generator sends it (to 127.0.0.1 only).
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    /// Path and query.
    pub path: String,
    /// Extra headers (`Authorization`, signing headers); `Host` and
    /// `Content-Length` are added by the generator.
    pub headers: Vec<(&'static str, String)>,
    pub content_type: Option<&'static str>,
    pub body: Bytes,
}

impl Request {
    fn get(path: String, authorization: String) -> Request {
        Request {
            method: Method::GET,
            path,
            headers: vec![("authorization", authorization)],
            content_type: None,
            body: Bytes::new(),
        }
    }

    fn post_json(path: String, authorization: String, body: serde_json::Value) -> Request {
        Request {
            method: Method::POST,
            path,
            headers: vec![("authorization", authorization)],
            content_type: Some("application/json"),
            body: Bytes::from(body.to_string()),
        }
    }
}

/// `GET /bench/baseline` (served with `serve --bench-endpoints`): a
/// constant body shaped like a Looker `Session`, with no authentication
/// and no store.
fn baseline(_: &Fixture, _: &mut Rng) -> Option<Request> {
    Some(Request {
        method: Method::GET,
        path: "/bench/baseline".into(),
        headers: Vec::new(),
        content_type: None,
        body: Bytes::new(),
    })
}

/// `GET /bench/native-session` (served with `serve --bench-endpoints`): a
/// constant native session, the size of `session_view`'s answer, with no
/// authentication and no store: what native `session_view` would cost if
/// its lookup cost nothing.
fn native_session_reference(_: &Fixture, _: &mut Rng) -> Option<Request> {
    Some(Request {
        method: Method::GET,
        path: "/bench/native-session".into(),
        headers: Vec::new(),
        content_type: None,
        body: Bytes::new(),
    })
}

/// Percent-encodes a path segment (user ids may hold any character).
fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_segment(&mut out, text);
    out
}

/// Appends `text` to `out` percent-encoded as a path segment, byte by
/// byte from a table: the generator builds one or two per request, on the
/// cores the server runs on.
fn push_segment(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let unreserved =
        |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~');
    if text.bytes().all(unreserved) {
        out.push_str(text);
        return;
    }
    for byte in text.bytes() {
        if unreserved(byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
    }
}

/// `parts` joined into one path, in one allocation.
fn path(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|part| part.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interactions_are_measured_coalescible_then_written() {
        let interactions: Vec<&str> = OPERATIONS
            .iter()
            .map(|op| op.name)
            .filter(|name| name.contains("interaction"))
            .collect();
        assert_eq!(
            interactions,
            [
                "native session_interaction_create",
                "native session_interaction_create [new address]"
            ]
        );
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(segment("user-0000042"), "user-0000042");
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn names_are_unique_and_the_baseline_comes_first() {
        assert_eq!(OPERATIONS[0].kind, Kind::Baseline);
        let mut names: Vec<&str> = OPERATIONS.iter().map(|op| op.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), OPERATIONS.len());
        // Revoke ends sessions the others use: it runs last.
        assert_eq!(
            OPERATIONS.last().map(|op| op.name),
            Some("native session_revoke")
        );
        // Reads before writes.
        let first_write = OPERATIONS
            .iter()
            .position(|op| op.kind == Kind::Write)
            .unwrap();
        assert!(
            OPERATIONS[first_write..]
                .iter()
                .all(|op| op.kind == Kind::Write)
        );
        // Every name fits the report's name column.
        for op in OPERATIONS {
            assert!(op.name.len() <= crate::report::NAME_WIDTH, "{}", op.name);
        }
    }
}
