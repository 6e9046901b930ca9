//! The login-sessions API: one dropshot API trait holding every operation of
//! every dialect, and the wire types they exchange.
//!
//! This crate is the contract. The OpenAPI document in `openapi/` is
//! generated from it ([`openapi_document`], written by `cargo xtask openapi
//! generate`), the Rust client in `client/` is generated from that document,
//! and the server implements the trait and serves the document. It holds no
//! behaviour.

pub mod bench;
pub mod checked;
pub mod document;
pub mod huawei;
pub mod looker;
pub mod native;
pub mod prefactor;
pub mod raw_typed;
pub mod retry_after;
pub mod testing;

use dropshot::{
    EndpointTagPolicy, Header, HttpResponseCreated, HttpResponseDeleted, HttpResponseOk,
    HttpResponseUpdatedNoContent, PaginationParams, Path, Query, RequestContext, ResultsPage,
    TypedBody,
};

use bench::{BenchBaseline, BenchCaches};
use checked::{Checked, CheckedBody};
use huawei::{
    BatchDeleteSessionsReqBody, BatchDeleteSessionsResponse, HuaweiError, IdentityStoreUserPath,
    ListSessionsResponse, SecurityTokenHeader,
};
use looker::{
    LookerAccessToken, LookerError, LookerFieldsQuery, LookerLoginForm, LookerLoginQuery,
    LookerLoginUserPath, LookerSession, LookerUserPath, LookerUserSessionPath,
};
use native::{
    InteractionCreate, NativeError, Session, SessionAuthenticate, SessionCreate, SessionExtend,
    SessionFilter, SessionPageSelector, SessionPath, UserPath, UserSessionsRevoke,
    UserSessionsRevoked,
};
use prefactor::{
    PrefactorError, SessionFetchResponse, SessionListQuery, SessionListResponse,
    SessionPath as PrefactorSessionPath,
};
use raw_typed::RawTypedBody;
use testing::{ClockAdvance, ClockNow, Fault, FaultCreate, FaultList, JournalFilter, JournalPage};

pub use document::{openapi_document, testing_openapi_document};

/// The title of the published OpenAPI document.
pub const API_TITLE: &str = "login-sessions";

/// The version of the published OpenAPI document (`info.version`).
///
/// The rule: bump the **major** version for anything a generated client
/// would notice — an operation, parameter, property or response removed or
/// renamed; a type changed; a parameter or property newly required; an
/// input newly refused or a status newly answered; an enumeration
/// narrowed. Bump the **minor** version for additions only (a new
/// operation, an optional parameter or property, a wider enumeration),
/// and the **patch** version for changes of wording, examples and
/// descriptions. Every bump gets a line in `CHANGELOG.md`. `cargo xtask
/// openapi check` refuses a document that changed incompatibly since the
/// last published version without a major bump.
pub const API_VERSION: semver::Version = semver::Version::new(2, 0, 0);

/// The description of the published OpenAPI document.
pub const API_DESCRIPTION: &str = "Records web and API login sessions and \
    serves them through a native API and three vendor dialects (Looker API \
    4.0 web login sessions, Prefactor Fetch session, Huawei Cloud IAM \
    Identity Center user login sessions), each wire-compatible with the \
    vendor's own clients.";

