//! Property-based tests generated from the published spec: schemathesis
//! (pinned in `tests/sdk/requirements.txt`) sends requests it derives from
//! `openapi/login-sessions.json` to the real server, through the validating
//! proxy, with the real credentials of an `admin` credential, and checks
//! both directions of the contract:
//!
//! * requests the spec admits are accepted (`positive_data_acceptance`) and
//!   those it forbids are refused (`negative_data_rejection`);
//! * responses conform to the spec: status codes, content types, schemas
//!   and headers;
//! * requests without credentials, or with made-up ones, are 401
//!   (`ignored_auth`).
//!
//! `tests/schemathesis/hooks.py` authenticates each request as its dialect
//! expects (bearer tokens, a Looker token from `login`, Huawei AK/SK
//! signatures) and drops only the failures that a documented exception of
//! `tests/schemathesis/exceptions.toml` explains. The run is bounded (a few
//! examples per operation and phase) and reproducible (a fixed seed,
//! deterministic generation). The hook's signer is tested first, on its
//! own: a request it signs is accepted and one signed with a wrong secret
//! key is refused.
//!
//! Without Python this test fails, saying what to install. Every test runs
//! on both stores (`sqlite::NAME`, `postgres::NAME`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use chrono::Utc;
use login_sessions_server::service::SessionSettings;
use login_sessions_tests::IssuedSecrets;
use login_sessions_tests::python;
use login_sessions_tests::spec::SpecValidator;
use login_sessions_tests::{StoreKind, TestServer};
use serde_json::Value;
use tokio::process::Command;

/// Test cases per operation and generation phase.
const MAX_EXAMPLES: &str = "100";

/// The seed of the run: the same requests every time.
const SEED: &str = "20260301";

/// Where schemathesis probes a path the spec does not publish.
const PROBE_PATH: &str = "/schemathesis-probe";

/// The checks run on every response.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
    response_headers_conformance,response_schema_conformance,positive_data_acceptance,\
    negative_data_rejection,ignored_auth";

fn hooks_dir() -> PathBuf {
    python::workspace_root().join("tests").join("schemathesis")
}

/// The environment the hooks take the server and the admin's credentials
/// from.
fn hook_environment(server: &TestServer) -> BTreeMap<&'static str, String> {
    let admin = &server.admin;
    let max_ttl = SessionSettings::default().max_ttl.num_seconds();
    BTreeMap::from([
        ("LS_BASE_URL", server.url()),
        ("LS_NATIVE_TOKEN", admin.native_token().clone()),
        ("LS_PREFACTOR_TOKEN", admin.prefactor_api_token().clone()),
        ("LS_LOOKER_CLIENT_ID", admin.looker_client_id().clone()),
        (
            "LS_LOOKER_CLIENT_SECRET",
            admin.looker_client_secret().clone(),
        ),
        ("LS_HUAWEI_AK", admin.huawei_access_key().clone()),
        ("LS_HUAWEI_SK", admin.huawei_secret_key().clone()),
        ("LS_MAX_TTL_SECONDS", max_ttl.to_string()),
    ])
}

async fn run(command: &mut Command, what: &str) -> Output {
    command
        .output()
        .await
        .unwrap_or_else(|e| panic!("{what}: could not run {command:?}: {e}"))
}

fn text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The hook's signer, on its own: what the server answers a request it
/// signs, and one it signs with a wrong secret key.
async fn the_hook_signer_is_accepted_and_a_wrong_signature_refused(venv: &Path) {
    let server = TestServer::start_with(StoreKind::Sqlite).await;
    server.clock.set(Utc::now());
    let output = run(
        Command::new(venv.join("bin").join("python"))
            .arg(hooks_dir().join("check_signer.py"))
            .envs(hook_environment(&server))
            .env("PYTHONPATH", hooks_dir()),
        "checking the hook's Huawei signer",
    )
    .await;
    assert!(output.status.success(), "{}", text(&output));
    let statuses: Value = serde_json::from_slice(&output.stdout).expect("check_signer.py's JSON");
    assert_eq!(statuses["signed"], 200, "{statuses}");
    assert_eq!(statuses["signed_body"], 200, "{statuses}");
    assert_eq!(statuses["wrong_secret"], 401, "{statuses}");
    assert_eq!(statuses["wrong_secret_code"], "APIGW.0301", "{statuses}");
    server.finish().await;
}

/// Lets the proxy pass schemathesis's probes, which no operation matches by
/// design: other methods on published paths (answered 405) and its probe
/// of an unpublished path. Every other exchange must match the spec.
fn allow_probes(server: &TestServer) {
    let probes: Vec<String> = server
        .proxy()
        .exchanges()
        .into_iter()
        .filter(|exchange| exchange.operation_id.is_none())
        .filter(|exchange| exchange.status == 405 || exchange.path.starts_with(PROBE_PATH))
        .map(|exchange| exchange.path)
        .collect();
    let probes: Vec<&str> = probes.iter().map(String::as_str).collect();
    server.proxy().allow_unmatched(&probes);
}

async fn the_server_agrees_with_its_spec(kind: StoreKind) {
    let venv = tokio::task::spawn_blocking(python::venv)
        .await
        .expect("setting up the venv");
    if kind == StoreKind::Sqlite {
        the_hook_signer_is_accepted_and_a_wrong_signature_refused(&venv).await;
    }

    let server = TestServer::start_with(kind).await;
    // The hooks sign Huawei requests with the wall clock.
    server.clock.set(Utc::now());
    let spec = python::workspace_root()
        .join("openapi")
        .join("login-sessions.json");
    let report = tempfile::tempdir().unwrap();
    let output = run(
        Command::new(venv.join("bin").join("schemathesis"))
            .arg("run")
            .arg(&spec)
            .args(["--url", &server.url()])
            .args(["--checks", CHECKS])
            .args(["--phases", "examples,coverage,fuzzing"])
            .args(["--max-examples", MAX_EXAMPLES])
            .args(["--seed", SEED])
            .arg("--generation-deterministic")
            .args(["--workers", "1"])
            .arg("--continue-on-failure")
            .args(["--suppress-health-check", "all"])
            .args(["--warnings", "off"])
            .args(["--report", "junit"])
            .arg("--report-dir")
            .arg(report.path())
            // Its caches go to the temporary directory, not the work tree.
            .current_dir(report.path())
            .env("SCHEMATHESIS_HOOKS", "hooks")
            .env("PYTHONPATH", hooks_dir())
            .env("NO_COLOR", "1")
            .envs(hook_environment(&server)),
        "running schemathesis",
    )
    .await;
    assert!(
        output.status.success(),
        "schemathesis found disagreements between the spec and the server:\n{}",
        text(&output)
    );

    // The credentials worked: every published operation got an answer
    // other than 401, so the checks above ran past authentication.
    let exchanges = server.proxy().exchanges();
    allow_probes(&server);
    for operation in SpecValidator::load().operation_ids() {
        assert!(
            exchanges.iter().any(|exchange| {
                exchange.operation_id.as_deref() == Some(operation.as_str())
                    && exchange.status != 401
            }),
            "schemathesis never got past authentication on {operation}:\n{}",
            text(&output)
        );
    }
    server.finish().await;
}

login_sessions_tests::contract_tests![the_server_agrees_with_its_spec];
