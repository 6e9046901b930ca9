//! The Huawei Cloud IAM Identity Center dialect's handlers
//! (`ListSessions`, `BatchDeleteSessions`): AK/SK signature verification
//! over the request as received, parsing, the call into the session
//! service, the view from the domain session to `UserSessionDto`, and
//! Huawei's error shape.
//!
//! Order of checks, as Huawei's gateway and service answer them: a body
//! the gateway cannot take (413), then authentication (401 `APIGW.0301`)
//! and the rate limit (429), then the request itself (400 `IIC.400`), then
//! authorization (403 `IIC.1000`).
//!
//! `request_id` in every error body is dropshot's request id, the value
//! dropshot puts in the `X-Request-Id` header of every response: 32 lowercase
//! hexadecimal digits, Huawei's format, through the one patch of our dropshot
//! copy (`vendor/README.md`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use dropshot::{ErrorStatusCode, Header, HttpError, HttpResponseOk, Path, RequestContext};
use login_sessions_api::checked::Checked;
use login_sessions_api::huawei as wire;
use login_sessions_api::huawei::HuaweiError;
use login_sessions_api::raw_typed::RawTypedBody;
use serde_json::json;
use slog::{error, info};

use super::ApiContext;
use super::errors::{DialectError, UNAVAILABLE_RETRY_AFTER_SECONDS, store_failure};
use crate::auth::AuthError;
use crate::auth::huawei::{HuaweiAuthError, SignedRequest};
use crate::domain::credential::Credential;
use crate::domain::session::Session;
use crate::pfid::Pfid;
use crate::service::ServiceError;
use crate::testing::StandIn;
use crate::testing::faults::InjectedError;
use login_sessions_api::testing::TestingDialect;

type Rqctx = RequestContext<ApiContext>;

/// The most sessions `ListSessions` returns (the newest); Huawei's API has
/// no pagination.
pub const MAX_LISTED_SESSIONS: u32 = 1000;

/// Huawei's IAM action names, as 403 messages name them.
const ACTION_LIST: &str = "IdentityCenter:user:listSessions";
const ACTION_DELETE: &str = "IdentityCenter:user:batchDeleteSession";

pub async fn list_sessions(
    rqctx: Rqctx,
    path: Checked<Path<wire::IdentityStoreUserPath>>,
    // Documents `X-Security-Token` in the spec. The verifier reads the
    // header itself, byte for byte, from the request (the extractor would
    // refuse the whole request for any unrelated non-ASCII header).
    _headers: Checked<Header<wire::SecurityTokenHeader>>,
) -> Result<HttpResponseOk<wire::ListSessionsResponse>, HuaweiError> {
    let caller = authenticate(&rqctx, &[]).await?;
    let (store, user) = store_and_user(&rqctx, path)?;
    let sessions = rqctx
        .context()
        .sessions
        .live_sessions_in_store(&caller, &store, &user, MAX_LISTED_SESSIONS)
        .await
        .map_err(|e| service_error(&rqctx, e, ACTION_LIST))?;
    Ok(HttpResponseOk(wire::ListSessionsResponse {
        session_list: sessions
            .iter()
            .map(|session| to_user_session_dto(session, &user))
            .collect(),
    }))
}

pub async fn batch_delete_sessions(
    rqctx: Rqctx,
    path: Checked<Path<wire::IdentityStoreUserPath>>,
    _headers: Checked<Header<wire::SecurityTokenHeader>>,
    body: RawTypedBody<wire::BatchDeleteSessionsReqBody>,
) -> Result<HttpResponseOk<wire::BatchDeleteSessionsResponse>, HuaweiError> {
    let (bytes, body) = body.into_parts().map_err(|e| unreadable_body(&rqctx, e))?;
    let caller = authenticate(&rqctx, &bytes).await?;
    let (store, user) = store_and_user(&rqctx, path)?;
    let body = body.map_err(|e| bad_request(&rqctx, &e.external_message))?;
    let ids = session_ids(&rqctx, &body.session_ids)?;
    rqctx
        .context()
        .sessions
        .revoke_listed_sessions_in_store(&caller, &store, &user, ids)
        .await
        .map_err(|e| service_error(&rqctx, e, ACTION_DELETE))?;
    Ok(HttpResponseOk(wire::BatchDeleteSessionsResponse {}))
}

