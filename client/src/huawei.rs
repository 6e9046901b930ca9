//! Huawei Cloud AK/SK request signing for the generated client: the
//! request hook that makes it sign, with the algorithm of the
//! `huawei-signing` crate (re-exported here).
//!
//! [`pre_hook`], the hook progenitor calls before sending each request of
//! the generated client (see `xtask/src/client.rs`): when the client was
//! built with [`huawei_client`], it adds `Host`, `X-Sdk-Date` (and
//! `X-Security-Token`) and the `Authorization` header; otherwise it does
//! nothing.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use reqwest::header::{AUTHORIZATION, HOST, HeaderMap, HeaderName, HeaderValue};

pub use huawei_signing::*;

use crate::auth::AuthError;
use crate::{Client, ClientState};

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
    use huawei_signing::sdk_vectors::{AK, DATE, HOST_VALUE, SK, UA};

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
