//! Contract-test harness: the real server on 127.0.0.1:0 over a real
//! store — a SQLite file or a PostgreSQL database — a clock the test moves,
//! and a recording proxy in front of it that validates every response any
//! client receives against the published spec.
//!
//! Tests talk to [`TestServer::url`] (the proxy) through the generated
//! client or a vendor SDK; at the end [`TestServer::finish`] asserts that
//! every response was valid for its operation and status.
//!
//! # Running every contract test on every store
//!
//! A contract test is a plain `async fn name(kind: StoreKind)` that starts
//! its server with [`TestServer::start_with`]`(kind)`. A test file lists
//! its tests once, in [`contract_tests!`], which writes the file's `main`:
//!
//! ```ignore
//! async fn create_and_view(kind: StoreKind) {
//!     let server = TestServer::start_with(kind).await;
//!     // ...
//!     server.finish().await;
//! }
//!
//! login_sessions_tests::contract_tests![create_and_view, /* ... */];
//! ```
//!
//! and its `[[test]]` entry in `tests/Cargo.toml` says `harness = false`.
//! The runner ([`runner`], on libtest-mimic) runs each test twice, as
//! `sqlite::NAME` and `postgres::NAME`, with the usual libtest command line
//! (`cargo test --test native -- postgres::`, `--list`, `--exact`, ...).
//!
//! PostgreSQL comes from [`postgres`]: `LOGIN_SESSIONS_TEST_DATABASE_URL`,
//! or a throwaway cluster the harness starts (and always stops). When there
//! is no PostgreSQL at all, the `postgres::` trials are reported
//! **ignored** — never passed — under a banner saying how to enable them;
//! when PostgreSQL is there but unusable, they fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod browser;
pub mod coverage;
pub mod node;
pub mod postgres;
pub mod proxy;
pub mod python;
pub mod runner;
pub mod spec;
pub mod standin;

use std::any::Any;
use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use dropshot::{ConfigLogging, ConfigLoggingLevel, HttpServer};
use login_sessions_client::Client;
use login_sessions_server::auth::scheme::SecretScheme;
use login_sessions_server::auth::{huawei, looker, native, prefactor};
use login_sessions_server::cli;
use login_sessions_server::clock::ManualClock;
use login_sessions_server::domain::credential::Role;
use login_sessions_server::domain::credential::SecretKind;
use login_sessions_server::enrich::Enricher;
use login_sessions_server::http::cors::CorsPolicy;
use login_sessions_server::http::{self, ApiContext};
use login_sessions_server::janitor::{Janitor, JanitorSettings};
use login_sessions_server::pfid::Pfid;
use login_sessions_server::secrets::ServerKey;
use login_sessions_server::service::credentials::{
    CredentialRequest, IssuedCredential, IssuedTemporaryHuaweiKey,
};
use login_sessions_server::store::SharedStore;
use login_sessions_server::store::conformance::Faulty;
use login_sessions_server::store::postgres::PostgresStore;
use login_sessions_server::store::sqlite::SqliteStore;
use tempfile::TempDir;
use tokio::task::JoinHandle;

use proxy::RecordingProxy;
use spec::SpecValidator;

/// How many requests a paginated walk of six sessions takes at each page
/// size, when a page shorter than its limit (or the exactly full last one)
/// carries no next page: sizes that divide six and sizes that do not.
pub const WALKS_OF_SIX: [(u32, usize); 8] = [
    (1, 6),
    (2, 3),
    (3, 2),
    (4, 2),
    (5, 2),
    (6, 1),
    (7, 1),
    (100, 1),
];

/// Paths the server answers that the spec deliberately does not publish.
pub const UNPUBLISHED_PATHS: &[&str] = &[
    "/healthz",
    "/healthz/live",
    "/healthz/ready",
    "/openapi.json",
    "/docs",
    "/docs/",
];

/// The public URL test servers are configured with (links in responses).
pub const PUBLIC_URL: &str = "http://login-sessions.test";

/// When every test's clock starts: a fixed, unremarkable moment.
pub fn test_epoch() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T12:00:00.000Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// Which store a server runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoreKind {
    /// A fresh SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on the test PostgreSQL server ([`postgres`]).
    Postgres,
}

impl StoreKind {
    /// Every store, in the order the runner runs them.
    pub const ALL: [StoreKind; 2] = [StoreKind::Sqlite, StoreKind::Postgres];

    /// `sqlite` or `postgres`: the prefix of the runner's trial names.
    pub fn name(self) -> &'static str {
        match self {
            StoreKind::Sqlite => "sqlite",
            StoreKind::Postgres => "postgres",
        }
    }
}

/// The connections each PostgreSQL test store keeps at most (small: many
/// tests, and replicas, share one test server).
pub const TEST_POOL_SIZE: usize = 8;

