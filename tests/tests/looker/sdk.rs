//! Looker's official Python SDK (`looker-sdk`, pinned in
//! `tests/sdk/requirements.txt`, unmodified) against a live server,
//! configured only through its `LOOKERSDK_*` environment variables. The
//! script, `tests/sdk/looker/sdk_flow.py`, asserts what the SDK sees; this
//! test provisions Python (failing, never skipping, when it cannot),
//! prepares the sessions, runs the script, and checks what went over the
//! wire.

use std::time::Duration;

use login_sessions_tests::IssuedSecrets;
use login_sessions_tests::python;

use super::*;

/// How long the script may take (it makes a few dozen local requests).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

pub(super) async fn the_official_python_sdk_works_unmodified(kind: StoreKind) {
    // Fails the test, with what to install, when Python is not usable.
    let python = tokio::task::spawn_blocking(python::python)
        .await
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()));
    let server = TestServer::start_with(kind).await;
    let session = record(&server, "acme", "42").await;
    let to_delete = record(&server, "globex", "42").await;
    let someone_elses = record(&server, "acme", "7").await;

    let script = python::workspace_root()
        .join("tests")
        .join("sdk")
        .join("looker")
        .join("sdk_flow.py");
    // An empty working directory: no looker.ini to pick up.
    let workdir = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(&python);
    command
        .arg(&script)
        .current_dir(workdir.path())
        .kill_on_drop(true);
    for (name, _) in std::env::vars() {
        if name.starts_with("LOOKERSDK_") {
            command.env_remove(name);
        }
    }
    command
        .env("LOOKERSDK_BASE_URL", server.url())
        .env("LOOKERSDK_CLIENT_ID", server.admin.looker_client_id())
        .env(
            "LOOKERSDK_CLIENT_SECRET",
            server.admin.looker_client_secret(),
        )
        .env("LOOKERSDK_VERIFY_SSL", "false")
        .env("LOOKERSDK_TIMEOUT", "30")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("LS_USER_ID", "42")
        .env("LS_SESSION_ID", &session)
        .env("LS_DELETE_SESSION_ID", &to_delete)
        .env("LS_OTHER_USER_SESSION_ID", &someone_elses);
    let output = tokio::time::timeout(SCRIPT_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("{} took longer than {SCRIPT_TIMEOUT:?}", script.display()))
        .unwrap_or_else(|error| panic!("running {}: {error}", python.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the Looker SDK script failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    let results: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|error| panic!("the script's last line is not JSON ({error}):\n{stdout}"));

    assert_eq!(results["session"]["id"], session.as_str());
    assert_eq!(
        results["session"]["url"],
        format!("{PUBLIC_URL}/api/4.0/users/42/sessions/{session}")
    );
    assert_eq!(results["deleted"], "");
    assert_eq!(
        native_status(&server, &to_delete).await,
        SessionStatus::Revoked
    );
    assert_eq!(
        results["not_found"],
        json!({
            "message": "Not found",
            "documentation_url": format!("{PUBLIC_URL}/docs/looker/errors#404"),
        })
    );
    assert_eq!(results["bad_fields"]["field"], "fields");
    assert_eq!(results["bad_fields"]["code"], "invalid");
    assert_eq!(
        results["sudo_session"]["sudo_user_id"],
        server.admin.credential.id.as_str()
    );
    assert_eq!(results["sudo_session"]["credentials_type"], "api3");
    let sudo_session = results["sudo_session"]["id"].as_str().unwrap();
    assert_eq!(
        native_status(&server, sudo_session).await,
        SessionStatus::Complete
    );
    assert_eq!(results["after_logout"], "Requires authentication.");
    assert_eq!(results["scoped"], json!([session]));
    assert_eq!(results["outbound"], json!([]));

    // What went over the wire, as the proxy saw it.
    let exchanges = server.proxy().exchanges();
    let sdk_requests: Vec<_> = exchanges
        .iter()
        .filter(|e| {
            e.request_headers
                .get("x-looker-appid")
                .is_some_and(|id| id.to_str().unwrap_or_default().starts_with("PY SDK"))
        })
        .collect();
    assert!(!sdk_requests.is_empty(), "the SDK identified itself");
    let logins: Vec<_> = sdk_requests
        .iter()
        .filter(|e| e.method == "POST" && e.path == "/api/4.0/login")
        .collect();
    assert_eq!(
        logins.len(),
        2,
        "one login per init40(), cached for later calls"
    );
    for login in &logins {
        assert_eq!(
            login.request_headers["content-type"],
            "application/x-www-form-urlencoded"
        );
        assert_eq!(login.status, 200);
    }
    let sudo_logins = sdk_requests
        .iter()
        .filter(|e| e.method == "POST" && e.path == "/api/4.0/login/42")
        .count();
    assert_eq!(sudo_logins, 1);
    let unversioned_logouts: Vec<_> = sdk_requests
        .iter()
        .filter(|e| e.method == "DELETE" && e.path == UNVERSIONED_LOGOUT)
        .collect();
    assert_eq!(
        unversioned_logouts.len(),
        2,
        "the sudo logout and the end of the `with` block"
    );
    assert!(unversioned_logouts.iter().all(|e| e.status == 204));
    assert!(
        sdk_requests
            .iter()
            .filter(|e| e.path.starts_with("/api/4.0/users/"))
            .all(|e| e
                .request_headers
                .get("authorization")
                .is_some_and(|a| a.to_str().unwrap_or_default().starts_with("Bearer "))),
        "the SDK sends Bearer tokens"
    );
    assert!(
        sdk_requests
            .iter()
            .any(|e| e.query.as_deref() == Some("fields=id%2C+created_at")
                || e.query.as_deref() == Some("fields=id%2C%20created_at")),
        "fields went percent-encoded: {:?}",
        sdk_requests
            .iter()
            .filter_map(|e| e.query.clone())
            .collect::<Vec<_>>()
    );
    server.finish().await;
}
