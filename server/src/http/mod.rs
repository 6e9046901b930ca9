//! The HTTP side: the implementation of the API trait, one module per
//! dialect, and starting the server.
//!
//! The `impl LoginSessionsApi` below only delegates: each operation's
//! handler lives in its dialect's module, next to the mapping from the
//! domain to that dialect's wire types. Adding a dialect adds a module and
//! one line per operation here.
//!
//! What happens around the handlers is configured in [`start`], through
//! the vendored dropshot's hooks (`vendor/README.md`): connection and
//! request-head limits ([`limits`]), the answers no handler gives in the
//! path's dialect ([`router_errors`]), and the access log ([`access_log`]);
//! bodies sent to operations that take none refused past
//! [`MAX_BODYLESS_REQUEST_BYTES`], and browsers on other origins answered
//! as `serve` allows ([`cors`]).

pub mod access_log;
pub mod bench;
pub mod cors;
pub mod dialect;
mod errors;
pub mod huawei;
pub mod limits;
pub mod looker;
pub mod native;
pub mod prefactor;
pub mod reference;
pub mod router_errors;
pub mod testing;

use std::net::SocketAddr;
use std::sync::Arc;

use dropshot::{
    ConfigDropshot, HandlerTaskMode, Header, HttpResponseCreated, HttpResponseDeleted,
    HttpResponseOk, HttpResponseUpdatedNoContent, HttpServer, PaginationParams, Path, Query,
    RequestContext, ResultsPage, ServerBuilder, TypedBody,
};
use login_sessions_api::bench::{BenchBaseline, BenchCaches};
use login_sessions_api::checked::{Checked, CheckedBody};
use login_sessions_api::huawei::{
    BatchDeleteSessionsReqBody, BatchDeleteSessionsResponse, HuaweiError, IdentityStoreUserPath,
    ListSessionsResponse, SecurityTokenHeader,
};
use login_sessions_api::looker::{
    LookerAccessToken, LookerError, LookerFieldsQuery, LookerLoginForm, LookerLoginQuery,
    LookerLoginUserPath, LookerSession, LookerUserPath, LookerUserSessionPath,
};
use login_sessions_api::native::{
    InteractionCreate, NativeError, Session, SessionAuthenticate, SessionCreate, SessionExtend,
    SessionFilter, SessionPageSelector, SessionPath, UserPath, UserSessionsRevoke,
    UserSessionsRevoked,
};
use login_sessions_api::prefactor::{
    PrefactorError, SessionFetchResponse, SessionListQuery, SessionListResponse,
    SessionPath as PrefactorSessionPath,
};
use login_sessions_api::raw_typed::RawTypedBody;
use login_sessions_api::testing::{
    ClockAdvance, ClockNow, Fault, FaultCreate, FaultList, JournalFilter, JournalPage,
    TestingDialect,
};
use login_sessions_api::{LoginSessionsApi, login_sessions_api_mod};

use crate::auth::Authenticator;
use crate::auth::huawei::HuaweiAuthenticator;
use crate::clock::Clock;
use crate::enrich::Enricher;
use crate::secrets::ServerKey;
use crate::service::credentials::CredentialService;
use crate::service::{SessionService, SessionSettings};
use crate::store::session_cache::CachedSessions;
use crate::store::{SharedCredentials, SharedSessions};
use crate::testing::{Observation, StandIn};

/// What every handler shares.
pub struct ApiContext {
    pub sessions: SessionService,
    pub credentials: CredentialService,
    pub auth: Authenticator,
    /// Verifies Huawei AK/SK signatures (and locks out failing keys).
    pub huawei_auth: HuaweiAuthenticator,
    /// The URL clients reach this server at, for links in responses.
    pub public_url: String,
    /// The base URL of this service's documentation, ending in `/`: error
    /// bodies link under it (Looker's `documentation_url`).
    pub docs_url: String,
    /// Whether the benchmark's endpoints (`/bench/...`) answer; off
    /// unless `serve --bench-endpoints`.
    pub bench_endpoints: bool,
    /// The session cache, for the benchmark's figures of it.
    pub session_cache: Option<Arc<CachedSessions>>,
    /// The test stand-in's controls, when the testing API is on
    /// (`serve --testing-api`); `None` otherwise.
    pub testing: Option<Arc<StandIn>>,
    /// `/openapi.json` and `/docs/` for this public URL, built once
    /// ([`start`] refuses to serve without them).
    pub contract: Result<reference::Contract, reference::ContractError>,
    /// The origins browsers may call from, per dialect; none unless
    /// `serve --cors-origins-...`.
    pub cors: cors::CorsPolicy,
}

