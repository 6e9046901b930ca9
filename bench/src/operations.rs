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
//! Before measuring, one probe request is sent: an operation whose probe
//! does not answer its expected status fails the run loudly. Huawei's
//! `ListSessions` is signed per request, as Huawei's SDKs sign it, with the
//! AK/SK signer the client crate uses (the `huawei-signing` crate, see
//! [`huawei_list_sessions`]), so its
//! figures include the server verifying an HMAC on every request, as in
//! production.
//!
//! Interactions are measured twice, because the server does not write an
//! interaction that changes nothing a reader can see (same address and
//! user agent as the session's last one, within its granularity): once as
//! the common case, a hot set of active clients seen again and again
//! (mostly not written), and once with a new address on every request
//! (always written).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::Method;
use huawei_signing as signing;
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
        build: looker_user_session,
        collect: None,
    },
    Operation {
        name: "looker all_user_sessions",
        kind: Kind::Lookup,
        expected_status: 200,
        needs: Needs::LookerToken,
        build: looker_all_user_sessions,
        collect: None,
    },
    Operation {
        name: "prefactor fetch_session",
        kind: Kind::Lookup,
        expected_status: 200,
        needs: Needs::Nothing,
        build: prefactor_fetch_session,
        collect: None,
    },
    Operation {
        name: "huawei ListSessions",
        kind: Kind::Lookup,
        expected_status: 200,
        needs: Needs::Nothing,
        build: huawei_list_sessions,
        collect: None,
    },
    Operation {
        name: "native session_view",
        kind: Kind::Lookup,
        expected_status: 200,
        needs: Needs::Nothing,
        build: native_session_view,
        collect: None,
    },
    Operation {
        name: "native session_create",
        kind: Kind::Write,
        expected_status: 201,
        needs: Needs::Nothing,
        build: native_session_create,
        collect: Some(collect_created),
    },
    Operation {
        name: "native session_interaction_create",
        kind: Kind::Write,
        expected_status: 200,
        needs: Needs::Nothing,
        build: native_session_interaction_create,
        collect: None,
    },
    Operation {
        name: "native session_interaction_create [new address]",
        kind: Kind::Write,
        expected_status: 200,
        needs: Needs::Nothing,
        build: native_session_interaction_create_new_address,
        collect: None,
    },
    Operation {
        name: "native session_revoke",
        kind: Kind::Write,
        expected_status: 200,
        needs: Needs::Nothing,
        build: native_session_revoke,
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

/// The secrets of the admin credential the benchmark calls with (the
/// `--json` output of `login-sessions credentials create`).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Credentials {
    pub native: NativeSecrets,
    pub looker: LookerSecrets,
    pub prefactor: PrefactorSecrets,
    /// The AK/SK pair Huawei requests are signed with.
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
    /// `host:port` of the server: the `Host` a Huawei signature covers,
    /// the same text the load generator sends (`SocketAddr`'s `Display`).
    pub host: String,
    pub credentials: Credentials,
    /// The Looker access token, when an operation needs one.
    pub looker_token: Option<String>,
    /// Seeded sessions, uniformly sampled.
    pub sessions: Vec<SampledSession>,
    /// The sampled sessions that were live with a user when seeded.
    pub live: Vec<SampledSession>,
    /// The clients currently active: the first [`ACTIVE_SESSIONS`] of
    /// `live`, the ones the common-case interaction touches again and
    /// again.
    pub active: Vec<SampledSession>,
    /// The user with exactly ten live sessions, and its identity store.
    pub designated: SampledSession,
    /// Ids of live sessions the revoke operation may end, each once.
    pub revocable: Mutex<Vec<String>>,
    /// The next address of the new-address interaction, an index into
    /// [`BENCHMARK_RANGE`], shared by all connections so no two requests
    /// send the same one (until the range wraps).
    next_address: AtomicU32,
}

/// How many live sessions the common-case interaction draws from.
pub const ACTIVE_SESSIONS: usize = 1_000;

