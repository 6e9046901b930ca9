//! The Looker API 4.0 dialect's handlers: access-token authentication,
//! parsing, the call into the session service, and the mapping from the
//! domain to Looker's wire types and error shape.
//!
//! What Looker does, and this dialect therefore does:
//!
//! - Only live sessions exist. A session that was logged out, revoked or
//!   has expired is 404, like one that never existed, like one of another
//!   user, like a path id no session could have (too long, control
//!   characters, not a session id): the path names nothing.
//! - Credentials: `POST /api/4.0/login` trades a credential's Looker client
//!   id and secret for an access token, which later requests send as
//!   `Authorization: token <t>` or `Bearer <t>`. A missing, malformed,
//!   expired or logged-out token is 401 `Requires authentication.`; a
//!   logout with a token that no longer works is 404 `Not found`.
//! - Errors are `{message, documentation_url}`, with `errors` (each item
//!   with its own `documentation_url`) when particular inputs are invalid.
//!   `documentation_url` is under this server's documentation URL, so
//!   Looker's Python SDK, which fetches Looker's error index for URLs on
//!   Looker's documentation hosts, never goes out to the network on an
//!   error.

pub mod fields;

use std::collections::BTreeMap;

use dropshot::{
    ErrorStatusCode, HttpError, HttpResponseDeleted, HttpResponseOk, Path, Query, RequestContext,
};
use login_sessions_api::checked::Checked;
use login_sessions_api::looker::{
    BASE_PATH, LookerAccessToken, LookerError, LookerFieldsQuery, LookerLoginForm,
    LookerLoginQuery, LookerLoginUserPath, LookerSession, LookerUserPath, LookerUserSessionPath,
    LookerValidationErrorDetail,
};
use slog::{error, warn};

use super::ApiContext;
use super::errors::{DialectError, UNAVAILABLE_RETRY_AFTER_SECONDS, store_failure};
use crate::auth::looker::{ACCESS_TOKEN_SCHEMES, TokenCaller};
use crate::auth::{AuthError, bearer_token};
use crate::domain::Timestamp;
use crate::domain::access_token::ACCESS_TOKEN_LIFETIME;
use crate::domain::ids::validate_id;
use crate::domain::session::{Session, SessionType};
use crate::pfid::Pfid;
use crate::service::{Expiry, NewSession, ServiceError};
use crate::testing::StandIn;
use crate::testing::faults::InjectedError;
use fields::Selection;
use login_sessions_api::testing::TestingDialect;

type Rqctx = RequestContext<ApiContext>;

/// The `token_type` of every access token: what Looker sends.
pub const TOKEN_TYPE: &str = "Bearer";

/// The `credentials_type` of the session a `login_user` records: Looker's
/// name for API client credentials.
pub const SUDO_CREDENTIALS_TYPE: &str = "api3";

// --- Handlers ---------------------------------------------------------------

pub async fn user_session(
    rqctx: Rqctx,
    path: Checked<Path<LookerUserSessionPath>>,
    query: Checked<Query<LookerFieldsQuery>>,
) -> Result<HttpResponseOk<LookerSession>, LookerError> {
    let caller = authenticate(&rqctx).await?;
    let path = path_of(&rqctx, path)?;
    let selection = selection(&rqctx, query)?;
    let id = session_id(&rqctx, &path.session_id)?;
    let context = rqctx.context();
    let session = context
        .sessions
        .live_session_of_user(&caller.credential, &path.user_id, &id)
        .await
        .map_err(|e| service_error(&rqctx, e))?;
    Ok(HttpResponseOk(to_looker_session(
        session,
        &context.public_url,
        &selection,
    )))
}

pub async fn all_user_sessions(
    rqctx: Rqctx,
    path: Checked<Path<LookerUserPath>>,
    query: Checked<Query<LookerFieldsQuery>>,
) -> Result<HttpResponseOk<Vec<LookerSession>>, LookerError> {
    let caller = authenticate(&rqctx).await?;
    let path = path_of(&rqctx, path)?;
    let selection = selection(&rqctx, query)?;
    let context = rqctx.context();
    let sessions = context
        .sessions
        .live_sessions_in_every_store(&caller.credential, &path.user_id)
        .await
        .map_err(|e| service_error(&rqctx, e))?;
    Ok(HttpResponseOk(
        sessions
            .into_iter()
            .map(|session| to_looker_session(session, &context.public_url, &selection))
            .collect(),
    ))
}