impl ApiContext {
    /// The context over the session and credential stores (the credential
    /// cache in front of the latter, as `serve` runs it), with a clock and
    /// the server key.
    pub fn new(
        sessions: SharedSessions,
        credentials: SharedCredentials,
        clock: Arc<dyn Clock>,
        key: Arc<ServerKey>,
        settings: SessionSettings,
        public_url: String,
    ) -> ApiContext {
        let public_url = public_url.trim_end_matches('/').to_string();
        ApiContext {
            docs_url: default_docs_url(&public_url),
            contract: reference::Contract::for_public_url(&public_url),
            public_url,
            sessions: SessionService::new(sessions, clock.clone(), settings),
            credentials: CredentialService::new(credentials.clone(), clock.clone(), key.clone()),
            huawei_auth: HuaweiAuthenticator::new(credentials.clone(), clock.clone(), key),
            auth: Authenticator::new(credentials, clock),
            bench_endpoints: false,
            session_cache: None,
            testing: None,
            cors: cors::CorsPolicy::default(),
        }
    }

    /// The same context with the testing API on, driving `stand_in`.
    pub fn with_testing(mut self, stand_in: Arc<StandIn>) -> ApiContext {
        self.testing = Some(stand_in);
        self
    }

    /// The same context, reporting how `session_cache` (the one its
    /// sessions are read through, if any) answers to the benchmark.
    pub fn with_session_cache(mut self, session_cache: Option<Arc<CachedSessions>>) -> ApiContext {
        self.session_cache = session_cache;
        self
    }

    /// The same context with the benchmark's endpoints on or off.
    pub fn with_bench_endpoints(mut self, enabled: bool) -> ApiContext {
        self.bench_endpoints = enabled;
        self
    }

    /// The same context, checking Huawei's `X-Sdk-Date` against
    /// `signature_clock` rather than the server's clock (see
    /// [`HuaweiAuthenticator::with_signature_clock`]).
    pub fn with_signature_clock(mut self, signature_clock: Arc<dyn Clock>) -> ApiContext {
        self.huawei_auth = self.huawei_auth.with_signature_clock(signature_clock);
        self
    }

    /// The same context, enriching new sessions with `enricher` (the
    /// default parses user agents and has no GeoIP database).
    pub fn with_enricher(mut self, enricher: Arc<Enricher>) -> ApiContext {
        self.sessions = self.sessions.with_enricher(enricher);
        self
    }

    /// The same context, answering browsers on other origins as `cors`
    /// allows.
    pub fn with_cors(mut self, cors: cors::CorsPolicy) -> ApiContext {
        self.cors = cors;
        self
    }

    /// The context with another documentation URL (a `/` is added if it
    /// does not end in one).
    pub fn with_docs_url(mut self, docs_url: &str) -> ApiContext {
        self.docs_url = if docs_url.ends_with('/') {
            docs_url.to_string()
        } else {
            format!("{docs_url}/")
        };
        self
    }
}

/// The documentation URL when none is configured: `<public URL>/docs/`.
pub fn default_docs_url(public_url: &str) -> String {
    format!("{}/docs/", public_url.trim_end_matches('/'))
}

/// The largest request body accepted.
pub const MAX_REQUEST_BODY_BYTES: usize = 64 * 1024;

/// The largest body accepted, and ignored, by an operation that takes none
/// (a GET, a DELETE, a logout): room for the `{}` some clients send with
/// every request; over it, 413 in the dialect's shape.
pub const MAX_BODYLESS_REQUEST_BYTES: usize = 1024;

