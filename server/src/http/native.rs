//! The native API's handlers: bearer authentication with the native token,
//! parsing, the call into the session service, and the mapping from the
//! domain to the native wire types and error shape.

use dropshot::{
    HttpError, HttpResponseCreated, HttpResponseOk, PaginationParams, Path, Query, RequestContext,
    ResultsPage, TypedBody, WhichPage,
};
use login_sessions_api::checked::{Checked, CheckedBody};
use login_sessions_api::native as wire;
use login_sessions_api::native::{NativeError, NativeErrorCode};

use super::errors::{DialectError, UNAVAILABLE_RETRY_AFTER_SECONDS, store_failure};
use super::{ApiContext, MAX_PAGE_SIZE};
use crate::auth::AuthError;
use crate::domain::Timestamp;
use crate::domain::credential::Credential;
use crate::domain::session::{EndReason, Interaction, Session, SessionType, Status};
use crate::pfid::Pfid;
use crate::service::{Expiry, ListSessions, NewSession, ServiceError};
use crate::store::StoreError;
use crate::testing::StandIn;
use crate::testing::faults::InjectedError;
use login_sessions_api::testing::TestingDialect;

type Rqctx = RequestContext<ApiContext>;

/// Readiness: the store answers a read and accepts a write. A store that
/// does not is 503 with the reason (an operator's, not a caller's:
/// readiness is for load balancers and probes), and 200 again as soon as
/// it does, without a restart.
pub async fn healthz_ready(rqctx: Rqctx) -> Result<HttpResponseOk<()>, NativeError> {
    let store = rqctx.context().sessions.store();
    let checked = match store.ping().await {
        Ok(()) => store.probe_write().await,
        Err(error) => Err(error),
    };
    match checked {
        Ok(()) => Ok(HttpResponseOk(())),
        Err(StoreError::Unavailable(reason)) => {
            slog::warn!(rqctx.log, "not ready"; "reason" => &reason);
            Err(NativeError {
                message: format!("not ready: {reason}"),
                ..NativeError::unavailable(&rqctx)
            })
        }
        Err(error) => Err(store_failure(&rqctx, error)),
    }
}

pub async fn session_create(
    rqctx: Rqctx,
    body: CheckedBody<TypedBody<wire::SessionCreate>>,
) -> Result<HttpResponseCreated<wire::Session>, NativeError> {
    let caller = authenticate(&rqctx).await?;
    let body = extracted(&rqctx, body.into_result())?.into_inner();
    let request = NewSession {
        expiry: expiry(&rqctx, body.ttl_seconds, body.expires_at, false)?,
        account_id: optional_pfid(&rqctx, "account_id", body.account_id.as_deref())?,
        domain_id: optional_pfid(&rqctx, "domain_id", body.domain_id.as_deref())?,
        device_id: optional_pfid(&rqctx, "device_id", body.device_id.as_deref())?,
        identity_store_id: body.identity_store_id.into_string(),
        user_id: body.user_id.map(wire::UserId::into_string),
        ip: body.ip_address,
        user_agent: body.user_agent,
        credentials_type: body.credentials_type.map(wire::Label::into_string),
        session_type: body.session_type.map(session_type_from_wire),
        status: body.status.map(status_from_wire),
        sudo_user_id: body.sudo_user_id.map(wire::UserId::into_string),
        title: body.title.map(wire::Label::into_string),
    };
    let context = rqctx.context();
    let session = context
        .sessions
        .create(&caller, request)
        .await
        .map_err(|e| service_error(&rqctx, e))?;
    Ok(HttpResponseCreated(to_wire_session(
        session,
        context.sessions.now(),
    )))
}

pub async fn session_view(
    rqctx: Rqctx,
    path: Checked<Path<wire::SessionPath>>,
) -> Result<HttpResponseOk<wire::Session>, NativeError> {
    let caller = authenticate(&rqctx).await?;
    let id = session_id(&rqctx, path)?;
    let sessions = &rqctx.context().sessions;
    session_answer(&rqctx, sessions.view(&caller, &id).await)
}