pub async fn delete_user_session(
    rqctx: Rqctx,
    path: Checked<Path<LookerUserSessionPath>>,
) -> Result<HttpResponseDeleted, LookerError> {
    let caller = authenticate(&rqctx).await?;
    let path = path_of(&rqctx, path)?;
    let id = session_id(&rqctx, &path.session_id)?;
    rqctx
        .context()
        .sessions
        .end_live_session_of_user(&caller.credential, &path.user_id, &id)
        .await
        .map_err(|e| service_error(&rqctx, e))?;
    Ok(HttpResponseDeleted())
}

pub async fn login(
    rqctx: Rqctx,
    query: Checked<Query<LookerLoginQuery>>,
    body: LookerLoginForm,
) -> Result<HttpResponseOk<LookerAccessToken>, LookerError> {
    if let Some(due) = StandIn::intercept(&rqctx, TestingDialect::Looker).await {
        return Err(injected(&rqctx, due.error));
    }
    let query = query
        .into_result()
        .map_err(|e| extractor_error(&rqctx, e))?
        .into_inner();
    let form = body.into_result().map_err(|e| extractor_error(&rqctx, e))?;
    // The body is where Looker wants the credentials; the query string
    // still works. The first occurrence of a field counts.
    let from_form = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let client_id = from_form("client_id").or(query.client_id);
    let client_secret = from_form("client_secret").or(query.client_secret);
    let (client_id, client_secret) = match (client_id, client_secret) {
        (Some(id), Some(secret)) => (id, secret),
        (id, secret) => {
            let missing: Vec<&str> = [
                ("client_id", id.is_none()),
                ("client_secret", secret.is_none()),
            ]
            .into_iter()
            .filter(|(_, missing)| *missing)
            .map(|(name, _)| name)
            .collect();
            return Err(missing_fields(&rqctx, &missing));
        }
    };
    // No issued client id holds a control character (and PostgreSQL text
    // cannot hold NUL): such an id names no credential.
    if client_id.chars().any(char::is_control) {
        return Err(not_found(&rqctx));
    }
    let auth = &rqctx.context().auth;
    let credential = auth
        .looker_client(&client_id, &client_secret)
        .await
        .map_err(|e| match e {
            AuthError::Missing | AuthError::Invalid => not_found(&rqctx),
            other => auth_error(&rqctx, other),
        })?;
    StandIn::authenticated(&rqctx, &credential);
    let issued = auth
        .issue_access_token(&credential, None, None)
        .await
        .map_err(|e| store_failure::<LookerError>(&rqctx, e))?;
    Ok(HttpResponseOk(access_token(
        issued.token,
        issued.record.expires_in(issued.record.created_at),
    )))
}

