//! Wire types of the Prefactor dialect (tag `prefactor`, under `/api/v1`):
//! Prefactor's Fetch session, with its documented envelope, PFIDs, Unix
//! second timestamps and error codes, plus the list and revoke siblings
//! Prefactor does not document publicly (shaped after its documented
//! device and identity lists and its action convention).

use std::collections::BTreeMap;

use dropshot::{ErrorStatusCode, HttpError, HttpResponseError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::native::{IdentityStoreId, SessionId};

/// `"success"`, on every successful response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SuccessStatus {
    Success,
}

/// `"error"`, on every error response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorStatus {
    Error,
}

/// The resource type of a session: always `"session"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionResourceType {
    Session,
}

/// Where a session stands. `unauthenticated`: the user has not logged in;
/// `authenticated`: the user logged in with an identity; `complete`: the
/// user logged out, or the session expired; `revoked`: the session was cut
/// short by an administrator; `new`: nothing has happened in it yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename = "PrefactorSessionStatus", rename_all = "snake_case")]
pub enum SessionStatus {
    New,
    Unauthenticated,
    Authenticated,
    Complete,
    Revoked,
}

/// Browser or API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename = "PrefactorSessionType", rename_all = "snake_case")]
pub enum SessionType {
    Browser,
    Api,
}

/// A snapshot of the details of a particular device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InteractionDetails {
    /// Unix timestamp, seconds since midnight January 1, 1970 UTC.
    #[schemars(with = "f64")]
    pub at: i64,
    /// IPv4 address in dotted-decimal notation, or IPv6 text; null when it
    /// was not recorded.
    pub remote_ip: Option<String>,
    /// User-Agent string; null when it was not recorded.
    pub user_agent: Option<String>,
}

/// The actions the caller may perform on a session now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename = "Session_AvailableActions")]
pub struct SessionAvailableActions {
    /// Whether the caller may revoke the session now.
    pub revoke: bool,
}

/// A session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename = "Session_Summary")]
pub struct SessionSummary {
    /// A valid account ID; null when the session records none.
    pub account_id: Option<String>,
    /// A valid identity ID: the user logged in to the session; null until
    /// someone logs in.
    pub authenticated_identity_id: Option<String>,
    /// A valid device ID; null when the session records none.
    pub device_id: Option<String>,
    /// A valid domain ID; null when the session records none.
    pub domain_id: Option<String>,
    /// The first interaction; null for a session never seen.
    pub first_seen: Option<InteractionDetails>,
    /// A valid session ID.
    pub id: SessionId,
    /// The latest interaction; null for a session never seen.
    pub last_seen: Option<InteractionDetails>,
    /// A valid pool ID: the identity store the session belongs to.
    pub pool_id: String,
    pub session_type: SessionType,
    pub status: SessionStatus,
    /// A label for the session; null when it has none.
    pub title: Option<String>,
    #[serde(rename = "type")]
    pub resource_type: SessionResourceType,
}

/// One session with the actions available on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename = "Session_FetchResponse")]
pub struct SessionFetchResponse {
    pub actions: SessionAvailableActions,
    pub summary: SessionSummary,
    /// Always `success`. Not in Prefactor's documented Fetch session
    /// schema, but on every sibling response and in Prefactor's clients'
    /// response model.
    pub status: SuccessStatus,
}

/// Where a page stands in a list. Offsets are zero-based; indexes and item
/// positions one-based.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PaginationOutput {
    /// How many items the whole list holds.
    pub item_count: u64,
    /// One-based position of the last item on this page (0 when empty).
    pub item_end: u64,
    /// One-based position of the first item on this page (0 when empty).
    pub item_start: u64,
    /// The offset of the next page; null if this is the last page.
    pub next_page_offset: Option<u64>,
    /// How many pages of this size the list holds.
    pub page_count: u64,
    /// One-based index of this page.
    pub page_index: u64,
    /// Zero-based offset of this page's first item.
    pub page_offset: u64,
    pub page_size: u64,
    /// The offset of the previous page; null if this is the first page.
    pub previous_page_offset: Option<u64>,
}

/// Which way a list is sorted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortDirection {
    Asc,
    Desc,
}

/// The fields a session list can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionSortField {
    /// The session id; ids are time-ordered, so this is creation order.
    Id,
}

/// How a list is sorted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Sorting {
    pub direction: SortDirection,
    pub field: SessionSortField,
}

/// A page of sessions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename = "Session_ListResponse")]
pub struct SessionListResponse {
    pub status: SuccessStatus,
    pub summaries: Vec<SessionSummary>,
    pub pagination: Option<PaginationOutput>,
    pub sorting: Option<Sorting>,
}

/// Path of an operation on one session.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SessionPath {
    /// A valid session ID (a PFID).
    pub session_id: SessionId,
}

/// The sorts of a session list: `id` (oldest first) or `-id` (newest
/// first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SessionSortParam {
    #[serde(rename = "id")]
    Id,
    #[serde(rename = "-id")]
    DescendingId,
}

/// The query of a session list.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SessionListQuery {
    /// The pool (identity store) whose sessions to list.
    pub pool_id: IdentityStoreId,
    /// The sort: a field name, descending with a leading `-` (`id`,
    /// `-id`). Default `-id`: newest first. Read as text, so that another
    /// value is answered with `validation_errors`.
    #[serde(default)]
    #[schemars(with = "Option<SessionSortParam>")]
    pub sorting: Option<String>,
    /// Zero-based offset of the first item, at most 4294967295. Default 0.
    #[serde(default, rename = "pagination[offset]")]
    #[schemars(range(max = 4_294_967_295_u32))]
    pub pagination_offset: Option<u64>,
    /// Items per page, 1 to 100. Default 25.
    #[serde(default, rename = "pagination[page_size]")]
    #[schemars(range(min = 1, max = 100))]
    pub pagination_page_size: Option<u64>,
}

