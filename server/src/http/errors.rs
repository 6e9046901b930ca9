//! What every dialect's errors share: how a failure the caller did not
//! cause is logged and answered.
//!
//! Each dialect answers in its own shape (Looker's `{message,
//! documentation_url}`, Prefactor's `{status, code, message}`, Huawei's
//! `{error_code, error_msg, request_id}`, native `{error_code, message,
//! request_id}`) and implements [`DialectError`] once to say what its 503
//! and 500 look like. [`store_failure`] holds the policy, written once: the
//! store's error is logged in full (a warning when the store is
//! unavailable, an error otherwise) with the request's id, and the answer
//! carries no internals.

use dropshot::RequestContext;
use slog::{error, warn};

use super::ApiContext;
use crate::store::StoreError;

/// The `Retry-After` of a 503: the store may answer again soon, and a
/// client that waits this long does not add to a crowd of retries.
pub const UNAVAILABLE_RETRY_AFTER_SECONDS: u64 = 1;

/// A dialect's answers to failures the caller did not cause.
pub trait DialectError: Sized {
    /// The store cannot be reached, is busy or cannot write: 503, with
    /// `Retry-After` [`UNAVAILABLE_RETRY_AFTER_SECONDS`].
    fn unavailable(rqctx: &RequestContext<ApiContext>) -> Self;

    /// Anything else: 500, without internals.
    fn internal(rqctx: &RequestContext<ApiContext>) -> Self;
}

/// A store failure: logged in full, answered in the dialect's shape
/// without internals.
pub fn store_failure<E: DialectError>(rqctx: &RequestContext<ApiContext>, error: StoreError) -> E {
    match &error {
        StoreError::Unavailable(_) => {
            warn!(rqctx.log, "store unavailable"; "error" => %error);
            E::unavailable(rqctx)
        }
        _ => {
            error!(rqctx.log, "store failure"; "error" => %error);
            E::internal(rqctx)
        }
    }
}
