//! Huawei's official Python SDK (`huaweicloudsdkidentitycenterstore` with
//! `huaweicloudsdkcore`, unmodified, pinned in `tests/sdk/requirements.txt`)
//! against the live server: `tests/sdk/huawei/sdk_check.py` signs with the
//! SDK's own signer, lists and deletes sessions, and reports what the SDK
//! returned and raised. Its traffic goes through the validating proxy.
//!
//! The SDK signs with the wall clock, so the server's clock is set to now.
//! Without Python this test fails, saying what to install.
//!
//! Every test runs on both stores (`sqlite::NAME`, `postgres::NAME`): see
//! the harness's documentation (`tests/src/lib.rs`) for the scheme.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Stdio;

use chrono::Utc;
use login_sessions_client::types::{Session, UserId};
use login_sessions_server::domain::credential::Role;
use login_sessions_tests::IssuedSecrets;
use login_sessions_tests::proxy::is_request_id;
use login_sessions_tests::python;
use login_sessions_tests::{StoreKind, TestServer};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

async fn record(server: &TestServer, store: &str, user: &str, agent: Option<&str>) -> Session {
    server
        .admin_client()
        .session_create()
        .body_map(|b| {
            b.identity_store_id(store)
                .user_id(user.parse::<UserId>().unwrap())
                .ip_address(Some("198.51.100.23".parse().unwrap()))
                .user_agent(agent.map(str::to_string))
        })
        .send()
        .await
        .expect("record a session")
        .into_inner()
}

fn listed_ids(listed: &Value) -> Vec<&str> {
    listed
        .as_array()
        .unwrap()
        .iter()
        .map(|session| session["session_id"].as_str().unwrap())
        .collect()
}

