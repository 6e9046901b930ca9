//! Huawei AK/SK request signatures (`SDK-HMAC-SHA256`): verifying them, and
//! locking out an access key after repeated failures, as Huawei's API
//! Gateway does.
//!
//! The verifier rebuilds the canonical request from what was received -- the
//! raw, percent-encoded path and query; the headers the client listed in
//! `SignedHeaders`, `Host` as sent; the body's exact bytes -- with the same
//! functions the Rust client's signer uses
//! (the `huawei-signing` crate, pinned to Huawei's vectors), and
//! compares the HMAC in constant time. `X-Sdk-Date` must be signed and
//! within [`MAX_CLOCK_SKEW`] of the server's clock.
//!
//! A credential's Huawei secret ([`SECRETS`]) is a permanent AK, which
//! finds it, and an SK sealed with the server key (binding it to the
//! credential's id). Access keys are either such a permanent AK or a
//! temporary AK
//! issued for one (`credentials create-temporary`), which also needs its
//! security token in a signed `X-Security-Token` header. Either way the
//! request acts as the (unrevoked) credential.
//!
//! The lockout counts consecutive signature failures per access key, in
//! memory: each server process (replica) counts its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::TimeDelta;
use http::HeaderMap;
use huawei_signing as signing;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::clock::Clock;
use crate::domain::Timestamp;
use crate::domain::credential::{Credential, SecretKind, StoredSecret, TemporaryHuaweiKey};
use crate::pfid::Pfid;
use crate::secrets::{self, SecretHash, ServerKey};

use super::scheme::{
    MintedSecret, SecretScheme, SecretShapeError, ShownField, drawn_from, one_value_per_field,
};
use crate::store::{SharedCredentials, StoreError};

/// Huawei's credential secret: an access key (AK), which finds the
/// credential, and a secret key (SK), sealed with the server key.
#[derive(Debug)]
pub struct AccessKeyPair;

/// Huawei's secret.
pub static SECRETS: AccessKeyPair = AccessKeyPair;

impl SecretScheme for AccessKeyPair {
    fn kind(&self) -> SecretKind {
        SecretKind("huawei")
    }

    fn fields(&self) -> &'static [ShownField] {
        &[
            ShownField {
                json: "access_key",
                label: "Huawei access key (AK)",
            },
            ShownField {
                json: "secret_key",
                label: "Huawei secret key (SK)",
            },
        ]
    }

    fn mint(&self, credential: &Pfid, key: &ServerKey) -> MintedSecret {
        let access_key = secrets::new_huawei_access_key();
        let secret_key = secrets::new_huawei_secret_key();
        MintedSecret {
            stored: StoredSecret {
                kind: self.kind(),
                lookup_key: access_key.clone(),
                hash: None,
                sealed: Some(key.encrypt(secret_key.as_bytes(), credential.as_str().as_bytes())),
            },
            shown: vec![access_key, secret_key],
        }
    }

    fn stored_from(
        &self,
        credential: &Pfid,
        key: &ServerKey,
        shown: &[String],
    ) -> Result<StoredSecret, SecretShapeError> {
        let shown = one_value_per_field(self.fields(), shown)?;
        let (access_key, secret_key) = match shown {
            [access_key, secret_key] => (access_key, secret_key),
            _ => {
                return Err(SecretShapeError::Count {
                    expected: 2,
                    found: shown.len(),
                    fields: "access_key, secret_key".into(),
                });
            }
        };
        let upper_alphanumeric = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit();
        if !drawn_from(
            access_key,
            upper_alphanumeric,
            secrets::HUAWEI_ACCESS_KEY_LEN,
        ) {
            return Err(SecretShapeError::Shape {
                field: "access_key",
                shape: "20 characters from [A-Z0-9]",
            });
        }
        if !drawn_from(
            secret_key,
            |b| b.is_ascii_alphanumeric(),
            secrets::HUAWEI_SECRET_KEY_LEN,
        ) {
            return Err(SecretShapeError::Shape {
                field: "secret_key",
                shape: "40 characters from [A-Za-z0-9]",
            });
        }
        Ok(StoredSecret {
            kind: self.kind(),
            lookup_key: access_key.clone(),
            hash: None,
            sealed: Some(key.encrypt(secret_key.as_bytes(), credential.as_str().as_bytes())),
        })
    }
}