/// What besides the defaults a test server runs with.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// Run the janitor in the server, with these settings.
    pub janitor: Option<JanitorSettings>,
    /// Enrich sessions with this enricher instead of the default one (user
    /// agents parsed, no GeoIP database).
    pub enricher: Option<Arc<Enricher>>,
    /// Link error documentation here instead of under the public URL.
    pub docs_url: Option<String>,
    /// Answer browsers on other origins as this allows (CORS is off by
    /// default, as in `serve`).
    pub cors: Option<CorsPolicy>,
}

/// A running server with everything a contract test needs.
pub struct TestServer {
    /// The server's clock; move it to test expiry. Replicas share one.
    pub clock: Arc<ManualClock>,
    /// The store under the server, for assertions about what was written.
    pub store: SharedStore,
    /// An `admin` credential.
    pub admin: IssuedCredential,
    /// The store the server runs on.
    pub kind: StoreKind,
    /// The PostgreSQL database's URL, for a PostgreSQL server.
    pub database_url: Option<String>,
    /// The server key (replicas share one).
    pub key: Arc<ServerKey>,
    proxy: RecordingProxy,
    server: HttpServer<ApiContext>,
    /// The janitor task, if the options asked for one.
    _janitor: Option<AbortOnDrop>,
    /// Whatever must outlive the server: its temporary directory or its
    /// database.
    _guard: Arc<dyn Any + Send + Sync>,
}

/// A task stopped when this is dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A fresh store of `kind`, its URL (PostgreSQL) and what keeps it alive.
pub async fn fresh_store(
    kind: StoreKind,
) -> (SharedStore, Option<String>, Arc<dyn Any + Send + Sync>) {
    match kind {
        StoreKind::Sqlite => {
            let dir = tempfile::tempdir().expect("temporary directory");
            let store: SharedStore = Arc::new(
                SqliteStore::open(&dir.path().join("sessions.db")).expect("open SQLite store"),
            );
            (store, None, Arc::new(dir))
        }
        StoreKind::Postgres => {
            let database = postgres::TestDatabase::create().await;
            let store: SharedStore = Arc::new(
                PostgresStore::open(&database.url, TEST_POOL_SIZE)
                    .await
                    .expect("open PostgreSQL store"),
            );
            (store, Some(database.url.clone()), Arc::new(database))
        }
    }
}

impl TestServer {
    /// Starts a server over a fresh SQLite file.
    pub async fn start() -> TestServer {
        TestServer::start_with(StoreKind::Sqlite).await
    }

    /// Starts a server over a fresh store of `kind`.
    pub async fn start_with(kind: StoreKind) -> TestServer {
        TestServer::start_with_options(kind, ServerOptions::default()).await
    }

    /// Starts a server over a fresh store of `kind`, with `options`.
    pub async fn start_with_options(kind: StoreKind, options: ServerOptions) -> TestServer {
        let (store, database_url, guard) = fresh_store(kind).await;
        let clock = Arc::new(ManualClock::new(test_epoch()));
        let key = Arc::new(ServerKey::generate());
        launch(Replica {
            kind,
            store,
            database_url,
            guard,
            clock,
            key,
            admin: None,
            options,
        })
        .await
    }

    /// Starts a server over a fresh SQLite file enriching sessions with
    /// `enricher`.
    pub async fn start_with_enricher(enricher: Arc<Enricher>) -> TestServer {
        let options = ServerOptions {
            enricher: Some(enricher),
            ..ServerOptions::default()
        };
        TestServer::start_with_options(StoreKind::Sqlite, options).await
    }

    /// Starts a server over a fresh store of `kind` that fails on demand
    /// (see [`Faulty`]), and that store.
    pub async fn start_faulty(kind: StoreKind) -> (TestServer, Arc<Faulty>) {
        let (store, database_url, guard) = fresh_store(kind).await;
        let faulty = Arc::new(Faulty::new(store));
        let server = launch(Replica {
            kind,
            store: faulty.clone(),
            database_url,
            guard,
            clock: Arc::new(ManualClock::new(test_epoch())),
            key: Arc::new(ServerKey::generate()),
            admin: None,
            options: ServerOptions::default(),
        })
        .await;
        (server, faulty)
    }

    /// Starts a server over `store`; `dir` lives as long as the server.
    pub async fn start_on(store: SharedStore, dir: TempDir) -> TestServer {
        launch(Replica {
            kind: StoreKind::Sqlite,
            store,
            database_url: None,
            guard: Arc::new(dir),
            clock: Arc::new(ManualClock::new(test_epoch())),
            key: Arc::new(ServerKey::generate()),
            admin: None,
            options: ServerOptions::default(),
        })
        .await
    }

