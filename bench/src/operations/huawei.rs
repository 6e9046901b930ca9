//! Huawei's lookup, `ListSessions`, signed per request as Huawei's SDKs
//! sign it (`SDK-HMAC-SHA256`, with the `huawei-signing` crate, the signer
//! the client crate uses), so its figures include the server verifying an
//! HMAC on every request, as in production.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::Method;
use huawei_signing as signing;

use super::{Request, path, segment};
use crate::fixture::{Fixture, Rng};

/// The headers a Huawei request signs, lowercase and sorted: the server
/// requires `x-sdk-date` among them; `host` binds the signature to the
/// server it was meant for, as the SDKs do.
const SIGNED_HEADERS: &str = "host;x-sdk-date";

/// Huawei `GET /v1/identity-stores/{identity_store_id}/users/{user_id}/sessions`
/// for the user of a live sampled session, signed with the credential's
/// AK/SK at the time it is built (each request its own signature, as a
/// client of Huawei's SDK sends them; the server allows 15 minutes of
/// clock skew).
pub fn list_sessions(fixture: &Fixture, rng: &mut Rng) -> Option<Request> {
    list_sessions_at(fixture, rng, Utc::now())
}

fn list_sessions_at(fixture: &Fixture, rng: &mut Rng, at: DateTime<Utc>) -> Option<Request> {
    let session = fixture.live_session(rng)?;
    let user = session.user_id.as_deref()?;
    let request = Request {
        method: Method::GET,
        path: path(&[
            "/v1/identity-stores/",
            &segment(&session.identity_store_id),
            "/users/",
            &segment(user),
            "/sessions",
        ]),
        headers: Vec::new(),
        content_type: None,
        body: Bytes::new(),
    };
    Some(signed(fixture, request, at))
}

/// `request` signed as Huawei's SDKs sign it (`SDK-HMAC-SHA256`) at `at`,
/// with the credential's AK/SK: over the method, the path and query as
/// sent, the `host` header the load generator sends ([`Fixture::host`])
/// and `x-sdk-date`, and the empty body's hash. Adds the `x-sdk-date` and
/// `authorization` headers. Bodiless requests only.
fn signed(fixture: &Fixture, mut request: Request, at: DateTime<Utc>) -> Request {
    debug_assert!(request.body.is_empty() && request.content_type.is_none());
    let secrets = &fixture.credentials.huawei;
    let date = signing::format_date(at);
    let (path, query) = request
        .path
        .split_once('?')
        .unwrap_or((request.path.as_str(), ""));
    let canonical = signing::canonical_request(
        request.method.as_str(),
        &signing::canonical_uri(path),
        &signing::canonical_query(query),
        &[("host", &fixture.host), ("x-sdk-date", &date)],
        SIGNED_HEADERS,
        signing::EMPTY_PAYLOAD_HASH,
    );
    let signature = signing::signature(
        &secrets.secret_key,
        &signing::string_to_sign(&date, &canonical),
    );
    request.headers.push((
        "authorization",
        signing::authorization(&secrets.access_key, SIGNED_HEADERS, &signature),
    ));
    request.headers.push(("x-sdk-date", date));
    request
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::fixture::testing::{AK, SK, fixture, fixture_with, session};

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
            let request = list_sessions_at(&fixture, &mut rng, at).unwrap();
            assert_signed(&fixture, &request, "20250730T065607Z");
        }
        // A user id that is percent-encoded in the path (the canonical URI
        // decodes it, splits on the encoded `/` and encodes it again).
        let encoded = fixture_with(vec![session(0, "é user/1", true)]);
        let request = list_sessions_at(&encoded, &mut rng, at).unwrap();
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
        let first = list_sessions_at(&fixture, &mut Rng::new(1), at).unwrap();
        let later = list_sessions_at(
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
}