/// How far `X-Sdk-Date` may be from the server's clock, either way.
pub const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::minutes(15);

/// After this many consecutive signature failures an access key is locked.
pub const LOCKOUT_FAILURES: u32 = 5;

/// How long a locked access key is refused.
pub const LOCKOUT_DURATION: TimeDelta = TimeDelta::minutes(5);

/// What every authentication failure message starts with (API Gateway's
/// wording for `APIGW.0301`).
pub const MESSAGE_PREFIX: &str = "Incorrect IAM authentication information";

/// The parts of a received request a signature covers, as received.
#[derive(Clone, Copy, Debug)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The raw request path, percent-encoded as sent.
    pub path: &'a str,
    /// The raw query, without the `?`.
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// The body's bytes as received.
    pub body: &'a [u8],
    /// The request target's authority, used for `host` when the request
    /// carries no `Host` header.
    pub authority: Option<&'a str>,
}

/// Why a request is not authenticated. The `Display` text is the message
/// the client gets (after [`MESSAGE_PREFIX`]); none carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HuaweiAuthError {
    /// No `Authorization` header.
    #[error("x-auth-token not found; sign the request (SDK-HMAC-SHA256)")]
    Missing,
    /// An `Authorization` header this verifier cannot read.
    #[error("{0}")]
    Malformed(String),
    /// No unrevoked credential has this access key.
    #[error("Get secretKey failed,ak:******,err:ak not exist")]
    UnknownAccessKey,
    /// The access key failed too often and is locked for a while.
    #[error("AK access failed to reach the limit,forbidden.")]
    Locked,
    /// `X-Sdk-Date` is missing, unsigned or not `YYYYMMDDTHHMMSSZ`.
    #[error("{0}")]
    Date(String),
    /// `X-Sdk-Date` is too far from the server's clock.
    #[error("signature expired, signature time:{signed},server time:{server}")]
    Skewed { signed: String, server: String },
    /// The temporary credentials have expired.
    #[error("token expires, expires_at: {0}")]
    TemporaryExpired(String),
    /// The security token is missing, unsigned, wrong, or sent with a
    /// permanent access key.
    #[error("decrypt token fail")]
    SecurityToken,
    /// The signature does not match the request. Carries the canonical
    /// request the server computed, lines separated by `|`, as API
    /// Gateway reports it.
    #[error("verify aksk signature fail, canonicalRequest:{0}")]
    Signature(String),
    /// The stored secret key could not be unsealed (a server problem, not
    /// the client's).
    #[error("the secret key of this access key cannot be read")]
    SecretUnusable,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl HuaweiAuthError {
    /// Whether the failure is the client's (401) rather than the server's.
    pub fn is_client_error(&self) -> bool {
        !matches!(
            self,
            HuaweiAuthError::SecretUnusable | HuaweiAuthError::Store(_)
        )
    }

    /// The message for the client: [`MESSAGE_PREFIX`] and the reason.
    pub fn message(&self) -> String {
        format!("{MESSAGE_PREFIX}: {self}")
    }
}

/// A parsed `Authorization: SDK-HMAC-SHA256 Access=..., SignedHeaders=...,
/// Signature=...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access_key: String,
    /// The names as listed, `;`-separated.
    pub signed_headers: String,
    pub signature: [u8; 32],
}

impl Authorization {
    /// The listed header names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.signed_headers.split(';')
    }

    /// Whether the client signed this header.
    pub fn signs(&self, name: &str) -> bool {
        self.names().any(|listed| listed.eq_ignore_ascii_case(name))
    }
}

