//! Hand-written authentication helpers: build a [`Client`] whose requests
//! carry the credential a dialect expects.
//!
//! The generated client knows nothing about authentication (the OpenAPI
//! document only describes it), so these helpers put the credential into
//! the underlying `reqwest::Client` as a default header.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, InvalidHeaderValue};

use crate::{Client, ClientState};

/// How long a request may take, from connecting to the end of the body.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an authenticated client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token cannot be sent in an HTTP header (it contains a control
    /// character or a non-ASCII byte). The token itself is not shown.
    #[error("the token cannot be sent in an HTTP header")]
    InvalidToken(#[source] InvalidHeaderValue),
    /// The HTTP client could not be built.
    #[error("building the HTTP client")]
    Http(#[source] reqwest::Error),
}

/// A client for the native API that sends `Authorization: Bearer <token>`
/// with every request, where `token` is a credential's native API token.
///
/// `base_url` is the server's URL with scheme, host and port (and a path
/// prefix, if the server is mounted under one), e.g.
/// `http://127.0.0.1:8080`.
pub fn native_client(base_url: &str, token: &str) -> Result<Client, AuthError> {
    bearer_client(base_url, token)
}

/// A client for the Prefactor dialect that sends
/// `Authorization: Bearer <token>` with every request, where `token` is a
/// credential's Prefactor API token.
pub fn prefactor_client(base_url: &str, api_token: &str) -> Result<Client, AuthError> {
    bearer_client(base_url, api_token)
}

/// A client sending `Authorization: Bearer <token>` with every request.
fn bearer_client(base_url: &str, token: &str) -> Result<Client, AuthError> {
    let headers = authorization_header(&format!("Bearer {token}"))?;
    let http = http_client(headers)?;
    Ok(Client::new_with_client(
        base_url,
        http,
        ClientState::default(),
    ))
}

/// Default headers holding one `Authorization` value, marked sensitive so
/// that it is left out of debug output.
pub(crate) fn authorization_header(value: &str) -> Result<HeaderMap, AuthError> {
    let mut value = HeaderValue::from_str(value).map_err(AuthError::InvalidToken)?;
    value.set_sensitive(true);
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, value);
    Ok(headers)
}

/// An HTTP client with the default timeouts and the given default headers.
pub(crate) fn http_client(headers: HeaderMap) -> Result<reqwest::Client, AuthError> {
    reqwest::Client::builder()
        .default_headers(headers)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(AuthError::Http)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClientInfo;

    #[test]
    fn the_header_is_a_sensitive_bearer_token() {
        let headers = authorization_header("Bearer s3cret").unwrap();
        let value = &headers[AUTHORIZATION];
        assert_eq!(value, "Bearer s3cret");
        assert!(value.is_sensitive());
        assert!(!format!("{headers:?}").contains("s3cret"));
    }

    #[test]
    fn a_token_that_is_no_header_value_is_an_error() {
        let error = native_client("http://127.0.0.1:1", "bad\ntoken").unwrap_err();
        assert!(matches!(error, AuthError::InvalidToken(_)));
        assert!(!error.to_string().contains("token\n"));
    }

    #[test]
    fn the_client_keeps_the_base_url() {
        let client = native_client("http://127.0.0.1:1", "t0ken").unwrap();
        assert_eq!(client.baseurl(), "http://127.0.0.1:1");
    }
}