pub async fn session_list(
    rqctx: Rqctx,
    query: Checked<Query<PaginationParams<wire::SessionFilter, wire::SessionPageSelector>>>,
) -> Result<HttpResponseOk<ResultsPage<wire::Session>>, NativeError> {
    let caller = authenticate(&rqctx).await?;
    let query = extracted(&rqctx, query.into_result())?.into_inner();
    let limit = rqctx
        .page_limit(&query)
        .map_err(|e| extractor_error(&rqctx, e))?
        .get()
        .min(MAX_PAGE_SIZE);
    let (filter, cursor) = match query.page {
        WhichPage::First(filter) => (filter, None),
        WhichPage::Next(selector) => {
            let last = Pfid::parse(&selector.last_id)
                .map_err(|_| invalid(&rqctx, "the page token is not valid".into()))?;
            (selector.filter, Some(last))
        }
    };
    let request = ListSessions {
        identity_store_id: filter
            .identity_store_id
            .clone()
            .map(wire::IdentityStoreId::into_string),
        user_id: filter.user_id.clone().map(wire::UserId::into_string),
        status: filter.status.map(status_from_wire),
        live: filter.live,
        cursor,
        // One more than the page holds, to know whether another page follows.
        limit: limit + 1,
        ..Default::default()
    };
    let sessions = &rqctx.context().sessions;
    let found = sessions
        .list(&caller, request)
        .await
        .map_err(|e| service_error(&rqctx, e))?;
    let now = sessions.now();
    let page_size = usize::try_from(limit).unwrap_or(usize::MAX);
    let last_page = found.len() <= page_size;
    let items: Vec<wire::Session> = found
        .into_iter()
        .take(page_size)
        .map(|s| to_wire_session(s, now))
        .collect();
    let mut page = ResultsPage::new(items, &filter, |session, filter| {
        wire::SessionPageSelector {
            filter: filter.clone(),
            last_id: session.id.clone().into_string(),
        }
    })
    .map_err(|e| extractor_error(&rqctx, e))?;
    // The last page carries no token: the next page would be empty.
    if last_page {
        page.next_page = None;
    }
    Ok(HttpResponseOk(page))
}

pub async fn session_interaction_create(
    rqctx: Rqctx,
    path: Checked<Path<wire::SessionPath>>,
    body: CheckedBody<TypedBody<wire::InteractionCreate>>,
) -> Result<HttpResponseOk<wire::Session>, NativeError> {
    let caller = authenticate(&rqctx).await?;
    let id = session_id(&rqctx, path)?;
    let body = extracted(&rqctx, body.into_result())?.into_inner();
    let sessions = &rqctx.context().sessions;
    session_answer(
        &rqctx,
        sessions
            .record_interaction(&caller, &id, body.ip_address, body.user_agent, body.at)
            .await,
    )
}

pub async fn session_extend(
    rqctx: Rqctx,
    path: Checked<Path<wire::SessionPath>>,
    body: CheckedBody<TypedBody<wire::SessionExtend>>,
) -> Result<HttpResponseOk<wire::Session>, NativeError> {
    let caller = authenticate(&rqctx).await?;
    let id = session_id(&rqctx, path)?;
    let body = extracted(&rqctx, body.into_result())?.into_inner();
    let Some(expiry) = expiry(&rqctx, body.ttl_seconds, body.expires_at, true)? else {
        return Err(invalid(&rqctx, "give ttl_seconds or expires_at".into()));
    };
    let sessions = &rqctx.context().sessions;
    session_answer(&rqctx, sessions.extend(&caller, &id, expiry).await)
}

pub async fn session_authenticate(
    rqctx: Rqctx,
    path: Checked<Path<wire::SessionPath>>,
    body: CheckedBody<TypedBody<wire::SessionAuthenticate>>,
) -> Result<HttpResponseOk<wire::Session>, NativeError> {
    let caller = authenticate(&rqctx).await?;
    let id = session_id(&rqctx, path)?;
    let body = extracted(&rqctx, body.into_result())?.into_inner();
    let sessions = &rqctx.context().sessions;
    session_answer(
        &rqctx,
        sessions
            .authenticate(
                &caller,
                &id,
                body.user_id.into_string(),
                body.credentials_type.map(wire::Label::into_string),
            )
            .await,
    )
}

pub async fn session_logout(
    rqctx: Rqctx,
    path: Checked<Path<wire::SessionPath>>,
) -> Result<HttpResponseOk<wire::Session>, NativeError> {
    let caller = authenticate(&rqctx).await?;
    let id = session_id(&rqctx, path)?;
    let sessions = &rqctx.context().sessions;
    session_answer(&rqctx, sessions.logout(&caller, &id).await)
}

pub async fn session_revoke(
    rqctx: Rqctx,
    path: Checked<Path<wire::SessionPath>>,
) -> Result<HttpResponseOk<wire::Session>, NativeError> {
    let caller = authenticate(&rqctx).await?;
    let id = session_id(&rqctx, path)?;
    let sessions = &rqctx.context().sessions;
    session_answer(&rqctx, sessions.revoke(&caller, &id).await)
}

