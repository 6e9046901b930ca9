//! Wire types of the native API (tag `native`, under `/native/v1`): the API
//! through which sessions are recorded and managed.
//!
//! Times are RFC 3339 strings in UTC. Session ids are PFIDs (32 lowercase
//! Crockford base32 characters); identity store and user ids are opaque
//! strings chosen by the caller.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use dropshot::{ErrorStatusCode, HttpError, HttpResponseError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a session stands in its life.
///
/// `new`: nothing has happened in it yet. `unauthenticated`: the user
/// interacted but has not logged in. `authenticated`: the user logged in.
/// `complete`: the session ended without an administrator: the user logged
/// out, or it expired. `revoked`: an administrator cut it short.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    New,
    Unauthenticated,
    Authenticated,
    Complete,
    Revoked,
}

/// What kind of client holds the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionType {
    /// An interactive login from a web browser.
    Browser,
    /// A programmatic client.
    Api,
}

/// Why a session is no longer live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The user logged out.
    LoggedOut,
    /// An administrator revoked the session.
    Revoked,
    /// The session reached its expiry time.
    Expired,
}

/// One moment the session's client was seen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Interaction {
    /// When the interaction happened.
    pub at: DateTime<Utc>,
    /// The client's IP address, if it was recorded.
    pub ip_address: Option<IpAddr>,
    /// The client's `User-Agent`, if it was recorded.
    pub user_agent: Option<String>,
}

/// A login session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Session {
    /// The session id (a PFID).
    pub id: String,
    /// The identity store (tenant) the session belongs to.
    pub identity_store_id: String,
    /// The authenticated user; null until someone logs in.
    pub user_id: Option<String>,
    /// Where the session stands now. An expired session reads `complete`.
    pub status: SessionStatus,
    /// Whether the session is usable now: not ended and not expired.
    pub live: bool,
    /// Why the session is no longer live; null while it is.
    pub end_reason: Option<EndReason>,
    /// When the session ended by logout or revocation; null otherwise.
    pub ended_at: Option<DateTime<Utc>>,
    pub session_type: SessionType,
    /// How the user logged in (`email`, `api3`, `saml`, `oidc`, `ldap`,
    /// `google`, `embed`, ...).
    pub credentials_type: Option<String>,
    /// When the session was recorded.
    pub created_at: DateTime<Utc>,
    /// When the session stops being valid.
    pub expires_at: DateTime<Utc>,
    /// When the session was last extended; null if it never was.
    pub extended_at: Option<DateTime<Utc>>,
    /// How many times the session was extended.
    pub extended_count: u32,
    /// The first interaction; null until the client is first seen.
    pub first_seen: Option<Interaction>,
    /// The latest interaction; null until the client is first seen.
    pub last_seen: Option<Interaction>,
    /// Browser family (uap-core's, e.g. "Chrome"), parsed from the first
    /// interaction's user agent; null when it is not recognised or there
    /// was none.
    pub browser: Option<String>,
    /// Operating system family and its version where known (e.g. "Mac OS X
    /// 10.15.7"), parsed from the first interaction's user agent; null when
    /// it is not recognised or there was none.
    pub operating_system: Option<String>,
    /// City of the first interaction's IP address; null when the server
    /// has no GeoIP database or it does not know the address (private and
    /// loopback addresses never have one).
    pub city: Option<String>,
    /// State or subdivision of the first interaction's IP address: its ISO
    /// code where the GeoIP database has one (e.g. "CA"), else its name;
    /// null when unknown.
    pub state: Option<String>,
    /// Country (ISO 3166-1 alpha-2, e.g. "US") of the first interaction's
    /// IP address; null when unknown.
    pub country: Option<String>,
    /// The administrator acting as this user, when the session is a sudo.
    pub sudo_user_id: Option<String>,
    /// Account the session belongs to (a PFID), if recorded.
    pub account_id: Option<String>,
    /// Domain the session belongs to (a PFID), if recorded.
    pub domain_id: Option<String>,
    /// Device the session runs on (a PFID), if recorded.
    pub device_id: Option<String>,
    /// A human-readable label for the session.
    pub title: Option<String>,
}

