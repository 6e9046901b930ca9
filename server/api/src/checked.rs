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
//!
//! [`CheckedBody`] also holds JSON bodies to what their schemas say: an
//! object. (Serde's derived `Deserialize` of a struct takes a JSON array of
//! its fields too, so `[null, null]` would otherwise pass for a body whose
//! fields are all optional.)

use async_trait::async_trait;
use dropshot::{
    ApiEndpointBodyContentType, ExclusiveExtractor, ExtractorMetadata, HttpError, RequestContext,
    ServerContext, SharedExtractor, UntypedBody,
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
        let (parts, body) = request.into_parts();
        let untyped = http::Request::from_parts(parts.clone(), body);
        let bytes = match UntypedBody::from_request(rqctx, untyped).await {
            Ok(body) => body.as_bytes().to_vec(),
            Err(error) => return Ok(CheckedBody(Err(error))),
        };
        if let Err(error) = json_object_or_other(&bytes) {
            return Ok(CheckedBody(Err(error)));
        }
        let request = http::Request::from_parts(parts, dropshot::Body::from(bytes));
        Ok(CheckedBody(E::from_request(rqctx, request).await))
    }

    fn metadata(body_content_type: ApiEndpointBodyContentType) -> ExtractorMetadata {
        E::metadata(body_content_type)
    }
}

/// Refuses a body that is JSON but not an object; anything else (an object,
/// text that is not JSON at all) is left to the wrapped extractor.
pub fn json_object_or_other(bytes: &[u8]) -> Result<(), HttpError> {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(value) if !value.is_object() => Err(HttpError::for_bad_request(
            None,
            "the request body must be a JSON object".to_string(),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_objects_pass_to_the_wrapped_extractor() {
        for body in [&b"{}"[..], br#"{"a": [1]}"#, b"", b"{", b"not json"] {
            assert!(json_object_or_other(body).is_ok(), "{body:?}");
        }
        for body in [&b"[null, null]"[..], b"[]", b"null", b"1", br#""a""#] {
            let error = json_object_or_other(body).unwrap_err();
            assert_eq!(error.status_code.as_u16(), 400, "{body:?}");
        }
    }
}