/// WHEN CHANGING THE API (this trait or any type it uses):
///
/// 1. Follow the naming conventions below, and give every operation a doc
///    comment: its first line is the summary, the rest the description.
///    Say there what OpenAPI cannot state (fields required together,
///    characters refused in free text, what makes an opaque token valid).
/// 2. State every constraint the server applies that OpenAPI can state on
///    the types (patterns, lengths, ranges, enumerations).
/// 3. Add the operation's error statuses to `document::responses`
///    (`OPERATION_ERRORS`); a new dialect also needs a line in
///    `document::responses::DIALECTS`, `document::security::SCHEMES` and a
///    tag below. A new body schema needs an example in
///    `document::examples`.
/// 4. Bump [`API_VERSION`] by the rule written on it and add a line to
///    `CHANGELOG.md`.
/// 5. Run `cargo xtask openapi generate` and `cargo xtask client
///    generate`, and commit the document, its copy under
///    `openapi/versions/`, and the client with the change.
///
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
/// * Every operation has exactly one tag: its dialect, or `testing`.
/// * The testing API (tag `testing`, paths under `/testing/v1`, operations
///   `testing_<resource>_<verb>`) drives a test stand-in. It is split off
///   into a document of its own (`openapi/login-sessions-testing.json`,
///   [`testing_openapi_document`]): the main document, its clients and
///   `/docs/` never show it, and changing it does not version the main
///   document.
/// * Handlers take their path, query and body through `Checked` /
///   `CheckedBody` (or `RawTypedBody`, when they need the body's bytes),
///   so that every error, even a malformed request, is answered in the
///   dialect's own error shape with the request id.
#[dropshot::api_description {
    tag_config = {
        allow_other_tags = false,
        policy = EndpointTagPolicy::ExactlyOne,
        tags = {
            "huawei" = {
                description = "Huawei Cloud IAM Identity Center (IdentityCenterStore) user login sessions, wire-compatible with Huawei's SDKs. AK/SK request signing (SDK-HMAC-SHA256, X-Sdk-Date within 15 minutes; X-Security-Token for temporary credentials); only an admin credential or the identity store's store-admin may call them. Errors are {error_code, error_msg, request_id}: 401 APIGW.0301 for every authentication failure, 403 IIC.1000, 400 IIC.400.",
            },
            "native" = {
                description = "The native API: record sessions and manage them (authenticate, interactions, extend, logout, revoke). Bearer authentication with a credential's native token.",
            },
            "prefactor" = {
                description = "Prefactor's session API under /api/v1: Fetch session as Prefactor documents it (PFIDs, the actions/summary envelope, Unix-second timestamps, Prefactor's error codes), plus list and revoke extensions. Bearer authentication with a credential's Prefactor API token.",
            },
            "testing" = {
                description = "The testing API of a stand-in server (`serve --database memory --testing-api`): its clock, a reset to the fixtures, injected faults and the journal of requests. Off (404) unless the server runs with --testing-api. Bearer authentication with an admin credential's native token. Errors are native errors.",
            },
            "looker" = {
                description = "Looker API 4.0 web login sessions (`/api/4.0`), wire-compatible with Looker's official SDKs. Log in with a credential's Looker client id and secret (`login`), then send the access token as `Authorization: token <access_token>` (or `Bearer`). Operation ids, parameters and schemas are Looker's own; schema names carry a `Looker` prefix. Only live sessions exist here: ended or expired ones are 404. Errors are `{message, documentation_url}` (with `errors` for invalid inputs); a missing, expired or revoked token is 401 `Requires authentication.`.",
            },
        },
    },
}]
pub trait LoginSessionsApi {
    type Context;