pub async fn login_user(
    rqctx: Rqctx,
    path: Checked<Path<LookerLoginUserPath>>,
) -> Result<HttpResponseOk<LookerAccessToken>, LookerError> {
    let caller = authenticate(&rqctx).await?;
    let user_id = path_of(&rqctx, path)?.user_id;
    if caller.token.acting_user_id.is_some() || !caller.credential.administers() {
        return Err(looker_error(
            &rqctx,
            ErrorStatusCode::FORBIDDEN,
            "Permission Denied: only an administrator can log in as another user",
        ));
    }
    if validate_id("user_id", &user_id).is_err() {
        return Err(not_found(&rqctx));
    }
    let context = rqctx.context();
    let newest = context
        .sessions
        .newest_session_of_user(&caller.credential, &user_id)
        .await
        .map_err(|e| service_error(&rqctx, e))?
        .ok_or_else(|| not_found(&rqctx))?;
    let user_agent = rqctx
        .request
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let lifetime = u32::try_from(ACCESS_TOKEN_LIFETIME.num_seconds()).unwrap_or(u32::MAX);
    let session = context
        .sessions
        .create(
            &caller.credential,
            NewSession {
                identity_store_id: newest.identity_store_id,
                user_id: Some(user_id.clone()),
                ip: Some(rqctx.request.remote_addr().ip()),
                user_agent,
                credentials_type: Some(SUDO_CREDENTIALS_TYPE.to_string()),
                session_type: Some(SessionType::Api),
                expiry: Some(Expiry::Ttl(lifetime)),
                sudo_user_id: Some(caller.owner.id.to_string()),
                ..NewSession::default()
            },
        )
        .await
        .map_err(|e| service_error(&rqctx, e))?;
    let issued = match context
        .auth
        .issue_access_token(&caller.owner, Some(user_id), Some(session.id))
        .await
    {
        Ok(issued) => issued,
        Err(e) => {
            // No token will end this session: end it now (best effort; it
            // expires with the token's lifetime anyway).
            if let Err(revoke_error) = context
                .sessions
                .revoke(&caller.credential, &session.id)
                .await
            {
                warn!(rqctx.log, "could not end the session of a failed sudo";
                    "session_id" => %session.id, "error" => %revoke_error);
            }
            return Err(store_failure(&rqctx, e));
        }
    };
    Ok(HttpResponseOk(access_token(
        issued.token,
        issued.record.expires_in(issued.record.created_at),
    )))
}

pub async fn logout(rqctx: Rqctx) -> Result<HttpResponseDeleted, LookerError> {
    let context = rqctx.context();
    let caller = match context.auth.access_token(rqctx.request.headers()).await {
        Ok(caller) => caller,
        Err(AuthError::Invalid) => return Err(logout_refusal(&rqctx).await),
        Err(other) => return Err(auth_error(&rqctx, other)),
    };
    let revoked = context
        .auth
        .revoke_access_token(&caller.token)
        .await
        .map_err(|e| store_failure::<LookerError>(&rqctx, e))?;
    if !revoked {
        return Err(not_found(&rqctx));
    }
    if let Some(session_id) = caller.token.session_id {
        match context.sessions.logout(&caller.owner, &session_id).await {
            Ok(_) | Err(ServiceError::NotFound) | Err(ServiceError::Conflict(_)) => {}
            Err(e) => {
                warn!(rqctx.log, "could not end the session of a sudo token";
                    "session_id" => %session_id, "error" => %e);
            }
        }
    }
    Ok(HttpResponseDeleted())
}

/// Why a logout's token does not work: one this server issued that is no
/// longer live (logged out, expired) is 404 `Not found`, as Looker answers
/// it; one it never issued is not authentication at all (401).
async fn logout_refusal(rqctx: &Rqctx) -> LookerError {
    let Ok(token) = bearer_token(rqctx.request.headers(), ACCESS_TOKEN_SCHEMES) else {
        return auth_error(rqctx, AuthError::Invalid);
    };
    match rqctx.context().auth.issued_access_token(token).await {
        Ok(true) => not_found(rqctx),
        Ok(false) => auth_error(rqctx, AuthError::Invalid),
        Err(e) => store_failure(rqctx, e),
    }
}

/// The page the errors' `documentation_url` points to by default.
pub async fn error_docs(rqctx: Rqctx) -> Result<http::Response<dropshot::Body>, LookerError> {
    http::Response::builder()
        .status(http::StatusCode::OK)
        .header(http::header::CONTENT_TYPE, "text/html; charset=utf-8")
        .body(ERROR_DOCS.into())
        .map_err(|e| {
            error!(rqctx.log, "could not build the error documentation page"; "error" => %e);
            looker_error(
                &rqctx,
                ErrorStatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error",
            )
        })
}

