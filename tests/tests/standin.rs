//! The test stand-in as a consumer's CI uses it: the real binary started
//! with the documented example fixtures and `--testing-api`, driven by
//! Looker's and Huawei's official Python SDKs with the fixtures' secrets,
//! while the test moves the server's clock past a session's expiry and a
//! Looker token's lifetime and injects each dialect's faults through the
//! testing API; then the journal says what each SDK did. The generated
//! Rust client goes through the same (fixtures, expiry, a fault, reset).
//!
//! Without Python this test fails, saying what to install (see
//! `tests/src/python.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use login_sessions_tests::python;
use login_sessions_tests::standin::{StandIn, example_fixtures, example_fixtures_json};
use serde_json::{Value, json};

/// What a script printed on its last line, as JSON; it must succeed.
fn run_script(script: &str, env: &[(&str, &str)], stdin: Option<Value>) -> Value {
    let python = python::python();
    let path = python::workspace_root().join("tests/sdk").join(script);
    let workdir = tempfile::tempdir().unwrap();
    let mut command = Command::new(&python);
    command
        .arg(&path)
        .current_dir(workdir.path())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars() {
        if name.starts_with("LOOKERSDK_") {
            command.env_remove(name);
        }
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let input = stdin.map(|value| value.to_string()).unwrap_or_default();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}):\n{stdout}"))
}

