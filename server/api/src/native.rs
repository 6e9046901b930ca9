//! Wire types of the native API (tag `native`, under `/native/v1`): the API
//! through which sessions are recorded and managed.
//!
//! Times are RFC 3339 strings in UTC. Session ids are PFIDs (32 lowercase
//! Crockford base32 characters); identity store and user ids are opaque
//! strings chosen by the caller.
//!
//! The ids every dialect takes ([`SessionId`], [`Pfid`], [`IdentityStoreId`],
//! [`UserId`]) and free-text [`Label`]s are defined here once, each a named
//! schema, so every property and parameter that holds one refers to the same
//! component and a generated client has one type for it. Their schemas state
//! the rules the server enforces; they deserialize from any string, so that
//! each dialect refuses a bad value with its own error.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use dropshot::{ErrorStatusCode, HttpError, HttpResponseError};
use schemars::JsonSchema;
use schemars::r#gen::SchemaGenerator;
use schemars::schema::{InstanceType, Metadata, Schema, SchemaObject, StringValidation};
use serde::{Deserialize, Serialize};

/// The pattern of a PFID's text form: 32 lowercase Crockford base32
/// characters, the first `0`-`7`.
pub const PFID_PATTERN: &str = "^[0-7][0-9a-hjkmnp-tv-z]{31}$";

/// The length of a PFID's text form.
pub const PFID_LENGTH: u32 = 32;

/// The longest identity store or user id the server accepts, in characters.
pub const MAX_ID_CHARS: u32 = 128;

/// The longest label (title, credentials type) the server accepts, in
/// characters.
pub const MAX_LABEL_CHARS: u32 = 256;

/// A string schema with length bounds, an optional pattern and a
/// description.
fn string_schema(
    min_length: u32,
    max_length: u32,
    pattern: Option<&str>,
    description: &str,
) -> Schema {
    SchemaObject {
        instance_type: Some(InstanceType::String.into()),
        string: Some(Box::new(StringValidation {
            min_length: Some(min_length),
            max_length: Some(max_length),
            pattern: pattern.map(str::to_string),
        })),
        metadata: Some(Box::new(Metadata {
            description: Some(description.to_string()),
            ..Default::default()
        })),
        ..Default::default()
    }
    .into()
}

/// Defines a string newtype whose schema is a named component.
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $schema:expr) => {
        $(#[$doc])*
        #[derive(
            Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The id's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id's text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                $name(text)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                $name(text.to_string())
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> String {
                stringify!($name).to_string()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                $schema
            }
        }
    };
}

string_id!(
    /// A session id, in every dialect.
    SessionId,
    string_schema(
        PFID_LENGTH,
        PFID_LENGTH,
        Some(PFID_PATTERN),
        "A session id: a PFID (Prefactor ID), 32 lowercase Crockford base32 \
         characters (0-9 and a-z except i, l, o and u), the first 0-7, minted by \
         the server when the session is recorded.",
    )
);

string_id!(
    /// The id of an account, domain or device a session records.
    Pfid,
    string_schema(
        PFID_LENGTH,
        PFID_LENGTH,
        Some(PFID_PATTERN),
        "A PFID (Prefactor ID): 32 lowercase Crockford base32 characters (0-9 \
         and a-z except i, l, o and u), the first 0-7.",
    )
);

string_id!(
    /// An identity store (tenant) id, chosen by the caller.
    IdentityStoreId,
    string_schema(
        1,
        MAX_ID_CHARS,
        None,
        "An identity store (tenant) id, chosen by whoever records sessions: 1 \
         to 128 characters, any but Unicode control and format characters \
         (categories Cc and Cf), and not starting or ending with white space. Anything else is refused \
         as an invalid request.",
    )
);

string_id!(
    /// A user id, chosen by the caller.
    UserId,
    string_schema(
        1,
        MAX_ID_CHARS,
        None,
        "A user id, chosen by whoever records sessions: 1 to 128 characters, \
         any but Unicode control and format characters (categories Cc and Cf), \
         and not starting or ending with white space. Anything else is refused as an invalid \
         request.",
    )
);