/// 198.18.0.0/15, the range set aside for benchmarking network devices
/// (RFC 2544): the first address and the number of addresses.
const BENCHMARK_RANGE: ([u8; 2], u32) = ([198, 18], 1 << 17);

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
        let active = live.iter().take(ACTIVE_SESSIONS).cloned().collect();
        Fixture {
            host,
            credentials,
            looker_token,
            sessions: sample.sample,
            live,
            active,
            designated: sample.designated_user,
            revocable: Mutex::new(revocable),
            next_address: AtomicU32::new(0),
        }
    }

    fn any_session(&self, rng: &mut Rng) -> Option<&SampledSession> {
        pick(&self.sessions, rng)
    }

    fn live_session(&self, rng: &mut Rng) -> Option<&SampledSession> {
        pick(&self.live, rng)
    }

    fn active_session(&self, rng: &mut Rng) -> Option<&SampledSession> {
        pick(&self.active, rng)
    }

    fn native_bearer(&self) -> String {
        format!("Bearer {}", self.credentials.native.token)
    }

    /// An address of 198.18.0.0/15 no other request of this fixture sent
    /// (they repeat after 131,072 requests).
    fn new_address(&self) -> String {
        let ([a, b], size) = BENCHMARK_RANGE;
        let n = self.next_address.fetch_add(1, Ordering::Relaxed) % size;
        format!(
            "{a}.{}.{}.{}",
            u32::from(b) + (n >> 16),
            (n >> 8) & 0xff,
            n & 0xff
        )
    }

    /// `request` signed as Huawei's SDKs sign it (`SDK-HMAC-SHA256`) at
    /// `at`, with the credential's AK/SK: over the method, the path and
    /// query as sent, the `host` header the load generator sends
    /// ([`Fixture::host`]) and `x-sdk-date`, and the empty body's hash.
    /// Adds the `x-sdk-date` and `authorization` headers. Bodiless requests
    /// only.
    fn huawei_signed(&self, mut request: Request, at: DateTime<Utc>) -> Request {
        debug_assert!(request.body.is_empty() && request.content_type.is_none());
        let secrets = &self.credentials.huawei;
        let date = signing::format_date(at);
        let (path, query) = request
            .path
            .split_once('?')
            .unwrap_or((request.path.as_str(), ""));
        let canonical = signing::canonical_request(
            request.method.as_str(),
            &signing::canonical_uri(path),
            &signing::canonical_query(query),
            &[("host", &self.host), ("x-sdk-date", &date)],
            HUAWEI_SIGNED_HEADERS,
            signing::EMPTY_PAYLOAD_HASH,
        );
        let signature = signing::signature(
            &secrets.secret_key,
            &signing::string_to_sign(&date, &canonical),
        );
        request.headers.push((
            "authorization",
            signing::authorization(&secrets.access_key, HUAWEI_SIGNED_HEADERS, &signature),
        ));
        request.headers.push(("x-sdk-date", date));
        request
    }
}

/// The headers a Huawei request signs, lowercase and sorted: the server
/// requires `x-sdk-date` among them; `host` binds the signature to the
/// server it was meant for, as the SDKs do.
const HUAWEI_SIGNED_HEADERS: &str = "host;x-sdk-date";

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
/// for the user of a live sampled session, signed with the credential's
/// AK/SK at the time it is built (each request its own signature, as a
/// client of Huawei's SDK sends them; the server allows 15 minutes of
/// clock skew).
fn huawei_list_sessions(fixture: &Fixture, rng: &mut Rng) -> Option<Request> {
    huawei_list_sessions_at(fixture, rng, Utc::now())
}

