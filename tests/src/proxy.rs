//! A recording, validating HTTP reverse proxy for contract tests.
//!
//! Tests put a [`RecordingProxy`] between any client (the generated Rust
//! client, a vendor's SDK run as a subprocess, curl) and the real server. It
//! forwards every request unchanged -- the raw request target, the client's
//! `Host` header and every other header (with its case), the body bytes -- and
//! passes every response back unchanged. On the way it records each exchange
//! and validates the response against the OpenAPI spec with
//! [`SpecValidator`], so every response any test receives is checked without
//! the client's cooperation; [`RecordingProxy::assert_all_valid`] then fails
//! the test if one did not match the spec. Every validated response must also
//! carry the server's request id in `X-Request-Id`: 32 lowercase hexadecimal
//! digits, the format Huawei's gateway uses and the server uses everywhere;
//! an error body that names a `request_id` (native and Huawei errors) must
//! name that one. Paths the server also answers without their version
//! prefix ([`UNVERSIONED_ALIASES`], Looker's `/api/logout`) are validated
//! as the versioned operation.
//!
//! Each downstream (client) connection gets its own upstream connection,
//! reused while both stay open, so keep-alive works end to end. Bodies are
//! buffered whole, which is fine for test traffic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::request::Parts as RequestParts;
use http::response::Parts as ResponseParts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::spec::SpecValidator;

/// How much of a response body a failure report shows.
const PREVIEW_CHARS: usize = 300;

/// Paths the server answers as another, published path's operation, and
/// that path: Looker's Python SDK logs out at `/api/logout`, which the
/// server serves as `/api/4.0/logout`. Their exchanges are validated
/// against the published operation.
pub const UNVERSIONED_ALIASES: &[(&str, &str)] = &[("/api/logout", "/api/4.0/logout")];

/// One request and its response, as seen by the proxy.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub method: String,
    /// The request path exactly as sent (percent-encoded, no query).
    pub path: String,
    /// The query exactly as sent, without the `?`.
    pub query: Option<String>,
    pub request_headers: HeaderMap,
    pub request_body: Bytes,
    pub status: u16,
    pub response_headers: HeaderMap,
    pub response_body: Bytes,
    /// The operation the request matched in the spec, if any.
    pub operation_id: Option<String>,
    /// The result of validating the response against that operation; an
    /// error also when no operation matched or the upstream failed.
    pub validation: Result<(), String>,
}

impl Exchange {
    /// The request target: path and query, as sent.
    pub fn target(&self) -> String {
        match &self.query {
            Some(query) => format!("{}?{query}", self.path),
            None => self.path.clone(),
        }
    }

    /// The response body as (lossy) text.
    pub fn response_text(&self) -> String {
        String::from_utf8_lossy(&self.response_body).into_owned()
    }

    /// A one-exchange report for a failure listing.
    fn describe_failure(&self, message: &str) -> String {
        let body = self.response_text();
        let body = if body.chars().count() > PREVIEW_CHARS {
            let cut: String = body.chars().take(PREVIEW_CHARS).collect();
            format!("{cut}... ({} bytes in all)", body.len())
        } else {
            body
        };
        format!(
            "{} {} -> {}\n    {}\n    response body: {body}",
            self.method,
            self.target(),
            self.status,
            message.replace('\n', "\n    ")
        )
    }
}

/// A reverse proxy recording and validating every exchange (see the module
/// documentation). Stops when dropped.
pub struct RecordingProxy {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    accept_task: JoinHandle<()>,
}

/// What the proxy's tasks share.
struct Shared {
    upstream: SocketAddr,
    validator: Arc<SpecValidator>,
    exchanges: Mutex<Vec<Exchange>>,
    /// Paths the server serves that the spec deliberately does not publish.
    allowed_unmatched: Mutex<BTreeSet<String>>,
}

/// The upstream connection of one downstream connection, once opened.
type UpstreamSlot = Arc<tokio::sync::Mutex<Option<SendRequest<Full<Bytes>>>>>;