// --- Authentication and parsing ------------------------------------------

/// The credential that signed the request (over `body`, its bytes), after
/// its rate limit.
async fn authenticate(rqctx: &Rqctx, body: &[u8]) -> Result<Credential, HuaweiError> {
    if let Some(due) = StandIn::intercept(rqctx, TestingDialect::Huawei).await {
        return Err(injected(rqctx, due.error));
    }
    let uri = rqctx.request.uri();
    let request = SignedRequest {
        method: rqctx.request.method().as_str(),
        path: uri.path(),
        query: uri.query(),
        headers: rqctx.request.headers(),
        body,
        authority: uri.authority().map(|authority| authority.as_str()),
    };
    let context = rqctx.context();
    let credential = context
        .huawei_auth
        .verify(&request)
        .await
        .map_err(|e| auth_error(rqctx, e))?;
    context
        .auth
        .admit(&credential)
        .map_err(|e| admission_error(rqctx, e))?;
    StandIn::authenticated(rqctx, &credential);
    Ok(credential)
}

/// A credential its rate limit (or the store) did not admit.
fn admission_error(rqctx: &Rqctx, error: AuthError) -> HuaweiError {
    match error {
        AuthError::RateLimited {
            retry_after_seconds,
        } => HuaweiError {
            retry_after_seconds: Some(retry_after_seconds),
            ..HuaweiError::new(
                ErrorStatusCode::TOO_MANY_REQUESTS,
                wire::CODE_THROTTLED,
                format!(
                    "The throttling threshold has been reached: this credential's rate limit; \
                     retry in {retry_after_seconds} s"
                ),
                rqctx.request_id.clone(),
            )
        },
        other => huawei_error(
            rqctx,
            ErrorStatusCode::UNAUTHORIZED,
            wire::CODE_AUTHENTICATION,
            other.to_string(),
        ),
    }
}

/// The answer to a fault injected through the testing API, in this
/// dialect's own terms.
fn injected(rqctx: &Rqctx, error: InjectedError) -> HuaweiError {
    match error {
        InjectedError::Unauthenticated => admission_error(rqctx, AuthError::Invalid),
        InjectedError::RateLimited => admission_error(
            rqctx,
            AuthError::RateLimited {
                retry_after_seconds: 1,
            },
        ),
        InjectedError::Internal => HuaweiError::internal(rqctx),
        InjectedError::Unavailable => HuaweiError::unavailable(rqctx),
    }
}

/// The identity store and user of the path. A path segment that is still
/// the template placeholder (`{identity_store_id}`: what Huawei's SDK sends
/// when the caller forgot the parameter) is refused rather than treated as
/// an id.
fn store_and_user(
    rqctx: &Rqctx,
    path: Checked<Path<wire::IdentityStoreUserPath>>,
) -> Result<(String, String), HuaweiError> {
    let path = path
        .into_result()
        .map_err(|e| bad_request(rqctx, &e.external_message))?
        .into_inner();
    for (name, value) in [
        ("identity_store_id", path.identity_store_id.as_str()),
        ("user_id", path.user_id.as_str()),
    ] {
        if value.starts_with('{') && value.ends_with('}') {
            return Err(bad_request(
                rqctx,
                &format!("{name} is missing (the path holds the placeholder {value})"),
            ));
        }
    }
    Ok((
        path.identity_store_id.into_string(),
        path.user_id.into_string(),
    ))
}

