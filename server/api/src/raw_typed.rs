//! A JSON request body extractor that also keeps the body's exact bytes.
//!
//! Huawei's AK/SK signatures cover the SHA-256 of the raw body as sent
//! (the Python SDK sends `{"session_ids": ["a", "b"]}` with `", "` and
//! `": "` separators), so a handler that verifies them needs the bytes, not
//! a re-serialisation of the parsed value, and it must verify the
//! signature BEFORE it answers a malformed body (authentication comes
//! first). [`RawTypedBody`] reads the body once, keeps the bytes, parses
//! them as JSON into `T`, and keeps every failure for the handler, like
//! [`CheckedBody`](crate::checked::CheckedBody). It documents exactly what
//! `TypedBody<T>` documents, so the spec still shows the body's schema.

use async_trait::async_trait;
use dropshot::{
    ApiEndpointBodyContentType, ClientErrorStatusCode, ExclusiveExtractor, ExtractorMetadata,
    HttpError, RequestContext, ServerContext, TypedBody, UntypedBody,
};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

/// A JSON body of type `T` and the bytes it was parsed from.
pub struct RawTypedBody<T> {
    body: Result<(Vec<u8>, Result<T, HttpError>), HttpError>,
}

impl<T> RawTypedBody<T> {
    /// The body's bytes and the parsed value (or why the bytes are not a
    /// `T`); or, when the body could not be read at all (too large, the
    /// connection failed), why not. A failure to read is a 413 when the
    /// declared `Content-Length` exceeds the server's limit, else a 400.
    pub fn into_parts(self) -> Result<(Vec<u8>, Result<T, HttpError>), HttpError> {
        self.body
    }
}

#[async_trait]
impl<T> ExclusiveExtractor for RawTypedBody<T>
where
    T: JsonSchema + DeserializeOwned + Send + Sync + 'static,
{
    async fn from_request<Context: ServerContext>(
        rqctx: &RequestContext<Context>,
        request: http::Request<dropshot::Body>,
    ) -> Result<Self, HttpError> {
        let declared_length = request
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok());
        let content_type = request.headers().get(http::header::CONTENT_TYPE).cloned();
        let body = match UntypedBody::from_request(rqctx, request).await {
            Ok(body) => {
                let bytes = body.as_bytes().to_vec();
                let value = parse(content_type.as_ref(), &bytes);
                Ok((bytes, value))
            }
            Err(error) => {
                let limit = u64::try_from(rqctx.request_body_max_bytes()).unwrap_or(u64::MAX);
                if declared_length.is_some_and(|length| length > limit) {
                    Err(HttpError::for_client_error(
                        None,
                        ClientErrorStatusCode::PAYLOAD_TOO_LARGE,
                        format!("the request body is larger than {limit} bytes"),
                    ))
                } else {
                    Err(error)
                }
            }
        };
        Ok(RawTypedBody { body })
    }

    fn metadata(body_content_type: ApiEndpointBodyContentType) -> ExtractorMetadata {
        TypedBody::<T>::metadata(body_content_type)
    }
}

/// The body as a `T`: a JSON object (as [`CheckedBody`](crate::checked::CheckedBody)
/// holds it to), with no `Content-Type` or `application/json` (parameters
/// such as `charset` ignored), as dropshot's `TypedBody` reads it.
fn parse<T: DeserializeOwned>(
    content_type: Option<&http::HeaderValue>,
    bytes: &[u8],
) -> Result<T, HttpError> {
    if let Some(content_type) = content_type {
        let text = content_type
            .to_str()
            .map_err(|_| HttpError::for_bad_request(None, "invalid content type".to_string()))?;
        let media_type = text.split(';').next().unwrap_or("").trim();
        if !media_type.eq_ignore_ascii_case("application/json") {
            return Err(HttpError::for_bad_request(
                None,
                format!("expected content type \"application/json\", got \"{media_type}\""),
            ));
        }
    }
    crate::checked::json_object_or_other(bytes)?;
    serde_json::from_slice(bytes).map_err(|error| {
        HttpError::for_bad_request(None, format!("unable to parse JSON body: {error}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Body {
        ids: Vec<String>,
    }

    #[test]
    fn json_is_parsed_whatever_the_charset() {
        for content_type in [
            None,
            Some("application/json"),
            Some("application/json;charset=UTF-8"),
            Some("Application/JSON ; charset=utf-8"),
        ] {
            let header = content_type.map(HeaderValue::from_static);
            let body: Body = parse(header.as_ref(), br#"{"ids": ["a"]}"#).unwrap();
            assert_eq!(body.ids, ["a"]);
        }
    }

    #[test]
    fn other_media_types_and_bad_json_are_400s() {
        let header = HeaderValue::from_static("text/plain");
        let error = parse::<Body>(Some(&header), br#"{"ids": []}"#).unwrap_err();
        assert_eq!(error.status_code.as_u16(), 400);
        assert!(error.external_message.contains("text/plain"));
        let error = parse::<Body>(None, b"{").unwrap_err();
        assert_eq!(error.status_code.as_u16(), 400);
        let error = parse::<Body>(None, b"").unwrap_err();
        assert!(error.external_message.contains("unable to parse JSON body"));
    }

    /// Serde reads a struct from a JSON array of its fields; the schema
    /// says object, so an array is refused before it gets there.
    #[test]
    fn a_json_array_is_not_a_body() {
        let error = parse::<Body>(None, br#"[["a"]]"#).unwrap_err();
        assert_eq!(error.status_code.as_u16(), 400);
        assert!(
            error.external_message.contains("JSON object"),
            "{}",
            error.external_message
        );
    }
}
