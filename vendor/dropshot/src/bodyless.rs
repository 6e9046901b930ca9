// Copyright 2026 Oxide Computer Company

//! login-sessions: bodies sent to operations that take none.
//!
//! Upstream, a request body is read only by the extractor that takes it
//! (`TypedBody`, `UntypedBody`, `StreamingBody`, ...). An operation without
//! one never reads it: a client may send any amount, and is answered as if
//! it had sent nothing. With `ServerBuilder::bodyless_request_max_bytes`,
//! dropshot reads the body of a request routed to an operation that
//! declares no body parameter, before the handler runs, and refuses it with
//! a 413 (an `HttpError`, which the error renderer shapes) once it is over
//! the limit: by its declared length (`Content-Length`), or as it arrives
//! (a chunked body). A body within the limit (`{}`, which some clients send
//! with every request) is handed on as it came.

use bytes::BytesMut;
use http_body_util::BodyExt;
use hyper::body::Body as HttpBody;

use crate::body::Body;
use crate::error::HttpError;
use crate::error_status_code::ClientErrorStatusCode;

/// `request`, if its body has at most `max_bytes` bytes; a 413 otherwise.
pub(crate) async fn within_limit(
    request: http::Request<Body>,
    max_bytes: usize,
) -> Result<http::Request<Body>, HttpError> {
    if request.body().is_end_stream() {
        return Ok(request);
    }
    let declared = request.body().size_hint().lower();
    if declared > u64::try_from(max_bytes).unwrap_or(u64::MAX) {
        return Err(too_large(max_bytes));
    }
    let (parts, mut body) = request.into_parts();
    let mut read = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| {
            HttpError::for_bad_request(
                None,
                format!("error reading the request body: {error}"),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            if read.len().saturating_add(data.len()) > max_bytes {
                return Err(too_large(max_bytes));
            }
            read.extend_from_slice(&data);
        }
    }
    Ok(http::Request::from_parts(parts, Body::from(read.freeze())))
}

fn too_large(max_bytes: usize) -> HttpError {
    HttpError::for_client_error(
        None,
        ClientErrorStatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "this operation takes no request body, and the body sent is \
             over {max_bytes} bytes"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: Body) -> http::Request<Body> {
        http::Request::builder().uri("/").body(body).unwrap()
    }

    /// A body of `chunks` frames with no declared length, as a chunked
    /// upload arrives.
    fn chunked(chunks: Vec<&'static [u8]>) -> Body {
        let frames = chunks.into_iter().map(|chunk| {
            Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(
                bytes::Bytes::from_static(chunk),
            ))
        });
        Body::wrap(http_body_util::StreamBody::new(futures::stream::iter(
            frames,
        )))
    }

    #[tokio::test]
    async fn a_small_body_is_handed_on() {
        let small = within_limit(request(Body::from("{}")), 1024).await;
        let body = small.unwrap().into_body().collect().await.unwrap();
        assert_eq!(body.to_bytes(), "{}");
        let chunked = within_limit(request(chunked(vec![b"{", b"}"])), 2).await;
        assert!(chunked.is_ok());
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused() {
        let error = within_limit(request(Body::from(vec![0; 1025])), 1024)
            .await
            .unwrap_err();
        assert_eq!(error.status_code.as_u16(), 413);
        let error =
            within_limit(request(chunked(vec![&[0; 600], &[0; 600]])), 1024)
                .await
                .unwrap_err();
        assert_eq!(error.status_code.as_u16(), 413);
    }
}