impl RecordingProxy {
    /// Listens on 127.0.0.1:0 and forwards every request to `upstream`
    /// unchanged: method, raw request target, headers (including the
    /// client's `Host`), body. Responses go back unchanged.
    pub async fn start(upstream: SocketAddr, validator: Arc<SpecValidator>) -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the recording proxy to 127.0.0.1:0");
        let local_addr = listener
            .local_addr()
            .expect("reading the recording proxy's address");
        let shared = Arc::new(Shared {
            upstream,
            validator,
            exchanges: Mutex::new(Vec::new()),
            allowed_unmatched: Mutex::new(BTreeSet::new()),
        });
        let accept_task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        RecordingProxy {
            local_addr,
            shared,
            accept_task,
        }
    }

    /// The address the proxy listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The proxy's base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// Every exchange so far, in the order the responses completed.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.shared.exchanges.lock().unwrap().clone()
    }

    /// Allows requests to these exact paths (as sent, without the query) to
    /// match no operation: paths the server serves but the spec deliberately
    /// does not publish. Their responses are not validated.
    pub fn allow_unmatched(&self, paths: &[&str]) {
        let mut allowed = self.shared.allowed_unmatched.lock().unwrap();
        allowed.extend(paths.iter().map(|path| path.to_string()));
    }

    /// Panics, listing each failure, if any exchange failed validation or
    /// matched no operation (except on the [`Self::allow_unmatched`] paths).
    /// Returns how many exchanges were validated against an operation.
    pub fn assert_all_valid(&self) -> usize {
        let exchanges = self.exchanges();
        let allowed = self.shared.allowed_unmatched.lock().unwrap().clone();
        let mut checked = 0;
        let mut failures = Vec::new();
        for exchange in &exchanges {
            if exchange.operation_id.is_none() && allowed.contains(&exchange.path) {
                continue;
            }
            match &exchange.validation {
                Ok(()) => checked += 1,
                Err(message) => failures.push(exchange.describe_failure(message)),
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} exchanges through the recording proxy do not match the spec:\n\n{}",
            failures.len(),
            exchanges.len(),
            failures
                .iter()
                .enumerate()
                .map(|(index, failure)| format!("{}. {failure}", index + 1))
                .collect::<Vec<_>>()
                .join("\n\n")
        );
        checked
    }

    /// The operation ids exercised with at least one valid response.
    pub fn operations_seen(&self) -> BTreeSet<String> {
        let exchanges = self.shared.exchanges.lock().unwrap();
        exchanges
            .iter()
            .filter(|exchange| exchange.validation.is_ok())
            .filter_map(|exchange| exchange.operation_id.clone())
            .collect()
    }
}

impl Drop for RecordingProxy {
    /// Stops accepting; aborting the accept task drops its connection tasks.
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

/// Accepts downstream connections and serves each in its own task, owned by
/// this one so that they all stop with it.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                eprintln!("recording proxy: accepting a connection: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(serve_downstream(stream, Arc::clone(&shared)));
    }
}

/// Serves one downstream connection (HTTP/1.1, keep-alive).
async fn serve_downstream(stream: TcpStream, shared: Arc<Shared>) {
    // Nagle only adds latency here; failing to disable it is harmless.
    let _ = stream.set_nodelay(true);
    let upstream: UpstreamSlot = Arc::new(tokio::sync::Mutex::new(None));
    let service = hyper::service::service_fn(move |request| {
        forward(request, Arc::clone(&shared), Arc::clone(&upstream))
    });
    // A client hanging up mid-exchange is not the proxy's failure to report.
    let _ = hyper::server::conn::http1::Builder::new()
        .preserve_header_case(true)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// Forwards one request, records the exchange, returns the response.
async fn forward(
    request: Request<Incoming>,
    shared: Arc<Shared>,
    upstream: UpstreamSlot,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let request_body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            let message = format!("recording proxy: reading the request body: {error}");
            let (response, body) = text_response(StatusCode::BAD_REQUEST, message);
            return Ok(Response::from_parts(response, Full::new(body)));
        }
    };
    let outgoing = Request::from_parts(parts.clone(), Full::new(request_body.clone()));
    let (response, response_body, failure) = match round_trip(&shared, &upstream, outgoing).await {
        Ok((response, body)) => (response, body, None),
        Err(message) => {
            let message = format!("recording proxy: {message}");
            let (response, body) = text_response(StatusCode::BAD_GATEWAY, message.clone());
            (response, body, Some(message))
        }
    };
    let exchange = shared.exchange(&parts, request_body, &response, &response_body, failure);
    shared.exchanges.lock().unwrap().push(exchange);
    Ok(Response::from_parts(response, Full::new(response_body)))
}