pub async fn user_sessions_revoke(
    rqctx: Rqctx,
    path: Checked<Path<wire::UserPath>>,
    body: CheckedBody<TypedBody<wire::UserSessionsRevoke>>,
) -> Result<HttpResponseOk<wire::UserSessionsRevoked>, NativeError> {
    let caller = authenticate(&rqctx).await?;
    let user_id = extracted(&rqctx, path.into_result())?.into_inner().user_id;
    let body = extracted(&rqctx, body.into_result())?.into_inner();
    let except = optional_pfid(
        &rqctx,
        "except_session_id",
        body.except_session_id.as_deref(),
    )?;
    let revoked = rqctx
        .context()
        .sessions
        .revoke_user_sessions(
            &caller,
            &user_id,
            body.identity_store_id
                .map(wire::IdentityStoreId::into_string),
            except,
        )
        .await
        .map_err(|e| service_error(&rqctx, e))?;
    Ok(HttpResponseOk(wire::UserSessionsRevoked {
        revoked_session_ids: revoked.iter().map(session_id_to_wire).collect(),
    }))
}

/// The answer of an operation on one session: the session as it now reads,
/// or the service's error in the native shape.
fn session_answer(
    rqctx: &Rqctx,
    result: Result<Session, ServiceError>,
) -> Result<HttpResponseOk<wire::Session>, NativeError> {
    let session = result.map_err(|e| service_error(rqctx, e))?;
    Ok(HttpResponseOk(to_wire_session(
        session,
        rqctx.context().sessions.now(),
    )))
}

// --- Authentication and parsing ------------------------------------------

async fn authenticate(rqctx: &Rqctx) -> Result<Credential, NativeError> {
    if let Some(due) = StandIn::intercept(rqctx, TestingDialect::Native).await {
        return Err(injected(rqctx, due.error));
    }
    let headers = rqctx.request.headers();
    let credential = rqctx
        .context()
        .auth
        .bearer(headers, &crate::auth::native::SECRETS)
        .await
        .map_err(|e| auth_error(rqctx, e))?;
    StandIn::authenticated(rqctx, &credential);
    Ok(credential)
}

/// The answer to a fault injected through the testing API, in this
/// dialect's own terms.
fn injected(rqctx: &Rqctx, error: InjectedError) -> NativeError {
    match error {
        InjectedError::Unauthenticated => auth_error(rqctx, AuthError::Invalid),
        InjectedError::RateLimited => auth_error(
            rqctx,
            AuthError::RateLimited {
                retry_after_seconds: 1,
            },
        ),
        InjectedError::Internal => NativeError::internal(rqctx),
        InjectedError::Unavailable => NativeError::unavailable(rqctx),
    }
}

fn extracted<T>(rqctx: &Rqctx, result: Result<T, HttpError>) -> Result<T, NativeError> {
    result.map_err(|e| extractor_error(rqctx, e))
}

fn session_id(rqctx: &Rqctx, path: Checked<Path<wire::SessionPath>>) -> Result<Pfid, NativeError> {
    let path = extracted(rqctx, path.into_result())?.into_inner();
    Pfid::parse(&path.session_id).map_err(|_| {
        invalid(
            rqctx,
            "session_id must be a session id: 32 lowercase Crockford base32 characters".into(),
        )
    })
}

fn optional_pfid(
    rqctx: &Rqctx,
    field: &str,
    value: Option<&str>,
) -> Result<Option<Pfid>, NativeError> {
    value
        .map(|v| Pfid::parse(v).map_err(|e| invalid(rqctx, format!("{field}: {e}"))))
        .transpose()
}

fn expiry(
    rqctx: &Rqctx,
    ttl_seconds: Option<u32>,
    expires_at: Option<Timestamp>,
    required: bool,
) -> Result<Option<Expiry>, NativeError> {
    match (ttl_seconds, expires_at) {
        (Some(_), Some(_)) => Err(invalid(
            rqctx,
            "give ttl_seconds or expires_at, not both".into(),
        )),
        (Some(ttl), None) => Ok(Some(Expiry::Ttl(ttl))),
        (None, Some(at)) => Ok(Some(Expiry::At(at))),
        (None, None) if required => Err(invalid(rqctx, "give ttl_seconds or expires_at".into())),
        (None, None) => Ok(None),
    }
}

// --- Errors ----------------------------------------------------------------

impl DialectError for NativeError {
    fn unavailable(rqctx: &Rqctx) -> Self {
        NativeError {
            retry_after_seconds: Some(UNAVAILABLE_RETRY_AFTER_SECONDS),
            ..native_error(
                rqctx,
                NativeErrorCode::Unavailable,
                "the store is unavailable; try again".into(),
            )
        }
    }