/// What each status of the Looker dialect means, one anchor per status.
const ERROR_DOCS: &str = r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>login-sessions: Looker API 4.0 errors</title></head>
<body>
<p><a href="../">API reference</a></p>
<h1>Looker API 4.0 errors</h1>
<p>Every error of the Looker dialect (<code>/api/4.0</code>) is
<code>{"message", "documentation_url"}</code>, with <code>errors</code>
(<code>field</code>, <code>code</code>, <code>message</code>,
<code>documentation_url</code>) when particular inputs are invalid.</p>
<h2 id="400">400 Bad Request</h2>
<p>The request is malformed: a <code>fields</code> list that does not parse
(an empty item, an unbalanced parenthesis, a character other than letters,
digits, <code>_</code> and <code>*</code>), a login without
<code>client_id</code> or <code>client_secret</code> (<code>missing_field</code>),
a login body that is not <code>application/x-www-form-urlencoded</code>, an
unreadable query string, or a path whose percent-encoding does not decode to
UTF-8 (<code>invalid path encoding</code>).</p>
<h2 id="401">401 Unauthorized</h2>
<p><code>Requires authentication.</code>: no access token, or one that is
malformed, unknown, expired (tokens live one hour), logged out, or whose
credential was revoked. Log in again with <code>POST /api/4.0/login</code>
and send <code>Authorization: token &lt;access_token&gt;</code>.</p>
<h2 id="403">403 Forbidden</h2>
<p><code>Permission Denied</code>: a <code>user</code> credential (or a
<code>login_user</code> token) asked for another user's sessions, or a
non-administrator called <code>login_user</code>.</p>
<h2 id="404">404 Not Found</h2>
<p><code>Not found</code>: no such live session of that user visible to the
credential (sessions that were logged out, revoked or have expired no longer
exist here), a path id no session could have, unknown or wrong login
credentials, a logout with a token that no longer works, or a
<code>login_user</code> for a user the caller has no session of, or a path
no operation has.</p>
<h2 id="405">405 Method Not Allowed</h2>
<p>The path has no such method; the <code>Allow</code> header lists the ones
it has.</p>
<h2 id="414">414 URI Too Long</h2>
<p>The request URI is longer than 8 KiB.</p>
<h2 id="429">429 Too Many Requests</h2>
<p>The credential's rate limit is exhausted; its logins and every request
with its tokens count. Retry later.</p>
<h2 id="431">431 Request Header Fields Too Large</h2>
<p>The request's header fields are larger than 16 KiB in all, or more than
100.</p>
<h2 id="500">500 Internal Server Error</h2>
<p>The server failed; its log says why.</p>
<h2 id="503">503 Service Unavailable</h2>
<p>The store is unavailable; retry.</p>
</body>
</html>
"#;

// --- Authentication and parsing ---------------------------------------------

async fn authenticate(rqctx: &Rqctx) -> Result<TokenCaller, LookerError> {
    if let Some(due) = StandIn::intercept(rqctx, TestingDialect::Looker).await {
        return Err(injected(rqctx, due.error));
    }
    let caller = rqctx
        .context()
        .auth
        .access_token(rqctx.request.headers())
        .await
        .map_err(|e| auth_error(rqctx, e))?;
    StandIn::authenticated(rqctx, &caller.owner);
    Ok(caller)
}

/// The answer to a fault injected through the testing API, in this
/// dialect's own terms.
fn injected(rqctx: &Rqctx, error: InjectedError) -> LookerError {
    match error {
        InjectedError::Unauthenticated => auth_error(rqctx, AuthError::Invalid),
        InjectedError::RateLimited => auth_error(
            rqctx,
            AuthError::RateLimited {
                retry_after_seconds: 1,
            },
        ),
        InjectedError::Internal => LookerError::internal(rqctx),
        InjectedError::Unavailable => LookerError::unavailable(rqctx),
    }
}

/// The path: one that cannot be read names nothing (404, not 400).
fn path_of<T: schemars::JsonSchema + serde::de::DeserializeOwned + Send + Sync + 'static>(
    rqctx: &Rqctx,
    path: Checked<Path<T>>,
) -> Result<T, LookerError> {
    path.into_result()
        .map(Path::into_inner)
        .map_err(|_| not_found(rqctx))
}

/// A session id: anything that is not one names no session (404).
fn session_id(rqctx: &Rqctx, text: &str) -> Result<Pfid, LookerError> {
    Pfid::parse(text).map_err(|_| not_found(rqctx))
}