    /// Starts `count` replicas over one fresh PostgreSQL database, as a
    /// deployment runs them: each its own process-like server with its own
    /// connection pool, sharing only the database, the server key, the
    /// admin credential and (standing for synchronised clocks) one clock.
    pub async fn start_replicas(count: usize, options: ServerOptions) -> Vec<TestServer> {
        assert!(count > 0, "at least one replica");
        let database = Arc::new(postgres::TestDatabase::create().await);
        let clock = Arc::new(ManualClock::new(test_epoch()));
        let key = Arc::new(ServerKey::generate());
        let mut replicas: Vec<TestServer> = Vec::with_capacity(count);
        for _ in 0..count {
            let store: SharedStore = Arc::new(
                PostgresStore::open(&database.url, TEST_POOL_SIZE)
                    .await
                    .expect("open PostgreSQL store"),
            );
            let admin = replicas.first().map(|first| first.admin.clone());
            replicas.push(
                launch(Replica {
                    kind: StoreKind::Postgres,
                    store,
                    database_url: Some(database.url.clone()),
                    guard: database.clone(),
                    clock: clock.clone(),
                    key: key.clone(),
                    admin,
                    options: options.clone(),
                })
                .await,
            );
        }
        replicas
    }

    /// The URL clients use: the validating proxy.
    pub fn url(&self) -> String {
        self.proxy.url()
    }

    /// The server's own address, bypassing validation (for requests the
    /// generated client cannot make, such as malformed ones: those go
    /// through the proxy too, via [`TestServer::url`]).
    pub fn server_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The recording proxy, for tests that inspect exchanges.
    pub fn proxy(&self) -> &RecordingProxy {
        &self.proxy
    }

    /// Issues a credential as described.
    pub async fn issue_with(&self, request: CredentialRequest) -> IssuedCredential {
        self.server
            .app_private()
            .credentials
            .issue(request)
            .await
            .expect("issue credential")
    }

    /// Issues a credential.
    pub async fn issue(
        &self,
        role: Role,
        identity_store_id: Option<&str>,
        user_id: Option<&str>,
    ) -> IssuedCredential {
        issue(&self.server, role, identity_store_id, user_id).await
    }

    /// Revokes `credential` through this server, as its API does: this
    /// server refuses it at once (other replicas within their credential
    /// cache's lifetime).
    pub async fn revoke(&self, credential: &IssuedCredential) {
        self.server
            .app_private()
            .credentials
            .revoke(credential.credential.id.as_str())
            .await
            .expect("revoke the credential");
    }

    /// Issues temporary Huawei credentials of `parent`.
    pub async fn issue_temporary_huawei(
        &self,
        parent: &IssuedCredential,
        ttl_seconds: Option<u32>,
    ) -> IssuedTemporaryHuaweiKey {
        self.server
            .app_private()
            .credentials
            .issue_temporary_huawei(parent.credential.id.as_str(), ttl_seconds)
            .await
            .expect("issue temporary Huawei credentials")
    }

    /// The generated client with the admin's native token.
    pub fn admin_client(&self) -> Client {
        self.native_client(self.admin.native_token())
    }

    /// The generated client with a native token.
    pub fn native_client(&self, token: &str) -> Client {
        login_sessions_client::auth::native_client(&self.url(), token).expect("native client")
    }

    /// The generated client with a Prefactor API token.
    pub fn prefactor_client(&self, api_token: &str) -> Client {
        login_sessions_client::auth::prefactor_client(&self.url(), api_token)
            .expect("prefactor client")
    }

    /// A plain HTTP client, for requests the generated client will not send.
    pub fn http(&self) -> reqwest::Client {
        reqwest::Client::new()
    }

    /// Asserts that every response the test received through the proxy
    /// was valid for its operation and status, and that there were some.
    pub async fn finish(self) {
        let checked = self.proxy.assert_all_valid();
        coverage::record(&self.proxy.exchanges());
        assert!(
            checked > 0,
            "the test sent no request through the validating proxy"
        );
        drop(self._janitor);
        self.server.close().await.expect("server closes cleanly");
    }

    /// The server's application context (its services).
    pub fn context(&self) -> &ApiContext {
        self.server.app_private()
    }
}

/// A session id from the wire, as the store takes it.
pub fn pfid(id: &str) -> Pfid {
    Pfid::parse(id).expect("a session id")
}

/// What one server of a test is made of.
struct Replica {
    kind: StoreKind,
    store: SharedStore,
    database_url: Option<String>,
    guard: Arc<dyn Any + Send + Sync>,
    clock: Arc<ManualClock>,
    key: Arc<ServerKey>,
    /// The admin credential to share; issued anew if `None`.
    admin: Option<IssuedCredential>,
    options: ServerOptions,
}