/// Record a session.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionCreate {
    /// The identity store (tenant) the session belongs to.
    pub identity_store_id: String,
    /// The authenticated user; omit for a session nobody has logged in to
    /// yet.
    #[serde(default)]
    pub user_id: Option<String>,
    /// IP address of the first interaction. Omit both this and
    /// `user_agent` for a session that has not been seen yet.
    #[serde(default)]
    pub ip_address: Option<IpAddr>,
    /// `User-Agent` of the first interaction.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// How the user logged in (`email`, `api3`, `saml`, ...).
    #[serde(default)]
    pub credentials_type: Option<String>,
    /// Defaults to `browser`.
    #[serde(default)]
    pub session_type: Option<SessionType>,
    /// `new`, `unauthenticated` or `authenticated`. Defaults to
    /// `authenticated` when `user_id` is given, else `new`.
    #[serde(default)]
    pub status: Option<SessionStatus>,
    /// Lifetime in seconds from now. Give this or `expires_at`, not both;
    /// with neither, the server's default lifetime applies.
    #[serde(default)]
    pub ttl_seconds: Option<u32>,
    /// Absolute expiry time.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// The administrator acting as this user.
    #[serde(default)]
    pub sudo_user_id: Option<String>,
    /// Account id (a PFID).
    #[serde(default)]
    pub account_id: Option<String>,
    /// Domain id (a PFID).
    #[serde(default)]
    pub domain_id: Option<String>,
    /// Device id (a PFID).
    #[serde(default)]
    pub device_id: Option<String>,
    /// A human-readable label.
    #[serde(default)]
    pub title: Option<String>,
}

/// Record that the session's client was seen.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractionCreate {
    #[serde(default)]
    pub ip_address: Option<IpAddr>,
    #[serde(default)]
    pub user_agent: Option<String>,
    /// When it happened; defaults to now. At most five minutes in the
    /// future, and never before the session was created.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// A new expiry for a live session: `ttl_seconds` from now, or
/// `expires_at`. Exactly one must be given.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionExtend {
    #[serde(default)]
    pub ttl_seconds: Option<u32>,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A user logged in to a `new` or `unauthenticated` session.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionAuthenticate {
    pub user_id: String,
    #[serde(default)]
    pub credentials_type: Option<String>,
}

/// Revoke every live session of a user.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserSessionsRevoke {
    /// Only sessions in this identity store.
    #[serde(default)]
    pub identity_store_id: Option<String>,
    /// Keep this session live ("log out other devices").
    #[serde(default)]
    pub except_session_id: Option<String>,
}

/// What a revoke-all did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UserSessionsRevoked {
    /// The sessions that were live and are now revoked.
    pub revoked_session_ids: Vec<String>,
}

/// Path of an operation on one session.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SessionPath {
    /// The session id (a PFID).
    pub session_id: String,
}

/// Path of an operation on one user.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct UserPath {
    pub user_id: String,
}

/// Filters of a session listing. Filters combine with AND.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct SessionFilter {
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub identity_store_id: Option<String>,
    /// Status as reported now (an expired session is `complete`).
    #[serde(default)]
    pub status: Option<SessionStatus>,
    #[serde(default)]
    pub live: Option<bool>,
}

/// Where the next page of a session listing starts: the filters of the
/// first page and the last id seen. Sessions are listed newest first.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct SessionPageSelector {
    pub filter: SessionFilter,
    pub last_id: String,
}

