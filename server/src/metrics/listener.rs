//! The metrics listener: a second HTTP server, on `--metrics-bind`, that
//! answers `GET /metrics` and nothing else.
//!
//! It is a server of its own so that the metrics are never exposed with
//! the API: the API's listener has no `/metrics` (and the published
//! OpenAPI document does not mention it), and the metrics listener
//! serves nothing else. It needs no credential: bind it to an address
//! only the scraper reaches. Its connections are bounded on their own
//! ([`CONNECTION_LIMITS`]), out of the files the API's limit leaves aside,
//! and its requests are not counted in `http_requests_total`.

use std::net::SocketAddr;
use std::time::Duration;

use dropshot::{
    ApiDescription, Body, ConfigDropshot, ConnectionLimits, HttpError, HttpServer, RequestContext,
    ServerBuilder,
};

/// The content type of the text [`super::Metrics::encode`] writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The metrics listener's connections: a few scrapers at a time, each
/// kept alive across scrape intervals of up to two minutes.
pub const CONNECTION_LIMITS: ConnectionLimits = ConnectionLimits {
    max_connections: 16,
    first_request_timeout: Duration::from_secs(10),
    idle_timeout: Duration::from_secs(130),
};

/// Starts the metrics listener on `bind`; it runs until the returned
/// handle is closed or dropped.
pub fn start(bind: SocketAddr, log: slog::Logger) -> Result<HttpServer<()>, String> {
    let mut api = ApiDescription::new();
    api.register(metrics)
        .map_err(|e| format!("the metrics endpoint is invalid: {e}"))?;
    let config = ConfigDropshot {
        bind_address: bind,
        ..Default::default()
    };
    ServerBuilder::new(api, (), log)
        .config(config)
        .connection_limits(CONNECTION_LIMITS)
        .start()
        .map_err(|e| format!("could not start the metrics listener on {bind}: {e}"))
}

/// Every metric family, as Prometheus scrapes them.
#[dropshot::endpoint {
    method = GET,
    path = "/metrics",
}]
async fn metrics(_rqctx: RequestContext<()>) -> Result<http::Response<Body>, HttpError> {
    let text = super::global()
        .encode()
        .map_err(|e| HttpError::for_internal_error(format!("encoding the metrics: {e}")))?;
    http::Response::builder()
        .status(http::StatusCode::OK)
        .header(http::header::CONTENT_TYPE, CONTENT_TYPE)
        .body(Body::from(text))
        .map_err(|e| HttpError::for_internal_error(format!("building the response: {e}")))
}