/// The `fields` selection; a malformed one is 400 with the problem as a
/// validation detail of `fields`.
fn selection(
    rqctx: &Rqctx,
    query: Checked<Query<LookerFieldsQuery>>,
) -> Result<Selection, LookerError> {
    let query = query
        .into_result()
        .map_err(|e| extractor_error(rqctx, e))?
        .into_inner();
    fields::parse(query.fields.as_deref()).map_err(|e| {
        let message = e.to_string();
        let mut error = looker_error(rqctx, ErrorStatusCode::BAD_REQUEST, message.clone());
        error.errors = Some(vec![detail(rqctx, &error, "fields", "invalid", message)]);
        error
    })
}

// --- Errors -----------------------------------------------------------------

impl DialectError for LookerError {
    fn unavailable(rqctx: &Rqctx) -> Self {
        LookerError {
            retry_after_seconds: Some(UNAVAILABLE_RETRY_AFTER_SECONDS),
            ..looker_error(
                rqctx,
                ErrorStatusCode::SERVICE_UNAVAILABLE,
                "The service is unavailable; try again.",
            )
        }
    }

    fn internal(rqctx: &Rqctx) -> Self {
        looker_error(
            rqctx,
            ErrorStatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error",
        )
    }
}

/// An error in Looker's shape, documented under this server's documentation
/// URL.
fn looker_error(rqctx: &Rqctx, status: ErrorStatusCode, message: impl Into<String>) -> LookerError {
    LookerError {
        message: message.into(),
        errors: None,
        documentation_url: documentation_url(rqctx, status),
        status,
        retry_after_seconds: None,
    }
}

/// Where an error of `status` is documented:
/// `<documentation URL>looker/errors#<status>`.
fn documentation_url(rqctx: &Rqctx, status: ErrorStatusCode) -> String {
    documentation_url_under(&rqctx.context().docs_url, status)
}

/// Where an error of `status` is documented under the documentation URL
/// `docs_url` (ending in `/`); also for the answers no handler gives
/// (`router_errors`).
pub(crate) fn documentation_url_under(docs_url: &str, status: ErrorStatusCode) -> String {
    format!("{docs_url}looker/errors#{}", status.as_u16())
}

fn detail(
    rqctx: &Rqctx,
    error: &LookerError,
    field: &str,
    code: &str,
    message: String,
) -> LookerValidationErrorDetail {
    LookerValidationErrorDetail {
        field: Some(field.to_string()),
        code: Some(code.to_string()),
        message: Some(message),
        documentation_url: documentation_url(rqctx, error.status),
    }
}

/// Looker's answer for anything that does not exist or is not visible.
fn not_found(rqctx: &Rqctx) -> LookerError {
    looker_error(rqctx, ErrorStatusCode::NOT_FOUND, "Not found")
}

/// Required inputs that are missing, as validation details (Looker's
/// `missing_field` code and wording).
fn missing_fields(rqctx: &Rqctx, names: &[&str]) -> LookerError {
    let mut error = looker_error(
        rqctx,
        ErrorStatusCode::BAD_REQUEST,
        format!("Validation Failed: {} required", names.join(" and ")),
    );
    error.errors = Some(
        names
            .iter()
            .map(|name| {
                detail(
                    rqctx,
                    &error,
                    name,
                    "missing_field",
                    format!("'{name}' is required."),
                )
            })
            .collect(),
    );
    error
}

/// A request dropshot could not read (a malformed query or body).
fn extractor_error(rqctx: &Rqctx, error: HttpError) -> LookerError {
    looker_error(rqctx, error.status_code, error.external_message)
}

fn auth_error(rqctx: &Rqctx, error: AuthError) -> LookerError {
    match error {
        AuthError::Missing | AuthError::Invalid => looker_error(
            rqctx,
            ErrorStatusCode::UNAUTHORIZED,
            "Requires authentication.",
        ),
        AuthError::RateLimited {
            retry_after_seconds,
        } => LookerError {
            retry_after_seconds: Some(retry_after_seconds),
            ..looker_error(
                rqctx,
                ErrorStatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
            )
        },
        AuthError::Store(e) => store_failure(rqctx, e),
    }
}

fn service_error(rqctx: &Rqctx, error: ServiceError) -> LookerError {
    match error {
        // The only invalid input of these operations is a path id no
        // session could have: it names nothing.
        ServiceError::Invalid(_) | ServiceError::NotFound | ServiceError::Conflict(_) => {
            not_found(rqctx)
        }
        ServiceError::Forbidden(message) => looker_error(
            rqctx,
            ErrorStatusCode::FORBIDDEN,
            format!("Permission Denied: {message}"),
        ),
        ServiceError::Store(e) => store_failure(rqctx, e),
    }
}

