//! The Prefactor dialect's handlers: bearer authentication with the
//! credential's Prefactor API token, PFID path ids, the actions/summary
//! envelope, offset pagination, and Prefactor's error codes.

use dropshot::{HttpError, HttpResponseOk, Path, Query, RequestContext};
use login_sessions_api::checked::Checked;
use login_sessions_api::prefactor as wire;
use login_sessions_api::prefactor::{PrefactorError, PrefactorErrorCode};

use super::ApiContext;
use super::errors::{DialectError, UNAVAILABLE_RETRY_AFTER_SECONDS, store_failure};
use crate::auth::AuthError;
use crate::domain::Timestamp;
use crate::domain::credential::{Credential, Role};
use crate::domain::ids::validate_id;
use crate::domain::session::{Interaction, Session, SessionType, Status};
use crate::pfid::Pfid;
use crate::service::{ListSessions, ServiceError};
use crate::store::SessionOrder;
use crate::testing::StandIn;
use crate::testing::faults::InjectedError;
use login_sessions_api::testing::TestingDialect;

type Rqctx = RequestContext<ApiContext>;

/// The page size of a list when the request names none.
pub const DEFAULT_PAGE_SIZE: u64 = 25;
/// The largest page a list request may ask for.
pub const MAX_PAGE_SIZE: u64 = 100;

pub async fn fetch_session(
    rqctx: Rqctx,
    path: Checked<Path<wire::SessionPath>>,
) -> Result<HttpResponseOk<wire::SessionFetchResponse>, PrefactorError> {
    let caller = authenticate(&rqctx).await?;
    let id = session_id(path)?;
    let sessions = &rqctx.context().sessions;
    let session = sessions
        .view(&caller, &id)
        .await
        .map_err(|e| service_error(&rqctx, &caller, e))?;
    Ok(HttpResponseOk(fetch_response(
        &caller,
        &session,
        sessions.now(),
    )))
}

pub async fn list_pool_sessions(
    rqctx: Rqctx,
    query: Checked<Query<wire::SessionListQuery>>,
) -> Result<HttpResponseOk<wire::SessionListResponse>, PrefactorError> {
    let caller = authenticate(&rqctx).await?;
    let query = query.into_result().map_err(query_error)?.into_inner();
    validate_id("pool_id", &query.pool_id)
        .map_err(|e| PrefactorError::new(PrefactorErrorCode::InvalidValue, e.to_string()))?;
    let sorting = parse_sorting(query.sorting.as_deref())?;
    let page = Page::from_query(query.pagination_offset, query.pagination_page_size)?;
    if !caller.can_see_store(&query.pool_id) {
        return Err(not_permitted());
    }

    let request = ListSessions {
        identity_store_id: Some(query.pool_id.into_string()),
        order: match sorting.direction {
            wire::SortDirection::Asc => SessionOrder::OldestFirst,
            wire::SortDirection::Desc => SessionOrder::NewestFirst,
        },
        offset: page.offset_u32(),
        limit: page.size_u32(),
        ..Default::default()
    };
    let sessions = &rqctx.context().sessions;
    let total = sessions
        .count(&caller, request.clone())
        .await
        .map_err(|e| service_error(&rqctx, &caller, e))?;
    let found = sessions
        .list(&caller, request)
        .await
        .map_err(|e| service_error(&rqctx, &caller, e))?;
    let now = sessions.now();
    Ok(HttpResponseOk(wire::SessionListResponse {
        status: wire::SuccessStatus::Success,
        pagination: Some(page.output(total, found.len() as u64)),
        summaries: found.iter().map(|session| summary(session, now)).collect(),
        sorting: Some(sorting),
    }))
}