/// Sends a request upstream on the connection's upstream connection (opening
/// one if needed) and reads the whole response.
async fn round_trip(
    shared: &Shared,
    upstream: &UpstreamSlot,
    request: Request<Full<Bytes>>,
) -> Result<(ResponseParts, Bytes), String> {
    let mut slot = upstream.lock().await;
    let mut request = request;
    // A kept-alive upstream connection may have closed meanwhile; a request it
    // did not take is sent again on a new connection.
    if let Some(mut sender) = slot.take()
        && sender.ready().await.is_ok()
    {
        match sender.try_send_request(request).await {
            Ok(response) => {
                *slot = Some(sender);
                return collect_response(response).await;
            }
            Err(mut error) => {
                request = error.take_message().ok_or_else(|| {
                    format!("forwarding to {}: {}", shared.upstream, error.error())
                })?;
            }
        }
    }
    let mut sender = connect(shared.upstream).await?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| format!("forwarding to {}: {error}", shared.upstream))?;
    *slot = Some(sender);
    collect_response(response).await
}

/// Opens an upstream connection.
async fn connect(upstream: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(upstream)
        .await
        .map_err(|error| format!("connecting to {upstream}: {error}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::Builder::new()
        .preserve_header_case(true)
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|error| format!("handshake with {upstream}: {error}"))?;
    // The connection ends when its sender is dropped or the upstream closes.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// Reads a whole upstream response.
async fn collect_response(response: Response<Incoming>) -> Result<(ResponseParts, Bytes), String> {
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|error| format!("reading the upstream response body: {error}"))?
        .to_bytes();
    Ok((parts, body))
}

/// A plain-text response of the proxy's own.
fn text_response(status: StatusCode, message: String) -> (ResponseParts, Bytes) {
    let mut response = Response::new(());
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    (response.into_parts().0, Bytes::from(message))
}

impl Shared {
    /// Records one exchange, validating the response (unless forwarding
    /// failed, which is the exchange's failure).
    fn exchange(
        &self,
        request: &RequestParts,
        request_body: Bytes,
        response: &ResponseParts,
        response_body: &Bytes,
        failure: Option<String>,
    ) -> Exchange {
        let method = request.method.clone();
        let path = request.uri.path().to_string();
        let status = response.status.as_u16();
        let operation_id = self
            .validator
            .operation_for(method.as_str(), &path)
            .or_else(|| {
                let (_, published) = UNVERSIONED_ALIASES
                    .iter()
                    .find(|(alias, _)| *alias == path)?;
                self.validator.operation_for(method.as_str(), published)
            });
        let validation = match (&operation_id, failure) {
            (_, Some(failure)) => Err(failure),
            (None, None) => Err(format!("no operation in the spec matches {method} {path}")),
            (Some(operation_id), None) => self.validate(
                operation_id,
                &method,
                status,
                &response.headers,
                response_body,
            ),
        };
        Exchange {
            method: method.to_string(),
            path,
            query: request.uri.query().map(str::to_string),
            request_headers: request.headers.clone(),
            request_body,
            status,
            response_headers: response.headers.clone(),
            response_body: response_body.clone(),
            operation_id,
            validation,
        }
    }

    /// Validates a response of `operation_id` (only its status for `HEAD`).
    fn validate(
        &self,
        operation_id: &str,
        method: &Method,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), String> {
        check_request_id(headers)
            .and_then(|()| check_body_request_id(status, headers, body))
            .map_err(|problem| format!("operation {operation_id}, status {status}: {problem}"))?;
        let present: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        self.validator
            .validate_headers(operation_id, status, &present)?;
        if method == Method::HEAD {
            return self.validator.validate_status(operation_id, status);
        }
        let content_type = match headers.get(CONTENT_TYPE).map(HeaderValue::to_str) {
            None => None,
            Some(Ok(content_type)) => Some(content_type),
            Some(Err(_)) => {
                return Err(format!(
                    "operation {operation_id}, status {status}: the Content-Type is not ASCII"
                ));
            }
        };
        self.validator
            .validate(operation_id, status, content_type, body)
    }
}

/// Checks that `headers` carry one `X-Request-Id` of the server's format.
fn check_request_id(headers: &HeaderMap) -> Result<(), String> {
    let mut values = headers.get_all("x-request-id").iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err("the response does not carry exactly one X-Request-Id".to_string());
    };
    if is_request_id(value.as_bytes()) {
        Ok(())
    } else {
        Err(format!(
            "X-Request-Id {:?} is not 32 lowercase hexadecimal digits",
            String::from_utf8_lossy(value.as_bytes())
        ))
    }
}

