//! The server serves its contract: `GET /openapi.json`, the published
//! OpenAPI document, and `GET /docs/`, an API reference rendered from it.
//!
//! The document is `openapi/login-sessions.json` as published (embedded in
//! the binary), with `servers` naming this server's public URL. Both
//! answers are built once, when the [`Contract`] is made for a server,
//! never per request; the page needs nothing from the network (see
//! the `page` module).

mod operation;
mod page;
mod schema;
mod text;

use bytes::Bytes;
use dropshot::{Body, RequestContext};
use http::{Response, StatusCode, header};
use login_sessions_api::native::{NativeError, NativeErrorCode};
use serde_json::{Value, json};
use slog::error;

use super::ApiContext;
use page::{Links, TagLink};

type Rqctx = RequestContext<ApiContext>;

/// The published document, byte for byte.
const PUBLISHED: &str = include_str!("../../../openapi/login-sessions.json");

/// Where the page links, relative to `/docs/`.
const LINKS: Links = Links {
    document: "../openapi.json",
    tags: &[TagLink {
        tag: "looker",
        href: "looker/errors",
        text: "What each Looker error status means",
    }],
};

/// Why the published document cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error("the published OpenAPI document is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("the published OpenAPI document is not a JSON object")]
    NotAnObject,
    #[error("the OpenAPI document could not be serialized: {0}")]
    Serialize(#[source] serde_json::Error),
}

/// The two answers, ready to send (shared, so a request copies nothing).
#[derive(Debug)]
pub struct Contract {
    /// `/openapi.json`.
    document: Bytes,
    /// `/docs/`.
    reference: Bytes,
}

impl Contract {
    /// The document and its reference for a server reached at
    /// `public_url`.
    pub fn for_public_url(public_url: &str) -> Result<Contract, ContractError> {
        let document = served_document(public_url)?;
        Ok(Contract {
            reference: Bytes::from(page::render(&document, &LINKS)),
            document: Bytes::from(
                serde_json::to_string_pretty(&document).map_err(ContractError::Serialize)?,
            ),
        })
    }
}

/// The published document with `servers` naming `public_url`.
fn served_document(public_url: &str) -> Result<Value, ContractError> {
    let mut document: Value = serde_json::from_str(PUBLISHED).map_err(ContractError::NotJson)?;
    let url = match public_url.trim_end_matches('/') {
        "" => "/",
        url => url,
    };
    document
        .as_object_mut()
        .ok_or(ContractError::NotAnObject)?
        .insert("servers".to_string(), json!([{ "url": url }]));
    Ok(document)
}

/// `GET /openapi.json`.
pub async fn openapi_document(rqctx: Rqctx) -> Result<Response<Body>, NativeError> {
    let contract = contract(&rqctx)?;
    respond(
        &rqctx,
        ok("application/json").body(contract.document.clone().into()),
    )
}

/// `GET /docs/`; `GET /docs` redirects there.
pub async fn api_reference(rqctx: Rqctx) -> Result<Response<Body>, NativeError> {
    if !rqctx.request.uri().path().ends_with('/') {
        let redirect = Response::builder()
            .status(StatusCode::MOVED_PERMANENTLY)
            .header(header::LOCATION, "docs/")
            .body(Body::empty());
        return respond(&rqctx, redirect);
    }
    let contract = contract(&rqctx)?;
    respond(
        &rqctx,
        ok("text/html; charset=utf-8").body(contract.reference.clone().into()),
    )
}

fn ok(content_type: &str) -> http::response::Builder {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
}

fn contract(rqctx: &Rqctx) -> Result<&Contract, NativeError> {
    rqctx.context().contract.as_ref().map_err(|e| {
        error!(rqctx.log, "the contract cannot be served"; "error" => %e);
        internal_error(rqctx)
    })
}

fn respond(
    rqctx: &Rqctx,
    response: Result<Response<Body>, http::Error>,
) -> Result<Response<Body>, NativeError> {
    response.map_err(|e| {
        error!(rqctx.log, "could not build a response"; "error" => %e);
        internal_error(rqctx)
    })
}

fn internal_error(rqctx: &Rqctx) -> NativeError {
    NativeError {
        error_code: NativeErrorCode::Internal,
        message: "internal error".to_string(),
        request_id: rqctx.request_id.clone(),
        retry_after_seconds: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_served_document_differs_only_in_servers() {
        let served = served_document("https://sessions.example.test/").unwrap();
        assert_eq!(
            served["servers"],
            json!([{"url": "https://sessions.example.test"}])
        );
        let mut published: Value = serde_json::from_str(PUBLISHED).unwrap();
        let mut served = served;
        published.as_object_mut().unwrap().remove("servers");
        served.as_object_mut().unwrap().remove("servers");
        assert_eq!(served, published);
    }

    #[test]
    fn the_reference_has_every_published_operation() {
        let contract = Contract::for_public_url("http://localhost:8080").unwrap();
        let published: Value = serde_json::from_str(PUBLISHED).unwrap();
        let paths = published["paths"].as_object().unwrap();
        let ids = paths
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .filter_map(|operation| operation["operationId"].as_str());
        let reference = std::str::from_utf8(&contract.reference).unwrap();
        let mut count = 0;
        for id in ids {
            count += 1;
            assert!(reference.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert!(count > 0);
        assert!(reference.contains("href=\"looker/errors\""));
    }
}