string_id!(
    /// A free-text label of a session (its title, how the user logged in).
    Label,
    string_schema(
        1,
        MAX_LABEL_CHARS,
        None,
        "Free text: 1 to 256 characters, any but Unicode control and format \
         characters (categories Cc and Cf: a right-to-left override would make \
         it read differently than it is), and not starting or ending with white \
         space. Anything \
         else is refused as an invalid request.",
    )
);

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
    pub id: SessionId,
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
    pub identity_store_id: IdentityStoreId,
    /// The authenticated user; omit for a session nobody has logged in to
    /// yet.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// IP address of the first interaction. Omit both this and
    /// `user_agent` for a session that has not been seen yet.
    #[serde(default)]
    pub ip_address: Option<IpAddr>,
    /// `User-Agent` of the first interaction. Any text: control characters
    /// are removed and it is cut to 1024 characters; one with nothing left
    /// is not recorded.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// How the user logged in (`email`, `api3`, `saml`, ...).
    #[serde(default)]
    pub credentials_type: Option<Label>,
    /// Defaults to `browser`.
    #[serde(default)]
    pub session_type: Option<SessionType>,
    /// `new`, `unauthenticated` or `authenticated`. Defaults to
    /// `authenticated` when `user_id` is given, else `new`. `authenticated`
    /// needs `user_id`; `new` and `unauthenticated` refuse it; `complete`
    /// and `revoked` are refused (a session is created live).
    #[serde(default)]
    pub status: Option<SessionStatus>,
    /// Lifetime in seconds from now, at most the server's maximum lifetime
    /// (366 days by default). Give this or `expires_at`, not both; with
    /// neither, the server's default lifetime applies.
    #[serde(default)]
    #[schemars(range(min = 1, max = 4_294_967_295_u32))]
    pub ttl_seconds: Option<u32>,
    /// Absolute expiry time: at least one second and at most the server's
    /// maximum lifetime from now. Not with `ttl_seconds`.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// The administrator acting as this user.
    #[serde(default)]
    pub sudo_user_id: Option<UserId>,
    /// Account id (a PFID).
    #[serde(default)]
    pub account_id: Option<Pfid>,
    /// Domain id (a PFID).
    #[serde(default)]
    pub domain_id: Option<Pfid>,
    /// Device id (a PFID).
    #[serde(default)]
    pub device_id: Option<Pfid>,
    /// A human-readable label.
    #[serde(default)]
    pub title: Option<Label>,
}

/// Record that the session's client was seen.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractionCreate {
    #[serde(default)]
    pub ip_address: Option<IpAddr>,
    /// Any text: control characters are removed and it is cut to 1024
    /// characters; one with nothing left is not recorded.
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
    /// Lifetime in seconds from now, at most the server's maximum lifetime
    /// (366 days by default), ending later than the current expiry. Not
    /// with `expires_at`.
    #[serde(default)]
    #[schemars(range(min = 1, max = 4_294_967_295_u32))]
    pub ttl_seconds: Option<u32>,
    /// The new expiry time: later than the current one, and at least one
    /// second and at most the server's maximum lifetime from now. Not with
    /// `ttl_seconds`.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A user logged in to a `new` or `unauthenticated` session.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionAuthenticate {
    pub user_id: UserId,
    #[serde(default)]
    pub credentials_type: Option<Label>,
}

/// Revoke every live session of a user.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserSessionsRevoke {
    /// Only sessions in this identity store.
    #[serde(default)]
    pub identity_store_id: Option<IdentityStoreId>,
    /// Keep this session live ("log out other devices").
    #[serde(default)]
    pub except_session_id: Option<SessionId>,
}

/// What a revoke-all did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UserSessionsRevoked {
    /// The sessions that were live and are now revoked.
    pub revoked_session_ids: Vec<SessionId>,
}

/// Path of an operation on one session.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SessionPath {
    /// The session id (a PFID).
    pub session_id: SessionId,
}

/// Path of an operation on one user.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct UserPath {
    pub user_id: UserId,
}

/// Filters of a session listing. Filters combine with AND.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct SessionFilter {
    #[serde(default)]
    pub user_id: Option<UserId>,
    #[serde(default)]
    pub identity_store_id: Option<IdentityStoreId>,
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