/// The session ids of a batch deletion: 1 to [`wire::MAX_BATCH_DELETE_IDS`]
/// non-empty ids of at most [`wire::MAX_SESSION_ID_CHARS`] characters. Ids
/// that are not session ids at all cannot name a session of the user and
/// are ignored, like any other id that is not one of the user's live
/// sessions.
fn session_ids(rqctx: &Rqctx, ids: &[String]) -> Result<Vec<Pfid>, HuaweiError> {
    if ids.is_empty() {
        return Err(bad_request(rqctx, "session_ids must not be empty"));
    }
    if ids.len() > wire::MAX_BATCH_DELETE_IDS {
        return Err(bad_request(
            rqctx,
            &format!(
                "session_ids holds {} ids, more than {}",
                ids.len(),
                wire::MAX_BATCH_DELETE_IDS
            ),
        ));
    }
    if ids
        .iter()
        .any(|id| id.is_empty() || id.chars().count() > wire::MAX_SESSION_ID_CHARS)
    {
        return Err(bad_request(
            rqctx,
            &format!(
                "every session id must be 1 to {} characters",
                wire::MAX_SESSION_ID_CHARS
            ),
        ));
    }
    Ok(ids.iter().filter_map(|id| Pfid::parse(id).ok()).collect())
}

// --- Errors ----------------------------------------------------------------

impl DialectError for HuaweiError {
    fn unavailable(rqctx: &Rqctx) -> Self {
        HuaweiError {
            retry_after_seconds: Some(UNAVAILABLE_RETRY_AFTER_SECONDS),
            ..huawei_error(
                rqctx,
                ErrorStatusCode::SERVICE_UNAVAILABLE,
                wire::CODE_UNAVAILABLE,
                "The service is temporarily unavailable; try again.".into(),
            )
        }
    }

    fn internal(rqctx: &Rqctx) -> Self {
        huawei_error(
            rqctx,
            ErrorStatusCode::INTERNAL_SERVER_ERROR,
            wire::CODE_INTERNAL,
            "Internal Server Error.".into(),
        )
    }
}

fn huawei_error(
    rqctx: &Rqctx,
    status: ErrorStatusCode,
    code: &str,
    message: String,
) -> HuaweiError {
    HuaweiError::new(status, code, message, rqctx.request_id.clone())
}

/// 400 `IIC.400`, in Huawei's wording (`Bad Request: {0}.`).
fn bad_request(rqctx: &Rqctx, detail: &str) -> HuaweiError {
    let detail = detail.trim_end_matches('.');
    huawei_error(
        rqctx,
        ErrorStatusCode::BAD_REQUEST,
        wire::CODE_BAD_REQUEST,
        format!("Bad Request: {detail}."),
    )
}

/// A body the gateway could not take: 413 `APIGW.0201` when too large.
fn unreadable_body(rqctx: &Rqctx, error: HttpError) -> HuaweiError {
    if error.status_code == ErrorStatusCode::PAYLOAD_TOO_LARGE {
        huawei_error(
            rqctx,
            error.status_code,
            wire::CODE_GATEWAY_REQUEST,
            format!("Request entity too large. {}", error.external_message),
        )
    } else {
        bad_request(rqctx, &error.external_message)
    }
}

fn auth_error(rqctx: &Rqctx, error: HuaweiAuthError) -> HuaweiError {
    match error {
        HuaweiAuthError::Store(e) => store_failure(rqctx, e),
        HuaweiAuthError::SecretUnusable => {
            error!(
                rqctx.log,
                "a Huawei secret key cannot be unsealed with the server key"
            );
            HuaweiError::internal(rqctx)
        }
        other => {
            info!(rqctx.log, "Huawei authentication failed"; "reason" => %other);
            huawei_error(
                rqctx,
                ErrorStatusCode::UNAUTHORIZED,
                wire::CODE_AUTHENTICATION,
                other.message(),
            )
        }
    }
}

