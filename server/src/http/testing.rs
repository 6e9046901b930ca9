//! The testing API's handlers (`/testing/v1`, tag `testing`): a stand-in's
//! clock, reset, faults and journal ([`crate::testing`]). Every operation
//! answers 404 unless the server runs with `--testing-api`, and otherwise
//! needs an admin credential's native token. Its own requests are neither
//! journaled nor subject to faults.

use std::sync::Arc;

use chrono::TimeDelta;
use dropshot::{
    HttpError, HttpResponseCreated, HttpResponseDeleted, HttpResponseOk,
    HttpResponseUpdatedNoContent, Query, RequestContext, TypedBody,
};
use login_sessions_api::checked::{Checked, CheckedBody};
use login_sessions_api::native::{NativeError, NativeErrorCode};
use login_sessions_api::testing::{
    ClockAdvance, ClockNow, Fault, FaultCreate, FaultList, JournalFilter, JournalPage,
};

use super::ApiContext;
use super::errors::store_failure;
use crate::auth::AuthError;
use crate::clock::Clock;
use crate::domain::credential::Role;
use crate::testing::StandIn;

type Rqctx = RequestContext<ApiContext>;

/// The largest move of the clock one request makes: a century.
const MAX_ADVANCE_SECONDS: i64 = 3_153_600_000;

pub async fn clock_view(rqctx: Rqctx) -> Result<HttpResponseOk<ClockNow>, NativeError> {
    let stand_in = admitted(&rqctx).await?;
    Ok(HttpResponseOk(ClockNow {
        now: stand_in.clock.now(),
    }))
}

pub async fn clock_advance(
    rqctx: Rqctx,
    body: CheckedBody<TypedBody<ClockAdvance>>,
) -> Result<HttpResponseOk<ClockNow>, NativeError> {
    let stand_in = admitted(&rqctx).await?;
    let advance = extracted(&rqctx, body.into_result())?.into_inner();
    if !(1..=MAX_ADVANCE_SECONDS).contains(&advance.seconds) {
        return Err(native_error(
            &rqctx,
            NativeErrorCode::InvalidRequest,
            format!("seconds must be 1 to {MAX_ADVANCE_SECONDS}"),
        ));
    }
    stand_in.clock.advance(TimeDelta::seconds(advance.seconds));
    Ok(HttpResponseOk(ClockNow {
        now: stand_in.clock.now(),
    }))
}

pub async fn reset(rqctx: Rqctx) -> Result<HttpResponseUpdatedNoContent, NativeError> {
    let stand_in = admitted(&rqctx).await?;
    stand_in
        .reset()
        .await
        .map_err(|e| store_failure::<NativeError>(&rqctx, e))?;
    // What the server remembers of requests besides the store: the same
    // credentials start afresh.
    let context = rqctx.context();
    context.auth.forget_rate_limits();
    context.huawei_auth.forget_lockouts();
    Ok(HttpResponseUpdatedNoContent())
}

pub async fn fault_create(
    rqctx: Rqctx,
    body: CheckedBody<TypedBody<FaultCreate>>,
) -> Result<HttpResponseCreated<Fault>, NativeError> {
    let stand_in = admitted(&rqctx).await?;
    let fault = extracted(&rqctx, body.into_result())?.into_inner();
    let fault = stand_in
        .faults
        .add(fault)
        .map_err(|message| native_error(&rqctx, NativeErrorCode::InvalidRequest, message))?;
    Ok(HttpResponseCreated(fault))
}

pub async fn fault_list(rqctx: Rqctx) -> Result<HttpResponseOk<FaultList>, NativeError> {
    let stand_in = admitted(&rqctx).await?;
    Ok(HttpResponseOk(FaultList {
        items: stand_in.faults.list(),
    }))
}

pub async fn faults_clear(rqctx: Rqctx) -> Result<HttpResponseDeleted, NativeError> {
    admitted(&rqctx).await?.faults.clear();
    Ok(HttpResponseDeleted())
}

pub async fn journal_view(
    rqctx: Rqctx,
    query: Checked<Query<JournalFilter>>,
) -> Result<HttpResponseOk<JournalPage>, NativeError> {
    let stand_in = admitted(&rqctx).await?;
    let filter = extracted(&rqctx, query.into_result())?.into_inner();
    Ok(HttpResponseOk(JournalPage {
        items: stand_in.journal.list(&filter),
    }))
}

pub async fn journal_clear(rqctx: Rqctx) -> Result<HttpResponseDeleted, NativeError> {
    admitted(&rqctx).await?.journal.clear();
    Ok(HttpResponseDeleted())
}

/// The stand-in, for a request from an admin credential; 404 when the
/// testing API is off (as for any path the server does not have).
async fn admitted(rqctx: &Rqctx) -> Result<Arc<StandIn>, NativeError> {
    let context = rqctx.context();
    let Some(stand_in) = context.testing.clone() else {
        return Err(native_error(
            rqctx,
            NativeErrorCode::NotFound,
            "the testing API is off: run the server with --testing-api".into(),
        ));
    };
    let credential = context
        .auth
        .bearer(rqctx.request.headers(), &crate::auth::native::SECRETS)
        .await
        .map_err(|error| match error {
            AuthError::Missing | AuthError::Invalid => {
                native_error(rqctx, NativeErrorCode::Unauthenticated, error.to_string())
            }
            AuthError::RateLimited {
                retry_after_seconds,
            } => NativeError {
                retry_after_seconds: Some(retry_after_seconds),
                ..native_error(rqctx, NativeErrorCode::TooManyRequests, error.to_string())
            },
            AuthError::Store(e) => store_failure(rqctx, e),
        })?;
    if credential.role != Role::Admin {
        return Err(native_error(
            rqctx,
            NativeErrorCode::Forbidden,
            "the testing API needs an admin credential".into(),
        ));
    }
    Ok(stand_in)
}

fn extracted<T>(rqctx: &Rqctx, result: Result<T, HttpError>) -> Result<T, NativeError> {
    result.map_err(|e| NativeError::from_http(e, rqctx.request_id.clone()))
}

fn native_error(rqctx: &Rqctx, error_code: NativeErrorCode, message: String) -> NativeError {
    NativeError {
        error_code,
        message,
        request_id: rqctx.request_id.clone(),
        retry_after_seconds: None,
    }
}
