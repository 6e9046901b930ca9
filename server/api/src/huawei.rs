//! Wire types of the Huawei Cloud IAM Identity Center dialect (tag
//! `huawei`): the IdentityCenterStore user login session API
//! (`ListSessions`, `BatchDeleteSessions`) under
//! `/v1/identity-stores/{identity_store_id}/users/{user_id}/sessions`,
//! wire-compatible with Huawei's SDKs (`huaweicloudsdkidentitycenterstore`).
//!
//! Names, types and shapes follow Huawei's API reference and SDK models:
//! times are Unix seconds as int64, `ip_address` and `user_agent` may be
//! absent, errors are `{error_code, error_msg, request_id}` (plus
//! `encoded_authorization_message` on 403 only).

use dropshot::{ErrorStatusCode, HttpError, HttpResponseError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::native::{IdentityStoreId, SessionId, UserId};

/// The most session ids one `BatchDeleteSessions` request may name.
pub const MAX_BATCH_DELETE_IDS: usize = 100;

/// The longest session id `BatchDeleteSessions` accepts, in characters.
pub const MAX_SESSION_ID_CHARS: usize = 128;

/// Authentication failed (API Gateway's code): unknown AK, bad signature,
/// expired or skewed `X-Sdk-Date`, missing or wrong security token, AK
/// locked after repeated failures. HTTP 401.
pub const CODE_AUTHENTICATION: &str = "APIGW.0301";

/// The request could not be read by the gateway: a body larger than the
/// limit (HTTP 413), a URI too long (414), header fields too large (431).
pub const CODE_GATEWAY_REQUEST: &str = "APIGW.0201";

/// The credential's request rate limit is exhausted. HTTP 429.
pub const CODE_THROTTLED: &str = "APIGW.0308";

/// The request is malformed. HTTP 400.
pub const CODE_BAD_REQUEST: &str = "IIC.400";

/// No such resource. HTTP 404.
pub const CODE_NOT_FOUND: &str = "IIC.404";

/// The caller may not perform this action. HTTP 403.
pub const CODE_NO_PERMISSION: &str = "IIC.1000";

/// The server failed. HTTP 500.
pub const CODE_INTERNAL: &str = "IIC.500";

/// The store is unavailable; try again. HTTP 503.
pub const CODE_UNAVAILABLE: &str = "IIC.503";

/// Path of the session operations: one user in one identity store.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct IdentityStoreUserPath {
    /// The identity store (tenant) ID.
    pub identity_store_id: IdentityStoreId,
    /// The user ID.
    pub user_id: UserId,
}

/// Request headers of the session operations.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct SecurityTokenHeader {
    /// The security token of temporary credentials. Required (and signed)
    /// when the request is signed with a temporary AK/SK; absent
    /// otherwise.
    #[serde(rename = "X-Security-Token", default)]
    pub x_security_token: Option<String>,
}

/// A user login session.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct UserSessionDto {
    /// Session creation time, in Unix seconds: when the session's client
    /// was first seen (when the session was recorded, if it never was).
    pub creation_time: i64,
    /// The IP address the session was first seen from; absent when not
    /// recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub ip_address: Option<String>,
    /// The session ID.
    pub session_id: SessionId,
    /// Session expiration time, in Unix seconds.
    pub session_not_valid_after: i64,
    /// User client information: the `User-Agent` the session was first
    /// seen with, in square brackets (`[Mozilla/5.0 (...)]`), as Huawei
    /// renders it; absent when not recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub user_agent: Option<String>,
    /// Unique user ID.
    pub user_id: String,
}

/// The live sessions of a user.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct ListSessionsResponse {
    /// The user's live sessions in the identity store, newest first.
    pub session_list: Vec<UserSessionDto>,
}

/// Which sessions to delete.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct BatchDeleteSessionsReqBody {
    /// The IDs of the sessions to delete: 1 to 100 IDs of 1 to 128
    /// characters each. As in Huawei's API, any such string is an ID: IDs
    /// that are not live sessions of this user in this identity store (not
    /// PFIDs, unknown, ended) are ignored.
    #[schemars(length(min = 1, max = 100), inner(length(min = 1, max = 128)))]
    pub session_ids: Vec<String>,
}

/// A successful batch deletion: an empty object.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
pub struct BatchDeleteSessionsResponse {}

/// Every error of the Huawei dialect.
///
/// `request_id` is the value of the `X-Request-Id` response header (the
/// Huawei SDK reads the request id from the header only).
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct HuaweiError {
    /// The error code: `APIGW.*` for gateway errors (authentication: 401
    /// `APIGW.0301`), `IIC.*` for the service's own (`IIC.400` bad request,
    /// `IIC.1000` no permission).
    pub error_code: String,
    /// What went wrong, for people.
    pub error_msg: String,
    /// The id of the request, as in the `X-Request-Id` response header.
    pub request_id: String,
    /// The encoded reason of an authorization failure (base64 of a JSON
    /// object naming the action and the reason); present on 403 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub encoded_authorization_message: Option<String>,
    /// The HTTP status the error is answered with.
    #[serde(skip)]
    #[schemars(skip)]
    pub status: ErrorStatusCode,
    /// Seconds until the rate limit admits another request: the
    /// `Retry-After` header of a 429.
    #[serde(skip)]
    #[schemars(skip)]
    pub retry_after_seconds: Option<u64>,
}

