//! Contract-test harness: the real server on 127.0.0.1:0 over a real
//! SQLite file, a clock the test moves, and a recording proxy in front of
//! it that validates every response any client receives against the
//! published spec.
//!
//! Tests talk to [`TestServer::url`] (the proxy) through the generated
//! client or a vendor SDK; at the end [`TestServer::finish`] asserts that
//! every response was valid for its operation and status.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod proxy;
pub mod python;
pub mod spec;

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use dropshot::{ConfigLogging, ConfigLoggingLevel, HttpServer};
use login_sessions_client::Client;
use login_sessions_server::clock::ManualClock;
use login_sessions_server::domain::credential::Role;
use login_sessions_server::enrich::Enricher;
use login_sessions_server::http::{self, ApiContext};
use login_sessions_server::secrets::ServerKey;
use login_sessions_server::service::SessionSettings;
use login_sessions_server::service::credentials::{
    CredentialRequest, IssuedCredential, IssuedTemporaryHuaweiKey,
};
use login_sessions_server::store::SharedStore;
use login_sessions_server::store::sqlite::SqliteStore;
use tempfile::TempDir;

use proxy::RecordingProxy;
use spec::SpecValidator;

/// Paths the server answers that the spec deliberately does not publish.
pub const UNPUBLISHED_PATHS: &[&str] = &["/healthz"];

/// The public URL every test server is configured with (links in
/// responses are built from it; nothing listens there).
pub const PUBLIC_URL: &str = "http://login-sessions.test";

/// When every test's clock starts: a fixed, unremarkable moment.
pub fn test_epoch() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T12:00:00.000Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A running server with everything a contract test needs.
pub struct TestServer {
    /// The server's clock; move it to test expiry.
    pub clock: Arc<ManualClock>,
    /// The store under the server, for assertions about what was written.
    pub store: SharedStore,
    /// An `admin` credential.
    pub admin: IssuedCredential,
    proxy: RecordingProxy,
    server: HttpServer<ApiContext>,
    _dir: TempDir,
}

impl TestServer {
    /// Starts a server over a fresh SQLite file.
    pub async fn start() -> TestServer {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store: SharedStore = Arc::new(
            SqliteStore::open(&dir.path().join("sessions.db")).expect("open SQLite store"),
        );
        TestServer::start_on(store, dir).await
    }

    /// Starts a server over a fresh SQLite file that enriches sessions with
    /// `enricher` (for example with GeoIP databases built by the test).
    pub async fn start_with_enricher(enricher: Arc<Enricher>) -> TestServer {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store: SharedStore = Arc::new(
            SqliteStore::open(&dir.path().join("sessions.db")).expect("open SQLite store"),
        );
        TestServer::start_configured(store, dir, |context| context.with_enricher(enricher)).await
    }

    /// Starts a server over `store`; `dir` lives as long as the server.
    pub async fn start_on(store: SharedStore, dir: TempDir) -> TestServer {
        TestServer::start_configured(store, dir, |context| context).await
    }

    /// Starts a server over a fresh SQLite file with a context changed by
    /// `configure` (another documentation URL, say).
    pub async fn start_with(configure: impl FnOnce(ApiContext) -> ApiContext) -> TestServer {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store: SharedStore = Arc::new(
            SqliteStore::open(&dir.path().join("sessions.db")).expect("open SQLite store"),
        );
        TestServer::start_configured(store, dir, configure).await
    }

    async fn start_configured(
        store: SharedStore,
        dir: TempDir,
        configure: impl FnOnce(ApiContext) -> ApiContext,
    ) -> TestServer {
        let clock = Arc::new(ManualClock::new(test_epoch()));
        let key = Arc::new(ServerKey::generate());
        let bind: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let context = configure(ApiContext::new(
            store.clone(),
            clock.clone(),
            key,
            SessionSettings::default(),
            PUBLIC_URL.into(),
        ));
        let log = ConfigLogging::StderrTerminal {
            level: ConfigLoggingLevel::Warn,
        }
        .to_logger("login-sessions-test")
        .expect("logger");
        let server = http::start(context, bind, log).expect("start server");
        let validator = Arc::new(SpecValidator::load());
        let proxy = RecordingProxy::start(server.local_addr(), validator).await;
        proxy.allow_unmatched(UNPUBLISHED_PATHS);
        let admin = issue(&server, Role::Admin, None, None).await;
        TestServer {
            clock,
            store,
            admin,
            proxy,
            server,
            _dir: dir,
        }
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

    /// Issues temporary Huawei credentials (AK/SK + security token) for
    /// `parent`, valid for `ttl_seconds` (default one hour) from the
    /// server's clock.
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
        self.native_client(&self.admin.native_token)
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
        assert!(
            checked > 0,
            "the test sent no request through the validating proxy"
        );
        self.server.close().await.expect("server closes cleanly");
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