    fn internal(rqctx: &Rqctx) -> Self {
        native_error(rqctx, NativeErrorCode::Internal, "internal error".into())
    }
}

fn native_error(rqctx: &Rqctx, error_code: NativeErrorCode, message: String) -> NativeError {
    NativeError {
        error_code,
        message,
        request_id: rqctx.request_id.clone(),
        retry_after_seconds: None,
    }
}

fn invalid(rqctx: &Rqctx, message: String) -> NativeError {
    native_error(rqctx, NativeErrorCode::InvalidRequest, message)
}

fn extractor_error(rqctx: &Rqctx, error: HttpError) -> NativeError {
    NativeError::from_http(error, rqctx.request_id.clone())
}

fn auth_error(rqctx: &Rqctx, error: AuthError) -> NativeError {
    match error {
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
    }
}

fn service_error(rqctx: &Rqctx, error: ServiceError) -> NativeError {
    match error {
        ServiceError::Invalid(message) => invalid(rqctx, message),
        ServiceError::NotFound => native_error(rqctx, NativeErrorCode::NotFound, error.to_string()),
        ServiceError::Forbidden(message) => {
            native_error(rqctx, NativeErrorCode::Forbidden, message)
        }
        ServiceError::Conflict(e) => native_error(rqctx, NativeErrorCode::Conflict, e.to_string()),
        ServiceError::Store(e) => store_failure(rqctx, e),
    }
}

// --- Views -----------------------------------------------------------------

/// The native view of a session at `now` (moving its strings).
pub fn to_wire_session(session: Session, now: Timestamp) -> wire::Session {
    let status = status_to_wire(session.effective_status(now));
    let live = session.is_live(now);
    let end_reason = session.end_reason(now).map(end_reason_to_wire);
    let enrichment = session.enrichment;
    wire::Session {
        id: session_id_to_wire(&session.id),
        identity_store_id: session.identity_store_id,
        user_id: session.user_id,
        status,
        live,
        end_reason,
        ended_at: session.ended_at,
        session_type: session_type_to_wire(session.session_type),
        credentials_type: session.credentials_type,
        created_at: session.created_at,
        expires_at: session.expires_at,
        extended_at: session.extended_at,
        extended_count: session.extended_count,
        first_seen: session.first_seen.map(interaction_to_wire),
        last_seen: session.last_seen.map(interaction_to_wire),
        browser: enrichment.browser,
        operating_system: enrichment.operating_system,
        city: enrichment.city,
        state: enrichment.state,
        country: enrichment.country,
        sudo_user_id: session.sudo_user_id,
        account_id: session.account_id.map(|id| id.to_string()),
        domain_id: session.domain_id.map(|id| id.to_string()),
        device_id: session.device_id.map(|id| id.to_string()),
        title: session.title,
    }
}

/// A session id as the wire carries it.
pub fn session_id_to_wire(id: &Pfid) -> wire::SessionId {
    wire::SessionId(id.to_string())
}

fn interaction_to_wire(interaction: Interaction) -> wire::Interaction {
    wire::Interaction {
        at: interaction.at,
        ip_address: interaction.ip,
        user_agent: interaction.user_agent,
    }
}

fn status_to_wire(status: Status) -> wire::SessionStatus {
    match status {
        Status::New => wire::SessionStatus::New,
        Status::Unauthenticated => wire::SessionStatus::Unauthenticated,
        Status::Authenticated => wire::SessionStatus::Authenticated,
        Status::Complete => wire::SessionStatus::Complete,
        Status::Revoked => wire::SessionStatus::Revoked,
    }
}

fn status_from_wire(status: wire::SessionStatus) -> Status {
    match status {
        wire::SessionStatus::New => Status::New,
        wire::SessionStatus::Unauthenticated => Status::Unauthenticated,
        wire::SessionStatus::Authenticated => Status::Authenticated,
        wire::SessionStatus::Complete => Status::Complete,
        wire::SessionStatus::Revoked => Status::Revoked,
    }
}

fn session_type_to_wire(session_type: SessionType) -> wire::SessionType {
    match session_type {
        SessionType::Browser => wire::SessionType::Browser,
        SessionType::Api => wire::SessionType::Api,
    }
}

fn session_type_from_wire(session_type: wire::SessionType) -> SessionType {
    match session_type {
        wire::SessionType::Browser => SessionType::Browser,
        wire::SessionType::Api => SessionType::Api,
    }
}

fn end_reason_to_wire(reason: EndReason) -> wire::EndReason {
    match reason {
        EndReason::LoggedOut => wire::EndReason::LoggedOut,
        EndReason::Revoked => wire::EndReason::Revoked,
        EndReason::Expired => wire::EndReason::Expired,
    }
}
