//! Extractors that hand their failure to the handler instead of answering it.
//!
//! Dropshot turns an extractor error (a bad path, query or body) into the
//! endpoint's error type through `From<HttpError>`, which knows nothing about
//! the request: not its id, not its path. Every dialect wants those in its
//! error body (the native `request_id`, Looker's per-route
//! `documentation_url`, Huawei's `request_id`). [`Checked`] and
//! [`CheckedBody`] run the wrapped extractor, keep its `Result`, and document
//! exactly what the wrapped extractor documents, so the spec is unchanged and
//! the handler builds the error in its dialect's shape with the full request
//! context.

use async_trait::async_trait;
use dropshot::{
    ApiEndpointBodyContentType, ExclusiveExtractor, ExtractorMetadata, HttpError, RequestContext,
    ServerContext, SharedExtractor,
};

/// A shared extractor (`Path`, `Query`, `Header`) whose failure is kept for
/// the handler.
pub struct Checked<E>(Result<E, HttpError>);

impl<E> Checked<E> {
    /// The extracted value, or the extractor's error.
    pub fn into_result(self) -> Result<E, HttpError> {
        self.0
    }
}

#[async_trait]
impl<E: SharedExtractor> SharedExtractor for Checked<E> {
    async fn from_request<Context: ServerContext>(
        rqctx: &RequestContext<Context>,
    ) -> Result<Self, HttpError> {
        Ok(Checked(E::from_request(rqctx).await))
    }

    fn metadata(body_content_type: ApiEndpointBodyContentType) -> ExtractorMetadata {
        E::metadata(body_content_type)
    }
}

/// An exclusive extractor (a request body) whose failure is kept for the
/// handler.
pub struct CheckedBody<E>(Result<E, HttpError>);

impl<E> CheckedBody<E> {
    /// The extracted value, or the extractor's error.
    pub fn into_result(self) -> Result<E, HttpError> {
        self.0
    }
}

#[async_trait]
impl<E: ExclusiveExtractor + 'static> ExclusiveExtractor for CheckedBody<E> {
    async fn from_request<Context: ServerContext>(
        rqctx: &RequestContext<Context>,
        request: http::Request<dropshot::Body>,
    ) -> Result<Self, HttpError> {
        Ok(CheckedBody(E::from_request(rqctx, request).await))
    }

    fn metadata(body_content_type: ApiEndpointBodyContentType) -> ExtractorMetadata {
        E::metadata(body_content_type)
    }
}