pub async fn revoke_session(
    rqctx: Rqctx,
    path: Checked<Path<wire::SessionPath>>,
) -> Result<HttpResponseOk<wire::SessionFetchResponse>, PrefactorError> {
    let caller = authenticate(&rqctx).await?;
    let id = session_id(path)?;
    let sessions = &rqctx.context().sessions;
    let session = sessions
        .revoke(&caller, &id)
        .await
        .map_err(|e| service_error(&rqctx, &caller, e))?;
    Ok(HttpResponseOk(fetch_response(
        &caller,
        &session,
        sessions.now(),
    )))
}

// --- Authentication and parsing ------------------------------------------

async fn authenticate(rqctx: &Rqctx) -> Result<Credential, PrefactorError> {
    if let Some(due) = StandIn::intercept(rqctx, TestingDialect::Prefactor).await {
        return Err(injected(rqctx, due.error));
    }
    let headers = rqctx.request.headers();
    let credential = rqctx
        .context()
        .auth
        .bearer(headers, &crate::auth::prefactor::SECRETS)
        .await
        .map_err(|e| auth_error(rqctx, e))?;
    StandIn::authenticated(rqctx, &credential);
    Ok(credential)
}

/// The answer to a fault injected through the testing API, in this
/// dialect's own terms.
fn injected(rqctx: &Rqctx, error: InjectedError) -> PrefactorError {
    match error {
        InjectedError::Unauthenticated => auth_error(rqctx, AuthError::Invalid),
        InjectedError::RateLimited => auth_error(
            rqctx,
            AuthError::RateLimited {
                retry_after_seconds: 1,
            },
        ),
        InjectedError::Internal => PrefactorError::internal(rqctx),
        InjectedError::Unavailable => PrefactorError::unavailable(rqctx),
    }
}

fn session_id(path: Checked<Path<wire::SessionPath>>) -> Result<Pfid, PrefactorError> {
    let path = path
        .into_result()
        .map_err(PrefactorError::from_http)?
        .into_inner();
    Pfid::parse(&path.session_id).map_err(|e| {
        PrefactorError::new(
            PrefactorErrorCode::InvalidValue,
            format!("session_id is not a valid session ID: {e}"),
        )
    })
}

/// A malformed list query: a missing `pool_id` is `required_value`; any
/// other value dropshot could not parse is `invalid_value`.
fn query_error(error: HttpError) -> PrefactorError {
    let code = if error.external_message.contains("missing field") {
        PrefactorErrorCode::RequiredValue
    } else {
        PrefactorErrorCode::InvalidValue
    };
    PrefactorError::new(code, error.external_message)
}

/// `id` sorts oldest first, `-id` newest first (the default).
fn parse_sorting(text: Option<&str>) -> Result<wire::Sorting, PrefactorError> {
    let text = text.unwrap_or("-id");
    let (direction, field) = match text.strip_prefix('-') {
        Some(field) => (wire::SortDirection::Desc, field),
        None => (wire::SortDirection::Asc, text),
    };
    match field {
        "id" => Ok(wire::Sorting {
            direction,
            field: wire::SessionSortField::Id,
        }),
        _ => Err(PrefactorError::validation(
            "sorting",
            format!(
                "cannot sort by {field:?}; sessions sort by id (\"id\" oldest first, \"-id\" newest first)"
            ),
        )),
    }
}

/// An offset page of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Page {
    offset: u64,
    size: u64,
}