async fn the_official_python_sdk_lists_and_deletes_sessions(kind: StoreKind) {
    let python = tokio::task::spawn_blocking(python::python)
        .await
        .expect("setting up the SDK venv");
    let server = TestServer::start_with(kind).await;
    server.clock.set(Utc::now());
    let store = "d-1234567890";
    let user = "u-1";
    let odd_user = "user 1+~/é";

    let agent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    let first = record(&server, store, user, Some(agent)).await;
    server.clock.advance(chrono::TimeDelta::seconds(1));
    let second = record(&server, store, user, None).await;
    server.clock.advance(chrono::TimeDelta::seconds(1));
    let third = record(&server, store, user, Some("curl/8.5.0")).await;
    let odd = record(&server, store, odd_user, None).await;
    record(&server, store, "someone-else", None).await;

    let temporary = server.issue_temporary_huawei(&server.admin, None).await;
    let user_credential = server.issue(Role::User, Some(store), Some(user)).await;
    let input = json!({
        "endpoint": server.url(),
        "store": store,
        "user": user,
        "odd_user": odd_user,
        "admin": {
            "ak": server.admin.huawei_access_key(),
            "sk": server.admin.huawei_secret_key(),
        },
        "temporary": {
            "ak": temporary.access_key,
            "sk": temporary.secret_key,
            "token": temporary.security_token,
        },
        "user_credential": {
            "ak": user_credential.huawei_access_key(),
            "sk": user_credential.huawei_secret_key(),
        },
        "delete": [first.id, third.id, odd.id, "not-a-session"],
    });

    let home = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(&python)
        .arg(python::sdk_script("huawei/sdk_check.py"))
        // The SDK writes ~/.huaweicloud/application_id: keep it out of the
        // real home. No proxies, no credentials or endpoints from the
        // environment.
        .env("HOME", home.path())
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("HUAWEICLOUD_SDK_AK")
        .env_remove("HUAWEICLOUD_SDK_SK")
        .env_remove("HUAWEICLOUD_SDK_SECURITY_TOKEN")
        .env_remove("HUAWEICLOUD_SDK_PROJECT_ID")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("running the SDK script");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        child.wait_with_output(),
    )
    .await
    .expect("the SDK script finishes within two minutes")
    .unwrap();
    assert!(
        output.status.success(),
        "the SDK script failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "the SDK script printed no JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });

    // list_sessions: the sessions, newest first, with Huawei's types.
    let listed = &result["listed"];
    assert_eq!(
        listed_ids(listed),
        [third.id.as_str(), second.id.as_str(), first.id.as_str()]
    );
    let oldest = &listed[2];
    assert_eq!(oldest["creation_time"], first.created_at.timestamp());
    assert_eq!(
        oldest["session_not_valid_after"],
        first.expires_at.timestamp()
    );
    assert_eq!(oldest["ip_address"], "198.51.100.23");
    assert_eq!(oldest["user_agent"], format!("[{agent}]"));
    assert_eq!(oldest["user_id"], user);
    assert_eq!(listed[1]["user_agent"], Value::Null, "absent");
    assert_eq!(listed_ids(&result["odd_listed"]), [odd.id.as_str()]);
    assert_eq!(result["odd_listed"][0]["user_id"], odd_user);
    assert_eq!(result["empty_listed"], json!([]));

    // Temporary credentials, with and without X-Project-Id; not without
    // the token.
    assert_eq!(result["temporary_listed"], *listed);
    assert_eq!(result["temporary_with_project_listed"], *listed);
    let no_token = &result["temporary_without_token"];
    assert_eq!(no_token["status_code"], 401);
    assert_eq!(no_token["error_code"], "APIGW.0301");

    // A wrong SK: ClientRequestException 401 APIGW.0301 with the request id.
    let wrong = &result["wrong_sk"];
    assert_eq!(wrong["status_code"], 401);
    assert_eq!(wrong["error_code"], "APIGW.0301");
    assert!(
        wrong["error_msg"]
            .as_str()
            .unwrap()
            .starts_with("Incorrect IAM authentication information: verify aksk signature fail"),
        "{wrong}"
    );
    let request_id = wrong["request_id"]
        .as_str()
        .expect("the SDK read a request id");
    assert!(
        is_request_id(request_id.as_bytes()),
        "not Huawei's format: {request_id:?}"
    );
    let exchange = server
        .proxy()
        .exchanges()
        .into_iter()
        .find(|exchange| exchange.status == 401 && exchange.response_text().contains("verify aksk"))
        .unwrap();
    let body: Value = serde_json::from_slice(&exchange.response_body).unwrap();
    assert_eq!(body["request_id"], request_id, "body and header agree");

    // A user credential: 403 IIC.1000 with the encoded message.
    let forbidden = &result["forbidden"];
    assert_eq!(forbidden["status_code"], 403);
    assert_eq!(forbidden["error_code"], "IIC.1000");
    assert!(forbidden["encoded_auth_msg"].is_string(), "{forbidden}");
    assert!(forbidden["request_id"].is_string());

    // An empty id list: 400 IIC.400.
    let bad = &result["bad_request"];
    assert_eq!(bad["status_code"], 400);
    assert_eq!(bad["error_code"], "IIC.400");

    // batch_delete_sessions removed exactly the ones named.
    assert_eq!(result["delete_status"], 200);
    assert_eq!(result["delete_body"], "{}");
    assert_eq!(result["odd_delete_status"], 200);
    assert_eq!(listed_ids(&result["after_delete"]), [second.id.as_str()]);
    assert_eq!(result["odd_after_delete"], json!([]));

    // The SDK signed X-Project-Id and X-Security-Token, and sent the odd
    // user id percent-encoded, '/' as %2F.
    let exchanges = server.proxy().exchanges();
    assert!(exchanges.iter().any(|exchange| {
        exchange.request_headers.get("authorization").is_some_and(|value| {
            value
                .to_str()
                .unwrap()
                .contains("SignedHeaders=content-type;host;user-agent;x-project-id;x-sdk-date;x-security-token")
        })
    }));
    assert!(
        exchanges
            .iter()
            .any(|exchange| exchange.path.contains("/users/user%201%2B~%2F%C3%A9/")),
        "{:?}",
        exchanges.iter().map(|e| &e.path).collect::<Vec<_>>()
    );
    server.finish().await;
}

login_sessions_tests::contract_tests![the_official_python_sdk_lists_and_deletes_sessions,];