/// Reads the `Authorization` header.
pub fn parse_authorization(headers: &HeaderMap) -> Result<Authorization, HuaweiAuthError> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let value = values.next().ok_or(HuaweiAuthError::Missing)?;
    if values.next().is_some() {
        return Err(malformed("more than one Authorization header"));
    }
    let value = value
        .to_str()
        .map_err(|_| malformed("the Authorization header is not ASCII"))?
        .trim();
    let (algorithm, rest) = value.split_once(' ').unwrap_or((value, ""));
    if algorithm != signing::ALGORITHM {
        return Err(HuaweiAuthError::Malformed(format!(
            "unsupported signing algorithm {:?}; this server verifies {}",
            truncate(algorithm, 32),
            signing::ALGORITHM
        )));
    }
    let (mut access, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| malformed("the Authorization header is not Key=Value, ..."))?;
        let slot = match key.trim() {
            "Access" => &mut access,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => return Err(malformed("unknown field in the Authorization header")),
        };
        if slot.replace(value.trim()).is_some() {
            return Err(malformed("a field is repeated in the Authorization header"));
        }
    }
    let access_key = access
        .filter(|ak| !ak.is_empty())
        .ok_or_else(|| malformed("the Authorization header has no Access"))?;
    let signed_headers = signed
        .filter(|list| !list.is_empty() && list.split(';').all(|name| !name.is_empty()))
        .ok_or_else(|| malformed("the Authorization header has no valid SignedHeaders"))?;
    let mut bytes = [0u8; 32];
    signature
        .and_then(|hex_text| hex::decode_to_slice(hex_text, &mut bytes).ok())
        .ok_or_else(|| malformed("the Signature is not 64 hexadecimal characters"))?;
    Ok(Authorization {
        access_key: access_key.to_string(),
        signed_headers: signed_headers.to_string(),
        signature: bytes,
    })
}

/// The canonical request of a received request, for the headers the
/// client listed.
pub fn canonical_request(request: &SignedRequest<'_>, authorization: &Authorization) -> String {
    let values: Vec<(&str, String)> = authorization
        .names()
        .map(|name| (name, header_text(request, name)))
        .collect();
    let pairs: Vec<(&str, &str)> = values
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    signing::canonical_request(
        request.method,
        &signing::canonical_uri(request.path),
        &signing::canonical_query(request.query.unwrap_or("")),
        &pairs,
        &authorization.signed_headers,
        &payload_hash(request, authorization),
    )
}

/// A received header's value as signed: every value of the name, as text,
/// joined by `,`; `Host` falls back to the request target's authority; a
/// missing header is empty (and will not match).
fn header_text(request: &SignedRequest<'_>, name: &str) -> String {
    let values: Vec<String> = request
        .headers
        .get_all(name)
        .iter()
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .collect();
    if values.is_empty() && name.eq_ignore_ascii_case("host") {
        return request.authority.unwrap_or_default().to_string();
    }
    values.join(",")
}

/// The payload hash: of the body's bytes (empty: the empty hash), unless
/// the client signed `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`.
fn payload_hash(request: &SignedRequest<'_>, authorization: &Authorization) -> String {
    if request.body.is_empty() {
        return signing::EMPTY_PAYLOAD_HASH.to_string();
    }
    let unsigned = authorization.signs(signing::HEADER_CONTENT_SHA256)
        && header_text(request, signing::HEADER_CONTENT_SHA256).trim() == signing::UNSIGNED_PAYLOAD;
    if unsigned {
        signing::UNSIGNED_PAYLOAD.to_string()
    } else {
        signing::payload_hash(request.body)
    }
}

/// An access key's secret and what it stands for.
struct AccessKey {
    credential: Credential,
    sealed: Vec<u8>,
    context: Vec<u8>,
    /// For temporary credentials: the security token's hash and expiry.
    temporary: Option<(SecretHash, Timestamp)>,
}

/// A sealed secret key and the context it is sealed for.
type SealedPlace = (Vec<u8>, Vec<u8>);

/// How many opened secret keys are kept.
const UNSEALED_CAPACITY: u64 = 10_000;