/// Checks that an error body naming a `request_id` (native and Huawei
/// errors do) names the request's, the one in `X-Request-Id`.
fn check_body_request_id(status: u16, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    if status < 400 {
        return Ok(());
    }
    let Ok(serde_json::Value::Object(error)) = serde_json::from_slice(body) else {
        return Ok(());
    };
    let Some(in_body) = error.get("request_id") else {
        return Ok(());
    };
    let header = headers
        .get("x-request-id")
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    if in_body.as_str() == header.as_deref() {
        Ok(())
    } else {
        Err(format!(
            "the error body's request_id {in_body} is not the X-Request-Id header's {header:?}"
        ))
    }
}

/// Whether `value` is a request id in the server's format, which is
/// Huawei's: 32 lowercase hexadecimal digits.
pub fn is_request_id(value: &[u8]) -> bool {
    value.len() == 32
        && value
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use serde_json::{Value, json};

    use super::*;

    /// A spec for the echo upstream: `/v1/{a}/{b}/{c}` echoes, `/things/{id}`
    /// returns a Thing, `/teapot` is declared with a text/plain 418.
    fn spec() -> Arc<SpecValidator> {
        let spec = json!({
            "openapi": "3.0.3",
            "info": { "title": "proxy test", "version": "1" },
            "paths": {
                "/v1/{a}/{b}/{c}": { "post": {
                    "operationId": "echo",
                    "responses": { "200": { "description": "echo", "content": {
                        "application/json": { "schema": {
                            "type": "object",
                            "properties": {
                                "target": { "type": "string" },
                                "host": { "type": "string" },
                                "body": { "type": "string" }
                            },
                            "required": ["target", "host", "body"]
                        } }
                    } } }
                } },
                "/things/{id}": { "get": {
                    "operationId": "get_thing",
                    "responses": { "200": { "description": "a thing", "content": {
                        "application/json": { "schema": {
                            "type": "object",
                            "properties": { "id": { "type": "integer" } },
                            "required": ["id"]
                        } }
                    } } }
                } },
                "/api/4.0/logout": { "delete": {
                    "operationId": "logout",
                    "responses": { "204": { "description": "logged out" } }
                } },
                "/errors/{id}": { "get": {
                    "operationId": "get_error",
                    "responses": { "404": { "description": "an error", "content": {
                        "application/json": { "schema": {
                            "type": "object",
                            "properties": { "request_id": { "type": "string" } },
                            "required": ["request_id"]
                        } }
                    } } }
                } },
                "/teapot": { "post": {
                    "operationId": "brew",
                    "responses": { "418": { "description": "no", "content": {
                        "text/plain": { "schema": { "type": "string" } }
                    } } }
                } }
            }
        });
        Arc::new(SpecValidator::from_json(spec))
    }

    /// Starts an upstream that replies as told by `x-reply-status` (with the
    /// request body, of type `x-reply-content-type`), or else echoes the
    /// request target, Host and body as JSON.
    async fn start_upstream() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let service = hyper::service::service_fn(upstream_reply);
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        addr
    }

    async fn upstream_reply(
        request: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, Infallible> {
        let (parts, body) = request.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        };
        let (status, content_type, body) = match header("x-reply-status") {
            Some(status) => (
                status.parse().unwrap(),
                header("x-reply-content-type"),
                body,
            ),
            None => {
                let echo = json!({
                    "target": parts.uri.to_string(),
                    "host": header("host"),
                    "body": String::from_utf8_lossy(&body),
                });
                let echo = Bytes::from(serde_json::to_vec(&echo).unwrap());
                (200, Some("application/json".to_string()), echo)
            }
        };
        let mut response = Response::builder().status(status);
        let request_id = header("x-reply-request-id")
            .unwrap_or_else(|| "0123456789abcdef0123456789abcdef".to_string());
        if !request_id.is_empty() {
            response = response.header("x-request-id", request_id);
        }
        if let Some(content_type) = content_type {
            response = response.header(CONTENT_TYPE, content_type);
        }
        Ok(response.body(Full::new(body)).unwrap())
    }

    /// Opens a keep-alive HTTP/1.1 client connection.
    async fn client(addr: SocketAddr) -> SendRequest<Full<Bytes>> {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        sender
    }

    /// Sends a request with the given Host and extra headers; returns the
    /// status, headers and body of the response.
    async fn send(
        sender: &mut SendRequest<Full<Bytes>>,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (StatusCode, HeaderMap, Bytes) {
        let mut request = Request::builder().method(method).uri(target);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        sender.ready().await.unwrap();
        let response = sender.send_request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        (parts.status, parts.headers, body)
    }

    /// The panic message of `f`, which must panic.
    fn panic_message(f: impl FnOnce()) -> String {
        let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
        match payload.downcast::<String>() {
            Ok(message) => *message,
            Err(payload) => payload.downcast_ref::<&str>().unwrap().to_string(),
        }
    }

    #[tokio::test]
    async fn forwards_awkward_targets_and_host_byte_identical() {
        let proxy = RecordingProxy::start(start_upstream().await, spec()).await;
        let mut sender = client(proxy.local_addr()).await;
        let targets = [
            "/v1/a%2Fb/x%20y/%7E+",
            "/v1/a%2Fb/x%20y/%7E+?q=%2F&x=a+b&&y=%7e",
            "/v1/%E2%82%AC/a;b=c/~'!*$,()@:",
        ];
        let host = "Login.Example.COM:8443";
        for target in targets {
            let headers = [("host", host), ("content-type", "application/json")];
            let (status, _, body) = send(&mut sender, "POST", target, &headers, "{\"k\": 1}").await;
            assert_eq!(status, StatusCode::OK);
            let echo: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(
                echo,
                json!({ "target": target, "host": host, "body": "{\"k\": 1}" })
            );
        }
        let exchanges = proxy.exchanges();
        assert_eq!(exchanges.len(), targets.len());
        assert_eq!(exchanges[1].path, "/v1/a%2Fb/x%20y/%7E+");
        assert_eq!(exchanges[1].query.as_deref(), Some("q=%2F&x=a+b&&y=%7e"));
        assert_eq!(exchanges[1].target(), targets[1]);
        assert_eq!(exchanges[1].request_headers["host"], host);
        assert_eq!(exchanges[1].request_body, "{\"k\": 1}");
        assert_eq!(proxy.assert_all_valid(), targets.len());
        assert_eq!(
            proxy.operations_seen(),
            BTreeSet::from(["echo".to_string()])
        );
    }

    #[tokio::test]
    async fn passes_status_headers_and_body_through_and_records_them() {
        let proxy = RecordingProxy::start(start_upstream().await, spec()).await;
        let mut sender = client(proxy.local_addr()).await;
        let headers = [
            ("host", "teapot"),
            ("x-reply-status", "418"),
            ("x-reply-content-type", "text/plain; charset=utf-8"),
        ];
        let (status, response_headers, body) =
            send(&mut sender, "POST", "/teapot", &headers, "short and stout").await;
        assert_eq!(status, StatusCode::IM_A_TEAPOT);
        assert_eq!(response_headers[CONTENT_TYPE], "text/plain; charset=utf-8");
        assert_eq!(body, "short and stout");

        let exchanges = proxy.exchanges();
        assert_eq!(exchanges.len(), 1);
        let exchange = &exchanges[0];
        assert_eq!(exchange.method, "POST");
        assert_eq!(exchange.status, 418);
        assert_eq!(exchange.response_body, "short and stout");
        assert_eq!(
            exchange.response_headers[CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        assert_eq!(exchange.operation_id.as_deref(), Some("brew"));
        assert_eq!(exchange.validation, Ok(()));
        assert_eq!(proxy.assert_all_valid(), 1);
    }

    #[tokio::test]
    async fn reports_invalid_and_unmatched_exchanges() {
        let proxy = RecordingProxy::start(start_upstream().await, spec()).await;
        proxy.allow_unmatched(&["/healthz"]);
        let mut sender = client(proxy.local_addr()).await;
        let reply = |status| {
            [
                ("host", "h"),
                ("x-reply-status", status),
                ("x-reply-content-type", "application/json"),
            ]
        };
        send(
            &mut sender,
            "GET",
            "/things/7",
            &reply("200"),
            r#"{"id":"seven"}"#,
        )
        .await;
        send(
            &mut sender,
            "GET",
            "/things/8",
            &reply("200"),
            r#"{"id":8}"#,
        )
        .await;
        send(
            &mut sender,
            "GET",
            "/things/9",
            &reply("404"),
            r#"{"id":9}"#,
        )
        .await;
        send(&mut sender, "GET", "/nowhere?x=1", &reply("404"), "{}").await;
        send(&mut sender, "GET", "/healthz", &reply("200"), "{}").await;
        let [host, status, content_type] = reply("200");
        for (path, request_id) in [
            ("/things/10", "01234567-89ab-cdef-0123-456789abcdef"),
            ("/things/11", ""),
        ] {
            let request_id = ("x-reply-request-id", request_id);
            let headers = [host, status, content_type, request_id];
            send(&mut sender, "GET", path, &headers, r#"{"id":"ten"}"#).await;
        }

        assert_eq!(proxy.exchanges().len(), 7);
        assert_eq!(
            proxy.operations_seen(),
            BTreeSet::from(["get_thing".to_string()])
        );
        let message = panic_message(|| {
            proxy.assert_all_valid();
        });
        for part in [
            "5 of 7 exchanges",
            "GET /things/7 -> 200",
            "operation get_thing, status 200",
            "\"/id\"",
            "\"seven\"",
            "GET /things/9 -> 404",
            "does not declare",
            "GET /nowhere?x=1 -> 404",
            "no operation in the spec matches GET /nowhere",
            "GET /things/10 -> 200",
            "is not 32 lowercase hexadecimal digits",
            "GET /things/11 -> 200",
            "does not carry exactly one X-Request-Id",
        ] {
            assert!(message.contains(part), "{part:?} not in: {message}");
        }
        assert!(
            !message.contains("healthz"),
            "allowlisted path reported: {message}"
        );
        assert!(
            !message.contains("/things/8"),
            "valid exchange reported: {message}"
        );
    }

    #[tokio::test]
    async fn an_error_body_must_name_the_request_id_of_its_header() {
        let proxy = RecordingProxy::start(start_upstream().await, spec()).await;
        let mut sender = client(proxy.local_addr()).await;
        let header_id = "0123456789abcdef0123456789abcdef";
        let other_id = "fedcba9876543210fedcba9876543210";
        for (path, body) in [
            ("/errors/same", format!(r#"{{"request_id":"{header_id}"}}"#)),
            ("/errors/other", format!(r#"{{"request_id":"{other_id}"}}"#)),
        ] {
            let headers = [
                ("host", "h"),
                ("x-reply-status", "404"),
                ("x-reply-content-type", "application/json"),
                ("x-reply-request-id", header_id),
            ];
            send(&mut sender, "GET", path, &headers, &body).await;
        }
        let exchanges = proxy.exchanges();
        assert_eq!(exchanges[0].validation, Ok(()));
        let message = panic_message(|| {
            proxy.assert_all_valid();
        });
        assert!(message.contains("1 of 2 exchanges"), "{message}");
        assert!(message.contains("GET /errors/other -> 404"), "{message}");
        assert!(
            message.contains(&format!(
                "the error body's request_id \"{other_id}\" is not the X-Request-Id header's"
            )),
            "{message}"
        );
    }

    #[tokio::test]
    async fn the_unversioned_logout_is_validated_as_the_versioned_one() {
        let proxy = RecordingProxy::start(start_upstream().await, spec()).await;
        let mut sender = client(proxy.local_addr()).await;
        for (status, content_type) in [("204", None), ("418", Some("text/plain"))] {
            let mut headers = vec![("host", "h"), ("x-reply-status", status)];
            if let Some(content_type) = content_type {
                headers.push(("x-reply-content-type", content_type));
            }
            send(&mut sender, "DELETE", "/api/logout", &headers, "").await;
        }
        let exchanges = proxy.exchanges();
        assert_eq!(exchanges[0].operation_id.as_deref(), Some("logout"));
        assert_eq!(exchanges[0].validation, Ok(()));
        // Validated, so an undeclared answer there is reported.
        let message = panic_message(|| {
            proxy.assert_all_valid();
        });
        assert!(message.contains("DELETE /api/logout -> 418"), "{message}");
    }

    #[tokio::test]
    async fn works_with_reqwest_and_new_connections() {
        let proxy = RecordingProxy::start(start_upstream().await, spec()).await;
        let client = reqwest::Client::new();
        for id in 0..3 {
            let response = client
                .get(format!("{}/things/{id}", proxy.url()))
                .header("x-reply-status", "200")
                .header("x-reply-content-type", "application/json")
                .body(format!("{{\"id\":{id}}}"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), reqwest::StatusCode::OK);
            assert_eq!(response.text().await.unwrap(), format!("{{\"id\":{id}}}"));
        }
        assert_eq!(proxy.assert_all_valid(), 3);
        let host = proxy.exchanges()[0].request_headers["host"].clone();
        assert_eq!(host, proxy.local_addr().to_string());
    }

    #[tokio::test]
    async fn reports_an_unreachable_upstream() {
        let unused = {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap()
        };
        let proxy = RecordingProxy::start(unused, spec()).await;
        let mut sender = client(proxy.local_addr()).await;
        let (status, _, _) = send(&mut sender, "GET", "/things/1", &[("host", "h")], "").await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        let message = panic_message(|| {
            proxy.assert_all_valid();
        });
        assert!(message.contains("connecting to"), "{message}");
    }

    #[tokio::test]
    async fn stops_listening_when_dropped() {
        let proxy = RecordingProxy::start(start_upstream().await, spec()).await;
        let addr = proxy.local_addr();
        drop(proxy);
        for _ in 0..100 {
            if TcpStream::connect(addr).await.is_err() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the proxy still accepts connections on {addr} after being dropped");
    }
}
