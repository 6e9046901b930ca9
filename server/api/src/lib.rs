//! The login-sessions API: one dropshot API trait holding every operation of
//! every dialect, and the wire types they exchange.
//!
//! This crate is the contract. The OpenAPI document in `openapi/` is
//! generated from it (`cargo xtask openapi generate`), the Rust client in
//! `client/` is generated from that document, and the server implements the
//! trait. It holds no behaviour.

pub mod bench;
pub mod checked;
pub mod native;
pub mod prefactor;

use dropshot::{
    EndpointTagPolicy, HttpResponseCreated, HttpResponseOk, PaginationParams, Path, RequestContext,
    ResultsPage, TypedBody,
};

use bench::BenchBaseline;
use checked::{Checked, CheckedBody};
use native::{
    InteractionCreate, NativeError, Session, SessionAuthenticate, SessionCreate, SessionExtend,
    SessionFilter, SessionPageSelector, SessionPath, UserPath, UserSessionsRevoke,
    UserSessionsRevoked,
};
use prefactor::{
    PrefactorError, SessionFetchResponse, SessionListQuery, SessionListResponse,
    SessionPath as PrefactorSessionPath,
};

/// The title of the published OpenAPI document.
pub const API_TITLE: &str = "login-sessions";

/// The version of the published OpenAPI document. Bump the minor version
/// for additions, the major version for anything a generated client would
/// notice.
pub const API_VERSION: semver::Version = semver::Version::new(1, 0, 0);

/// The description of the published OpenAPI document.
pub const API_DESCRIPTION: &str = "Records web and API login sessions and \
    serves them through a native API and three vendor dialects (Looker API \
    4.0 web login sessions, Prefactor Fetch session, Huawei Cloud IAM \
    Identity Center user login sessions), each wire-compatible with the \
    vendor's own clients.";

/// Naming conventions of the operations:
///
/// * Native operations are named `<resource>_<verb>`, the resource in the
///   singular (`session_create`, `session_view`, `session_list`), as in
///   omicron's external API; an action on a session that is not CRUD is a
///   `POST` to a sub-path named after the action (`.../extend`,
///   `.../revoke`) and an operation `session_<action>`.
/// * Vendor operations keep the vendor's own operation id exactly (Looker's
///   `user_session`, Huawei's `ListSessions`, Prefactor's `fetch_session`),
///   because the vendors' generated clients are built on those names.
/// * Every operation has exactly one tag: its dialect.
/// * Handlers take their path, query and body through `Checked` /
///   `CheckedBody`, so that every error, even a malformed request, is
///   answered in the dialect's own error shape with the request id.
#[dropshot::api_description {
    tag_config = {
        allow_other_tags = false,
        policy = EndpointTagPolicy::ExactlyOne,
        tags = {
            "native" = {
                description = "The native API: record sessions and manage them (authenticate, interactions, extend, logout, revoke). Bearer authentication with a credential's native token.",
            },
            "prefactor" = {
                description = "Prefactor's session API under /api/v1: Fetch session as Prefactor documents it (PFIDs, the actions/summary envelope, Unix-second timestamps, Prefactor's error codes), plus list and revoke extensions. Bearer authentication with a credential's Prefactor API token.",
            },
        },
    },
}]
pub trait LoginSessionsApi {
    type Context;