/// How long an opened secret key unused is kept.
const UNSEALED_IDLE: std::time::Duration = std::time::Duration::from_secs(300);

/// Verifies Huawei signatures and keeps the lockout.
#[derive(Clone)]
pub struct HuaweiAuthenticator {
    store: SharedCredentials,
    clock: Arc<dyn Clock>,
    /// What `X-Sdk-Date` is compared with: the server's clock, unless a
    /// test stand-in moves that clock, when Huawei's SDKs still sign with
    /// the wall clock they run on.
    signature_clock: Arc<dyn Clock>,
    key: Arc<ServerKey>,
    lockout: Arc<Lockout>,
    /// Secret keys opened lately, by their sealed value and its context:
    /// a signed request of a key used lately costs no decryption. Safe to
    /// keep: a sealed value opens to one secret only, and a revoked
    /// credential's sealed value is no longer found, so its entry is never
    /// reached again (a rotated key's is a new sealed value). Wiped from
    /// memory when evicted.
    unsealed: moka::sync::Cache<SealedPlace, Arc<Zeroizing<String>>>,
}

impl HuaweiAuthenticator {
    pub fn new(store: SharedCredentials, clock: Arc<dyn Clock>, key: Arc<ServerKey>) -> Self {
        HuaweiAuthenticator {
            store,
            signature_clock: clock.clone(),
            clock,
            key,
            lockout: Arc::new(Lockout::default()),
            unsealed: moka::sync::Cache::builder()
                .max_capacity(UNSEALED_CAPACITY)
                .time_to_idle(UNSEALED_IDLE)
                .build(),
        }
    }

    /// The secret key `key` seals, opened (or opened lately).
    fn unseal(&self, key: &AccessKey) -> Result<Arc<Zeroizing<String>>, HuaweiAuthError> {
        let place = (key.sealed.clone(), key.context.clone());
        if let Some(secret) = self.unsealed.get(&place) {
            return Ok(secret);
        }
        let secret = self
            .key
            .decrypt(&key.sealed, &key.context)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map(|secret| Arc::new(Zeroizing::new(secret)))
            .ok_or(HuaweiAuthError::SecretUnusable)?;
        self.unsealed.insert(place, secret.clone());
        Ok(secret)
    }

    /// The same authenticator, checking `X-Sdk-Date` against
    /// `signature_clock` (the wall clock, when the server's clock is a test
    /// stand-in's) while expiry and lockouts follow the server's clock.
    pub fn with_signature_clock(mut self, signature_clock: Arc<dyn Clock>) -> Self {
        self.signature_clock = signature_clock;
        self
    }

    /// Forgets every failure count and lock (a test stand-in's reset).
    pub fn forget_lockouts(&self) {
        self.lockout
            .keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// The credential that signed `request`, or why none did.
    pub async fn verify(&self, request: &SignedRequest<'_>) -> Result<Credential, HuaweiAuthError> {
        let authorization = parse_authorization(request.headers)?;
        let key = self.access_key(&authorization.access_key).await?;
        let now = self.clock.now();
        self.lockout.check(&authorization.access_key, now)?;

        let date = check_date(request, &authorization, self.signature_clock.now())?;
        let token = request
            .headers
            .get(signing::HEADER_SECURITY_TOKEN)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).trim().to_string());
        match (&key.temporary, token) {
            (Some((_, expires_at)), _) if now >= *expires_at => {
                return Err(HuaweiAuthError::TemporaryExpired(expires_at.to_rfc3339()));
            }
            (Some((hash, _)), Some(token))
                if authorization.signs(signing::HEADER_SECURITY_TOKEN) && hash.matches(&token) => {}
            (None, None) => {}
            _ => return Err(HuaweiAuthError::SecurityToken),
        }