/// A test server's flags, parsed by `serve`'s own parser: every flag
/// the test does not set has `serve`'s default (or its `LOGIN_SESSIONS_*`
/// variable's value), as for a user. The janitor is off unless the test
/// asks for one (`ServerOptions::janitor`): a round at a moment the test
/// does not choose would make it racy (server/tests/flags.rs runs the
/// janitor's flags on the real binary).
fn serve_args(options: &ServerOptions) -> cli::ServeArgs {
    let mut flags = vec![
        "--bind".to_string(),
        "127.0.0.1:0".into(),
        "--public-url".into(),
        PUBLIC_URL.into(),
        "--janitor-interval-seconds".into(),
        "0".into(),
    ];
    if let Some(docs_url) = &options.docs_url {
        flags.extend(["--docs-url".into(), docs_url.clone()]);
    }
    cli::serve_args(flags).expect("serve's flags")
}

async fn launch(replica: Replica) -> TestServer {
    let Replica {
        kind,
        store,
        database_url,
        guard,
        clock,
        key,
        admin,
        options,
    } = replica;
    let bind: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let args = serve_args(&options);
    // As `serve` builds it from those flags, over the test's store, clock
    // and key.
    let enricher = options.enricher.clone().unwrap_or_else(Enricher::builtin);
    let mut context = cli::api_context(
        &args,
        store.clone(),
        clock.clone(),
        key.clone(),
        enricher,
        PUBLIC_URL,
    )
    .expect("the test server's context");
    if let Some(cors) = options.cors.clone() {
        context = context.with_cors(cors);
    }
    let log = ConfigLogging::StderrTerminal {
        level: ConfigLoggingLevel::Warn,
    }
    .to_logger("login-sessions-test")
    .expect("logger");
    let janitor = options.janitor.map(|settings| {
        AbortOnDrop(Janitor::new(store.clone(), clock.clone(), settings, log.clone()).spawn())
    });
    let server =
        http::start(context, bind, log, &cli::connection_settings(&args)).expect("start server");
    let validator = Arc::new(SpecValidator::load());
    let proxy = RecordingProxy::start(server.local_addr(), validator).await;
    proxy.allow_unmatched(UNPUBLISHED_PATHS);
    let admin = match admin {
        Some(admin) => admin,
        None => issue(&server, Role::Admin, None, None).await,
    };
    TestServer {
        clock,
        store,
        admin,
        kind,
        database_url,
        key,
        proxy,
        server,
        _janitor: janitor,
        _guard: guard,
    }
}

async fn issue(
    server: &HttpServer<ApiContext>,
    role: Role,
    identity_store_id: Option<&str>,
    user_id: Option<&str>,
) -> IssuedCredential {
    server
        .app_private()
        .credentials
        .issue(CredentialRequest {
            role,
            identity_store_id: identity_store_id.map(str::to_string),
            user_id: user_id.map(str::to_string),
            name: None,
            rate_limit: None,
        })
        .await
        .expect("issue credential")
}

/// The status and parsed JSON body of an error the generated client
/// returned.
pub fn error_response<E: std::fmt::Debug>(error: login_sessions_client::Error<E>) -> (u16, E) {
    match error {
        login_sessions_client::Error::ErrorResponse(response) => {
            let status = response.status().as_u16();
            (status, response.into_inner())
        }
        other => panic!("expected an error response, got {other:?}"),
    }
}

/// An issued credential's secrets, by dialect, as the tests present them.
pub trait IssuedSecrets {
    fn native_token(&self) -> &String;
    fn prefactor_api_token(&self) -> &String;
    fn looker_client_id(&self) -> &String;
    fn looker_client_secret(&self) -> &String;
    fn huawei_access_key(&self) -> &String;
    fn huawei_secret_key(&self) -> &String;
}

/// The value `credentials create --json` shows as `kind.field`.
fn shown<'a>(issued: &'a IssuedCredential, kind: SecretKind, field: &str) -> &'a String {
    issued
        .shown(kind, field)
        .unwrap_or_else(|| panic!("every credential has {kind}.{field}"))
}

impl IssuedSecrets for IssuedCredential {
    fn native_token(&self) -> &String {
        shown(self, native::SECRETS.kind(), "token")
    }
    fn prefactor_api_token(&self) -> &String {
        shown(self, prefactor::SECRETS.kind(), "api_token")
    }
    fn looker_client_id(&self) -> &String {
        shown(self, looker::SECRETS.kind(), "client_id")
    }
    fn looker_client_secret(&self) -> &String {
        shown(self, looker::SECRETS.kind(), "client_secret")
    }
    fn huawei_access_key(&self) -> &String {
        shown(self, huawei::SECRETS.kind(), "access_key")
    }
    fn huawei_secret_key(&self) -> &String {
        shown(self, huawei::SECRETS.kind(), "secret_key")
    }
}
