//! What the benchmark measures: one entry per operation, each a name and a
//! request builder.
//!
//! # Adding an operation
//!
//! Write a `fn(&Fixture, &mut Rng) -> Option<Request>` that builds one
//! request (return `None` when a pool of ids it consumes is exhausted: the
//! connection then stops), and add an [`Operation`] to [`OPERATIONS`]. The
//! order of that list is the order of the run (reads before the writes
//! that change what they read; revoke last, since it ends sessions).
//! Credentials are in [`Fixture::credentials`]; a Looker access token,
//! obtained once per server start when any selected operation has
//! `needs: Needs::LookerToken`, is in [`Fixture::looker_token`].
//!
//! An operation marked `pending: true` is skipped when the one probe
//! request sent before measuring answers 404 ("not on this server"); any
//! other operation fails the run loudly on a broken route. Huawei's
//! `ListSessions` is still pending: its requests must be signed with the
//! client crate's signer per request (see [`huawei_list_sessions`]), which
//! the load generator does not do yet.

use std::sync::Mutex;

use bytes::Bytes;
use http::Method;
use serde::{Deserialize, Serialize};

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
    /// The dialect is not on this branch yet: a 404 probe skips it.
    pub pending: bool,
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
        pending: false,
    },
    Operation {
        name: "looker user_session",
        kind: Kind::Lookup,
        expected_status: 200,
        needs: Needs::LookerToken,
        build: looker_user_session,
        collect: None,
        pending: false,
    },
    Operation {
        name: "looker all_user_sessions",
        kind: Kind::Lookup,
        expected_status: 200,
        needs: Needs::LookerToken,
        build: looker_all_user_sessions,
        collect: None,
        pending: false,
    },
    Operation {
        name: "prefactor fetch_session",
        kind: Kind::Lookup,
        expected_status: 200,
        needs: Needs::Nothing,
        build: prefactor_fetch_session,
        collect: None,
        pending: false,
    },
    Operation {
        name: "huawei ListSessions",
        kind: Kind::Lookup,
        expected_status: 200,
        needs: Needs::Nothing,
        build: huawei_list_sessions,
        collect: None,
        pending: true,
    },
    Operation {
        name: "native session_view",
        kind: Kind::Lookup,
        expected_status: 200,
        needs: Needs::Nothing,
        build: native_session_view,
        collect: None,
        pending: false,
    },
    Operation {
        name: "native session_create",
        kind: Kind::Write,
        expected_status: 201,
        needs: Needs::Nothing,
        build: native_session_create,
        collect: Some(collect_created),
        pending: false,
    },
    Operation {
        name: "native session_interaction_create",
        kind: Kind::Write,
        expected_status: 200,
        needs: Needs::Nothing,
        build: native_session_interaction_create,
        collect: None,
        pending: false,
    },
    Operation {
        name: "native session_revoke",
        kind: Kind::Write,
        expected_status: 200,
        needs: Needs::Nothing,
        build: native_session_revoke,
        collect: None,
        pending: false,
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

/// The secrets of the admin credential the benchmark calls with (the
/// `--json` output of `login-sessions credentials create`).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Credentials {
    pub native: NativeSecrets,
    pub looker: LookerSecrets,
    pub prefactor: PrefactorSecrets,
    /// For signing Huawei requests once that dialect lands.
    #[allow(dead_code)]
    pub huawei: HuaweiSecrets,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct NativeSecrets {
    pub token: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct LookerSecrets {
    pub client_id: String,
    pub client_secret: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct PrefactorSecrets {
    pub api_token: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[allow(dead_code)]
pub struct HuaweiSecrets {
    pub access_key: String,
    pub secret_key: String,
}

/// A seeded session (the sample `login-sessions seed --sample` writes).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct SampledSession {
    pub id: String,
    pub identity_store_id: String,
    pub user_id: Option<String>,
    pub live: bool,
}

/// The sample file `login-sessions seed --sample` writes.
#[derive(Clone, Debug, Deserialize)]
pub struct SeedSample {
    pub designated_user: SampledSession,
    pub sample: Vec<SampledSession>,
}

/// What the request builders draw on during one phase of the run.
pub struct Fixture {
    /// `host:port` of the server (the `Host` a Huawei signature covers).
    #[allow(dead_code)]
    pub host: String,
    pub credentials: Credentials,
    /// The Looker access token, when an operation needs one.
    pub looker_token: Option<String>,
    /// Seeded sessions, uniformly sampled.
    pub sessions: Vec<SampledSession>,
    /// The sampled sessions that were live with a user when seeded.
    pub live: Vec<SampledSession>,
    /// The user with exactly ten live sessions, and its identity store.
    pub designated: SampledSession,
    /// Ids of live sessions the revoke operation may end, each once.
    pub revocable: Mutex<Vec<String>>,
}

impl Fixture {
    pub fn new(
        host: String,
        credentials: Credentials,
        looker_token: Option<String>,
        sample: SeedSample,
    ) -> Fixture {
        let live: Vec<SampledSession> = sample
            .sample
            .iter()
            .filter(|s| s.live && s.user_id.is_some())
            .cloned()
            .collect();
        let revocable = live.iter().map(|s| s.id.clone()).collect();
        Fixture {
            host,
            credentials,
            looker_token,
            sessions: sample.sample,
            live,
            designated: sample.designated_user,
            revocable: Mutex::new(revocable),
        }
    }

    fn any_session(&self, rng: &mut Rng) -> Option<&SampledSession> {
        pick(&self.sessions, rng)
    }

    fn live_session(&self, rng: &mut Rng) -> Option<&SampledSession> {
        pick(&self.live, rng)
    }

    fn native_bearer(&self) -> String {
        format!("Bearer {}", self.credentials.native.token)
    }
}

fn pick<'a, T>(items: &'a [T], rng: &mut Rng) -> Option<&'a T> {
    if items.is_empty() {
        None
    } else {
        items.get(rng.below(items.len() as u64) as usize)
    }
}

/// A small, fast pseudo-random generator (SplitMix64); one per connection.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Percent-encodes a path segment (user ids may hold any character).
fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

// --- The request builders ---------------------------------------------------

fn baseline(_: &Fixture, _: &mut Rng) -> Option<Request> {
    Some(Request {
        method: Method::GET,
        path: "/bench/baseline".into(),
        headers: Vec::new(),
        content_type: None,
        body: Bytes::new(),
    })
}

/// Looker `GET /api/4.0/users/{user_id}/sessions/{session_id}`: a live
/// session of its user, with the access token from `POST /api/4.0/login`.
fn looker_user_session(fixture: &Fixture, rng: &mut Rng) -> Option<Request> {
    let session = fixture.live_session(rng)?;
    let user = session.user_id.as_deref()?;
    Some(Request::get(
        format!("/api/4.0/users/{}/sessions/{}", segment(user), session.id),
        format!("token {}", fixture.looker_token.as_deref().unwrap_or("")),
    ))
}

/// Looker `GET /api/4.0/users/{user_id}/sessions`: the designated user's
/// ten live sessions.
fn looker_all_user_sessions(fixture: &Fixture, _: &mut Rng) -> Option<Request> {
    let user = fixture.designated.user_id.as_deref()?;
    Some(Request::get(
        format!("/api/4.0/users/{}/sessions", segment(user)),
        format!("token {}", fixture.looker_token.as_deref().unwrap_or("")),
    ))
}

/// Prefactor `GET /api/v1/session/{session_id}`: any seeded session.
fn prefactor_fetch_session(fixture: &Fixture, rng: &mut Rng) -> Option<Request> {
    let session = fixture.any_session(rng)?;
    Some(Request::get(
        format!("/api/v1/session/{}", session.id),
        format!("Bearer {}", fixture.credentials.prefactor.api_token),
    ))
}

/// Huawei `GET /v1/identity-stores/{identity_store_id}/users/{user_id}/sessions`
/// for the user of a live sampled session.
///
/// TO DO when the Huawei dialect lands: sign the request with the client
/// crate's AK/SK signer (`SDK-HMAC-SHA256` over method, path, query, the
/// `host` and `x-sdk-date` headers and the empty body's hash) using
/// `fixture.credentials.huawei` and `fixture.host`, push the
/// `Authorization`, `X-Sdk-Date` (and `Host`, already sent) headers, and set
/// `pending: false`. Unsigned, a server with the dialect answers 401, which
/// fails the probe loudly.
fn huawei_list_sessions(fixture: &Fixture, rng: &mut Rng) -> Option<Request> {
    let session = fixture.live_session(rng)?;
    let user = session.user_id.as_deref()?;
    Some(Request {
        method: Method::GET,
        path: format!(
            "/v1/identity-stores/{}/users/{}/sessions",
            segment(&session.identity_store_id),
            segment(user)
        ),
        headers: Vec::new(),
        content_type: None,
        body: Bytes::new(),
    })
}

/// Native `GET /native/v1/sessions/{session_id}`: any seeded session (the
/// stand-in read until the Looker dialect lands).
fn native_session_view(fixture: &Fixture, rng: &mut Rng) -> Option<Request> {
    let session = fixture.any_session(rng)?;
    Some(Request::get(
        format!("/native/v1/sessions/{}", session.id),
        fixture.native_bearer(),
    ))
}

const CREATE_AGENTS: [&str; 3] = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "looker-sdk-python/26.22.0",
];

