//! The native dialect's operations: one lookup, and the writes.
//!
//! Interactions are measured twice, because the server does not write an
//! interaction that changes nothing a reader can see (same address and
//! user agent as the session's last one, within its granularity): once as
//! the common case, a hot set of active clients seen again and again
//! (mostly not written), and once with a new address on every request
//! (always written).

use bytes::Bytes;
use http::Method;
use serde::Deserialize;

use super::{Request, path};
use crate::fixture::{Fixture, Rng, SampledSession};

/// Native `GET /native/v1/sessions/{session_id}`: a live session, as the
/// workload spreads them.
pub fn session_view(fixture: &Fixture, rng: &mut Rng) -> Option<Request> {
    let session = fixture.live_session(rng)?;
    Some(Request::get(
        path(&["/native/v1/sessions/", &session.id]),
        fixture.native_bearer(),
    ))
}

/// What fills the caches before the reads are measured: each session the
/// lookups read, once, and the live sessions of its user
/// (`GET /native/v1/sessions?user_id=...&live=true`).
pub fn warm_up(fixture: &Fixture, session: &SampledSession) -> Vec<Request> {
    let mut requests = vec![Request::get(
        format!("/native/v1/sessions/{}", session.id),
        fixture.native_bearer(),
    )];
    if let Some(user) = &session.user_id {
        requests.push(Request::get(
            format!(
                "/native/v1/sessions?user_id={}&live=true",
                huawei_signing::encode(user)
            ),
            fixture.native_bearer(),
        ));
    }
    requests
}

/// The user agents of created sessions: two browsers and an API client.
const CREATE_AGENTS: [&str; 3] = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "looker-sdk-python/26.22.0",
];

/// Native `POST /native/v1/sessions`: a login of a new or seeded user, with
/// an address and user agent to enrich.
pub fn session_create(fixture: &Fixture, rng: &mut Rng) -> Option<Request> {
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
pub fn collect_created(fixture: &Fixture, body: &[u8]) {
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
/// [`ACTIVE_SESSIONS`](crate::fixture::ACTIVE_SESSIONS)) was seen again, from the same address and agent.
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
pub fn session_interaction_create(fixture: &Fixture, rng: &mut Rng) -> Option<Request> {
    let session = fixture.active_session(rng)?;
    Some(interaction(fixture, session, "203.0.113.77".into()))
}

/// Native `POST /native/v1/sessions/{id}/interactions` that is always
/// written: any live session, from an address of 198.18.0.0/15 (the
/// benchmarking range) that no other request sent, so it differs from the
/// session's last one every time and the server cannot coalesce it.
pub fn session_interaction_create_new_address(fixture: &Fixture, rng: &mut Rng) -> Option<Request> {
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
pub fn session_revoke(fixture: &Fixture, _: &mut Rng) -> Option<Request> {
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
    use std::collections::HashSet;

    use super::*;
    use crate::fixture::ACTIVE_SESSIONS;
    use crate::fixture::testing::fixture;

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
        let active: HashSet<&str> = fixture.active.iter().map(|s| s.id.as_str()).collect();
        let mut rng = Rng::new(5);
        let mut seen = HashSet::new();
        for _ in 0..5_000 {
            let request = session_interaction_create(&fixture, &mut rng).unwrap();
            assert_eq!(ip_of(&request), "203.0.113.77");
            let id = session_of(&request);
            assert!(active.contains(id.as_str()), "{id}");
            seen.insert(id);
        }
        // The whole hot set is used, again and again.
        assert!(seen.len() > 900, "{}", seen.len());
    }

    #[test]
    fn the_new_address_interaction_never_repeats_an_address() {
        let fixture = fixture();
        let mut rng = Rng::new(9);
        let mut addresses = HashSet::new();
        let mut sessions = HashSet::new();
        for _ in 0..5_000 {
            let request = session_interaction_create_new_address(&fixture, &mut rng).unwrap();
            let ip: std::net::Ipv4Addr = ip_of(&request).parse().unwrap();
            let [a, b, _, _] = ip.octets();
            assert!(a == 198 && (b == 18 || b == 19), "{ip}");
            assert!(addresses.insert(ip), "{ip} sent twice");
            sessions.insert(session_of(&request));
        }
        // Any live session, not only the hot set.
        assert!(sessions.len() > ACTIVE_SESSIONS, "{}", sessions.len());
    }
}