fn listed(seen: &Value) -> Vec<&str> {
    seen["listed"]
        .as_array()
        .unwrap_or_else(|| panic!("expected a listing, the SDK saw {seen}"))
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn looker_sdk_sees_expiry_a_lapsed_token_and_an_injected_429() {
    let stand_in = tokio::task::spawn_blocking(|| StandIn::start(&example_fixtures()))
        .await
        .unwrap();
    let fixtures = example_fixtures_json();
    let admin = &fixtures["credentials"][0];
    let expiring = fixtures["sessions"][0]["id"].as_str().unwrap();
    let long_lived = fixtures["sessions"][1]["id"].as_str().unwrap();
    let url = stand_in.url.clone();
    let env = [
        ("LOOKERSDK_BASE_URL", url.as_str()),
        (
            "LOOKERSDK_CLIENT_ID",
            admin["looker"]["client_id"].as_str().unwrap(),
        ),
        (
            "LOOKERSDK_CLIENT_SECRET",
            admin["looker"]["client_secret"].as_str().unwrap(),
        ),
        ("LOOKERSDK_VERIFY_SSL", "false"),
        ("LOOKERSDK_TIMEOUT", "30"),
        ("LS_URL", url.as_str()),
        ("LS_ADMIN_TOKEN", admin["native"]["token"].as_str().unwrap()),
        ("LS_USER_ID", "42"),
    ];
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let seen = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run_script("looker/standin.py", &env, None)
    })
    .await
    .unwrap();

    // Before: both live sessions of user 42 (Looker lists live ones only).
    let before = listed(&seen["before"]);
    assert!(
        before.contains(&expiring) && before.contains(&long_lived),
        "{seen}"
    );
    // The SDK keeps the token it holds until its own (wall) clock says it
    // expired: the server, an hour later, refuses it as Looker does.
    assert_eq!(
        seen["cached_token"]["raised"], "looker_sdk.error.SDKError",
        "{seen}"
    );
    assert_eq!(seen["cached_token"]["message"], "Requires authentication.");
    // Logged in again, it no longer sees the session that expired.
    let after = listed(&seen["new_login"]);
    assert!(
        !after.contains(&expiring) && after.contains(&long_lived),
        "{seen}"
    );
    // The injected 429 surfaces as the SDK's own error, with Looker's body.
    assert_eq!(
        seen["throttled"]["raised"], "looker_sdk.error.SDKError",
        "{seen}"
    );
    assert!(
        seen["throttled"]["documentation_url"]
            .as_str()
            .unwrap()
            .ends_with("/docs/looker/errors#429"),
        "{seen}"
    );
    assert_eq!(listed(&seen["retried"]), after);

    // The journal: every SDK request, with the credential that made it.
    let journal = stand_in.journal("looker").await;
    let summary: Vec<(String, u64)> = journal
        .iter()
        .map(|entry| {
            (
                entry["operation_id"].as_str().unwrap().to_string(),
                entry["status"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, u64)> = [
        ("login", 200),
        ("all_user_sessions", 200),
        ("all_user_sessions", 401),
        ("login", 200),
        ("all_user_sessions", 200),
        ("all_user_sessions", 429),
        ("all_user_sessions", 200),
    ]
    .iter()
    .map(|(operation, status)| (operation.to_string(), *status))
    .collect();
    assert_eq!(summary, expected);
    for entry in &journal {
        let authenticated = entry["status"] == 200;
        assert_eq!(
            entry["credential_id"] == admin["id"],
            authenticated,
            "the credential is named exactly when it authenticated: {entry}"
        );
    }
    let text = Value::Array(journal).to_string();
    assert!(!text.contains(admin["looker"]["client_secret"].as_str().unwrap()));
}

#[tokio::test(flavor = "multi_thread")]
async fn huawei_sdk_sees_expiry_and_injected_faults_as_its_own_exceptions() {
    let stand_in = tokio::task::spawn_blocking(|| StandIn::start(&example_fixtures()))
        .await
        .unwrap();
    let fixtures = example_fixtures_json();
    let admin = &fixtures["credentials"][0];
    let expiring = fixtures["sessions"][0]["id"].as_str().unwrap();
    let input = json!({
        "endpoint": stand_in.url,
        "admin_token": admin["native"]["token"],
        "ak": admin["huawei"]["access_key"],
        "sk": admin["huawei"]["secret_key"],
        "store": "acme",
        "user": "42",
    });
    let seen =
        tokio::task::spawn_blocking(move || run_script("huawei/standin.py", &[], Some(input)))
            .await
            .unwrap();

    assert!(listed(&seen["before"]).contains(&expiring), "{seen}");
    // The server's clock moved an hour; the SDK still signs with wall time,
    // and the server still accepts its signatures.
    assert!(
        !listed(&seen["after_advance"]).contains(&expiring),
        "{seen}"
    );
    assert_eq!(
        seen["throttled"]["raised"],
        "huaweicloudsdkcore.exceptions.exceptions.ClientRequestException",
        "{seen}"
    );
    assert_eq!(seen["throttled"]["status_code"], 429, "{seen}");
    // The SDK's transport turns a 429 into its own error without reading
    // the body (urllib3's "too many 429 error responses", no retry by
    // default): the code is the SDK's "429", not the body's APIGW.0308,
    // and it has no request id. That is what it does against Huawei too.
    assert_eq!(seen["throttled"]["error_code"], "429", "{seen}");
    assert_eq!(seen["throttled"]["request_id"], "", "{seen}");
    assert_eq!(
        seen["unavailable"]["raised"],
        "huaweicloudsdkcore.exceptions.exceptions.ServerResponseException",
        "{seen}"
    );
    assert_eq!(seen["unavailable"]["status_code"], 503);
    assert_eq!(
        listed(&seen["served_again"]),
        listed(&seen["after_advance"])
    );

    let journal = stand_in.journal("huawei").await;
    let statuses: Vec<u64> = journal
        .iter()
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 200, 429, 503, 200]);
    assert!(journal.iter().all(|e| e["operation_id"] == "ListSessions"));
    assert_eq!(journal[0]["credential_id"], admin["id"]);
    // The 503's exception names the request the journal holds, and its
    // code is the one the body carried.
    assert_eq!(journal[3]["request_id"], seen["unavailable"]["request_id"]);
    assert_eq!(seen["unavailable"]["error_code"], "IIC.503");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_generated_rust_client_sees_fixtures_expiry_faults_and_reset() {
    use login_sessions_client::types::{EndReason, NativeErrorCode, SessionStatus};
    use login_sessions_tests::error_response;

    let stand_in = tokio::task::spawn_blocking(|| StandIn::start(&example_fixtures()))
        .await
        .unwrap();
    let fixtures = example_fixtures_json();
    let admin = &fixtures["credentials"][0];
    let expiring = fixtures["sessions"][0]["id"].as_str().unwrap();
    let client = login_sessions_client::auth::native_client(
        &stand_in.url,
        admin["native"]["token"].as_str().unwrap(),
    )
    .unwrap();
    let view = || client.session_view().session_id(expiring).send();

    let session = view().await.unwrap().into_inner();
    assert_eq!(session.status, SessionStatus::Authenticated);
    assert!(session.live);
    assert_eq!(session.browser.as_deref(), Some("Chrome"));

    stand_in.advance(3601).await;
    let session = view().await.unwrap().into_inner();
    assert_eq!(session.status, SessionStatus::Complete);
    assert_eq!(session.end_reason, Some(EndReason::Expired));

    stand_in.fault("native", "session_view", 503, 1).await;
    let (status, error) = error_response(view().await.unwrap_err());
    assert_eq!(status, 503);
    assert_eq!(error.error_code, NativeErrorCode::Unavailable);
    assert!(view().await.is_ok(), "one request answered the fault");

    let prefactor = login_sessions_client::auth::prefactor_client(
        &stand_in.url,
        admin["prefactor"]["api_token"].as_str().unwrap(),
    )
    .unwrap();
    prefactor
        .fetch_session()
        .session_id(expiring)
        .send()
        .await
        .expect("the fixtures' Prefactor token works");

    let journal = stand_in.journal("native").await;
    let statuses: Vec<u64> = journal
        .iter()
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 200, 503, 200]);
    assert_eq!(journal[2]["request_id"], error.request_id.as_str());
    assert_eq!(stand_in.journal("prefactor").await.len(), 1);

    let (status, _) = stand_in.testing("POST", "/reset", None).await;
    assert_eq!(status, 204);
    let session = view().await.unwrap().into_inner();
    assert!(session.live, "back to the fixtures' clock");
    assert_eq!(
        stand_in.journal("native").await.len(),
        1,
        "only the request since"
    );
}
