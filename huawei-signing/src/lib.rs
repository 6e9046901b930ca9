//! Huawei Cloud AK/SK request signing (`SDK-HMAC-SHA256`), as Huawei's own
//! SDKs do it: the canonical request, the string to sign, the signature and
//! the `Authorization` header, computed from what is on the wire (raw,
//! percent-encoded path and query; header values; body bytes).
//!
//! This is the one implementation of the algorithm in the workspace: the
//! client signs with it (`login_sessions_client::huawei`) and the server
//! verifies with it, on what it received. It depends on nothing but hashing,
//! percent-encoding and dates, so a drift check or the server does not pull
//! in an HTTP client for it. The unit tests pin it to the vectors Huawei's
//! documentation and Python SDK produce, so a shared mistake cannot hide
//! behind the signer and the verifier agreeing with each other; the tests
//! crate also drives the server with Huawei's Python SDK.
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

use chrono::{DateTime, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};

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
    // A path of unreserved characters and `/` alone is its own canonical
    // form (nothing to decode or encode): the common case, and every
    // request a server verifies computes it.
    if raw_path
        .bytes()
        .all(|byte| byte == b'/' || byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte))
    {
        let mut uri = String::with_capacity(raw_path.len() + 1);
        uri.push_str(raw_path);
        if !uri.ends_with('/') {
            uri.push('/');
        }
        return uri;
    }
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
        lower_hex(&Sha256::digest(canonical_request.as_bytes()).into())
    )
}

/// 32 bytes as 64 lowercase hex digits, from a table (`hex::encode` goes
/// character by character through an iterator, on every request signed or
/// verified).
fn lower_hex(bytes: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(64);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    text
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
        lower_hex(signature)
    )
}

/// `at` as an `X-Sdk-Date` value. Written digit by digit for years 0 to
/// 9999, the same as chrono's `format(DATE_FORMAT)` (which every other
/// year goes through), without parsing the format on each request.
pub fn format_date(at: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    // Taken apart once: each of `DateTime`'s own accessors converts the
    // whole time again.
    let at_utc = at.naive_utc();
    let (date, time) = (at_utc.date(), at_utc.time());
    let year = date.year();
    if !(0..=9999).contains(&year) {
        return at.format(DATE_FORMAT).to_string();
    }
    let mut text = *b"00000000T000000Z";
    let mut put = |at: usize, width: usize, mut value: u32| {
        for index in (at..at + width).rev() {
            text[index] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year.unsigned_abs());
    put(4, 2, date.month());
    put(6, 2, date.day());
    put(9, 2, time.hour());
    put(11, 2, time.minute());
    // A leap second (60) as chrono writes it.
    put(13, 2, time.second() + time.nanosecond() / 1_000_000_000);
    // Digits, `T` and `Z` only: always ASCII.
    String::from_utf8_lossy(&text).into_owned()
}

/// Reads an `X-Sdk-Date` value. The form every SDK sends
/// (`20191115T033655Z`, sixteen characters) is read digit by digit;
/// anything else goes to chrono's parser of [`DATE_FORMAT`], which decides
/// what else is accepted.
pub fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    parse_basic_date(text).or_else(|| {
        NaiveDateTime::parse_from_str(text, DATE_FORMAT)
            .ok()
            .map(|naive| naive.and_utc())
    })
}

/// `YYYYMMDDTHHMMSSZ` exactly, a valid date and time (no leap second).
fn parse_basic_date(text: &str) -> Option<DateTime<Utc>> {
    let bytes: &[u8; 16] = text.as_bytes().try_into().ok()?;
    if bytes[8] != b'T' || bytes[15] != b'Z' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| {
        bytes[range].iter().try_fold(0u32, |value, &byte| {
            byte.is_ascii_digit()
                .then(|| value * 10 + u32::from(byte - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(
        i32::try_from(number(0..4)?).ok()?,
        number(4..6)?,
        number(6..8)?,
    )?;
    let time = chrono::NaiveTime::from_hms_opt(number(9..11)?, number(11..13)?, number(13..15)?)?;
    Some(date.and_time(time).and_utc())
}

/// The inputs of the signing vectors Huawei's Python SDK produced (fake
/// AK/SK, Host `127.0.0.1:8080`, `X-Sdk-Date: 20250730T065607Z`,
/// `User-Agent: huaweicloud-usdk-python/3.0`, `Content-Type:
/// application/json`), for the tests of this crate and of signers built on
/// it.
pub mod sdk_vectors {
    /// The access key.
    pub const AK: &str = "TESTAK0000000000";
    /// The secret key.
    pub const SK: &str = "TESTSK0000000000000000000000000000000000";
    /// The signing time, as `X-Sdk-Date`.
    pub const DATE: &str = "20250730T065607Z";
    /// The `Host` header.
    pub const HOST_VALUE: &str = "127.0.0.1:8080";
    /// The `User-Agent` header.
    pub const UA: &str = "huaweicloud-usdk-python/3.0";
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::sdk_vectors::{AK, DATE, HOST_VALUE, SK, UA};

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
        assert_eq!(
            authorization(AK, &signed.join(";"), &signature),
            format!(
                "SDK-HMAC-SHA256 Access={AK}, SignedHeaders={}, Signature={expected_signature}",
                signed.join(";")
            )
        );
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

    #[test]
    fn dates_are_written_and_read_as_chrono_does() {
        let mut seconds: i64 = -62_167_219_200 - 86_400; // the year -1
        while seconds < 253_402_300_800 + 86_400 {
            // past the year 9999
            let at = DateTime::from_timestamp(seconds, 0).unwrap();
            let chrono_text = at.format(DATE_FORMAT).to_string();
            assert_eq!(format_date(at), chrono_text);
            let parsed = NaiveDateTime::parse_from_str(&chrono_text, DATE_FORMAT)
                .ok()
                .map(|naive| naive.and_utc());
            assert_eq!(parse_date(&chrono_text), parsed, "{chrono_text}");
            seconds += 7_919_999_937;
        }
        for text in [
            "20250730T065607Z",
            "20240229T235959Z",
            "20230229T000000Z",
            "20250730T245607Z",
            "20250730 065607Z",
            "2025073T065607Z",
            "2025-07-30T06:56:07Z",
            "20250730T065607z",
            "+20250730T065607Z",
            "20250730T065660Z",
            "",
        ] {
            let expected = NaiveDateTime::parse_from_str(text, DATE_FORMAT)
                .ok()
                .map(|naive| naive.and_utc());
            assert_eq!(parse_date(text), expected, "{text}");
        }
    }

    #[test]
    fn plain_paths_are_their_own_canonical_uri() {
        for (path, expected) in [
            (
                "/v1/identity-stores/s/users/u/sessions",
                "/v1/identity-stores/s/users/u/sessions/",
            ),
            ("/", "/"),
            ("/a/", "/a/"),
            ("/a~b.c_d-e/", "/a~b.c_d-e/"),
            ("/a%20b", "/a%20b/"),
            ("/a b", "/a%20b/"),
            ("/a%2Fb", "/a/b/"),
        ] {
            assert_eq!(canonical_uri(path), expected, "{path}");
        }
    }
}
