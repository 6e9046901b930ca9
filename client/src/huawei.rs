//! Huawei Cloud AK/SK request signing (`SDK-HMAC-SHA256`), as Huawei's own
//! SDKs do it, and the request hook that makes the generated client sign.
//!
//! Two halves:
//!
//! * Pure functions computing the canonical request, the string to sign and
//!   the signature from what is on the wire (raw, percent-encoded path and
//!   query; header values; body bytes). They have no dependencies on
//!   anything but hashing and percent-encoding, and they are the ONE
//!   implementation of the algorithm in this workspace: the server's
//!   verifier calls them too, on what it received. The unit tests below pin
//!   them to the vectors Huawei's documentation and Python SDK produce, so
//!   a shared mistake cannot hide behind the signer and the verifier
//!   agreeing with each other.
//! * [`pre_hook`], the hook progenitor calls before sending each request of
//!   the generated client (see `xtask/src/client.rs`): when the client was
//!   built with [`huawei_client`], it adds `Host`, `X-Sdk-Date` (and
//!   `X-Security-Token`) and the `Authorization` header; otherwise it does
//!   nothing.
//!
//! The recipe (Huawei's "API Request Signing Guide", and `Signer` in the
//! Python SDK's `huaweicloudsdkcore/signer/signer.py`):
//!
//! ```text
//! CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n
//!                    CanonicalHeaders \n SignedHeaders \n HashedPayload
//! StringToSign     = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(SHA256(CanonicalRequest))
//! Signature        = hex(HMAC-SHA256(SK, StringToSign))
//! Authorization: SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b;c, Signature=...
//! ```

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use reqwest::header::{AUTHORIZATION, HOST, HeaderMap, HeaderName, HeaderValue};
use sha2::{Digest, Sha256};

use crate::auth::AuthError;
use crate::{Client, ClientState};

/// The signing algorithm, the first word of the `Authorization` header.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";

/// The header carrying the signing time.
pub const HEADER_DATE: &str = "X-Sdk-Date";

/// The header carrying the security token of temporary credentials.
pub const HEADER_SECURITY_TOKEN: &str = "X-Security-Token";

/// The header a client sets to `UNSIGNED-PAYLOAD` to leave the body out of
/// the signature.
pub const HEADER_CONTENT_SHA256: &str = "X-Sdk-Content-Sha256";

/// The value of [`HEADER_CONTENT_SHA256`] that leaves the body unsigned.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// SHA-256 of the empty string: the payload hash of a request without a
/// body.
pub const EMPTY_PAYLOAD_HASH: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The format of `X-Sdk-Date`: basic ISO 8601 in UTC, e.g.
/// `20191115T033655Z`.
pub const DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// What RFC 3986 leaves unencoded (`A-Z a-z 0-9 - _ . ~`); everything else
/// is `%XX` with uppercase hex, from UTF-8. This is Python's
/// `urllib.parse.quote(s, safe='~')` on a single segment or query part.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

// ---------------------------------------------------------------------------
// The algorithm.

/// RFC 3986 encoding of one path segment or query part.
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, ENCODE).to_string()
}

/// Percent-decoding as Python's `unquote` does it: `%XX` sequences become
/// bytes, anything else (a lone `%`, `+`) stays as it is, and bytes that
/// are not UTF-8 become U+FFFD.
fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// The canonical URI of a raw (percent-encoded, as sent) request path: the
/// whole path decoded, split on `/` (so an encoded `%2F` separates segments
/// here, as in Huawei's signer), each segment re-encoded, and a trailing
/// `/` added unless there is one.
pub fn canonical_uri(raw_path: &str) -> String {
    let decoded = decode(raw_path);
    let mut uri = decoded.split('/').map(encode).collect::<Vec<_>>().join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// The canonical query string of a raw query (without the `?`): each
/// `key=value` pair decoded (`+` is a literal plus, as in RFC 3986), the
/// pairs sorted by key then value, re-encoded and joined with `&`. A pair
/// without `=` has an empty value; empty pairs are dropped.
pub fn canonical_query(raw_query: &str) -> String {
    let mut pairs: Vec<(String, String)> = raw_query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) => (decode(key), decode(value)),
            None => (decode(pair), String::new()),
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(key, value)| format!("{}={}", encode(key), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Lowercase hex SHA-256 of a request body; [`EMPTY_PAYLOAD_HASH`] for an
/// empty one.
pub fn payload_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// The canonical request.
///
/// `headers` are the signed headers in `signed_headers` order, each as
/// (name as listed, value as sent); values are trimmed here. The canonical
/// headers end with a newline, so the canonical request has an empty line
/// before the signed headers.
pub fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    headers: &[(&str, &str)],
    signed_headers: &str,
    payload_hash: &str,
) -> String {
    let mut canonical_headers = String::new();
    for (name, value) in headers {
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(value.trim());
        canonical_headers.push('\n');
    }
    format!(
        "{}\n{canonical_uri}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}",
        method.to_ascii_uppercase()
    )
}

/// The string to sign for a canonical request signed at `date` (the
/// `X-Sdk-Date` value).
pub fn string_to_sign(date: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{date}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

/// HMAC-SHA256 of the string to sign, keyed with the secret key's bytes.
pub fn signature(secret_key: &str, string_to_sign: &str) -> [u8; 32] {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret_key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(string_to_sign.as_bytes());
    mac.finalize().into_bytes().into()
}

/// The `Authorization` header value.
pub fn authorization(access_key: &str, signed_headers: &str, signature: &[u8; 32]) -> String {
    format!(
        "{ALGORITHM} Access={access_key}, SignedHeaders={signed_headers}, Signature={}",
        hex::encode(signature)
    )
}

/// `at` as an `X-Sdk-Date` value.
pub fn format_date(at: DateTime<Utc>) -> String {
    at.format(DATE_FORMAT).to_string()
}

/// Reads an `X-Sdk-Date` value.
pub fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text, DATE_FORMAT)
        .ok()
        .map(|naive| naive.and_utc())
}

