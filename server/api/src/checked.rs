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
//! [`Checked`] also refuses a query string that does not decode to UTF-8
//! (dropshot's query parser would replace the bytes with U+FFFD and go on),
//! and [`CheckedBody`] holds JSON bodies to what their schemas say: an
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
        if let Err(error) = utf8_query(rqctx.request.uri().query()) {
            return Ok(Checked(Err(error)));
        }
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

/// Refuses a query string any of whose names or values, percent-decoded,
/// is not UTF-8.
pub fn utf8_query(query: Option<&str>) -> Result<(), HttpError> {
    let Some(query) = query else {
        return Ok(());
    };
    let decodes = query.split(['&', '=', ';']).all(|part| {
        percent_encoding::percent_decode_str(part)
            .decode_utf8()
            .is_ok()
    });
    if decodes {
        Ok(())
    } else {
        Err(HttpError::for_bad_request(
            None,
            "the query string does not decode to UTF-8".to_string(),
        ))
    }
}

/// Refuses a body that is JSON but not an object; anything else (an object,
/// text that is not JSON at all) is left to the extractor that reads it.
/// A body that starts with `{` is an object or no JSON at all, so the usual
/// body is not parsed twice.
pub fn json_object_or_other(bytes: &[u8]) -> Result<(), HttpError> {
    let first = bytes
        .iter()
        .find(|byte| !matches!(byte, b' ' | b'\t' | b'\n' | b'\r'));
    if matches!(first, None | Some(b'{')) {
        return Ok(());
    }
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
    fn a_query_must_decode_to_utf8() {
        for query in [
            None,
            Some(""),
            Some("a=1&b=%C3%A9"),
            Some("x=%25FF"),
            Some("flag"),
        ] {
            assert!(utf8_query(query).is_ok(), "{query:?}");
        }
        for query in [Some("user_id=%FF"), Some("%C3=1"), Some("a=1&b=%E2%82")] {
            let error = utf8_query(query).unwrap_err();
            assert_eq!(error.status_code.as_u16(), 400, "{query:?}");
        }
    }

    #[test]
    fn only_json_objects_pass_to_the_wrapped_extractor() {
        for body in [
            &b"{}"[..],
            br#"{"a": [1]}"#,
            b"",
            b"{",
            b"not json",
            b" \n{}",
        ] {
            assert!(json_object_or_other(body).is_ok(), "{body:?}");
        }
        for body in [
            &b"[null, null]"[..],
            b"[]",
            b"null",
            b"1",
            br#""a""#,
            b" \t[]",
        ] {
            let error = json_object_or_other(body).unwrap_err();
            assert_eq!(error.status_code.as_u16(), 400, "{body:?}");
        }
    }
}