// --- Views ------------------------------------------------------------------

/// Looker's `AccessToken` for a token valid for `expires_in` seconds.
/// Looker sends no `refresh_token`.
pub fn access_token(token: String, expires_in: i64) -> LookerAccessToken {
    LookerAccessToken {
        access_token: Some(token),
        token_type: Some(TOKEN_TYPE.to_string()),
        expires_in: Some(expires_in),
        refresh_token: None,
    }
}

/// Looker's view of a session: the keys `selection` selects, each with its
/// value or `null`. `url` is absolute, under `public_url`.
pub fn to_looker_session(
    session: Session,
    public_url: &str,
    selection: &Selection,
) -> LookerSession {
    let pick = |key: &str| selection.includes(key);
    let enrichment = session.enrichment;
    LookerSession {
        id: pick("id").then(|| session.id.as_str().to_owned()),
        ip_address: pick("ip_address").then(|| {
            session
                .first_seen
                .as_ref()
                .and_then(|interaction| interaction.ip)
                .map(|ip| ip.to_string())
        }),
        browser: pick("browser").then_some(enrichment.browser),
        operating_system: pick("operating_system").then_some(enrichment.operating_system),
        city: pick("city").then_some(enrichment.city),
        state: pick("state").then_some(enrichment.state),
        country: pick("country").then_some(enrichment.country),
        credentials_type: pick("credentials_type").then_some(session.credentials_type),
        extended_at: pick("extended_at").then(|| session.extended_at.map(looker_time)),
        extended_count: pick("extended_count").then(|| Some(i64::from(session.extended_count))),
        sudo_user_id: pick("sudo_user_id").then_some(session.sudo_user_id),
        created_at: pick("created_at").then(|| Some(looker_time(session.created_at))),
        expires_at: pick("expires_at").then(|| Some(looker_time(session.expires_at))),
        url: pick("url").then(|| {
            session
                .user_id
                .as_deref()
                .map(|user_id| session_url(public_url, user_id, &session.id))
        }),
        // Looker's sessions carry no permissions (`"can":{}` in every real
        // payload), so neither do these, whatever `can(...)` selects.
        can: selection.field("can").map(|_| BTreeMap::new()),
    }
}