impl HuaweiError {
    /// An error answered with `status`.
    pub fn new(
        status: ErrorStatusCode,
        error_code: &str,
        error_msg: String,
        request_id: String,
    ) -> HuaweiError {
        HuaweiError {
            error_code: error_code.to_string(),
            error_msg,
            request_id,
            encoded_authorization_message: None,
            status,
            retry_after_seconds: None,
        }
    }

    /// The error code Huawei uses for a bare HTTP status.
    pub fn code_for_status(status: ErrorStatusCode) -> &'static str {
        match status.as_u16() {
            401 => CODE_AUTHENTICATION,
            403 => CODE_NO_PERMISSION,
            404 => CODE_NOT_FOUND,
            413 | 414 | 431 => CODE_GATEWAY_REQUEST,
            429 => CODE_THROTTLED,
            503 => CODE_UNAVAILABLE,
            code if code >= 500 => CODE_INTERNAL,
            _ => CODE_BAD_REQUEST,
        }
    }

    /// A Huawei error for a dropshot error, with the id of the request it
    /// answers.
    pub fn from_http(error: HttpError, request_id: String) -> HuaweiError {
        let code = HuaweiError::code_for_status(error.status_code);
        HuaweiError::new(error.status_code, code, error.external_message, request_id)
    }
}

impl std::fmt::Display for HuaweiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error_code, self.error_msg)
    }
}

impl From<HttpError> for HuaweiError {
    /// Only reached for failures outside the handler's reach (a response
    /// that failed to serialize); extractor errors arrive through
    /// `Checked` and `RawTypedBody`, which carry the request id.
    fn from(error: HttpError) -> Self {
        HuaweiError::from_http(error, String::new())
    }
}

impl HttpResponseError for HuaweiError {
    fn status_code(&self) -> ErrorStatusCode {
        self.status
    }

    fn headers(&self) -> http::HeaderMap {
        crate::retry_after::headers(self.retry_after_seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_fields_are_absent_not_null() {
        let dto = UserSessionDto {
            creation_time: 1_753_858_567,
            ip_address: None,
            session_id: "s".into(),
            session_not_valid_after: 1_753_887_367,
            user_agent: None,
            user_id: "u".into(),
        };
        assert_eq!(
            serde_json::to_value(&dto).unwrap(),
            serde_json::json!({
                "creation_time": 1_753_858_567_i64,
                "session_id": "s",
                "session_not_valid_after": 1_753_887_367_i64,
                "user_id": "u",
            })
        );
    }

    #[test]
    fn errors_carry_no_status_and_the_403_field_only_when_set() {
        let mut error = HuaweiError::new(
            ErrorStatusCode::UNAUTHORIZED,
            CODE_AUTHENTICATION,
            "Incorrect IAM authentication information.".into(),
            "abc".into(),
        );
        assert_eq!(
            serde_json::to_value(&error).unwrap(),
            serde_json::json!({
                "error_code": "APIGW.0301",
                "error_msg": "Incorrect IAM authentication information.",
                "request_id": "abc",
            })
        );
        error.encoded_authorization_message = Some("e30=".into());
        assert_eq!(
            serde_json::to_value(&error).unwrap()["encoded_authorization_message"],
            "e30="
        );
        assert_eq!(error.status_code(), ErrorStatusCode::UNAUTHORIZED);
    }

    #[test]
    fn codes_for_statuses() {
        for (status, code) in [
            (ErrorStatusCode::BAD_REQUEST, CODE_BAD_REQUEST),
            (ErrorStatusCode::UNAUTHORIZED, CODE_AUTHENTICATION),
            (ErrorStatusCode::FORBIDDEN, CODE_NO_PERMISSION),
            (ErrorStatusCode::NOT_FOUND, CODE_NOT_FOUND),
            (ErrorStatusCode::METHOD_NOT_ALLOWED, CODE_BAD_REQUEST),
            (ErrorStatusCode::PAYLOAD_TOO_LARGE, CODE_GATEWAY_REQUEST),
            (ErrorStatusCode::URI_TOO_LONG, CODE_GATEWAY_REQUEST),
            (
                ErrorStatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                CODE_GATEWAY_REQUEST,
            ),
            (ErrorStatusCode::TOO_MANY_REQUESTS, CODE_THROTTLED),
            (ErrorStatusCode::INTERNAL_SERVER_ERROR, CODE_INTERNAL),
            (ErrorStatusCode::SERVICE_UNAVAILABLE, CODE_UNAVAILABLE),
        ] {
            assert_eq!(HuaweiError::code_for_status(status), code, "{status}");
        }
    }
}