/// The largest page a listing returns, whatever the request asks for
/// (dropshot's default page size, 100, applies when it asks for none).
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Starts serving on `bind` with these connection settings. The server
/// runs until the returned handle is closed or dropped.
pub fn start(
    context: ApiContext,
    bind: SocketAddr,
    log: slog::Logger,
    connections: &limits::ConnectionSettings,
) -> Result<HttpServer<ApiContext>, String> {
    let connection_limits = connections
        .limits(limits::open_files_limit())
        .map_err(|e| e.to_string())?;
    if let Err(e) = &context.contract {
        return Err(format!("cannot serve the API's contract: {e}"));
    }
    let api = login_sessions_api_mod::api_description::<LoginSessionsImpl>()
        .map_err(|e| format!("the API description is invalid: {e}"))?;
    let config = ConfigDropshot {
        bind_address: bind,
        default_request_body_max_bytes: MAX_REQUEST_BODY_BYTES,
        // A handler runs to completion even if its client goes away, so a
        // disconnect never cuts a read-modify-write in half.
        default_handler_task_mode: HandlerTaskMode::Detached,
        ..Default::default()
    };
    let errors = router_errors::DialectErrors::new(&context.docs_url);
    let access_log = access_log::AccessLog::new(log.clone());
    let cors = Arc::new(context.cors.clone());
    ServerBuilder::new(api, context, log)
        .config(config)
        .connection_limits(connection_limits)
        .request_head_limits(limits::REQUEST_HEAD_LIMITS)
        .error_renderer(Arc::new(errors))
        .request_log(Arc::new(access_log))
        .bodyless_request_max_bytes(MAX_BODYLESS_REQUEST_BYTES)
        .cross_origin(cors)
        .start()
        .map_err(|e| format!("could not start the server on {bind}: {e}"))
}

/// The implementation of the API trait.
pub enum LoginSessionsImpl {}

impl LoginSessionsApi for LoginSessionsImpl {
    type Context = ApiContext;

    async fn healthz(rqctx: RequestContext<ApiContext>) -> Result<HttpResponseOk<()>, NativeError> {
        native::healthz_ready(rqctx).await
    }

    async fn healthz_live(
        _rqctx: RequestContext<ApiContext>,
    ) -> Result<HttpResponseOk<()>, NativeError> {
        Ok(HttpResponseOk(()))
    }

    async fn healthz_ready(
        rqctx: RequestContext<ApiContext>,
    ) -> Result<HttpResponseOk<()>, NativeError> {
        native::healthz_ready(rqctx).await
    }

    async fn bench_baseline(
        rqctx: RequestContext<ApiContext>,
    ) -> Result<HttpResponseOk<BenchBaseline>, NativeError> {
        bench::bench_baseline(rqctx).await
    }

    async fn bench_native_session(
        rqctx: RequestContext<ApiContext>,
    ) -> Result<HttpResponseOk<login_sessions_api::native::Session>, NativeError> {
        bench::bench_native_session(rqctx).await
    }

    async fn bench_caches(
        rqctx: RequestContext<ApiContext>,
    ) -> Result<HttpResponseOk<BenchCaches>, NativeError> {
        bench::bench_caches(rqctx).await
    }

    async fn session_create(
        rqctx: RequestContext<ApiContext>,
        body: CheckedBody<TypedBody<SessionCreate>>,
    ) -> Result<HttpResponseCreated<Session>, NativeError> {
        let observation = Observation::start(&rqctx, TestingDialect::Native);
        observation.finish(native::session_create(rqctx, body).await)
    }

    async fn session_view(
        rqctx: RequestContext<ApiContext>,
        path: Checked<Path<SessionPath>>,
    ) -> Result<HttpResponseOk<Session>, NativeError> {
        let observation = Observation::start(&rqctx, TestingDialect::Native);
        observation.finish(native::session_view(rqctx, path).await)
    }

    async fn session_list(
        rqctx: RequestContext<ApiContext>,
        query: Checked<Query<PaginationParams<SessionFilter, SessionPageSelector>>>,
    ) -> Result<HttpResponseOk<ResultsPage<Session>>, NativeError> {
        let observation = Observation::start(&rqctx, TestingDialect::Native);
        observation.finish(native::session_list(rqctx, query).await)
    }

    async fn session_interaction_create(
        rqctx: RequestContext<ApiContext>,
        path: Checked<Path<SessionPath>>,
        body: CheckedBody<TypedBody<InteractionCreate>>,
    ) -> Result<HttpResponseOk<Session>, NativeError> {
        let observation = Observation::start(&rqctx, TestingDialect::Native);
        observation.finish(native::session_interaction_create(rqctx, path, body).await)
    }

    async fn session_extend(
        rqctx: RequestContext<ApiContext>,
        path: Checked<Path<SessionPath>>,
        body: CheckedBody<TypedBody<SessionExtend>>,
    ) -> Result<HttpResponseOk<Session>, NativeError> {
        let observation = Observation::start(&rqctx, TestingDialect::Native);
        observation.finish(native::session_extend(rqctx, path, body).await)
    }