// ---------------------------------------------------------------------------
// Signing requests of the generated client.

/// Where the signer takes the time from.
pub type SigningClock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// An AK/SK pair, optionally temporary (with its security token), that a
/// client signs its requests with.
#[derive(Clone)]
pub struct HuaweiCredentials {
    access_key: String,
    secret_key: String,
    security_token: Option<String>,
    clock: Option<SigningClock>,
}

impl std::fmt::Debug for HuaweiCredentials {
    /// Shows the access key only: the secret key and the security token
    /// never appear in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HuaweiCredentials")
            .field("access_key", &self.access_key)
            .field("temporary", &self.security_token.is_some())
            .finish_non_exhaustive()
    }
}

impl HuaweiCredentials {
    /// Permanent credentials: an access key (AK) and secret key (SK).
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        HuaweiCredentials {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            security_token: None,
            clock: None,
        }
    }

    /// Temporary credentials: every request also carries (and signs)
    /// `X-Security-Token`.
    pub fn with_security_token(mut self, security_token: impl Into<String>) -> Self {
        self.security_token = Some(security_token.into());
        self
    }

    /// Signs with the time `clock` tells instead of the system clock (for
    /// tests against a server whose clock is not the wall clock).
    pub fn with_clock(mut self, clock: SigningClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The access key.
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    fn now(&self) -> DateTime<Utc> {
        match &self.clock {
            Some(clock) => clock(),
            None => Utc::now(),
        }
    }
}

/// Why a request could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The URL has no host to sign.
    #[error("the request URL has no host")]
    NoHost,
    /// The body is a stream: its bytes cannot be hashed before sending.
    #[error("a streaming request body cannot be signed")]
    StreamingBody,
    /// A header value is not text, or a credential cannot be sent in a
    /// header. The value is not shown.
    #[error("header {0} cannot be signed or sent")]
    Header(String),
}

/// A client whose every request is signed with `credentials`.
///
/// `base_url` is the server's URL with scheme, host and port, e.g.
/// `http://127.0.0.1:8080`.
pub fn huawei_client(base_url: &str, credentials: HuaweiCredentials) -> Result<Client, AuthError> {
    let http = crate::auth::http_client(HeaderMap::new())?;
    let state = ClientState {
        huawei: Some(credentials),
    };
    Ok(Client::new_with_client(base_url, http, state))
}

/// The generated client's pre-request hook: signs the request when the
/// client was built for Huawei ([`huawei_client`]), and leaves it alone
/// otherwise.
pub async fn pre_hook(
    state: &ClientState,
    request: &mut reqwest::Request,
) -> Result<(), SignError> {
    match &state.huawei {
        Some(credentials) => sign(credentials, request),
        None => Ok(()),
    }
}