fn huawei_list_sessions_at(fixture: &Fixture, rng: &mut Rng, at: DateTime<Utc>) -> Option<Request> {
    let session = fixture.live_session(rng)?;
    let user = session.user_id.as_deref()?;
    let request = Request {
        method: Method::GET,
        path: format!(
            "/v1/identity-stores/{}/users/{}/sessions",
            segment(&session.identity_store_id),
            segment(user)
        ),
        headers: Vec::new(),
        content_type: None,
        body: Bytes::new(),
    };
    Some(fixture.huawei_signed(request, at))
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

/// Native `POST /native/v1/sessions/{id}/interactions`, the common case:
/// one of a hot set of active clients ([`Fixture::active`], at most
/// [`ACTIVE_SESSIONS`]) was seen again, from the same address and agent.
///
/// Real clients send many requests per session, each of which the
/// application reports, so most interactions repeat the session's last
/// address and agent within seconds. The server coalesces those: it writes
/// the first one per session and granularity (`serve
/// --last-seen-granularity`, 60 s by default) and answers the rest without
/// writing, since they change nothing a reader can see at that
/// granularity. This operation measures that path: after the first touch
/// of each active session (mostly in the warm-up), requests are not
/// written until the granularity has passed.
fn native_session_interaction_create(fixture: &Fixture, rng: &mut Rng) -> Option<Request> {
    let session = fixture.active_session(rng)?;
    Some(interaction(fixture, session, "203.0.113.77".into()))
}

/// Native `POST /native/v1/sessions/{id}/interactions` that is always
/// written: any live session, from an address of 198.18.0.0/15 (the
/// benchmarking range) that no other request sent, so it differs from the
/// session's last one every time and the server cannot coalesce it.
fn native_session_interaction_create_new_address(
    fixture: &Fixture,
    rng: &mut Rng,
) -> Option<Request> {
    let session = fixture.live_session(rng)?;
    Some(interaction(fixture, session, fixture.new_address()))
}

fn interaction(fixture: &Fixture, session: &SampledSession, ip_address: String) -> Request {
    Request::post_json(
        format!("/native/v1/sessions/{}/interactions", session.id),
        fixture.native_bearer(),
        serde_json::json!({
            "ip_address": ip_address,
            "user_agent": CREATE_AGENTS[0],
        }),
    )
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
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use super::*;

    const AK: &str = "TESTAK0000000000";
    const SK: &str = "TESTSK0000000000000000000000000000000000";

    fn session(n: usize, user: &str, live: bool) -> SampledSession {
        SampledSession {
            id: format!("s-{n:07}"),
            identity_store_id: format!("store-{:03}", n % 8),
            user_id: Some(user.to_string()),
            live,
        }
    }

    /// 3,000 live sessions and 1,000 ended ones.
    fn fixture() -> Fixture {
        fixture_with(
            (0..4_000)
                .map(|n| session(n, &format!("user-{:07}", n / 10), n % 4 != 3))
                .collect(),
        )
    }

    fn fixture_with(sample: Vec<SampledSession>) -> Fixture {
        Fixture::new(
            "127.0.0.1:41234".into(),
            Credentials {
                native: NativeSecrets {
                    token: "native".into(),
                },
                looker: LookerSecrets {
                    client_id: "id".into(),
                    client_secret: "secret".into(),
                },
                prefactor: PrefactorSecrets {
                    api_token: "prefactor".into(),
                },
                huawei: HuaweiSecrets {
                    access_key: AK.into(),
                    secret_key: SK.into(),
                },
            },
            None,
            SeedSample {
                designated_user: session(9_999, "designated", true),
                sample,
            },
        )
    }

    /// A request as the server receives it: method, raw path and the
    /// headers (names lowercased), parsed from what the load generator
    /// writes on the wire.
    fn on_the_wire(
        fixture: &Fixture,
        request: &Request,
    ) -> (String, String, BTreeMap<String, String>) {
        let mut wire = Vec::new();
        crate::load::write_request(&mut wire, &fixture.host, request).unwrap();
        let text = String::from_utf8(wire).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert_eq!(body, "");
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next().unwrap().split(' ');
        let method = request_line.next().unwrap().to_string();
        let path = request_line.next().unwrap().to_string();
        let mut headers = BTreeMap::new();
        for line in lines {
            let (name, value) = line.split_once(':').unwrap();
            let previous = headers.insert(name.to_ascii_lowercase(), value.trim().to_string());
            assert!(previous.is_none(), "{name} sent twice");
        }
        (method, path, headers)
    }

    /// Checks that `request`, as the load generator sends it, carries a
    /// signature a verifier reproduces from the raw path and the values of
    /// the headers it lists, as received.
    fn assert_signed(fixture: &Fixture, request: &Request, date: &str) {
        let (method, path, headers) = on_the_wire(fixture, request);
        assert_eq!(method, "GET");
        assert_eq!(headers["host"], fixture.host);
        assert_eq!(headers["x-sdk-date"], date);

        // Authorization: SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...
        let authorization = &headers["authorization"];
        let fields = authorization
            .strip_prefix("SDK-HMAC-SHA256 ")
            .expect(authorization);
        let fields: Vec<(&str, &str)> = fields
            .split(", ")
            .map(|field| field.split_once('=').unwrap())
            .collect();
        let [
            ("Access", access),
            ("SignedHeaders", signed),
            ("Signature", sent),
        ] = fields[..]
        else {
            panic!("{authorization}");
        };
        assert_eq!(access, AK);
        assert_eq!(signed, "host;x-sdk-date");
        assert!(
            sent.len() == 64
                && sent
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{sent}"
        );

        let (raw_path, query) = path.split_once('?').unwrap_or((&path, ""));
        let listed: Vec<(&str, &str)> = signed
            .split(';')
            .map(|name| (name, headers[name].as_str()))
            .collect();
        let canonical = signing::canonical_request(
            &method,
            &signing::canonical_uri(raw_path),
            &signing::canonical_query(query),
            &listed,
            signed,
            signing::EMPTY_PAYLOAD_HASH,
        );
        let expected = signing::signature(
            SK,
            &signing::string_to_sign(&headers["x-sdk-date"], &canonical),
        );
        assert_eq!(sent, hex_of(&expected), "{canonical}");
    }

    #[test]
    fn huawei_requests_are_signed_over_what_is_sent() {
        let fixture = fixture();
        let at = signing::parse_date("20250730T065607Z").unwrap();
        let mut rng = Rng::new(3);
        for _ in 0..200 {
            let request = huawei_list_sessions_at(&fixture, &mut rng, at).unwrap();
            assert_signed(&fixture, &request, "20250730T065607Z");
        }
        // A user id that is percent-encoded in the path (the canonical URI
        // decodes it, splits on the encoded `/` and encodes it again).
        let encoded = fixture_with(vec![session(0, "é user/1", true)]);
        let request = huawei_list_sessions_at(&encoded, &mut rng, at).unwrap();
        assert_eq!(
            request.path,
            "/v1/identity-stores/store-000/users/%C3%A9%20user%2F1/sessions"
        );
        assert_signed(&encoded, &request, "20250730T065607Z");
    }

    #[test]
    fn each_huawei_request_is_signed_at_its_own_time() {
        let fixture = fixture();
        let at = signing::parse_date("20250730T065607Z").unwrap();
        let first = huawei_list_sessions_at(&fixture, &mut Rng::new(1), at).unwrap();
        let later = huawei_list_sessions_at(
            &fixture,
            &mut Rng::new(1),
            at + chrono::TimeDelta::seconds(1),
        )
        .unwrap();
        assert_eq!(first.path, later.path);
        assert_ne!(first.headers, later.headers);
    }

    fn hex_of(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn ip_of(request: &Request) -> String {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        body["ip_address"].as_str().unwrap().to_string()
    }

    fn session_of(request: &Request) -> String {
        request
            .path
            .strip_prefix("/native/v1/sessions/")
            .and_then(|rest| rest.strip_suffix("/interactions"))
            .unwrap()
            .to_string()
    }

    #[test]
    fn the_common_interaction_repeats_a_hot_set() {
        let fixture = fixture();
        assert_eq!(fixture.live.len(), 3_000);
        assert_eq!(fixture.active.len(), ACTIVE_SESSIONS);
        assert_eq!(fixture.active[..], fixture.live[..ACTIVE_SESSIONS]);
        let active: HashSet<&str> = fixture.active.iter().map(|s| s.id.as_str()).collect();
        let mut rng = Rng::new(5);
        let mut seen = HashSet::new();
        for _ in 0..5_000 {
            let request = native_session_interaction_create(&fixture, &mut rng).unwrap();
            assert_eq!(ip_of(&request), "203.0.113.77");
            let id = session_of(&request);
            assert!(active.contains(id.as_str()), "{id}");
            seen.insert(id);
        }
        // The whole hot set is used, again and again.
        assert!(seen.len() > 900, "{}", seen.len());

        // With fewer live sessions, all of them are active.
        let few = fixture_with(fixture.live[..10].to_vec());
        assert_eq!(few.active, few.live);
    }

    #[test]
    fn the_new_address_interaction_never_repeats_an_address() {
        let fixture = fixture();
        let mut rng = Rng::new(9);
        let mut addresses = HashSet::new();
        let mut sessions = HashSet::new();
        for _ in 0..5_000 {
            let request =
                native_session_interaction_create_new_address(&fixture, &mut rng).unwrap();
            let ip: std::net::Ipv4Addr = ip_of(&request).parse().unwrap();
            let [a, b, _, _] = ip.octets();
            assert!(a == 198 && (b == 18 || b == 19), "{ip}");
            assert!(addresses.insert(ip), "{ip} sent twice");
            sessions.insert(session_of(&request));
        }
        // Any live session, not only the hot set.
        assert!(sessions.len() > ACTIVE_SESSIONS, "{}", sessions.len());
        // The range's last address, then its first again.
        fixture.next_address.store((1 << 17) - 1, Ordering::Relaxed);
        assert_eq!(fixture.new_address(), "198.19.255.255");
        assert_eq!(fixture.new_address(), "198.18.0.0");
    }

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

    #[test]
    fn rng_stays_in_range() {
        let mut rng = Rng::new(7);
        for n in 1..100 {
            assert!(rng.below(n) < n);
        }
    }
}