    async fn session_authenticate(
        rqctx: RequestContext<ApiContext>,
        path: Checked<Path<SessionPath>>,
        body: CheckedBody<TypedBody<SessionAuthenticate>>,
    ) -> Result<HttpResponseOk<Session>, NativeError> {
        let observation = Observation::start(&rqctx, TestingDialect::Native);
        observation.finish(native::session_authenticate(rqctx, path, body).await)
    }

    async fn session_logout(
        rqctx: RequestContext<ApiContext>,
        path: Checked<Path<SessionPath>>,
    ) -> Result<HttpResponseOk<Session>, NativeError> {
        let observation = Observation::start(&rqctx, TestingDialect::Native);
        observation.finish(native::session_logout(rqctx, path).await)
    }

    async fn session_revoke(
        rqctx: RequestContext<ApiContext>,
        path: Checked<Path<SessionPath>>,
    ) -> Result<HttpResponseOk<Session>, NativeError> {
        let observation = Observation::start(&rqctx, TestingDialect::Native);
        observation.finish(native::session_revoke(rqctx, path).await)
    }

    async fn user_sessions_revoke(
        rqctx: RequestContext<ApiContext>,
        path: Checked<Path<UserPath>>,
        body: CheckedBody<TypedBody<UserSessionsRevoke>>,
    ) -> Result<HttpResponseOk<UserSessionsRevoked>, NativeError> {
        let observation = Observation::start(&rqctx, TestingDialect::Native);
        observation.finish(native::user_sessions_revoke(rqctx, path, body).await)
    }

    async fn fetch_session(
        rqctx: RequestContext<ApiContext>,
        path: Checked<Path<PrefactorSessionPath>>,
    ) -> Result<HttpResponseOk<SessionFetchResponse>, PrefactorError> {
        let observation = Observation::start(&rqctx, TestingDialect::Prefactor);
        observation.finish(prefactor::fetch_session(rqctx, path).await)
    }

    async fn list_pool_sessions(
        rqctx: RequestContext<ApiContext>,
        query: Checked<Query<SessionListQuery>>,
    ) -> Result<HttpResponseOk<SessionListResponse>, PrefactorError> {
        let observation = Observation::start(&rqctx, TestingDialect::Prefactor);
        observation.finish(prefactor::list_pool_sessions(rqctx, query).await)
    }

    async fn revoke_session(
        rqctx: RequestContext<ApiContext>,
        path: Checked<Path<PrefactorSessionPath>>,
    ) -> Result<HttpResponseOk<SessionFetchResponse>, PrefactorError> {
        let observation = Observation::start(&rqctx, TestingDialect::Prefactor);
        observation.finish(prefactor::revoke_session(rqctx, path).await)
    }

    async fn list_sessions(
        rqctx: RequestContext<ApiContext>,
        path: Checked<Path<IdentityStoreUserPath>>,
        headers: Checked<Header<SecurityTokenHeader>>,
    ) -> Result<HttpResponseOk<ListSessionsResponse>, HuaweiError> {
        let observation = Observation::start(&rqctx, TestingDialect::Huawei);
        observation.finish(huawei::list_sessions(rqctx, path, headers).await)
    }

    async fn batch_delete_sessions(
        rqctx: RequestContext<ApiContext>,
        path: Checked<Path<IdentityStoreUserPath>>,
        headers: Checked<Header<SecurityTokenHeader>>,
        body: RawTypedBody<BatchDeleteSessionsReqBody>,
    ) -> Result<HttpResponseOk<BatchDeleteSessionsResponse>, HuaweiError> {
        let observation = Observation::start(&rqctx, TestingDialect::Huawei);
        observation.finish(huawei::batch_delete_sessions(rqctx, path, headers, body).await)
    }

    async fn user_session(
        rqctx: RequestContext<ApiContext>,
        path: Checked<Path<LookerUserSessionPath>>,
        query: Checked<Query<LookerFieldsQuery>>,
    ) -> Result<HttpResponseOk<LookerSession>, LookerError> {
        let observation = Observation::start(&rqctx, TestingDialect::Looker);
        observation.finish(looker::user_session(rqctx, path, query).await)
    }