    /// Whether the server is ready: [`Self::healthz_ready`], under the
    /// path earlier releases answered it at.
    #[endpoint {
        method = GET,
        path = "/healthz",
        tags = ["native"],
        unpublished = true,
    }]
    async fn healthz(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<HttpResponseOk<()>, NativeError>;

    /// Whether the process is up: 200 whenever it can answer at all.
    #[endpoint {
        method = GET,
        path = "/healthz/live",
        tags = ["native"],
        unpublished = true,
    }]
    async fn healthz_live(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<HttpResponseOk<()>, NativeError>;

    /// Whether the server is ready: 200 when the store answers a read and
    /// accepts a write, 503 (with `Retry-After` and the reason) otherwise.
    #[endpoint {
        method = GET,
        path = "/healthz/ready",
        tags = ["native"],
        unpublished = true,
    }]
    async fn healthz_ready(
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

    /// The benchmark's reference for native lookups: a constant native
    /// `Session`, built and serialized as `session_view` answers one (985
    /// bytes, twice the baseline's body) but with no authentication and
    /// no store, so the benchmark can tell what the larger body costs from
    /// what the lookup does. Answers 404 unless the server runs with
    /// `--bench-endpoints`.
    #[endpoint {
        method = GET,
        path = "/bench/native-session",
        tags = ["native"],
        unpublished = true,
    }]
    async fn bench_native_session(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<HttpResponseOk<Session>, NativeError>;

    /// How the server's caches have answered since it started, for the
    /// benchmark's hit rates. Answers 404 unless the server runs with
    /// `--bench-endpoints`.
    #[endpoint {
        method = GET,
        path = "/bench/caches",
        tags = ["native"],
        unpublished = true,
    }]
    async fn bench_caches(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<HttpResponseOk<BenchCaches>, NativeError>;

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
    ///
    /// Any session the credential may see, live or ended, until retention
    /// removes it; one outside the credential's scope is 404, whether or
    /// not it exists.
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
    /// stays valid and stable while sessions are added. `page_token` is
    /// opaque: only a `next_page` this operation answered is valid (any
    /// other string is 400 `InvalidRequest`), and it carries the first
    /// page's filters, so it is sent alone or with `limit`. A page holds at
    /// most `limit` sessions (1000 at most; a larger `limit` is served
    /// 1000); the last page has no `next_page`.
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
    /// `last_seen` is as precise as the server's last-seen granularity (60
    /// seconds by default): an interaction from the last address and user
    /// agent within it of the last one changes nothing and is not written;
    /// the session is answered as it is.
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
    async fn list_pool_sessions(
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
    /// Listing User Login Sessions.
    ///
    /// The live sessions of one user in one identity store, newest first
    /// (at most the 1000 newest; Huawei's API has no pagination). An
    /// identity store or user with no sessions lists none. Only an `admin`
    /// credential or that identity store's `store-admin` may call it (403
    /// `IIC.1000` otherwise, even for a `user` credential asking for its
    /// own sessions), with an AK/SK signature (401 `APIGW.0301`).
    #[endpoint {
        method = GET,
        path = "/v1/identity-stores/{identity_store_id}/users/{user_id}/sessions",
        operation_id = "ListSessions",
        tags = ["huawei"],
    }]
    async fn list_sessions(
        rqctx: RequestContext<Self::Context>,
        path: Checked<Path<IdentityStoreUserPath>>,
        headers: Checked<Header<SecurityTokenHeader>>,
    ) -> Result<HttpResponseOk<ListSessionsResponse>, HuaweiError>;

    /// Deleting User Login Sessions in Batches.
    ///
    /// Revokes, in one step, those of the listed sessions that are live
    /// sessions of this user in this identity store; other IDs are
    /// ignored. Answers 200 with an empty object. Same authorization as
    /// `ListSessions`.
    #[endpoint {
        method = POST,
        path = "/v1/identity-stores/{identity_store_id}/users/{user_id}/sessions/batch-delete",
        operation_id = "BatchDeleteSessions",
        tags = ["huawei"],
    }]
    async fn batch_delete_sessions(
        rqctx: RequestContext<Self::Context>,
        path: Checked<Path<IdentityStoreUserPath>>,
        headers: Checked<Header<SecurityTokenHeader>>,
        body: RawTypedBody<BatchDeleteSessionsReqBody>,
    ) -> Result<HttpResponseOk<BatchDeleteSessionsResponse>, HuaweiError>;
    /// Get Web Login Session
    ///
    /// ### Web login session for the specified user.
    ///
    /// Only a live session exists: one that ended (logged out, revoked) or
    /// expired is 404, as is one of another user. An `admin` sees the
    /// user's sessions in every identity store, a `store-admin` those in its
    /// store; a `user` credential (or a `login_user` token) may read only
    /// its own user's sessions: another user's are 403. `fields` selects
    /// keys: a comma-separated list (spaces allowed) with Looker's nested
    /// `name(sub,sub)` form and `*`; unknown names are ignored, a malformed
    /// list is 400.
    #[endpoint {
        method = GET,
        path = "/api/4.0/users/{user_id}/sessions/{session_id}",
        tags = ["looker"],
    }]
    async fn user_session(
        rqctx: RequestContext<Self::Context>,
        path: Checked<Path<LookerUserSessionPath>>,
        query: Checked<Query<LookerFieldsQuery>>,
    ) -> Result<HttpResponseOk<LookerSession>, LookerError>;

    /// Get All Web Login Sessions
    ///
    /// ### Web login session for the specified user.
    ///
    /// Every live session of the user the credential may see, newest first
    /// (an empty list for a user with none). Visibility and `fields` as for
    /// `user_session`.
    #[endpoint {
        method = GET,
        path = "/api/4.0/users/{user_id}/sessions",
        tags = ["looker"],
    }]
    async fn all_user_sessions(
        rqctx: RequestContext<Self::Context>,
        path: Checked<Path<LookerUserPath>>,
        query: Checked<Query<LookerFieldsQuery>>,
    ) -> Result<HttpResponseOk<Vec<LookerSession>>, LookerError>;

    /// Delete Web Login Session
    ///
    /// ### Web login session for the specified user.
    ///
    /// Ends a live session: 204 with no body. An `admin` or `store-admin`
    /// revokes it; a `user` credential may end its own user's sessions,
    /// which logs them out (status `complete`, as if the user had logged
    /// out). A session that is not live is 404.
    #[endpoint {
        method = DELETE,
        path = "/api/4.0/users/{user_id}/sessions/{session_id}",
        tags = ["looker"],
    }]
    async fn delete_user_session(
        rqctx: RequestContext<Self::Context>,
        path: Checked<Path<LookerUserSessionPath>>,
    ) -> Result<HttpResponseDeleted, LookerError>;

    /// Login
    ///
    /// ### Present client credentials to obtain an authorization token
    ///
    /// Send a credential's Looker `client_id` and `client_secret` as an
    /// `application/x-www-form-urlencoded` body (or, as Looker still
    /// accepts, as query parameters); other form fields (such as
    /// `grant_type`) are ignored. The answer is an access token valid for
    /// `expires_in` seconds (3600), to be sent as `Authorization: token
    /// <access_token>` (or `Bearer <access_token>`). Unknown or wrong
    /// credentials are 404 `Not found`, as on Looker.
    #[endpoint {
        method = POST,
        path = "/api/4.0/login",
        tags = ["looker"],
        content_type = "application/x-www-form-urlencoded",
    }]
    async fn login(
        rqctx: RequestContext<Self::Context>,
        query: Checked<Query<LookerLoginQuery>>,
        body: LookerLoginForm,
    ) -> Result<HttpResponseOk<LookerAccessToken>, LookerError>;

    /// Login user
    ///
    /// ### Create an access token that runs as a given user.
    ///
    /// Only an administrator's token (`admin`, or `store-admin` for users
    /// of its store) may call this; others get 403. The new token acts as
    /// the user: it reads only that user's sessions, within the caller's
    /// scope. The login is recorded as an API session of the user (in the
    /// identity store of the user's newest session the caller can see)
    /// whose `sudo_user_id` is the administrator's credential id; logging
    /// the token out ends it. A user with no session the caller can see is
    /// 404.
    #[endpoint {
        method = POST,
        path = "/api/4.0/login/{user_id}",
        tags = ["looker"],
    }]
    async fn login_user(
        rqctx: RequestContext<Self::Context>,
        path: Checked<Path<LookerLoginUserPath>>,
    ) -> Result<HttpResponseOk<LookerAccessToken>, LookerError>;

    /// Logout
    ///
    /// ### Logout of the API and invalidate the current access token.
    ///
    /// 204 with no body. A token that is not live (already logged out,
    /// expired, unknown) is 404 `Not found`, as on Looker.
    #[endpoint {
        method = DELETE,
        path = "/api/4.0/logout",
        tags = ["looker"],
    }]
    async fn logout(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<HttpResponseDeleted, LookerError>;

    /// `logout` at the unversioned path Looker's Python SDK uses when a
    /// `with looker_sdk.init40() as sdk:` block ends (`sdk.auth.logout()`).
    #[endpoint {
        method = DELETE,
        path = "/api/logout",
        tags = ["looker"],
        unpublished = true,
    }]
    async fn logout_unversioned(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<HttpResponseDeleted, LookerError>;

    /// What the Looker dialect's errors mean: the page their
    /// `documentation_url` links to (`<docs url>looker/errors#<status>`)
    /// when the documentation URL is the default, `<public url>/docs/`.
    #[endpoint {
        method = GET,
        path = "/docs/looker/errors",
        tags = ["looker"],
        unpublished = true,
    }]
    async fn looker_error_docs(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<http::Response<dropshot::Body>, LookerError>;

    /// The published OpenAPI document (`openapi/login-sessions.json`),
    /// identical but for `servers`, which names this server's public URL.
    #[endpoint {
        method = GET,
        path = "/openapi.json",
        tags = ["native"],
        unpublished = true,
    }]
    async fn openapi_document(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<http::Response<dropshot::Body>, NativeError>;

    /// The API reference, rendered from the published document, at
    /// `/docs/` (`/docs` redirects there).
    #[endpoint {
        method = GET,
        path = "/docs",
        tags = ["native"],
        unpublished = true,
    }]
    async fn api_reference(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<http::Response<dropshot::Body>, NativeError>;

    /// What the server's clock reads.
    ///
    /// Wall time plus the offset the fixtures' `clock` and every
    /// `clock/advance` since the last reset set, in RFC 3339.
    #[endpoint {
        method = GET,
        path = "/testing/v1/clock",
        tags = ["testing"],
    }]
    async fn testing_clock_view(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<HttpResponseOk<ClockNow>, NativeError>;

    /// Move the server's clock forward.
    ///
    /// The clock is wall time plus an offset; this adds to the offset.
    /// Session expiry, Looker token lifetimes, rate limits, the janitor and
    /// `last_seen` follow it; Huawei's `X-Sdk-Date` window stays on wall
    /// time (the SDKs sign with the clock they run on). Answers the new
    /// reading.
    #[endpoint {
        method = POST,
        path = "/testing/v1/clock/advance",
        tags = ["testing"],
    }]
    async fn testing_clock_advance(
        rqctx: RequestContext<Self::Context>,
        body: CheckedBody<TypedBody<ClockAdvance>>,
    ) -> Result<HttpResponseOk<ClockNow>, NativeError>;

    /// Go back to the fixtures.
    ///
    /// Every credential, session and Looker token is replaced by the
    /// fixtures' own; the clock goes back to where the fixtures start it;
    /// faults, the journal, rate limits and Huawei lockouts are cleared.
    #[endpoint {
        method = POST,
        path = "/testing/v1/reset",
        tags = ["testing"],
    }]
    async fn testing_reset(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<HttpResponseUpdatedNoContent, NativeError>;

    /// Inject a fault.
    ///
    /// The next `count` requests to the operation (or, with `*`, to any
    /// operation of the dialect) answer `status` in the dialect's own error
    /// shape with the vendor's codes, after `delay_ms`, instead of being
    /// served. Faults are answered in the order they were injected.
    #[endpoint {
        method = POST,
        path = "/testing/v1/faults",
        tags = ["testing"],
    }]
    async fn testing_fault_create(
        rqctx: RequestContext<Self::Context>,
        body: CheckedBody<TypedBody<FaultCreate>>,
    ) -> Result<HttpResponseCreated<Fault>, NativeError>;

    /// List the faults waiting.
    ///
    /// In the order they were injected, each with how many more requests
    /// it answers; a fault whose count is used up is gone.
    #[endpoint {
        method = GET,
        path = "/testing/v1/faults",
        tags = ["testing"],
    }]
    async fn testing_fault_list(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<HttpResponseOk<FaultList>, NativeError>;

    /// Clear every fault.
    ///
    /// Every request is served again from now on. Answers 204.
    #[endpoint {
        method = DELETE,
        path = "/testing/v1/faults",
        tags = ["testing"],
    }]
    async fn testing_faults_clear(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<HttpResponseDeleted, NativeError>;

    /// The journal: every request the dialects answered, oldest first.
    ///
    /// Each entry has the time (by the server's clock), method, path,
    /// dialect, operation id, status and the credential that made it;
    /// never a secret. The testing API's own requests are not in it.
    #[endpoint {
        method = GET,
        path = "/testing/v1/journal",
        tags = ["testing"],
    }]
    async fn testing_journal_view(
        rqctx: RequestContext<Self::Context>,
        query: Checked<Query<JournalFilter>>,
    ) -> Result<HttpResponseOk<JournalPage>, NativeError>;

    /// Clear the journal.
    ///
    /// Every entry is forgotten; requests answered from now on are
    /// recorded as before. Answers 204.
    #[endpoint {
        method = DELETE,
        path = "/testing/v1/journal",
        tags = ["testing"],
    }]
    async fn testing_journal_clear(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<HttpResponseDeleted, NativeError>;
}

/// The API description without an implementation, for generating the
/// OpenAPI document.
pub fn stub_api_description()
-> Result<dropshot::ApiDescription<dropshot::StubContext>, dropshot::ApiDescriptionBuildErrors> {
    login_sessions_api_mod::stub_api_description()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_used_is_described() {
        let spec = document::generated_document().expect("spec");
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
