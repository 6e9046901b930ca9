//! `Retry-After` on a 429: every dialect's error type carries the seconds
//! until the credential's rate limit admits another request, and sends
//! them as the header the published document declares on every 429.

use http::HeaderMap;
use http::header::{HeaderValue, RETRY_AFTER};

/// The headers of an error response: `Retry-After` when `seconds` is set.
pub fn headers(seconds: Option<u64>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(seconds) = seconds {
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_become_the_header_and_none_adds_nothing() {
        assert_eq!(headers(Some(3))[RETRY_AFTER], "3");
        assert_eq!(
            headers(Some(0))[RETRY_AFTER],
            "1",
            "never 0: the limit needs a wait"
        );
        assert!(headers(None).is_empty());
    }
}