    async fn all_user_sessions(
        rqctx: RequestContext<ApiContext>,
        path: Checked<Path<LookerUserPath>>,
        query: Checked<Query<LookerFieldsQuery>>,
    ) -> Result<HttpResponseOk<Vec<LookerSession>>, LookerError> {
        let observation = Observation::start(&rqctx, TestingDialect::Looker);
        observation.finish(looker::all_user_sessions(rqctx, path, query).await)
    }

    async fn delete_user_session(
        rqctx: RequestContext<ApiContext>,
        path: Checked<Path<LookerUserSessionPath>>,
    ) -> Result<HttpResponseDeleted, LookerError> {
        let observation = Observation::start(&rqctx, TestingDialect::Looker);
        observation.finish(looker::delete_user_session(rqctx, path).await)
    }

    async fn login(
        rqctx: RequestContext<ApiContext>,
        query: Checked<Query<LookerLoginQuery>>,
        body: LookerLoginForm,
    ) -> Result<HttpResponseOk<LookerAccessToken>, LookerError> {
        let observation = Observation::start(&rqctx, TestingDialect::Looker);
        observation.finish(looker::login(rqctx, query, body).await)
    }

    async fn login_user(
        rqctx: RequestContext<ApiContext>,
        path: Checked<Path<LookerLoginUserPath>>,
    ) -> Result<HttpResponseOk<LookerAccessToken>, LookerError> {
        let observation = Observation::start(&rqctx, TestingDialect::Looker);
        observation.finish(looker::login_user(rqctx, path).await)
    }

    async fn logout(rqctx: RequestContext<ApiContext>) -> Result<HttpResponseDeleted, LookerError> {
        let observation = Observation::start(&rqctx, TestingDialect::Looker);
        observation.finish(looker::logout(rqctx).await)
    }

    async fn logout_unversioned(
        rqctx: RequestContext<ApiContext>,
    ) -> Result<HttpResponseDeleted, LookerError> {
        let observation = Observation::start(&rqctx, TestingDialect::Looker);
        observation.finish(looker::logout(rqctx).await)
    }

    async fn looker_error_docs(
        rqctx: RequestContext<ApiContext>,
    ) -> Result<http::Response<dropshot::Body>, LookerError> {
        looker::error_docs(rqctx).await
    }

    async fn openapi_document(
        rqctx: RequestContext<ApiContext>,
    ) -> Result<http::Response<dropshot::Body>, NativeError> {
        reference::openapi_document(rqctx).await
    }

    async fn api_reference(
        rqctx: RequestContext<ApiContext>,
    ) -> Result<http::Response<dropshot::Body>, NativeError> {
        reference::api_reference(rqctx).await
    }

    async fn testing_clock_view(
        rqctx: RequestContext<ApiContext>,
    ) -> Result<HttpResponseOk<ClockNow>, NativeError> {
        testing::clock_view(rqctx).await
    }

    async fn testing_clock_advance(
        rqctx: RequestContext<ApiContext>,
        body: CheckedBody<TypedBody<ClockAdvance>>,
    ) -> Result<HttpResponseOk<ClockNow>, NativeError> {
        testing::clock_advance(rqctx, body).await
    }

    async fn testing_reset(
        rqctx: RequestContext<ApiContext>,
    ) -> Result<HttpResponseUpdatedNoContent, NativeError> {
        testing::reset(rqctx).await
    }

    async fn testing_fault_create(
        rqctx: RequestContext<ApiContext>,
        body: CheckedBody<TypedBody<FaultCreate>>,
    ) -> Result<HttpResponseCreated<Fault>, NativeError> {
        testing::fault_create(rqctx, body).await
    }

    async fn testing_fault_list(
        rqctx: RequestContext<ApiContext>,
    ) -> Result<HttpResponseOk<FaultList>, NativeError> {
        testing::fault_list(rqctx).await
    }

    async fn testing_faults_clear(
        rqctx: RequestContext<ApiContext>,
    ) -> Result<HttpResponseDeleted, NativeError> {
        testing::faults_clear(rqctx).await
    }

    async fn testing_journal_view(
        rqctx: RequestContext<ApiContext>,
        query: Checked<Query<JournalFilter>>,
    ) -> Result<HttpResponseOk<JournalPage>, NativeError> {
        testing::journal_view(rqctx, query).await
    }

    async fn testing_journal_clear(
        rqctx: RequestContext<ApiContext>,
    ) -> Result<HttpResponseDeleted, NativeError> {
        testing::journal_clear(rqctx).await
    }
}