    /// Whether the server is ready: 200 once the store answers.
    #[endpoint {
        method = GET,
        path = "/healthz",
        tags = ["native"],
        unpublished = true,
    }]
    async fn healthz(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<HttpResponseOk<()>, NativeError>;

    /// The benchmark's baseline: a constant body the size of a Looker
    /// `Session`, through the same routing and serialization as every
    /// operation but with no authentication and no store. Answers 404
    /// unless the server runs with `--bench-endpoints`.
    #[endpoint {
        method = GET,
        path = "/bench/baseline",
        tags = ["native"],
        unpublished = true,
    }]
    async fn bench_baseline(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<HttpResponseOk<BenchBaseline>, NativeError>;

    /// Record a session.
    ///
    /// A login happened (give `user_id`), or a client started a session
    /// nobody has logged in to yet (omit it). Answers 201 with the session.
    #[endpoint {
        method = POST,
        path = "/native/v1/sessions",
        tags = ["native"],
    }]
    async fn session_create(
        rqctx: RequestContext<Self::Context>,
        body: CheckedBody<TypedBody<SessionCreate>>,
    ) -> Result<HttpResponseCreated<Session>, NativeError>;

    /// Fetch one session.
    #[endpoint {
        method = GET,
        path = "/native/v1/sessions/{session_id}",
        tags = ["native"],
    }]
    async fn session_view(
        rqctx: RequestContext<Self::Context>,
        path: Checked<Path<SessionPath>>,
    ) -> Result<HttpResponseOk<Session>, NativeError>;

    /// List sessions, newest first.
    ///
    /// Filters combine with AND. Pagination is by keyset: a page token
    /// stays valid and stable while sessions are added.
    #[endpoint {
        method = GET,
        path = "/native/v1/sessions",
        tags = ["native"],
    }]
    async fn session_list(
        rqctx: RequestContext<Self::Context>,
        query: Checked<dropshot::Query<PaginationParams<SessionFilter, SessionPageSelector>>>,
    ) -> Result<HttpResponseOk<ResultsPage<Session>>, NativeError>;

    /// Record that the session's client was seen.
    ///
    /// Sets `last_seen` (and `first_seen` the first time); a `new` session
    /// becomes `unauthenticated`. Only a live session can be seen.
    #[endpoint {
        method = POST,
        path = "/native/v1/sessions/{session_id}/interactions",
        tags = ["native"],
    }]
    async fn session_interaction_create(
        rqctx: RequestContext<Self::Context>,
        path: Checked<Path<SessionPath>>,
        body: CheckedBody<TypedBody<InteractionCreate>>,
    ) -> Result<HttpResponseOk<Session>, NativeError>;

    /// Give a live session a new expiry.
    ///
    /// Sets `extended_at` and increments `extended_count`.
    #[endpoint {
        method = POST,
        path = "/native/v1/sessions/{session_id}/extend",
        tags = ["native"],
    }]
    async fn session_extend(
        rqctx: RequestContext<Self::Context>,
        path: Checked<Path<SessionPath>>,
        body: CheckedBody<TypedBody<SessionExtend>>,
    ) -> Result<HttpResponseOk<Session>, NativeError>;

    /// A user logged in to a `new` or `unauthenticated` session.
    ///
    /// 409 when the session is already authenticated or has ended.
    #[endpoint {
        method = POST,
        path = "/native/v1/sessions/{session_id}/authenticate",
        tags = ["native"],
    }]
    async fn session_authenticate(
        rqctx: RequestContext<Self::Context>,
        path: Checked<Path<SessionPath>>,
        body: CheckedBody<TypedBody<SessionAuthenticate>>,
    ) -> Result<HttpResponseOk<Session>, NativeError>;

    /// The user logged out: the session becomes `complete`.
    ///
    /// 409 when the session has already ended.
    #[endpoint {
        method = POST,
        path = "/native/v1/sessions/{session_id}/logout",
        tags = ["native"],
    }]
    async fn session_logout(
        rqctx: RequestContext<Self::Context>,
        path: Checked<Path<SessionPath>>,
    ) -> Result<HttpResponseOk<Session>, NativeError>;

    /// An administrator cut the session short: it becomes `revoked`.
    ///
    /// 409 when the session has already ended.
    #[endpoint {
        method = POST,
        path = "/native/v1/sessions/{session_id}/revoke",
        tags = ["native"],
    }]
    async fn session_revoke(
        rqctx: RequestContext<Self::Context>,
        path: Checked<Path<SessionPath>>,
    ) -> Result<HttpResponseOk<Session>, NativeError>;

    /// Revoke every live session of a user.
    ///
    /// Optionally only in one identity store, and optionally keeping one
    /// session ("log out other devices"). Answers with the ids revoked.
    #[endpoint {
        method = POST,
        path = "/native/v1/users/{user_id}/sessions/revoke",
        tags = ["native"],
    }]
    async fn user_sessions_revoke(
        rqctx: RequestContext<Self::Context>,
        path: Checked<Path<UserPath>>,
        body: CheckedBody<TypedBody<UserSessionsRevoke>>,
    ) -> Result<HttpResponseOk<UserSessionsRevoked>, NativeError>;

    /// Fetch session.
    ///
    /// The session with its status and the actions the caller may take on
    /// it. Finished sessions (logged out, expired: `complete`; revoked)
    /// stay fetchable until retention removes them. Errors: an id that is
    /// not a PFID is `invalid_value` (400); no credentials
    /// `not_authenticated` (401); an unknown or revoked token
    /// `bad_authtoken` (401); a session outside the caller's scope
    /// `not_permitted` (403), whether or not it exists; an unknown session
    /// `not_found` (404, to callers who may see every session); an
    /// exhausted rate limit `unknown` (429).
    #[endpoint {
        method = GET,
        path = "/api/v1/session/{session_id}",
        tags = ["prefactor"],
    }]
    async fn fetch_session(
        rqctx: RequestContext<Self::Context>,
        path: Checked<Path<PrefactorSessionPath>>,
    ) -> Result<HttpResponseOk<SessionFetchResponse>, PrefactorError>;

    /// List sessions of a pool.
    ///
    /// An extension: Prefactor does not document a session list publicly.
    /// Shaped after Prefactor's documented lists (devices, identities):
    /// `pool_id` is required, `sorting` is a field name with a leading `-`
    /// for descending (only `id`, that is creation order, is supported;
    /// default `-id`), `pagination[offset]` and `pagination[page_size]`
    /// (1 to 100, default 25) page by offset. A missing `pool_id` is
    /// `required_value` (400); bad paging or sorting values are
    /// `validation_errors` (422); a pool outside the caller's scope is
    /// `not_permitted` (403).
    #[endpoint {
        method = GET,
        path = "/api/v1/session",
        tags = ["prefactor"],
    }]
    async fn list_sessions(
        rqctx: RequestContext<Self::Context>,
        query: Checked<dropshot::Query<SessionListQuery>>,
    ) -> Result<HttpResponseOk<SessionListResponse>, PrefactorError>;

    /// Revoke session.
    ///
    /// An extension: Prefactor does not document session revocation
    /// publicly. Follows Prefactor's action convention (`POST .../{id}/<action>`,
    /// answered with the resource as fetched): the session becomes
    /// `revoked` and `actions.revoke` false. Revoking a session that has
    /// already ended (revoked, logged out or expired) is `invalid_action`
    /// (409) and changes nothing; a `user` credential may not revoke
    /// (`not_permitted`, 403).
    #[endpoint {
        method = POST,
        path = "/api/v1/session/{session_id}/revoke",
        tags = ["prefactor"],
    }]
    async fn revoke_session(
        rqctx: RequestContext<Self::Context>,
        path: Checked<Path<PrefactorSessionPath>>,
    ) -> Result<HttpResponseOk<SessionFetchResponse>, PrefactorError>;
}