        let secret = self.unseal(&key)?;
        let canonical = canonical_request(request, &authorization);
        let expected = signing::signature(&secret, &signing::string_to_sign(&date, &canonical));
        if bool::from(expected.ct_eq(&authorization.signature)) {
            self.lockout.succeeded(&authorization.access_key);
            Ok(key.credential)
        } else {
            self.lockout.failed(&authorization.access_key, now);
            Err(HuaweiAuthError::Signature(displayed_canonical(&canonical)))
        }
    }

    /// The unrevoked credential behind an access key, permanent or
    /// temporary.
    async fn access_key(&self, access_key: &str) -> Result<AccessKey, HuaweiAuthError> {
        if let Some((
            credential,
            StoredSecret {
                sealed: Some(sealed),
                ..
            },
        )) = self
            .store
            .credential_by_secret(SECRETS.kind(), access_key)
            .await?
        {
            let context = credential.id.as_str().as_bytes().to_vec();
            return Ok(AccessKey {
                credential,
                sealed,
                context,
                temporary: None,
            });
        }
        match self.store.temporary_huawei_key(access_key).await? {
            Some((credential, key)) => Ok(AccessKey {
                credential,
                context: TemporaryHuaweiKey::seal_context(&key.access_key),
                sealed: key.secret_key_sealed,
                temporary: Some((key.security_token, key.expires_at)),
            }),
            None => Err(HuaweiAuthError::UnknownAccessKey),
        }
    }
}

/// The signed `X-Sdk-Date` text, if it is within the allowed skew of `now`.
fn check_date(
    request: &SignedRequest<'_>,
    authorization: &Authorization,
    now: Timestamp,
) -> Result<String, HuaweiAuthError> {
    let date = header_text(request, signing::HEADER_DATE);
    let date = date.trim();
    if date.is_empty() {
        return Err(HuaweiAuthError::Date("x-sdk-date not found".into()));
    }
    if !authorization.signs(signing::HEADER_DATE) {
        return Err(HuaweiAuthError::Date("x-sdk-date is not signed".into()));
    }
    let signed = signing::parse_date(date).ok_or_else(|| {
        HuaweiAuthError::Date(format!(
            "x-sdk-date {:?} is not in the format YYYYMMDDTHHMMSSZ",
            truncate(date, 32)
        ))
    })?;
    if (now - signed).abs() > MAX_CLOCK_SKEW {
        return Err(HuaweiAuthError::Skewed {
            signed: date.to_string(),
            server: signing::format_date(now),
        });
    }
    Ok(date.to_string())
}