/// Signs `request` in place: sets `Host`, `X-Sdk-Date` and (for temporary
/// credentials) `X-Security-Token`, then `Authorization` over every header
/// the request holds at this point, as the Python SDK does (headers the
/// HTTP client adds later, such as `User-Agent`, are not signed).
pub fn sign(
    credentials: &HuaweiCredentials,
    request: &mut reqwest::Request,
) -> Result<(), SignError> {
    let host = host_of(request.url())?;
    let date = format_date(credentials.now());
    let headers = request.headers_mut();
    headers.remove(AUTHORIZATION);
    headers.insert(HOST, header_value("host", &host)?);
    headers.insert(
        HeaderName::from_static("x-sdk-date"),
        header_value("x-sdk-date", &date)?,
    );
    if let Some(token) = &credentials.security_token {
        let mut value = header_value(HEADER_SECURITY_TOKEN, token)?;
        value.set_sensitive(true);
        headers.insert(HeaderName::from_static("x-security-token"), value);
    }

    let signed = signed_headers(request.headers())?;
    let names: Vec<&str> = signed.iter().map(|(name, _)| name.as_str()).collect();
    let signed_list = names.join(";");
    let payload = match request.body() {
        None => EMPTY_PAYLOAD_HASH.to_string(),
        Some(body) => {
            let bytes = body.as_bytes().ok_or(SignError::StreamingBody)?;
            let unsigned = signed
                .iter()
                .find(|(name, _)| name == "x-sdk-content-sha256")
                .map(|(_, value)| value.trim().to_string());
            match unsigned {
                _ if bytes.is_empty() => EMPTY_PAYLOAD_HASH.to_string(),
                Some(value) => value,
                None => payload_hash(bytes),
            }
        }
    };
    let pairs: Vec<(&str, &str)> = signed
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let url = request.url();
    let canonical = canonical_request(
        request.method().as_str(),
        &canonical_uri(url.path()),
        &canonical_query(url.query().unwrap_or("")),
        &pairs,
        &signed_list,
        &payload,
    );
    let signature = signature(&credentials.secret_key, &string_to_sign(&date, &canonical));
    let mut value = header_value(
        "authorization",
        &authorization(&credentials.access_key, &signed_list, &signature),
    )?;
    value.set_sensitive(true);
    request.headers_mut().insert(AUTHORIZATION, value);
    Ok(())
}

