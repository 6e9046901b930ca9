//! Requests from browser pages on other origins (CORS): off unless `serve`
//! is given origins, and then only for those origins, dialect by dialect.
//!
//! Dropshot has no middleware, so [`CorsPolicy`] answers through the
//! vendored patch's cross-origin hook (`vendor/README.md`, part 6), which
//! asks it for the headers of every response and for the answer to an
//! `OPTIONS` preflight on a path that has operations but no `OPTIONS` one.
//! No `OPTIONS` operation is declared, so the published OpenAPI documents
//! do not change. With no origin allowed (the default) the policy adds no
//! header and answers no preflight: every response is as it was.
//!
//! The dialect is the path's ([`Dialect::for_path`]). For an origin
//! allowed for it:
//!
//! * a preflight (`OPTIONS` with `Access-Control-Request-Method` naming one
//!   of the path's methods) is answered 204 with
//!   `Access-Control-Allow-Origin` (the origin itself: the dialects'
//!   credentials travel in `Authorization` and signature headers),
//!   `Access-Control-Allow-Methods` (the path's methods),
//!   `Access-Control-Allow-Headers` (what the dialect's clients send,
//!   [`allowed_request_headers`]) and `Access-Control-Max-Age`;
//! * every other response, errors included, carries
//!   `Access-Control-Allow-Origin` and `Access-Control-Expose-Headers:
//!   X-Request-Id, Retry-After`.
//!
//! Every response of a dialect that has allowed origins carries `Vary:
//! Origin`, so that a cache never hands one origin's answer to another. Any
//! other origin, or a path of a dialect without allowed origins, gets no
//! `Access-Control-*` header, and its `OPTIONS` the dialect's 405 as
//! before. No `Access-Control-Allow-Credentials`: no dialect uses cookies.

use std::collections::{BTreeMap, BTreeSet};

use dropshot::{Body, CrossOrigin};
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD,
    HeaderValue, ORIGIN, VARY,
};
use http::{HeaderMap, Method, Request, Response, StatusCode};

use super::dialect::Dialect;

/// How long, in seconds, a browser may reuse a preflight's answer.
pub const PREFLIGHT_MAX_AGE_SECONDS: u32 = 600;

/// The response headers a page on an allowed origin may read.
pub const EXPOSED_HEADERS: &str = "X-Request-Id, Retry-After";

/// The request headers a page may send to `dialect`: what its clients send
/// (besides those a browser sets itself, such as `Host`).
pub fn allowed_request_headers(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Native | Dialect::Prefactor => "Authorization, Content-Type",
        Dialect::Looker => "Authorization, Content-Type, X-Looker-Appid",
        Dialect::Huawei => {
            "Authorization, Content-Type, X-Sdk-Date, X-Security-Token, \
             X-Sdk-Content-Sha256, X-Project-Id, X-Domain-Id"
        }
    }
}

/// The origins allowed, per dialect.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CorsPolicy {
    allowed: BTreeMap<Dialect, BTreeSet<String>>,
}

impl CorsPolicy {
    /// The policy with `origins` (as `serve` was given them) also allowed
    /// for `dialect`.
    pub fn allow<'a>(
        mut self,
        dialect: Dialect,
        origins: impl IntoIterator<Item = &'a str>,
    ) -> Result<CorsPolicy, OriginError> {
        for origin in origins {
            let origin = canonical_origin(origin)?;
            self.allowed.entry(dialect).or_default().insert(origin);
        }
        Ok(self)
    }

    /// Whether no origin is allowed at all (CORS off).
    pub fn is_off(&self) -> bool {
        self.allowed.is_empty()
    }

    /// The request's `Origin`, canonical, if it is allowed for `dialect`.
    fn allowed_origin(&self, dialect: Dialect, request: &Request<Body>) -> Option<HeaderValue> {
        let origin = request.headers().get(ORIGIN)?.to_str().ok()?;
        let origin = canonical_origin(origin).ok()?;
        if !self.allowed.get(&dialect)?.contains(&origin) {
            return None;
        }
        HeaderValue::from_str(&origin).ok()
    }
}

impl CrossOrigin for CorsPolicy {
    fn response_headers(&self, request: &Request<Body>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if self.is_off() {
            return headers;
        }
        let dialect = Dialect::for_path(request.uri().path());
        if !self.allowed.contains_key(&dialect) {
            return headers;
        }
        headers.insert(VARY, HeaderValue::from_static("Origin"));
        if let Some(origin) = self.allowed_origin(dialect, request) {
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(
                ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSED_HEADERS),
            );
        }
        headers
    }

    fn preflight(&self, request: &Request<Body>, allowed: &[Method]) -> Option<Response<Body>> {
        let dialect = Dialect::for_path(request.uri().path());
        self.allowed_origin(dialect, request)?;
        let requested = request.headers().get(ACCESS_CONTROL_REQUEST_METHOD)?;
        let requested = Method::from_bytes(requested.as_bytes()).ok()?;
        if !allowed.contains(&requested) {
            return None;
        }
        let methods = allowed
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        headers.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_str(&methods).ok()?,
        );
        headers.insert(
            ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(allowed_request_headers(dialect)),
        );
        headers.insert(
            ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from(PREFLIGHT_MAX_AGE_SECONDS),
        );
        Some(response)
    }
}