/// The API description without an implementation, for generating the
/// OpenAPI document.
pub fn stub_api_description()
-> Result<dropshot::ApiDescription<dropshot::StubContext>, dropshot::ApiDescriptionBuildErrors> {
    login_sessions_api_mod::stub_api_description()
}

/// The OpenAPI document as dropshot generates it, before the security
/// transform that `cargo xtask openapi generate` applies.
pub fn openapi_json() -> Result<serde_json::Value, String> {
    let description = stub_api_description().map_err(|e| e.to_string())?;
    let mut definition = description.openapi(API_TITLE, API_VERSION);
    definition.description(API_DESCRIPTION);
    definition.json().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_used_is_described() {
        let spec = openapi_json().expect("spec");
        let described: Vec<&str> = spec["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .filter(|tag| tag["description"].as_str().is_some_and(|d| !d.is_empty()))
            .filter_map(|tag| tag["name"].as_str())
            .collect();
        let paths = spec["paths"].as_object().expect("paths");
        for item in paths.values() {
            for operation in item.as_object().expect("path item").values() {
                let tags = operation["tags"].as_array().expect("tags");
                assert_eq!(tags.len(), 1, "exactly one tag: {operation}");
                let tag = tags[0].as_str().expect("tag");
                assert!(described.contains(&tag), "undescribed tag {tag}");
            }
        }
    }
}