/// The `Host` header for a URL: the host, and the port when the URL names
/// one that is not the scheme's default (so `127.0.0.1:8080`).
fn host_of(url: &reqwest::Url) -> Result<String, SignError> {
    let host = url.host_str().ok_or(SignError::NoHost)?;
    Ok(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

fn header_value(name: &str, value: &str) -> Result<HeaderValue, SignError> {
    HeaderValue::from_str(value).map_err(|_| SignError::Header(name.to_string()))
}

/// Every header of the request, lowercased and sorted, except names with
/// an underscore (Huawei's signer skips those), each with its values
/// joined by `,`.
fn signed_headers(headers: &HeaderMap) -> Result<Vec<(String, String)>, SignError> {
    let mut signed = Vec::new();
    for name in headers.keys() {
        if name.as_str().contains('_') {
            continue;
        }
        let values = headers
            .get_all(name)
            .iter()
            .map(|value| {
                std::str::from_utf8(value.as_bytes())
                    .map_err(|_| SignError::Header(name.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        signed.push((name.as_str().to_string(), values.join(",")));
    }
    signed.sort();
    Ok(signed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SDK-generated vectors of the reference notes: fake AK/SK, Host
    /// `127.0.0.1:8080`, `X-Sdk-Date: 20250730T065607Z`, `User-Agent:
    /// huaweicloud-usdk-python/3.0`, `Content-Type: application/json`.
    const AK: &str = "TESTAK0000000000";
    const SK: &str = "TESTSK0000000000000000000000000000000000";
    const DATE: &str = "20250730T065607Z";
    const HOST_VALUE: &str = "127.0.0.1:8080";
    const UA: &str = "huaweicloud-usdk-python/3.0";

    fn sha256_hex(text: &str) -> String {
        hex::encode(Sha256::digest(text.as_bytes()))
    }

    fn check(
        method: &str,
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        canonical_hash: &str,
        expected_signature: &str,
    ) {
        let signed: Vec<&str> = headers.iter().map(|(name, _)| *name).collect();
        let hash = if body.is_empty() {
            EMPTY_PAYLOAD_HASH.to_string()
        } else {
            payload_hash(body)
        };
        let canonical = canonical_request(
            method,
            &canonical_uri(path),
            &canonical_query(query),
            headers,
            &signed.join(";"),
            &hash,
        );
        assert_eq!(sha256_hex(&canonical), canonical_hash, "{canonical}");
        let signature = signature(SK, &string_to_sign(DATE, &canonical));
        assert_eq!(hex::encode(signature), expected_signature);
    }

    #[test]
    fn documented_golden_vector() {
        // https://support.huaweicloud.com/eu/devg-apisign/api-sign-algorithm-003.html
        let canonical = canonical_request(
            "GET",
            &canonical_uri("/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs"),
            &canonical_query("limit=2&marker=13551d6b-755d-4757-b956-536f674975c0"),
            &[
                ("content-type", "application/json"),
                ("host", "service.region.example.com"),
                ("x-sdk-date", "20191115T033655Z"),
            ],
            "content-type;host;x-sdk-date",
            EMPTY_PAYLOAD_HASH,
        );
        assert_eq!(
            canonical,
            "GET\n/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/\n\
             limit=2&marker=13551d6b-755d-4757-b956-536f674975c0\n\
             content-type:application/json\nhost:service.region.example.com\n\
             x-sdk-date:20191115T033655Z\n\ncontent-type;host;x-sdk-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            string_to_sign("20191115T033655Z", &canonical),
            "SDK-HMAC-SHA256\n20191115T033655Z\n\
             b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"
        );
    }

    #[test]
    fn sdk_vector_list_sessions() {
        check(
            "GET",
            "/v1/identity-stores/d-1234567890/users/u-1/sessions",
            "",
            &[
                ("content-type", "application/json"),
                ("host", HOST_VALUE),
                ("user-agent", UA),
                ("x-sdk-date", DATE),
            ],
            b"",
            "4839b5581077292ff0cc7bb618d6d93003899bd8a5480ef85cfc5194b8b2aa99",
            "9ffd78d9c06f48b3768231e4a3d2be37bf216781fbdb89f17da5b6be54ccee37",
        );
    }

    #[test]
    fn sdk_vector_with_security_token_and_project() {
        check(
            "GET",
            "/v1/identity-stores/d-1234567890/users/u-1/sessions",
            "",
            &[
                ("content-type", "application/json"),
                ("host", HOST_VALUE),
                ("user-agent", UA),
                ("x-project-id", "proj123"),
                ("x-sdk-date", DATE),
                ("x-security-token", "TEMPTOKEN"),
            ],
            b"",
            "9ac337c176daaf523f4bf2e368af7cb34721d36b86f05b41bdb5f8d5bbe2f40a",
            "e9b8e6b2dde2cf59900bc054a1b4e9bcc48ff8f4e7a047c625eb62f3ac4444d4",
        );
    }

    #[test]
    fn sdk_vector_batch_delete() {
        let body = br#"{"session_ids": ["s1", "s2"]}"#;
        assert_eq!(
            payload_hash(body),
            "035d441422d1e3e2a3d9193e02143894394e6ec998456cc978fe78881752bcce"
        );
        check(
            "POST",
            "/v1/identity-stores/d-1234567890/users/u-1/sessions/batch-delete",
            "",
            &[
                ("content-type", "application/json"),
                ("host", HOST_VALUE),
                ("user-agent", UA),
                ("x-sdk-date", DATE),
            ],
            body,
            "1e9f014c41dc9c3ffa019e8d7ceec1bc8f23896cb33b4765cf97e5033da17ae8",
            "1b03099e6f24cb3dd7b21789578002363f6e6698b40687c096c85833daf39da9",
        );
    }

    #[test]
    fn sdk_vector_with_query() {
        assert_eq!(
            canonical_query("marker=m%201&limit=10"),
            "limit=10&marker=m%201"
        );
        check(
            "GET",
            "/v1/identity-stores/d-1234567890/users",
            "limit=10&marker=m%201",
            &[
                ("content-type", "application/json"),
                ("host", HOST_VALUE),
                ("user-agent", UA),
                ("x-sdk-date", DATE),
            ],
            b"",
            "61e6c2e20510b19365ba55b1785a1cfca3d993b91c25abbc0346f9a669bff801",
            "c85707ff236f97eb6c1ab3edc5201a60572996d77f5cea2ea642952923e3a84f",
        );
    }

    #[test]
    fn the_empty_payload_hash_is_sha256_of_nothing() {
        assert_eq!(payload_hash(b""), EMPTY_PAYLOAD_HASH);
    }

    #[test]
    fn canonical_uris() {
        // The trailing slash is added once, never twice.
        assert_eq!(canonical_uri("/v1/a"), "/v1/a/");
        assert_eq!(canonical_uri("/v1/a/"), "/v1/a/");
        assert_eq!(canonical_uri("/"), "/");
        // %2F decodes to a segment boundary; space, plus, tilde and
        // non-ASCII are re-encoded per RFC 3986.
        assert_eq!(canonical_uri("/u/a%2Fb"), "/u/a/b/");
        assert_eq!(canonical_uri("/u/a%20b+c~d"), "/u/a%20b%2Bc~d/");
        assert_eq!(canonical_uri("/u/%C3%A9"), "/u/%C3%A9/");
        assert_eq!(canonical_uri("/u/é"), "/u/%C3%A9/");
        assert_eq!(canonical_uri("/u/%c3%a9"), "/u/%C3%A9/", "uppercase hex");
        assert_eq!(canonical_uri("/u/%7E"), "/u/~/");
        // A literal percent that starts no escape stays a percent.
        assert_eq!(canonical_uri("/u/100%"), "/u/100%25/");
        assert_eq!(canonical_uri("/u/a%252Fb"), "/u/a%252Fb/");
    }

    #[test]
    fn canonical_queries() {
        assert_eq!(canonical_query(""), "");
        assert_eq!(canonical_query("b=2&a=1"), "a=1&b=2");
        assert_eq!(canonical_query("a=2&a=1"), "a=1&a=2");
        assert_eq!(canonical_query("flag&a=x+y"), "a=x%2By&flag=");
        assert_eq!(canonical_query("q=%C3%A9~&&"), "q=%C3%A9~");
    }

    #[test]
    fn dates() {
        let at = parse_date("20191115T033655Z").unwrap();
        assert_eq!(at.to_rfc3339(), "2019-11-15T03:36:55+00:00");
        assert_eq!(format_date(at), "20191115T033655Z");
        assert_eq!(parse_date("2019-11-15T03:36:55Z"), None);
        assert_eq!(parse_date("20191115T033655"), None);
    }

    /// The signer, applied to a real `reqwest::Request`, produces the SDK's
    /// signature when the request holds the same headers.
    #[test]
    fn the_request_signer_matches_the_sdk() {
        let fixed: SigningClock = Arc::new(|| parse_date(DATE).unwrap());
        let credentials = HuaweiCredentials::new(AK, SK).with_clock(fixed);
        let mut request = reqwest::Client::new()
            .post("http://127.0.0.1:8080/v1/identity-stores/d-1234567890/users/u-1/sessions/batch-delete")
            .header("Content-Type", "application/json")
            .header("User-Agent", UA)
            .body(r#"{"session_ids": ["s1", "s2"]}"#)
            .build()
            .unwrap();
        sign(&credentials, &mut request).unwrap();
        let headers = request.headers();
        assert_eq!(headers["host"], HOST_VALUE);
        assert_eq!(headers["x-sdk-date"], DATE);
        assert_eq!(
            headers["authorization"],
            "SDK-HMAC-SHA256 Access=TESTAK0000000000, \
             SignedHeaders=content-type;host;user-agent;x-sdk-date, \
             Signature=1b03099e6f24cb3dd7b21789578002363f6e6698b40687c096c85833daf39da9"
        );
        assert!(headers["authorization"].is_sensitive());
    }

    #[test]
    fn temporary_credentials_sign_the_security_token() {
        let fixed: SigningClock = Arc::new(|| parse_date(DATE).unwrap());
        let credentials = HuaweiCredentials::new(AK, SK)
            .with_security_token("TEMPTOKEN")
            .with_clock(fixed);
        let mut request = reqwest::Client::new()
            .get("http://127.0.0.1:8080/v1/identity-stores/d-1234567890/users/u-1/sessions")
            .header("Content-Type", "application/json")
            .header("User-Agent", UA)
            .header("X-Project-Id", "proj123")
            .build()
            .unwrap();
        sign(&credentials, &mut request).unwrap();
        let headers = request.headers();
        assert_eq!(headers["x-security-token"], "TEMPTOKEN");
        assert!(headers["x-security-token"].is_sensitive());
        assert!(headers["authorization"].to_str().unwrap().ends_with(
            "Signature=e9b8e6b2dde2cf59900bc054a1b4e9bcc48ff8f4e7a047c625eb62f3ac4444d4"
        ));
    }

    #[test]
    fn debug_output_hides_the_secrets() {
        let credentials = HuaweiCredentials::new(AK, "s3cr3t-sk").with_security_token("t0ken");
        let shown = format!("{credentials:?}");
        assert!(shown.contains(AK));
        assert!(
            !shown.contains("s3cr3t-sk") && !shown.contains("t0ken"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn the_hook_does_nothing_for_other_clients() {
        let mut request = reqwest::Client::new()
            .get("http://127.0.0.1:8080/native/v1/sessions")
            .build()
            .unwrap();
        pre_hook(&ClientState::default(), &mut request)
            .await
            .unwrap();
        assert!(request.headers().is_empty());
    }
}