/// A time as Looker writes it: ISO 8601, milliseconds, `+00:00`
/// (`2023-11-14T22:13:20.007+00:00`). Written digit by digit for years
/// 0 to 9999: chrono's RFC 3339 writer, which gives the same, went
/// through its formatting machinery for each of the four or five times of
/// every session listed (its `format` parsed a strftime pattern again
/// each time).
pub fn looker_time(at: Timestamp) -> String {
    use chrono::{Datelike, Timelike};
    // Taken apart once: each of `DateTime`'s own accessors converts the
    // whole time again.
    let at_utc = at.naive_utc();
    let (date, time) = (at_utc.date(), at_utc.time());
    let year = date.year();
    // A leap second's milliseconds run past 999; chrono writes them so.
    let millis = time.nanosecond() / 1_000_000;
    if !(0..=9999).contains(&year) || millis > 999 {
        return at.to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
    }
    let mut text = *b"0000-00-00T00:00:00.000+00:00";
    let mut put = |at: usize, width: usize, mut value: u32| {
        for index in (at..at + width).rev() {
            text[index] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year.unsigned_abs());
    put(5, 2, date.month());
    put(8, 2, date.day());
    put(11, 2, time.hour());
    put(14, 2, time.minute());
    put(17, 2, time.second());
    put(20, 3, millis);
    // Digits and separators only: always ASCII.
    String::from_utf8_lossy(&text).into_owned()
}

/// The absolute URL of a session under Looker's API.
pub fn session_url(public_url: &str, user_id: &str, id: &Pfid) -> String {
    let base = public_url.trim_end_matches('/');
    let mut url =
        String::with_capacity(base.len() + BASE_PATH.len() + user_id.len() + Pfid::TEXT_LEN + 20);
    url.push_str(base);
    url.push_str(BASE_PATH);
    url.push_str("/users/");
    push_path_segment(&mut url, user_id);
    url.push_str("/sessions/");
    url.push_str(id.as_str());
    url
}

/// Appends `segment` to `out`, percent-encoding everything but RFC 3986's
/// unreserved characters, so any user id is exactly one path segment.
fn push_path_segment(out: &mut String, segment: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::session::{Enrichment, Interaction, Status};
    use chrono::DateTime;

    fn session() -> Session {
        let created_at = DateTime::from_timestamp_millis(1_478_896_749_960).unwrap();
        Session {
            id: Pfid::generate(3, 1_478_896_749_960).unwrap(),
            identity_store_id: "acme".into(),
            user_id: Some("a/b c".into()),
            status: Status::Authenticated,
            session_type: SessionType::Browser,
            credentials_type: Some("email".into()),
            created_at,
            expires_at: DateTime::from_timestamp_millis(1_481_488_749_000).unwrap(),
            extended_at: None,
            extended_count: 0,
            first_seen: Some(Interaction {
                at: created_at,
                ip: Some("63.249.67.206".parse().unwrap()),
                user_agent: Some("Mozilla/5.0".into()),
            }),
            last_seen: None,
            enrichment: Enrichment {
                browser: Some("Chrome".into()),
                operating_system: Some("OS X 10.11.6".into()),
                city: Some("Santa Cruz".into()),
                state: Some("CA".into()),
                country: Some("US".into()),
            },
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
    fn every_field_with_explicit_nulls() {
        let session = session();
        let view = to_looker_session(
            session.clone(),
            "https://looker.test:19999/",
            &Selection::All,
        );
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": session.id.to_string(),
                "ip_address": "63.249.67.206",
                "browser": "Chrome",
                "operating_system": "OS X 10.11.6",
                "city": "Santa Cruz",
                "state": "CA",
                "country": "US",
                "credentials_type": "email",
                "extended_count": 0,
                "extended_at": null,
                "sudo_user_id": null,
                "created_at": "2016-11-11T20:39:09.960+00:00",
                "expires_at": "2016-12-11T20:39:09.000+00:00",
                "url": format!(
                    "https://looker.test:19999/api/4.0/users/a%2Fb%20c/sessions/{}",
                    session.id
                ),
                "can": {},
            })
        );
    }

    #[test]
    fn a_selection_leaves_keys_out() {
        let selection = fields::parse(Some("id, can(show), sudo_user_id, nonsense")).unwrap();
        let view = to_looker_session(session(), "http://x", &selection);
        let json = serde_json::to_value(&view).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["can", "id", "sudo_user_id"]);
        assert_eq!(json["sudo_user_id"], serde_json::Value::Null);
    }

    #[test]
    fn times_have_milliseconds_and_an_explicit_utc_offset() {
        let at = DateTime::from_timestamp_millis(1_700_000_000_007).unwrap();
        assert_eq!(looker_time(at), "2023-11-14T22:13:20.007+00:00");
    }

    #[test]
    fn times_are_written_as_chrono_writes_them() {
        let mut millis: i64 = -62_167_219_200_000 - 86_400_000; // the year -1
        while millis < 253_402_300_800_000 + 86_400_000 {
            // past the year 9999
            let at = DateTime::from_timestamp_millis(millis).unwrap();
            assert_eq!(
                looker_time(at),
                at.to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
            );
            millis += 7_919_999_999_937;
        }
        for millis in [0, 1, 999, 1_000, 951_782_400_000, 1_709_164_799_999] {
            let at = DateTime::from_timestamp_millis(millis).unwrap();
            assert_eq!(
                looker_time(at),
                at.to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
            );
        }
    }

    fn encode_path_segment(segment: &str) -> String {
        let mut encoded = String::new();
        push_path_segment(&mut encoded, segment);
        encoded
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(encode_path_segment("42"), "42");
        assert_eq!(encode_path_segment("a/b c+ü"), "a%2Fb%20c%2B%C3%BC");
        assert_eq!(encode_path_segment("A-z_0.9~"), "A-z_0.9~");
    }
}