/// An origin `serve` cannot allow.
#[derive(Debug, thiserror::Error)]
#[error(
    "{origin:?} is not an origin: give scheme://host[:port] with http or https, \
     no path (such as https://app.example.com)"
)]
pub struct OriginError {
    origin: String,
}

/// `origin` as browsers send it: `scheme://host[:port]`, lowercase, without
/// the scheme's default port (a trailing `/` is tolerated in configuration).
fn canonical_origin(origin: &str) -> Result<String, OriginError> {
    let invalid = || OriginError {
        origin: origin.to_string(),
    };
    let trimmed = origin.trim();
    let (scheme, rest) = trimmed.split_once("://").ok_or_else(invalid)?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return Err(invalid()),
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest).to_ascii_lowercase();
    let is_plain_authority = !authority.is_empty()
        && authority.parse::<http::uri::Authority>().is_ok()
        && !authority.contains(['@', '/', '?', '#']);
    if !is_plain_authority {
        return Err(invalid());
    }
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Ok(format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn policy() -> CorsPolicy {
        CorsPolicy::default()
            .allow(Dialect::Looker, ["https://app.example.com"])
            .unwrap()
    }

    fn request(method: Method, path: &str, origin: &str) -> Request<Body> {
        Request::builder()
            .method(method)
            .uri(path)
            .header(ORIGIN, origin)
            .header(ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .body(Body::empty())
            .unwrap()
    }

    #[test]
    fn origins_are_compared_as_browsers_send_them() {
        for (given, canonical) in [
            ("https://app.example.com", "https://app.example.com"),
            ("HTTPS://App.Example.com/", "https://app.example.com"),
            ("https://app.example.com:443", "https://app.example.com"),
            ("http://localhost:3000", "http://localhost:3000"),
            ("http://127.0.0.1:80", "http://127.0.0.1"),
            ("http://[::1]:8080", "http://[::1]:8080"),
        ] {
            assert_eq!(canonical_origin(given).unwrap(), canonical, "{given}");
        }
        for refused in [
            "*",
            "null",
            "app.example.com",
            "ftp://app.example.com",
            "https://",
            "https://app.example.com/path",
            "https://user@app.example.com",
            "https://app.example.com?x=1",
        ] {
            assert!(canonical_origin(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn only_an_allowed_origin_on_its_dialect_gets_headers() {
        let policy = policy();
        let allowed = policy.response_headers(&request(
            Method::GET,
            "/api/4.0/session",
            "https://app.example.com",
        ));
        assert_eq!(
            allowed[ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example.com"
        );
        assert_eq!(allowed[VARY], "Origin");
        assert_eq!(allowed[ACCESS_CONTROL_EXPOSE_HEADERS], EXPOSED_HEADERS);

        let other_origin = policy.response_headers(&request(
            Method::GET,
            "/api/4.0/session",
            "https://evil.example.com",
        ));
        assert!(!other_origin.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
        assert_eq!(other_origin[VARY], "Origin");

        let other_dialect = policy.response_headers(&request(
            Method::GET,
            "/native/v1/sessions",
            "https://app.example.com",
        ));
        assert!(other_dialect.is_empty());
    }

    #[test]
    fn a_preflight_names_the_paths_methods_and_the_dialects_headers() {
        let policy = policy();
        let answer = policy
            .preflight(
                &request(Method::OPTIONS, "/api/4.0/login", "https://app.example.com"),
                &[Method::POST],
            )
            .unwrap();
        assert_eq!(answer.status(), StatusCode::NO_CONTENT);
        assert_eq!(answer.headers()[ACCESS_CONTROL_ALLOW_METHODS], "POST");
        assert_eq!(
            answer.headers()[ACCESS_CONTROL_ALLOW_HEADERS],
            allowed_request_headers(Dialect::Looker)
        );
        assert_eq!(answer.headers()[ACCESS_CONTROL_MAX_AGE], "600");

        // A method the path does not have, another origin: dropshot's 405.
        let request_get = request(Method::OPTIONS, "/api/4.0/login", "https://app.example.com");
        assert!(policy.preflight(&request_get, &[Method::GET]).is_none());
        let evil = request(
            Method::OPTIONS,
            "/api/4.0/login",
            "https://evil.example.com",
        );
        assert!(policy.preflight(&evil, &[Method::POST]).is_none());
    }
}