impl Page {
    fn from_query(offset: Option<u64>, size: Option<u64>) -> Result<Page, PrefactorError> {
        let offset = offset.unwrap_or(0);
        let size = size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&size) {
            return Err(PrefactorError::validation(
                "pagination[page_size]",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        if offset > u64::from(u32::MAX) {
            return Err(PrefactorError::validation(
                "pagination[offset]",
                format!("must be at most {}", u32::MAX),
            ));
        }
        Ok(Page { offset, size })
    }

    fn offset_u32(self) -> u32 {
        u32::try_from(self.offset).unwrap_or(u32::MAX)
    }

    fn size_u32(self) -> u32 {
        u32::try_from(self.size).unwrap_or(u32::MAX)
    }

    /// Where this page stands in a list of `total` items, holding
    /// `returned` of them.
    fn output(self, total: u64, returned: u64) -> wire::PaginationOutput {
        let Page { offset, size } = self;
        let (item_start, item_end) = if returned == 0 {
            (0, 0)
        } else {
            (offset + 1, offset + returned)
        };
        wire::PaginationOutput {
            item_count: total,
            item_start,
            item_end,
            next_page_offset: (offset + size < total).then_some(offset + size),
            page_count: total.div_ceil(size),
            page_index: offset / size + 1,
            page_offset: offset,
            page_size: size,
            previous_page_offset: (offset > 0).then(|| offset.saturating_sub(size)),
        }
    }
}

// --- Errors ----------------------------------------------------------------

fn not_permitted() -> PrefactorError {
    PrefactorError::new(
        PrefactorErrorCode::NotPermitted,
        "this credential may not access that session",
    )
}

impl DialectError for PrefactorError {
    fn unavailable(_rqctx: &Rqctx) -> Self {
        PrefactorError {
            status_override: Some(dropshot::ErrorStatusCode::SERVICE_UNAVAILABLE),
            retry_after_seconds: Some(UNAVAILABLE_RETRY_AFTER_SECONDS),
            ..PrefactorError::new(PrefactorErrorCode::Unexpected, "internal error")
        }
    }

    fn internal(_rqctx: &Rqctx) -> Self {
        PrefactorError::new(PrefactorErrorCode::Unexpected, "internal error")
    }
}

fn auth_error(rqctx: &Rqctx, error: AuthError) -> PrefactorError {
    match error {
        AuthError::Missing => PrefactorError::new(
            PrefactorErrorCode::NotAuthenticated,
            "no credentials: send Authorization: Bearer <API token>",
        ),
        AuthError::Invalid => PrefactorError::new(
            PrefactorErrorCode::BadAuthtoken,
            "the API token is not valid",
        ),
        AuthError::RateLimited {
            retry_after_seconds,
        } => PrefactorError {
            status_override: Some(dropshot::ErrorStatusCode::TOO_MANY_REQUESTS),
            retry_after_seconds: Some(retry_after_seconds),
            ..PrefactorError::new(PrefactorErrorCode::Unknown, error.to_string())
        },
        AuthError::Store(e) => store_failure(rqctx, e),
    }
}

/// A session the caller cannot see is `not_permitted` for a caller whose
/// scope is limited (whether or not it exists elsewhere), `not_found` for
/// an admin (who sees everything, so it does not exist).
fn service_error(rqctx: &Rqctx, caller: &Credential, error: ServiceError) -> PrefactorError {
    match error {
        ServiceError::NotFound if caller.role == Role::Admin => {
            PrefactorError::new(PrefactorErrorCode::NotFound, "no such session")
        }
        ServiceError::NotFound => not_permitted(),
        ServiceError::Forbidden(message) => {
            PrefactorError::new(PrefactorErrorCode::NotPermitted, message)
        }
        ServiceError::Invalid(message) => {
            PrefactorError::new(PrefactorErrorCode::InvalidValue, message)
        }
        ServiceError::Conflict(e) => PrefactorError::new(
            PrefactorErrorCode::InvalidAction,
            format!("the session cannot be revoked: {e}"),
        ),
        ServiceError::Store(e) => store_failure(rqctx, e),
    }
}

// --- Views -----------------------------------------------------------------

/// The fetched shape of a session for this caller at `now`.
pub fn fetch_response(
    caller: &Credential,
    session: &Session,
    now: Timestamp,
) -> wire::SessionFetchResponse {
    wire::SessionFetchResponse {
        actions: wire::SessionAvailableActions {
            revoke: caller.administers() && session.is_live(now),
        },
        summary: summary(session, now),
        status: wire::SuccessStatus::Success,
    }
}

/// Prefactor's summary of a session at `now`.
pub fn summary(session: &Session, now: Timestamp) -> wire::SessionSummary {
    wire::SessionSummary {
        account_id: session.account_id.map(|id| id.to_string()),
        authenticated_identity_id: session.user_id.clone(),
        device_id: session.device_id.map(|id| id.to_string()),
        domain_id: session.domain_id.map(|id| id.to_string()),
        first_seen: session.first_seen.as_ref().map(interaction_details),
        id: super::native::session_id_to_wire(&session.id),
        last_seen: session.last_seen.as_ref().map(interaction_details),
        pool_id: session.identity_store_id.clone(),
        session_type: match session.session_type {
            SessionType::Browser => wire::SessionType::Browser,
            SessionType::Api => wire::SessionType::Api,
        },
        status: match session.effective_status(now) {
            Status::New => wire::SessionStatus::New,
            Status::Unauthenticated => wire::SessionStatus::Unauthenticated,
            Status::Authenticated => wire::SessionStatus::Authenticated,
            Status::Complete => wire::SessionStatus::Complete,
            Status::Revoked => wire::SessionStatus::Revoked,
        },
        title: session.title.clone(),
        resource_type: wire::SessionResourceType::Session,
    }
}

fn interaction_details(interaction: &Interaction) -> wire::InteractionDetails {
    wire::InteractionDetails {
        at: interaction.at.timestamp(),
        remote_ip: interaction.ip.map(|ip| ip.to_canonical().to_string()),
        user_agent: interaction.user_agent.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(offset: u64, size: u64) -> Page {
        Page::from_query(Some(offset), Some(size)).expect("valid page")
    }

    #[test]
    fn pagination_offsets_are_computed_not_copied() {
        // Prefactor's own example is inconsistent (next 110 after offset 90
        // with size 10); the numbers here follow the definitions.
        let out = page(90, 10).output(200, 10);
        assert_eq!((out.item_start, out.item_end), (91, 100));
        assert_eq!(
            (out.page_index, out.page_count, out.page_offset),
            (10, 20, 90)
        );
        assert_eq!(
            (out.next_page_offset, out.previous_page_offset),
            (Some(100), Some(80))
        );
    }

    #[test]
    fn first_last_and_empty_pages() {
        let first = page(0, 25).output(30, 25);
        assert_eq!(
            (first.previous_page_offset, first.next_page_offset),
            (None, Some(25))
        );
        let last = page(25, 25).output(30, 5);
        assert_eq!(
            (last.item_start, last.item_end, last.next_page_offset),
            (26, 30, None)
        );
        assert_eq!((last.page_index, last.page_count), (2, 2));
        let empty = page(0, 25).output(0, 0);
        assert_eq!(
            (empty.item_start, empty.item_end, empty.page_count),
            (0, 0, 0)
        );
        assert_eq!(
            (empty.next_page_offset, empty.previous_page_offset),
            (None, None)
        );
        let ragged = page(5, 10).output(30, 10);
        assert_eq!(
            (ragged.previous_page_offset, ragged.next_page_offset),
            (Some(0), Some(15))
        );
    }

    #[test]
    fn page_bounds() {
        assert!(Page::from_query(None, Some(0)).is_err());
        assert!(Page::from_query(None, Some(101)).is_err());
        assert!(Page::from_query(Some(u64::from(u32::MAX) + 1), None).is_err());
        assert_eq!(
            Page::from_query(None, None).ok(),
            Some(Page {
                offset: 0,
                size: 25
            })
        );
    }

    #[test]
    fn sorting() {
        let desc = parse_sorting(None).expect("default");
        assert_eq!(desc.direction, wire::SortDirection::Desc);
        assert_eq!(
            parse_sorting(Some("id")).expect("id").direction,
            wire::SortDirection::Asc
        );
        let error = parse_sorting(Some("-title")).expect_err("unsupported");
        assert_eq!(error.code, PrefactorErrorCode::ValidationErrors);
        assert!(error.errors.expect("errors").contains_key("sorting"));
    }
}