/// A canonical request as a failure message shows it: lines joined by
/// `|` (as API Gateway reports it), the security token's value hidden (it
/// is a secret; the message is logged).
fn displayed_canonical(canonical: &str) -> String {
    let token_line = format!("{}:", signing::HEADER_SECURITY_TOKEN.to_ascii_lowercase());
    canonical
        .split('\n')
        .map(|line| {
            if line.to_ascii_lowercase().starts_with(&token_line) {
                format!("{}******", &line[..token_line.len()])
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("|")
}

fn malformed(reason: &str) -> HuaweiAuthError {
    HuaweiAuthError::Malformed(reason.to_string())
}

/// At most `max` characters of `text`, for echoing client input.
fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// Consecutive signature failures per access key.
#[derive(Debug, Default)]
struct Lockout {
    keys: Mutex<HashMap<String, Failures>>,
}

#[derive(Debug, Default)]
struct Failures {
    count: u32,
    locked_until: Option<Timestamp>,
}

impl Lockout {
    /// Refuses a locked key; forgets a lock that has run out.
    fn check(&self, access_key: &str, now: Timestamp) -> Result<(), HuaweiAuthError> {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        match keys
            .get(access_key)
            .and_then(|failures| failures.locked_until)
        {
            Some(until) if now < until => Err(HuaweiAuthError::Locked),
            Some(_) => {
                keys.remove(access_key);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Counts a failure; the [`LOCKOUT_FAILURES`]th in a row locks the key.
    fn failed(&self, access_key: &str, now: Timestamp) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let failures = keys.entry(access_key.to_string()).or_default();
        failures.count += 1;
        if failures.count >= LOCKOUT_FAILURES {
            failures.locked_until = Some(now + LOCKOUT_DURATION);
        }
    }

    /// A success starts the count over.
    fn succeeded(&self, access_key: &str) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.remove(access_key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use http::HeaderValue;

    /// The reference's SDK vector for ListSessions.
    const SK: &str = "TESTSK0000000000000000000000000000000000";
    const AUTHORIZATION: &str = "SDK-HMAC-SHA256 Access=TESTAK0000000000, \
        SignedHeaders=content-type;host;user-agent;x-sdk-date, \
        Signature=9ffd78d9c06f48b3768231e4a3d2be37bf216781fbdb89f17da5b6be54ccee37";

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    /// A key used lately is opened once: the second verification takes
    /// the opened secret from memory (the same allocation), and a value
    /// sealed for another context is not mistaken for it.
    #[test]
    fn a_secret_key_is_opened_once() {
        let directory = tempfile::tempdir().unwrap();
        let store: SharedCredentials = Arc::new(
            crate::store::sqlite::SqliteStore::open(&directory.path().join("s.db")).unwrap(),
        );
        let server_key = Arc::new(ServerKey::generate());
        let authenticator = HuaweiAuthenticator::new(
            store,
            Arc::new(crate::clock::SystemClock),
            server_key.clone(),
        );
        let (credential, _) = crate::store::conformance::credential_with_secrets("unseal");
        let key = |context: &[u8]| AccessKey {
            credential: credential.clone(),
            sealed: server_key.encrypt(SK.as_bytes(), context),
            context: context.to_vec(),
            temporary: None,
        };
        let first = key(b"credential");
        let opened = authenticator.unseal(&first).unwrap();
        assert_eq!(opened.as_str(), SK);
        assert!(Arc::ptr_eq(&opened, &authenticator.unseal(&first).unwrap()));
        let moved = AccessKey {
            context: b"another credential".to_vec(),
            ..key(b"credential")
        };
        assert!(matches!(
            authenticator.unseal(&moved),
            Err(HuaweiAuthError::SecretUnusable)
        ));
    }

    fn vector_headers() -> HeaderMap {
        headers(&[
            ("Content-Type", "application/json"),
            ("Host", "127.0.0.1:8080"),
            ("User-Agent", "huaweicloud-usdk-python/3.0"),
            ("X-Sdk-Date", "20250730T065607Z"),
            ("Accept", "*/*"),
            ("Authorization", AUTHORIZATION),
        ])
    }

    fn request<'a>(headers: &'a HeaderMap, path: &'a str, body: &'a [u8]) -> SignedRequest<'a> {
        SignedRequest {
            method: "GET",
            path,
            query: None,
            headers,
            body,
            authority: None,
        }
    }

    fn verifies(request: &SignedRequest<'_>) -> bool {
        let authorization = parse_authorization(request.headers).unwrap();
        let canonical = canonical_request(request, &authorization);
        let date = header_text(request, "x-sdk-date");
        let expected = signing::signature(SK, &signing::string_to_sign(&date, &canonical));
        expected == authorization.signature
    }

    #[test]
    fn the_sdk_vector_verifies_from_the_received_request() {
        let headers = vector_headers();
        let path = "/v1/identity-stores/d-1234567890/users/u-1/sessions";
        assert!(verifies(&request(&headers, path, b"")));
        // The path as received, with a different user: no longer verifies.
        assert!(!verifies(&request(
            &headers,
            "/v1/identity-stores/d-1234567890/users/u-2/sessions",
            b""
        )));
        // An unsigned header may change; a body may not appear.
        let mut changed = vector_headers();
        changed.insert("accept", HeaderValue::from_static("application/json"));
        assert!(verifies(&request(&changed, path, b"")));
        assert!(!verifies(&request(&headers, path, b"{}")));
        // Header values are trimmed.
        let mut padded = vector_headers();
        padded.insert(
            "user-agent",
            HeaderValue::from_static("  huaweicloud-usdk-python/3.0 "),
        );
        assert!(verifies(&request(&padded, path, b"")));
    }

    #[test]
    fn the_batch_delete_vector_verifies_over_the_raw_body() {
        let headers = headers(&[
            ("Content-Type", "application/json"),
            ("Host", "127.0.0.1:8080"),
            ("User-Agent", "huaweicloud-usdk-python/3.0"),
            ("X-Sdk-Date", "20250730T065607Z"),
            (
                "Authorization",
                "SDK-HMAC-SHA256 Access=TESTAK0000000000, \
                 SignedHeaders=content-type;host;user-agent;x-sdk-date, \
                 Signature=1b03099e6f24cb3dd7b21789578002363f6e6698b40687c096c85833daf39da9",
            ),
        ]);
        let path = "/v1/identity-stores/d-1234567890/users/u-1/sessions/batch-delete";
        let mut post = request(&headers, path, br#"{"session_ids": ["s1", "s2"]}"#);
        post.method = "POST";
        assert!(verifies(&post));
        // The same JSON, re-serialised without spaces, is another body.
        post.body = br#"{"session_ids":["s1","s2"]}"#;
        assert!(!verifies(&post));
    }

    #[test]
    fn host_falls_back_to_the_authority() {
        let mut headers = vector_headers();
        headers.remove("host");
        let path = "/v1/identity-stores/d-1234567890/users/u-1/sessions";
        let mut without_host = request(&headers, path, b"");
        assert!(!verifies(&without_host));
        without_host.authority = Some("127.0.0.1:8080");
        assert!(verifies(&without_host));
    }

    #[test]
    fn unsigned_payload_only_when_signed() {
        let authorization = Authorization {
            access_key: "AK".into(),
            signed_headers: "host;x-sdk-content-sha256;x-sdk-date".into(),
            signature: [0; 32],
        };
        let with_header = headers(&[("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD")]);
        let body = request(&with_header, "/", b"abc");
        assert_eq!(payload_hash(&body, &authorization), "UNSIGNED-PAYLOAD");
        let not_signed = Authorization {
            signed_headers: "host;x-sdk-date".into(),
            ..authorization.clone()
        };
        assert_eq!(
            payload_hash(&body, &not_signed),
            signing::payload_hash(b"abc")
        );
        let empty = request(&with_header, "/", b"");
        assert_eq!(
            payload_hash(&empty, &authorization),
            signing::EMPTY_PAYLOAD_HASH
        );
    }

    #[test]
    fn authorization_headers_are_parsed_strictly() {
        let parsed = parse_authorization(&vector_headers()).unwrap();
        assert_eq!(parsed.access_key, "TESTAK0000000000");
        assert_eq!(
            parsed.signed_headers,
            "content-type;host;user-agent;x-sdk-date"
        );
        assert!(parsed.signs("X-Sdk-Date") && !parsed.signs("x-security-token"));

        let refused = [
            "Bearer abc",
            "SDK-HMAC-SM3 Access=A, SignedHeaders=host, Signature=00",
            "V11-HMAC-SHA256 Credential=A/20250730/r/s, SignedHeaders=host, Signature=00",
            "SDK-HMAC-SHA256",
            "SDK-HMAC-SHA256 Access=, SignedHeaders=host, Signature=9ffd78d9c06f48b3768231e4a3d2be37bf216781fbdb89f17da5b6be54ccee37",
            "SDK-HMAC-SHA256 Access=A, SignedHeaders=, Signature=9ffd78d9c06f48b3768231e4a3d2be37bf216781fbdb89f17da5b6be54ccee37",
            "SDK-HMAC-SHA256 Access=A, SignedHeaders=host;;x-sdk-date, Signature=9ffd78d9c06f48b3768231e4a3d2be37bf216781fbdb89f17da5b6be54ccee37",
            "SDK-HMAC-SHA256 Access=A, SignedHeaders=host, Signature=xyz",
            "SDK-HMAC-SHA256 Access=A, Access=B, SignedHeaders=host, Signature=9ffd78d9c06f48b3768231e4a3d2be37bf216781fbdb89f17da5b6be54ccee37",
            "SDK-HMAC-SHA256 Access=A, SignedHeaders=host, Signature=9ffd78d9c06f48b3768231e4a3d2be37bf216781fbdb89f17da5b6be54ccee37, Extra=1",
        ];
        for value in refused {
            let error = parse_authorization(&headers(&[("Authorization", value)])).unwrap_err();
            assert!(
                matches!(error, HuaweiAuthError::Malformed(_)),
                "{value}: {error:?}"
            );
        }
        assert_eq!(
            parse_authorization(&HeaderMap::new()),
            Err(HuaweiAuthError::Missing)
        );
    }

    #[test]
    fn dates_must_be_signed_and_close() {
        let now = DateTime::parse_from_rfc3339("2025-07-30T06:56:07Z")
            .unwrap()
            .to_utc();
        let headers = vector_headers();
        let authorization = parse_authorization(&headers).unwrap();
        let received = request(&headers, "/", b"");
        assert_eq!(
            check_date(&received, &authorization, now).unwrap(),
            "20250730T065607Z"
        );
        assert!(check_date(&received, &authorization, now + MAX_CLOCK_SKEW).is_ok());
        assert!(check_date(&received, &authorization, now - MAX_CLOCK_SKEW).is_ok());
        let skewed = check_date(
            &received,
            &authorization,
            now + MAX_CLOCK_SKEW + TimeDelta::seconds(1),
        )
        .unwrap_err();
        assert_eq!(
            skewed.message(),
            "Incorrect IAM authentication information: signature expired, \
             signature time:20250730T065607Z,server time:20250730T071108Z"
        );
        let unsigned = Authorization {
            signed_headers: "host".into(),
            ..authorization.clone()
        };
        assert!(matches!(
            check_date(&received, &unsigned, now),
            Err(HuaweiAuthError::Date(_))
        ));
        let mut rfc1123 = vector_headers();
        rfc1123.insert(
            "x-sdk-date",
            HeaderValue::from_static("Wed, 30 Jul 2025 06:56:07 GMT"),
        );
        assert!(matches!(
            check_date(&request(&rfc1123, "/", b""), &authorization, now),
            Err(HuaweiAuthError::Date(_))
        ));
    }

    #[test]
    fn the_displayed_canonical_request_hides_the_security_token() {
        let canonical = signing::canonical_request(
            "GET",
            "/v1/x/",
            "",
            &[
                ("host", "h"),
                ("X-Security-Token", "s3cr3t"),
                ("x-sdk-date", "d"),
            ],
            "host;X-Security-Token;x-sdk-date",
            signing::EMPTY_PAYLOAD_HASH,
        );
        let shown = displayed_canonical(&canonical);
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.starts_with("GET|/v1/x/||host:h|X-Security-Token:******|x-sdk-date:d||"));
    }

    #[test]
    fn lockout_counts_consecutive_failures_per_key() {
        let lockout = Lockout::default();
        let now = DateTime::UNIX_EPOCH;
        for _ in 0..LOCKOUT_FAILURES - 1 {
            lockout.failed("A", now);
        }
        assert_eq!(lockout.check("A", now), Ok(()));
        lockout.succeeded("A");
        for _ in 0..LOCKOUT_FAILURES - 1 {
            lockout.failed("A", now);
        }
        assert_eq!(lockout.check("A", now), Ok(()), "a success reset the count");
        lockout.failed("A", now);
        assert_eq!(lockout.check("A", now), Err(HuaweiAuthError::Locked));
        assert_eq!(
            lockout.check("B", now),
            Ok(()),
            "other keys are not affected"
        );
        let later = now + LOCKOUT_DURATION;
        assert_eq!(
            lockout.check("A", later - TimeDelta::seconds(1)),
            Err(HuaweiAuthError::Locked)
        );
        assert_eq!(lockout.check("A", later), Ok(()));
        lockout.failed("A", later);
        assert_eq!(lockout.check("A", later), Ok(()), "the count started over");
    }
}