/// Native `POST /native/v1/sessions`: a login of a new or seeded user, with
/// an address and user agent to enrich.
fn native_session_create(fixture: &Fixture, rng: &mut Rng) -> Option<Request> {
    let n = rng.next_u64();
    let agent = CREATE_AGENTS[(n % 3) as usize];
    let api = agent.starts_with("looker");
    let body = serde_json::json!({
        "identity_store_id": format!("store-{:03}", n % 8),
        "user_id": format!("user-{:07}", (n >> 8) % 100_000),
        "ip_address": format!("198.51.100.{}", (n >> 32) % 256),
        "user_agent": agent,
        "credentials_type": if api { "api3" } else { "email" },
        "session_type": if api { "api" } else { "browser" },
    });
    Some(Request::post_json(
        "/native/v1/sessions".into(),
        fixture.native_bearer(),
        body,
    ))
}

/// Keeps the id of a created session for the revoke operation.
fn collect_created(fixture: &Fixture, body: &[u8]) {
    #[derive(Deserialize)]
    struct Created {
        id: String,
    }
    if let Ok(created) = serde_json::from_slice::<Created>(body)
        && let Ok(mut revocable) = fixture.revocable.lock()
    {
        revocable.push(created.id);
    }
}

/// Native `POST /native/v1/sessions/{id}/interactions`: the client of a live
/// session was seen again, from the same address and agent (the common
/// case, which a server may coalesce).
fn native_session_interaction_create(fixture: &Fixture, rng: &mut Rng) -> Option<Request> {
    let session = fixture.live_session(rng)?;
    Some(Request::post_json(
        format!("/native/v1/sessions/{}/interactions", session.id),
        fixture.native_bearer(),
        serde_json::json!({
            "ip_address": "203.0.113.77",
            "user_agent": CREATE_AGENTS[0],
        }),
    ))
}

/// Native `POST /native/v1/sessions/{id}/revoke`: each live session once
/// (those created by `session_create` first, then sampled live ones).
fn native_session_revoke(fixture: &Fixture, _: &mut Rng) -> Option<Request> {
    let id = fixture.revocable.lock().ok()?.pop()?;
    Some(Request {
        method: Method::POST,
        path: format!("/native/v1/sessions/{id}/revoke"),
        headers: vec![("authorization", fixture.native_bearer())],
        content_type: None,
        body: Bytes::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn rng_stays_in_range() {
        let mut rng = Rng::new(7);
        for n in 1..100 {
            assert!(rng.below(n) < n);
        }
    }
}