/// The kind of a native error, stable for programs to match on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum NativeErrorCode {
    /// The request is malformed or a value is out of bounds (400).
    InvalidRequest,
    /// No credentials, or credentials that are not valid (401).
    Unauthenticated,
    /// The credential may not do this (403).
    Forbidden,
    /// No such resource visible to this credential (404).
    NotFound,
    /// The method is not allowed on this path (405).
    MethodNotAllowed,
    /// The session's state does not allow this transition (409).
    Conflict,
    /// The request body is too large (413).
    PayloadTooLarge,
    /// The body's media type is not accepted (415).
    UnsupportedMediaType,
    /// The credential's rate limit is exhausted (429).
    TooManyRequests,
    /// The server failed; the request id identifies it in the logs (500).
    Internal,
    /// The store is unavailable (503).
    Unavailable,
}

impl NativeErrorCode {
    /// The HTTP status this kind of error is answered with.
    pub fn status(self) -> ErrorStatusCode {
        match self {
            NativeErrorCode::InvalidRequest => ErrorStatusCode::BAD_REQUEST,
            NativeErrorCode::Unauthenticated => ErrorStatusCode::UNAUTHORIZED,
            NativeErrorCode::Forbidden => ErrorStatusCode::FORBIDDEN,
            NativeErrorCode::NotFound => ErrorStatusCode::NOT_FOUND,
            NativeErrorCode::MethodNotAllowed => ErrorStatusCode::METHOD_NOT_ALLOWED,
            NativeErrorCode::Conflict => ErrorStatusCode::CONFLICT,
            NativeErrorCode::PayloadTooLarge => ErrorStatusCode::PAYLOAD_TOO_LARGE,
            NativeErrorCode::UnsupportedMediaType => ErrorStatusCode::UNSUPPORTED_MEDIA_TYPE,
            NativeErrorCode::TooManyRequests => ErrorStatusCode::TOO_MANY_REQUESTS,
            NativeErrorCode::Internal => ErrorStatusCode::INTERNAL_SERVER_ERROR,
            NativeErrorCode::Unavailable => ErrorStatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The kind of error an HTTP status stands for.
    pub fn for_status(status: ErrorStatusCode) -> NativeErrorCode {
        match status.as_u16() {
            401 => NativeErrorCode::Unauthenticated,
            403 => NativeErrorCode::Forbidden,
            404 => NativeErrorCode::NotFound,
            405 => NativeErrorCode::MethodNotAllowed,
            409 => NativeErrorCode::Conflict,
            413 => NativeErrorCode::PayloadTooLarge,
            415 => NativeErrorCode::UnsupportedMediaType,
            429 => NativeErrorCode::TooManyRequests,
            503 => NativeErrorCode::Unavailable,
            code if code >= 500 => NativeErrorCode::Internal,
            _ => NativeErrorCode::InvalidRequest,
        }
    }
}

/// Every error of the native API.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct NativeError {
    pub error_code: NativeErrorCode,
    /// What went wrong, for people.
    pub message: String,
    /// The id of the request, as in the `x-request-id` response header.
    pub request_id: String,
    /// Seconds until the rate limit admits another request: the
    /// `Retry-After` header of a 429.
    #[serde(skip)]
    #[schemars(skip)]
    pub retry_after_seconds: Option<u64>,
}

impl std::fmt::Display for NativeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.error_code, self.message)
    }
}

impl From<HttpError> for NativeError {
    /// Only reached for failures outside the handler's reach (a response
    /// that failed to serialize); extractor errors arrive through
    /// `Checked`, which carries the request id.
    fn from(error: HttpError) -> Self {
        NativeError::from_http(error, String::new())
    }
}

impl NativeError {
    /// A native error for a dropshot error (an extractor's), with the id of
    /// the request it answers.
    pub fn from_http(error: HttpError, request_id: String) -> NativeError {
        NativeError {
            error_code: NativeErrorCode::for_status(error.status_code),
            message: error.external_message,
            request_id,
            retry_after_seconds: None,
        }
    }
}

impl HttpResponseError for NativeError {
    fn status_code(&self) -> ErrorStatusCode {
        self.error_code.status()
    }

    fn headers(&self) -> http::HeaderMap {
        crate::retry_after::headers(self.retry_after_seconds)
    }
}