/// Prefactor's error codes: the documented enum, plus the newer API's
/// `idempotency_key_already_used` and `validation_errors` (a client built
/// against either finds every code it knows).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrefactorErrorCode {
    /// 400: the request is malformed.
    BadRequest,
    /// 401: the bearer token is malformed, unknown or revoked.
    BadAuthtoken,
    /// 401: no credentials were sent.
    NotAuthenticated,
    /// 403: the credential may not do this, or the session is outside its
    /// scope (whether or not it exists).
    NotPermitted,
    /// 501.
    NotImplemented,
    /// 500, or 429 when the credential's rate limit is exhausted (the enum
    /// has no rate-limit code).
    Unknown,
    /// 404: no such session.
    NotFound,
    /// 400.
    UnexpectedRefType,
    /// 500: the server failed.
    Unexpected,
    /// 409: the action is not available in the session's state (revoking a
    /// session that has ended).
    InvalidAction,
    /// 400: a value is malformed.
    InvalidValue,
    /// 400: a required value is missing.
    RequiredValue,
    /// 409.
    IdempotencyKeyAlreadyUsed,
    /// 422: values failed validation; `errors` maps each field to what is
    /// wrong with it.
    ValidationErrors,
}

impl PrefactorErrorCode {
    /// The HTTP status Prefactor's clients expect for the code (Prefactor
    /// publishes none; this follows its clients' handling).
    pub fn status(self) -> ErrorStatusCode {
        match self {
            PrefactorErrorCode::BadRequest
            | PrefactorErrorCode::InvalidValue
            | PrefactorErrorCode::RequiredValue
            | PrefactorErrorCode::UnexpectedRefType => ErrorStatusCode::BAD_REQUEST,
            PrefactorErrorCode::BadAuthtoken | PrefactorErrorCode::NotAuthenticated => {
                ErrorStatusCode::UNAUTHORIZED
            }
            PrefactorErrorCode::NotPermitted => ErrorStatusCode::FORBIDDEN,
            PrefactorErrorCode::NotFound => ErrorStatusCode::NOT_FOUND,
            PrefactorErrorCode::InvalidAction | PrefactorErrorCode::IdempotencyKeyAlreadyUsed => {
                ErrorStatusCode::CONFLICT
            }
            PrefactorErrorCode::ValidationErrors => ErrorStatusCode::UNPROCESSABLE_ENTITY,
            PrefactorErrorCode::NotImplemented => ErrorStatusCode::NOT_IMPLEMENTED,
            PrefactorErrorCode::Unknown | PrefactorErrorCode::Unexpected => {
                ErrorStatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

/// Every error of the Prefactor dialect: `{status: "error", code,
/// message}`, with `errors` on `validation_errors`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct PrefactorError {
    pub status: ErrorStatus,
    pub code: PrefactorErrorCode,
    pub message: String,
    /// For `validation_errors`: each field and what is wrong with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, Vec<String>>>,
    /// The HTTP status, when it is not the code's usual one (a rate limit's
    /// 429). Not part of the body.
    #[serde(skip)]
    #[schemars(skip)]
    pub status_override: Option<ErrorStatusCode>,
    /// Seconds until the rate limit admits another request: the
    /// `Retry-After` header of a 429.
    #[serde(skip)]
    #[schemars(skip)]
    pub retry_after_seconds: Option<u64>,
}

impl PrefactorError {
    /// An error with the code's usual status.
    pub fn new(code: PrefactorErrorCode, message: impl Into<String>) -> PrefactorError {
        PrefactorError {
            status: ErrorStatus::Error,
            code,
            message: message.into(),
            errors: None,
            status_override: None,
            retry_after_seconds: None,
        }
    }

    /// A `validation_errors` error for one field.
    pub fn validation(field: &str, problem: impl Into<String>) -> PrefactorError {
        let problem = problem.into();
        let mut errors = BTreeMap::new();
        errors.insert(field.to_string(), vec![problem.clone()]);
        PrefactorError {
            errors: Some(errors),
            ..PrefactorError::new(
                PrefactorErrorCode::ValidationErrors,
                format!("{field}: {problem}"),
            )
        }
    }

    /// A dropshot error (an extractor's) in Prefactor's shape.
    pub fn from_http(error: HttpError) -> PrefactorError {
        let code = match error.status_code.as_u16() {
            401 => PrefactorErrorCode::NotAuthenticated,
            403 => PrefactorErrorCode::NotPermitted,
            404 => PrefactorErrorCode::NotFound,
            code if code >= 500 => PrefactorErrorCode::Unexpected,
            _ => PrefactorErrorCode::BadRequest,
        };
        PrefactorError {
            status_override: Some(error.status_code),
            ..PrefactorError::new(code, error.external_message)
        }
    }
}

impl std::fmt::Display for PrefactorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

impl From<HttpError> for PrefactorError {
    fn from(error: HttpError) -> Self {
        PrefactorError::from_http(error)
    }
}

impl HttpResponseError for PrefactorError {
    fn status_code(&self) -> ErrorStatusCode {
        self.status_override.unwrap_or_else(|| self.code.status())
    }

    fn headers(&self) -> http::HeaderMap {
        crate::retry_after::headers(self.retry_after_seconds)
    }
}