fn service_error(rqctx: &Rqctx, error: ServiceError, action: &str) -> HuaweiError {
    match error {
        ServiceError::Invalid(message) => bad_request(rqctx, &message),
        ServiceError::Forbidden(reason) => {
            let mut error = huawei_error(
                rqctx,
                ErrorStatusCode::FORBIDDEN,
                wire::CODE_NO_PERMISSION,
                format!("No permission for action {action}."),
            );
            let detail = json!({ "action": action, "reason": reason });
            error.encoded_authorization_message = Some(STANDARD.encode(detail.to_string()));
            error
        }
        ServiceError::NotFound => huawei_error(
            rqctx,
            ErrorStatusCode::NOT_FOUND,
            wire::CODE_NOT_FOUND,
            "Not Found: session.".into(),
        ),
        ServiceError::Conflict(_) => huawei_error(
            rqctx,
            ErrorStatusCode::CONFLICT,
            "IIC.1006",
            "Concurrency conflicts. Try again later.".into(),
        ),
        ServiceError::Store(e) => store_failure(rqctx, e),
    }
}

// --- Views -----------------------------------------------------------------

/// Huawei's view of a live session of `user_id`: times in Unix seconds,
/// the first interaction's address and agent (the agent in square
/// brackets, as Huawei renders it), absent when not recorded.
pub fn to_user_session_dto(session: &Session, user_id: &str) -> wire::UserSessionDto {
    let first = session.first_seen.as_ref();
    wire::UserSessionDto {
        creation_time: first.map_or(session.created_at, |seen| seen.at).timestamp(),
        ip_address: first.and_then(|seen| seen.ip).map(|ip| ip.to_string()),
        session_id: super::native::session_id_to_wire(&session.id),
        session_not_valid_after: session.expires_at.timestamp(),
        user_agent: first
            .and_then(|seen| seen.user_agent.as_deref())
            .map(|agent| format!("[{agent}]")),
        user_id: session
            .user_id
            .clone()
            .unwrap_or_else(|| user_id.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::session::{Enrichment, Interaction, SessionType, Status};
    use chrono::DateTime;

    fn session(first_seen: Option<Interaction>) -> Session {
        Session {
            id: Pfid::ZERO,
            identity_store_id: "d-1".into(),
            user_id: Some("u-1".into()),
            status: Status::Authenticated,
            session_type: SessionType::Browser,
            credentials_type: None,
            created_at: DateTime::from_timestamp_millis(1_753_858_000_999).unwrap(),
            expires_at: DateTime::from_timestamp_millis(1_753_887_367_500).unwrap(),
            extended_at: None,
            extended_count: 0,
            last_seen: first_seen.clone(),
            first_seen,
            enrichment: Enrichment::default(),
            sudo_user_id: None,
            account_id: None,
            domain_id: None,
            device_id: None,
            title: None,
            ended_at: None,
            version: 1,
        }
    }

    #[test]
    fn the_view_uses_seconds_and_brackets_the_agent() {
        let seen = Interaction {
            at: DateTime::from_timestamp_millis(1_753_858_567_250).unwrap(),
            ip: Some("203.0.113.9".parse().unwrap()),
            user_agent: Some("Mozilla/5.0 (Windows NT 10.0; ...)".into()),
        };
        let dto = to_user_session_dto(&session(Some(seen)), "u-1");
        assert_eq!(
            serde_json::to_value(&dto).unwrap(),
            json!({
                "creation_time": 1_753_858_567_i64,
                "ip_address": "203.0.113.9",
                "session_id": Pfid::ZERO.to_string(),
                "session_not_valid_after": 1_753_887_367_i64,
                "user_agent": "[Mozilla/5.0 (Windows NT 10.0; ...)]",
                "user_id": "u-1",
            })
        );
    }

    #[test]
    fn a_session_never_seen_has_no_address_or_agent() {
        let dto = to_user_session_dto(&session(None), "u-1");
        assert_eq!(dto.creation_time, 1_753_858_000);
        assert_eq!(dto.ip_address, None);
        assert_eq!(dto.user_agent, None);
    }
}
