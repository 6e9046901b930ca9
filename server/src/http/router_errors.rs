//! The answers no handler gives, in the dialect of the path.
//!
//! Dropshot answers some requests before any handler runs: a path no
//! operation has (404), a method the path does not have (405), a path
//! whose percent-encoding does not decode (400), and, through the vendored
//! patch's limits (`limits`), a URI or header section that is too large
//! (414, 431), and a body over 1 KiB sent to an operation that takes none
//! (413, `MAX_BODYLESS_REQUEST_BYTES`). It also answers for a handler whose error failed to
//! serialize (500). Upstream, all of these have dropshot's own body; the
//! patch (`vendor/README.md`) lets [`DialectErrors`] answer them in the
//! shape of the path's dialect ([`Dialect::for_path`]), built with the API
//! crate's own error types, as the handlers build theirs:
//!
//! | dialect | body |
//! |---|---|
//! | native | `{error_code, message, request_id}` |
//! | Looker | `{message, documentation_url}` |
//! | Prefactor | `{status: "error", code, message}` |
//! | Huawei | `{error_code, error_msg, request_id}` |
//!
//! Dropshot adds the error's own headers (`Allow` on a 405) and
//! `X-Request-Id`, whose value is the body's `request_id` where the shape
//! has one.

use dropshot::{Body, ErrorRenderer, ErrorStatusCode, HttpError};
use http::header::{CONTENT_TYPE, HeaderValue};
use login_sessions_api::huawei::HuaweiError;
use login_sessions_api::looker::LookerError;
use login_sessions_api::native::NativeError;
use login_sessions_api::prefactor::PrefactorError;

use super::dialect::Dialect;
use super::looker::documentation_url_under;

/// Renders dropshot's own errors in the dialect of the request's path.
pub struct DialectErrors {
    /// The documentation URL (ending in `/`) Looker's errors link under.
    docs_url: String,
}

impl DialectErrors {
    /// Errors whose Looker `documentation_url` is under `docs_url` (the
    /// server's, ending in `/`).
    pub fn new(docs_url: &str) -> DialectErrors {
        DialectErrors {
            docs_url: docs_url.to_string(),
        }
    }

    /// The body of `error` in `dialect`'s shape, as JSON.
    fn body(
        &self,
        dialect: Dialect,
        request_id: &str,
        error: &HttpError,
    ) -> serde_json::Result<Vec<u8>> {
        let status = error.status_code;
        match dialect {
            Dialect::Native => {
                serde_json::to_vec(&NativeError::from_http(copy(error), request_id.to_string()))
            }
            Dialect::Looker => serde_json::to_vec(&LookerError {
                message: looker_message(status, &error.external_message),
                errors: None,
                documentation_url: documentation_url_under(&self.docs_url, status),
                status,
                retry_after_seconds: None,
            }),
            Dialect::Prefactor => serde_json::to_vec(&PrefactorError::from_http(copy(error))),
            Dialect::Huawei => serde_json::to_vec(&HuaweiError::from_http(
                huawei_wording(copy(error)),
                request_id.to_string(),
            )),
        }
    }
}

impl ErrorRenderer for DialectErrors {
    fn render(&self, uri: &http::Uri, request_id: &str, error: &HttpError) -> http::Response<Body> {
        let dialect = Dialect::for_path(uri.path());
        // These bodies are plain structs of strings: serializing them does
        // not fail. Should it, the status alone still says what happened.
        let body = self.body(dialect, request_id, error).unwrap_or_default();
        let mut response = http::Response::new(Body::from(body));
        *response.status_mut() = error.status_code.as_status();
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}

/// The status and external message of a dropshot error, without its
/// headers (dropshot adds those to the response itself).
fn copy(error: &HttpError) -> HttpError {
    HttpError {
        status_code: error.status_code,
        error_code: None,
        external_message: error.external_message.clone(),
        internal_message: error.internal_message.clone(),
        headers: None,
    }
}

/// Huawei's wording where its handlers have one (a body too large), the
/// error as it is otherwise.
fn huawei_wording(mut error: HttpError) -> HttpError {
    if error.status_code == ErrorStatusCode::PAYLOAD_TOO_LARGE {
        error.external_message = format!("Request entity too large. {}", error.external_message);
    }
    error
}

/// Looker's wording where its handlers have one (`Not found`), dropshot's
/// message otherwise.
fn looker_message(status: ErrorStatusCode, message: &str) -> String {
    if status == ErrorStatusCode::NOT_FOUND {
        "Not found".to_string()
    } else {
        message.to_string()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use dropshot::ClientErrorStatusCode;
    use http_body_util::BodyExt;
    use serde_json::{Value, json};

    async fn rendered(path: &str, error: HttpError) -> (u16, Value) {
        let renderer = DialectErrors::new("http://docs.test/");
        let uri: http::Uri = path.parse().unwrap();
        let response = renderer.render(&uri, "0123456789abcdef0123456789abcdef", &error);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    fn not_found() -> HttpError {
        HttpError::for_not_found(None, "no route".to_string())
    }

    #[tokio::test]
    async fn each_prefix_answers_in_its_dialect() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            rendered("/native/v1/nowhere", not_found()).await,
            (
                404,
                json!({"error_code": "NotFound", "message": "Not Found", "request_id": id})
            )
        );
        assert_eq!(
            rendered("/api/4.0/nowhere", not_found()).await,
            (
                404,
                json!({
                    "message": "Not found",
                    "documentation_url": "http://docs.test/looker/errors#404"
                })
            )
        );
        assert_eq!(
            rendered("/api/v1/nowhere", not_found()).await,
            (
                404,
                json!({"status": "error", "code": "not_found", "message": "Not Found"})
            )
        );
        assert_eq!(
            rendered("/v1/nowhere", not_found()).await,
            (
                404,
                json!({"error_code": "IIC.404", "error_msg": "Not Found", "request_id": id})
            )
        );
    }

    #[tokio::test]
    async fn a_body_where_none_belongs_is_413_in_each_dialect() {
        let too_large = || {
            HttpError::for_client_error(
                None,
                ClientErrorStatusCode::PAYLOAD_TOO_LARGE,
                "this operation takes no request body".to_string(),
            )
        };
        let (status, body) = rendered("/native/v1/sessions", too_large()).await;
        assert_eq!(
            (status, &body["error_code"]),
            (413, &json!("PayloadTooLarge"))
        );
        let (status, body) = rendered("/api/v1/session", too_large()).await;
        assert_eq!((status, &body["code"]), (413, &json!("bad_request")));
        let (status, body) = rendered("/api/4.0/logout", too_large()).await;
        assert_eq!(
            (status, &body["documentation_url"]),
            (413, &json!("http://docs.test/looker/errors#413"))
        );
        let (status, body) = rendered("/v1/identity-stores", too_large()).await;
        assert_eq!(status, 413);
        assert_eq!(body["error_code"], "APIGW.0201");
        assert_eq!(
            body["error_msg"],
            "Request entity too large. this operation takes no request body"
        );
    }

    #[tokio::test]
    async fn a_head_over_the_limits_keeps_its_status() {
        let too_long = HttpError::for_client_error(
            None,
            ClientErrorStatusCode::URI_TOO_LONG,
            "the request URI is longer than 8192 bytes".to_string(),
        );
        let (status, body) = rendered("/native/v1/sessions", copy(&too_long)).await;
        assert_eq!(status, 414);
        assert_eq!(body["error_code"], "InvalidRequest");
        let (status, body) = rendered("/v1/identity-stores", too_long).await;
        assert_eq!(status, 414);
        assert_eq!(body["error_code"], "APIGW.0201");
    }
}
