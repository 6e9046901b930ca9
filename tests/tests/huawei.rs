//! Contract tests of the Huawei Cloud IAM Identity Center dialect
//! (`ListSessions`, `BatchDeleteSessions`) through the generated client,
//! which signs every request with the AK/SK signer of
//! `login_sessions_client::huawei`; every response is validated against
//! the spec by the harness's proxy. Requests the generated client will not
//! send (tampered, unsigned, oversized) are signed with the same signer
//! and sent with reqwest, through the proxy as well.
//!
//! Every test runs on both stores (`sqlite::NAME`, `postgres::NAME`): see
//! the harness's documentation (`tests/src/lib.rs`) for the scheme.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::TimeDelta;
use login_sessions_client::huawei::{self as signing, HuaweiCredentials, huawei_client};
use login_sessions_client::types::{
    BatchDeleteSessionsReqBodySessionIdsItem, HuaweiError, Session, UserId, UserSessionDto,
};
use login_sessions_client::{Client, Error, ResponseValue};
use login_sessions_server::clock::Clock;
use login_sessions_server::domain::credential::Role;
use login_sessions_server::service::credentials::IssuedCredential;
use login_sessions_tests::IssuedSecrets;
use login_sessions_tests::proxy::is_request_id;
use login_sessions_tests::{StoreKind, TestServer, test_epoch};
use serde_json::Value;

/// The Huawei messages of authentication failures start with this.
const AUTH_PREFIX: &str = "Incorrect IAM authentication information";

/// Credentials that sign with the server's (test-controlled) clock.
fn credentials(server: &TestServer, access_key: &str, secret_key: &str) -> HuaweiCredentials {
    let clock = server.clock.clone();
    HuaweiCredentials::new(access_key, secret_key).with_clock(Arc::new(move || clock.now()))
}

/// The generated client signing with `issued`'s permanent AK/SK.
fn client_for(server: &TestServer, issued: &IssuedCredential) -> Client {
    huawei_client(
        &server.url(),
        credentials(
            server,
            issued.huawei_access_key(),
            issued.huawei_secret_key(),
        ),
    )
    .unwrap()
}

async fn record(
    server: &TestServer,
    store: &str,
    user: &str,
    ip: Option<&str>,
    agent: Option<&str>,
) -> Session {
    server
        .admin_client()
        .session_create()
        .body_map(|b| {
            b.identity_store_id(store)
                .user_id(user.parse::<UserId>().unwrap())
                .ip_address(ip.map(|ip| ip.parse().unwrap()))
                .user_agent(agent.map(str::to_string))
        })
        .send()
        .await
        .expect("record a session")
        .into_inner()
}

async fn list(client: &Client, store: &str, user: &str) -> Vec<UserSessionDto> {
    client
        .list_sessions()
        .identity_store_id(store)
        .user_id(user)
        .send()
        .await
        .expect("ListSessions")
        .into_inner()
        .session_list
}

async fn batch_delete(
    client: &Client,
    store: &str,
    user: &str,
    ids: Vec<String>,
) -> Result<
    ResponseValue<login_sessions_client::types::BatchDeleteSessionsResponse>,
    Error<HuaweiError>,
> {
    client
        .batch_delete_sessions()
        .identity_store_id(store)
        .user_id(user)
        .body_map(|b| {
            b.session_ids(
                ids.iter()
                    .map(|id| {
                        BatchDeleteSessionsReqBodySessionIdsItem::try_from(id.as_str()).unwrap()
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .send()
        .await
}

fn ids(sessions: &[UserSessionDto]) -> Vec<String> {
    sessions.iter().map(|s| s.session_id.to_string()).collect()
}

/// An error the generated client received: status, `X-Request-Id` header,
/// body.
fn huawei_error<T: std::fmt::Debug>(
    result: Result<T, Error<HuaweiError>>,
) -> (u16, String, HuaweiError) {
    match result {
        Err(Error::ErrorResponse(response)) => {
            let status = response.status().as_u16();
            let request_id = response
                .headers()
                .get("x-request-id")
                .expect("every response carries X-Request-Id")
                .to_str()
                .unwrap()
                .to_string();
            assert_huawei_request_id(&request_id);
            (status, request_id, response.into_inner())
        }
        other => panic!("expected an error response, got {other:?}"),
    }
}

/// Asserts an authentication failure: 401 `APIGW.0301`, the request id of
/// the header in the body, no `encoded_authorization_message`, and a
/// message containing `reason`.
fn assert_unauthenticated<T: std::fmt::Debug>(result: Result<T, Error<HuaweiError>>, reason: &str) {
    let (status, request_id, error) = huawei_error(result);
    assert_eq!(status, 401, "{error:?}");
    assert_eq!(error.error_code, "APIGW.0301");
    assert!(
        error.error_msg.starts_with(AUTH_PREFIX),
        "{}",
        error.error_msg
    );
    assert!(
        error.error_msg.contains(reason),
        "{} lacks {reason:?}",
        error.error_msg
    );
    assert_eq!(error.request_id, request_id);
    assert_eq!(error.encoded_authorization_message, None);
}

/// A signed request sent with reqwest through the proxy, for what the
/// generated client will not send. `tamper` may change the request after
/// it was signed.
async fn send_signed(
    server: &TestServer,
    credentials: &HuaweiCredentials,
    method: reqwest::Method,
    path: &str,
    body: Option<&str>,
    tamper: impl FnOnce(&mut reqwest::Request),
) -> (u16, reqwest::header::HeaderMap, Value) {
    let http = server.http();
    let mut builder = http
        .request(method, format!("{}{path}", server.url()))
        .header("Content-Type", "application/json");
    if let Some(body) = body {
        builder = builder.body(body.to_string());
    }
    let mut request = builder.build().unwrap();
    signing::sign(credentials, &mut request).unwrap();
    tamper(&mut request);
    let response = http.execute(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

const SESSIONS: &str = "/v1/identity-stores/d-1/users/u-1/sessions";
const BATCH_DELETE: &str = "/v1/identity-stores/d-1/users/u-1/sessions/batch-delete";

async fn list_sessions_lists_the_users_live_sessions_newest_first(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36";
    let first = record(&server, "d-1", "u-1", Some("203.0.113.9"), Some(agent)).await;
    server.clock.advance(TimeDelta::milliseconds(1_500));
    let unseen = record(&server, "d-1", "u-1", None, None).await;
    server.clock.advance(TimeDelta::seconds(1));
    let ipv6 = record(&server, "d-1", "u-1", Some("2001:db8::7"), None).await;
    // Not listed: another user, another store, an ended session, an
    // expired one.
    record(&server, "d-1", "u-2", None, None).await;
    record(&server, "d-2", "u-1", None, None).await;
    let revoked = record(&server, "d-1", "u-1", None, None).await;
    server
        .admin_client()
        .session_revoke()
        .session_id(revoked.id.clone())
        .send()
        .await
        .unwrap();
    let short = server
        .admin_client()
        .session_create()
        .body_map(|b| {
            b.identity_store_id("d-1")
                .user_id("u-1".parse::<UserId>().unwrap())
                .ttl_seconds(std::num::NonZeroU32::new(60))
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    server.clock.advance(TimeDelta::seconds(61));

    let client = client_for(&server, &server.admin);
    let listed = list(&client, "d-1", "u-1").await;
    assert_eq!(
        ids(&listed),
        [ipv6.id.as_str(), unseen.id.as_str(), first.id.as_str()],
        "newest first"
    );
    assert!(!ids(&listed).contains(&short.id), "expired");

    let oldest = &listed[2];
    assert_eq!(oldest.creation_time, test_epoch().timestamp());
    assert_eq!(
        oldest.session_not_valid_after,
        first.expires_at.timestamp(),
        "seconds"
    );
    assert_eq!(
        oldest.session_not_valid_after - oldest.creation_time,
        86_400
    );
    assert_eq!(oldest.ip_address.as_deref(), Some("203.0.113.9"));
    assert_eq!(
        oldest.user_agent.as_deref(),
        Some(format!("[{agent}]").as_str())
    );
    assert_eq!(oldest.user_id, "u-1");
    assert_eq!(listed[0].ip_address.as_deref(), Some("2001:db8::7"));
    assert_eq!(listed[0].user_agent, None);
    assert_eq!(listed[1].creation_time, test_epoch().timestamp() + 1);

    // On the wire: integers, and absent (not null) optional fields.
    let exchange = server
        .proxy()
        .exchanges()
        .into_iter()
        .rev()
        .find(|exchange| exchange.operation_id.as_deref() == Some("ListSessions"))
        .unwrap();
    let body: Value = serde_json::from_slice(&exchange.response_body).unwrap();
    assert!(body["session_list"][2]["creation_time"].is_i64());
    assert!(body["session_list"][2]["user_agent"].is_string());
    let unseen_json = body["session_list"][1].as_object().unwrap();
    let mut keys: Vec<_> = unseen_json.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "creation_time",
            "session_id",
            "session_not_valid_after",
            "user_id"
        ]
    );
    assert!(
        exchange.response_headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );

    // An identity store or user with no sessions simply lists none.
    assert!(list(&client, "d-9", "u-1").await.is_empty());
    assert!(list(&client, "d-1", "nobody").await.is_empty());
    server.finish().await;
}

async fn batch_delete_revokes_only_the_users_listed_live_sessions(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let a = record(&server, "d-1", "u-1", None, None).await;
    let b = record(&server, "d-1", "u-1", None, None).await;
    let kept = record(&server, "d-1", "u-1", None, None).await;
    let other_user = record(&server, "d-1", "u-2", None, None).await;
    let other_store = record(&server, "d-2", "u-1", None, None).await;
    let client = client_for(&server, &server.admin);

    let response = batch_delete(
        &client,
        "d-1",
        "u-1",
        vec![
            a.id.to_string(),
            b.id.to_string(),
            a.id.to_string(),
            other_user.id.to_string(),
            other_store.id.to_string(),
            "not-a-session-id".into(),
            "00000000000000000000000000000000".into(),
        ],
    )
    .await
    .expect("BatchDeleteSessions");
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.into_inner().is_empty());
    let exchange = server.proxy().exchanges().pop().unwrap();
    assert_eq!(
        exchange.response_body.as_ref(),
        b"{}",
        "an empty JSON object"
    );

    assert_eq!(ids(&list(&client, "d-1", "u-1").await), [kept.id.as_str()]);
    let admin = server.admin_client();
    for (session, status) in [
        (&a, "revoked"),
        (&b, "revoked"),
        (&kept, "authenticated"),
        (&other_user, "authenticated"),
        (&other_store, "authenticated"),
    ] {
        let viewed = admin
            .session_view()
            .session_id(session.id.clone())
            .send()
            .await
            .unwrap()
            .into_inner();
        assert_eq!(viewed.status.to_string(), status, "{}", session.id.as_str());
    }

    // Nothing left to delete is still a success.
    batch_delete(&client, "d-1", "u-1", vec![a.id.to_string()])
        .await
        .expect("deleting an ended session again");
    server.finish().await;
}

async fn only_an_admin_or_the_stores_store_admin_may_call(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let session = record(&server, "d-1", "u-1", None, None).await;
    let store_admin = server.issue(Role::StoreAdmin, Some("d-1"), None).await;
    let other_store_admin = server.issue(Role::StoreAdmin, Some("d-2"), None).await;
    let user = server.issue(Role::User, Some("d-1"), Some("u-1")).await;

    let listed = list(&client_for(&server, &store_admin), "d-1", "u-1").await;
    assert_eq!(ids(&listed), [session.id.as_str()]);

    for (issued, operation) in [
        (&other_store_admin, "IdentityCenter:user:listSessions"),
        (&user, "IdentityCenter:user:listSessions"),
    ] {
        let result = client_for(&server, issued)
            .list_sessions()
            .identity_store_id("d-1")
            .user_id("u-1")
            .send()
            .await;
        assert_forbidden(result, operation);
    }
    for issued in [&other_store_admin, &user] {
        let result = batch_delete(
            &client_for(&server, issued),
            "d-1",
            "u-1",
            vec![session.id.to_string()],
        )
        .await;
        assert_forbidden(result, "IdentityCenter:user:batchDeleteSession");
    }
    assert_eq!(
        ids(&list(&client_for(&server, &store_admin), "d-1", "u-1").await),
        [session.id.as_str()],
        "nothing was deleted"
    );
    batch_delete(
        &client_for(&server, &store_admin),
        "d-1",
        "u-1",
        vec![session.id.to_string()],
    )
    .await
    .expect("the store-admin deletes");
    assert!(
        list(&client_for(&server, &store_admin), "d-1", "u-1")
            .await
            .is_empty()
    );
    server.finish().await;
}

fn assert_forbidden<T: std::fmt::Debug>(result: Result<T, Error<HuaweiError>>, action: &str) {
    let (status, request_id, error) = huawei_error(result);
    assert_eq!(status, 403);
    assert_eq!(error.error_code, "IIC.1000");
    assert_eq!(
        error.error_msg,
        format!("No permission for action {action}.")
    );
    assert_eq!(error.request_id, request_id);
    let encoded = error
        .encoded_authorization_message
        .expect("a 403 carries encoded_authorization_message");
    use base64::Engine;
    let decoded: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(decoded["action"], action);
    assert!(decoded["reason"].is_string());
}

async fn every_authentication_failure_is_apigw_0301(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    record(&server, "d-1", "u-1", None, None).await;
    let admin = &server.admin;

    // An unknown access key.
    let unknown = huawei_client(
        &server.url(),
        credentials(&server, "UNKNOWNACCESSKEY0000", admin.huawei_secret_key()),
    )
    .unwrap();
    assert_unauthenticated(
        unknown
            .list_sessions()
            .identity_store_id("d-1")
            .user_id("u-1")
            .send()
            .await,
        "ak not exist",
    );

    // A wrong secret key.
    let wrong = huawei_client(
        &server.url(),
        credentials(&server, admin.huawei_access_key(), "not-the-secret-key"),
    )
    .unwrap();
    assert_unauthenticated(
        wrong
            .list_sessions()
            .identity_store_id("d-1")
            .user_id("u-1")
            .send()
            .await,
        "verify aksk signature fail, canonicalRequest:GET|/v1/identity-stores/d-1/users/u-1/sessions/||",
    );

    // A security token with a permanent key.
    assert_unauthenticated(
        client_for(&server, admin)
            .list_sessions()
            .identity_store_id("d-1")
            .user_id("u-1")
            .x_security_token("unexpected")
            .send()
            .await,
        "decrypt token fail",
    );

    // Another credential's native token is no signature at all.
    let (status, headers, body) = {
        let response = server
            .http()
            .get(format!("{}{SESSIONS}", server.url()))
            .bearer_auth(admin.native_token())
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.headers().clone(),
            response.json::<Value>().await.unwrap(),
        )
    };
    assert_eq!(status, 401);
    assert_eq!(body["error_code"], "APIGW.0301");
    assert_eq!(
        body["request_id"],
        headers["x-request-id"].to_str().unwrap()
    );
    let (status, _, body) = {
        let response = server
            .http()
            .get(format!("{}{SESSIONS}", server.url()))
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            (),
            response.json::<Value>().await.unwrap(),
        )
    };
    assert_eq!(status, 401);
    assert!(
        body["error_msg"].as_str().unwrap().contains("not found"),
        "{body}"
    );

    // The right credentials work.
    assert_eq!(
        list(&client_for(&server, admin), "d-1", "u-1").await.len(),
        1
    );
    server.finish().await;
}

async fn the_signing_time_must_be_within_fifteen_minutes(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let admin = &server.admin;
    for (skew, accepted) in [
        (TimeDelta::minutes(15), true),
        (TimeDelta::minutes(-15), true),
        (TimeDelta::minutes(15) + TimeDelta::seconds(1), false),
        (TimeDelta::minutes(-16), false),
        (TimeDelta::days(-1), false),
    ] {
        let clock = server.clock.clone();
        let skewed = HuaweiCredentials::new(admin.huawei_access_key(), admin.huawei_secret_key())
            .with_clock(Arc::new(move || clock.now() + skew));
        let result = huawei_client(&server.url(), skewed)
            .unwrap()
            .list_sessions()
            .identity_store_id("d-1")
            .user_id("u-1")
            .send()
            .await;
        if accepted {
            result.unwrap_or_else(|e| panic!("skew {skew}: {e:?}"));
        } else {
            assert_unauthenticated(result, "signature expired, signature time:");
        }
    }

    // X-Sdk-Date must be signed, and in the basic ISO 8601 format.
    let signer = credentials(
        &server,
        admin.huawei_access_key(),
        admin.huawei_secret_key(),
    );
    let (status, _, body) = send_signed(
        &server,
        &signer,
        reqwest::Method::GET,
        SESSIONS,
        None,
        |request| {
            request.headers_mut().insert(
                "x-sdk-date",
                "Sun, 01 Mar 2026 12:00:00 GMT".parse().unwrap(),
            );
        },
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        body["error_msg"]
            .as_str()
            .unwrap()
            .contains("YYYYMMDDTHHMMSSZ"),
        "{body}"
    );
    server.finish().await;
}

async fn a_tampered_request_fails_the_signature(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let session = record(&server, "d-1", "u-1", None, None).await;
    let admin = &server.admin;
    let signer = credentials(
        &server,
        admin.huawei_access_key(),
        admin.huawei_secret_key(),
    );
    let body = format!(
        r#"{{"session_ids": ["{}"]}}"#,
        "00000000000000000000000000000000"
    );

    // The body was changed after signing: another session id.
    let tampered = format!(r#"{{"session_ids": ["{}"]}}"#, session.id.as_str());
    let (status, headers, error) = send_signed(
        &server,
        &signer,
        reqwest::Method::POST,
        BATCH_DELETE,
        Some(&body),
        |request| *request.body_mut() = Some(tampered.clone().into()),
    )
    .await;
    assert_eq!(status, 401, "{error}");
    assert_eq!(error["error_code"], "APIGW.0301");
    assert!(
        error["error_msg"]
            .as_str()
            .unwrap()
            .contains("verify aksk signature fail")
    );
    assert_eq!(
        error["request_id"],
        headers["x-request-id"].to_str().unwrap()
    );

    // The same JSON value with other whitespace is another body.
    let respaced = body.replace(": ", ":");
    let (status, _, _) = send_signed(
        &server,
        &signer,
        reqwest::Method::POST,
        BATCH_DELETE,
        Some(&body),
        |request| *request.body_mut() = Some(respaced.clone().into()),
    )
    .await;
    assert_eq!(status, 401);

    // Another path, another signed header value, another method.
    for tamper in [
        (|request: &mut reqwest::Request| {
            request
                .url_mut()
                .set_path("/v1/identity-stores/d-1/users/u-2/sessions/batch-delete")
        }) as fn(&mut reqwest::Request),
        |request| {
            request.headers_mut().insert(
                "content-type",
                "application/json; charset=utf-8".parse().unwrap(),
            );
        },
    ] {
        let (status, _, _) = send_signed(
            &server,
            &signer,
            reqwest::Method::POST,
            BATCH_DELETE,
            Some(&body),
            tamper,
        )
        .await;
        assert_eq!(status, 401);
    }

    // Unsigned headers may change; the untampered request succeeds.
    let (status, _, _) = send_signed(
        &server,
        &signer,
        reqwest::Method::POST,
        BATCH_DELETE,
        Some(&tampered),
        |request| {
            request
                .headers_mut()
                .insert("x-unsigned", "anything".parse().unwrap());
        },
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        list(&client_for(&server, admin), "d-1", "u-1")
            .await
            .is_empty()
    );
    server.finish().await;
}

async fn five_signature_failures_lock_the_access_key_for_five_minutes(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let admin = &server.admin;
    let other = server.issue(Role::Admin, None, None).await;
    let good = client_for(&server, admin);
    let bad = huawei_client(
        &server.url(),
        credentials(&server, admin.huawei_access_key(), "wrong secret key"),
    )
    .unwrap();
    let fail = |client: &Client| {
        let client = client.clone();
        async move {
            client
                .list_sessions()
                .identity_store_id("d-1")
                .user_id("u-1")
                .send()
                .await
        }
    };

    // A success resets the count: 4 failures, a success, 4 failures.
    for _ in 0..4 {
        assert_unauthenticated(fail(&bad).await, "verify aksk signature fail");
    }
    list(&good, "d-1", "u-1").await;
    for _ in 0..4 {
        assert_unauthenticated(fail(&bad).await, "verify aksk signature fail");
    }
    list(&good, "d-1", "u-1").await;

    // Five in a row lock the key, even for correct signatures.
    for _ in 0..5 {
        assert_unauthenticated(fail(&bad).await, "verify aksk signature fail");
    }
    let locked = "AK access failed to reach the limit,forbidden.";
    assert_unauthenticated(fail(&good).await, locked);
    assert_unauthenticated(fail(&bad).await, locked);
    // Other access keys are not affected.
    list(&client_for(&server, &other), "d-1", "u-1").await;

    server
        .clock
        .advance(TimeDelta::minutes(5) - TimeDelta::seconds(1));
    assert_unauthenticated(fail(&good).await, locked);
    server.clock.advance(TimeDelta::seconds(1));
    list(&good, "d-1", "u-1").await;
    server.finish().await;
}

async fn temporary_credentials_carry_their_parents_role_until_they_expire(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let session = record(&server, "d-1", "u-1", None, None).await;
    let store_admin = server.issue(Role::StoreAdmin, Some("d-1"), None).await;
    let temporary = server.issue_temporary_huawei(&store_admin, Some(900)).await;
    assert_eq!(temporary.expires_at, test_epoch() + TimeDelta::seconds(900));
    let signer = credentials(&server, &temporary.access_key, &temporary.secret_key)
        .with_security_token(&temporary.security_token);
    let client = huawei_client(&server.url(), signer.clone()).unwrap();
    assert_eq!(
        ids(&list(&client, "d-1", "u-1").await),
        [session.id.as_str()]
    );
    // The parent's scope: another store is refused.
    assert_forbidden(
        client
            .list_sessions()
            .identity_store_id("d-2")
            .user_id("u-1")
            .send()
            .await,
        "IdentityCenter:user:listSessions",
    );

    // Without the token, with a wrong one, or with it unsigned: 401.
    let no_token = huawei_client(
        &server.url(),
        credentials(&server, &temporary.access_key, &temporary.secret_key),
    )
    .unwrap();
    assert_unauthenticated(
        no_token
            .list_sessions()
            .identity_store_id("d-1")
            .user_id("u-1")
            .send()
            .await,
        "decrypt token fail",
    );
    let wrong_token = huawei_client(
        &server.url(),
        credentials(&server, &temporary.access_key, &temporary.secret_key)
            .with_security_token("not-the-token"),
    )
    .unwrap();
    assert_unauthenticated(
        wrong_token
            .list_sessions()
            .identity_store_id("d-1")
            .user_id("u-1")
            .send()
            .await,
        "decrypt token fail",
    );
    let unsigned_token = temporary.security_token.clone();
    let (status, _, body) = send_signed(
        &server,
        &credentials(&server, &temporary.access_key, &temporary.secret_key),
        reqwest::Method::GET,
        SESSIONS,
        None,
        move |request| {
            request
                .headers_mut()
                .insert("x-security-token", unsigned_token.parse().unwrap());
        },
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        body["error_msg"]
            .as_str()
            .unwrap()
            .contains("decrypt token fail")
    );
    // The parent's permanent key with the temporary token is refused too.
    assert_unauthenticated(
        huawei_client(
            &server.url(),
            credentials(
                &server,
                store_admin.huawei_access_key(),
                store_admin.huawei_secret_key(),
            )
            .with_security_token(&temporary.security_token),
        )
        .unwrap()
        .list_sessions()
        .identity_store_id("d-1")
        .user_id("u-1")
        .send()
        .await,
        "decrypt token fail",
    );

    // Batch deletion with temporary credentials.
    batch_delete(&client, "d-1", "u-1", vec![session.id.to_string()])
        .await
        .expect("BatchDeleteSessions with temporary credentials");
    assert!(list(&client, "d-1", "u-1").await.is_empty());

    // Expiry.
    server.clock.advance(TimeDelta::seconds(899));
    list(&client, "d-1", "u-1").await;
    server.clock.advance(TimeDelta::seconds(1));
    assert_unauthenticated(
        client
            .list_sessions()
            .identity_store_id("d-1")
            .user_id("u-1")
            .send()
            .await,
        "token expires",
    );

    // Revoking the parent kills its temporary credentials at once.
    let second = server.issue_temporary_huawei(&store_admin, None).await;
    assert_eq!(
        second.expires_at,
        server.clock.now() + TimeDelta::seconds(3600)
    );
    let second_client = huawei_client(
        &server.url(),
        credentials(&server, &second.access_key, &second.secret_key)
            .with_security_token(&second.security_token),
    )
    .unwrap();
    list(&second_client, "d-1", "u-1").await;
    server.revoke(&store_admin).await;
    assert_unauthenticated(
        second_client
            .list_sessions()
            .identity_store_id("d-1")
            .user_id("u-1")
            .send()
            .await,
        "ak not exist",
    );
    server.finish().await;
}

async fn path_parameters_with_odd_characters_are_signed_and_matched(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let client = client_for(&server, &server.admin);
    let store = "d-1 ストア+~";
    let users = [
        "user 1",
        "a+b",
        "x~y",
        "a/b",
        "ユーザー é",
        "50%2F",
        "{braces}x",
    ];
    let mut recorded = Vec::new();
    for user in users {
        recorded.push(record(&server, store, user, None, None).await);
    }
    for (user, session) in users.iter().zip(&recorded) {
        assert_eq!(
            ids(&list(&client, store, user).await),
            [session.id.as_str()],
            "{user:?}"
        );
    }
    // The SDKs send '/' in a parameter as %2F: the raw path is what is
    // signed and verified.
    let paths: Vec<String> = server
        .proxy()
        .exchanges()
        .iter()
        .filter(|exchange| exchange.operation_id.as_deref() == Some("ListSessions"))
        .map(|exchange| exchange.path.clone())
        .collect();
    assert!(
        paths.iter().any(|path| path.contains("/users/a%2Fb/")),
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|path| path.contains("/users/50%252F/")),
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|path| path.contains("%E3%83%A6")),
        "{paths:?}"
    );

    for (user, session) in users.iter().zip(&recorded) {
        batch_delete(&client, store, user, vec![session.id.to_string()])
            .await
            .unwrap_or_else(|e| panic!("{user:?}: {e:?}"));
        assert!(list(&client, store, user).await.is_empty(), "{user:?}");
    }
    server.finish().await;
}

async fn malformed_input_is_iic_400_after_authentication(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let client = client_for(&server, &server.admin);

    let cases: [(Vec<String>, &str); 2] = [
        (Vec::new(), "session_ids must not be empty"),
        (
            (0..101).map(|i| format!("id-{i}")).collect(),
            "more than 100",
        ),
    ];
    for (session_ids, complaint) in cases {
        let (status, request_id, error) =
            huawei_error(batch_delete(&client, "d-1", "u-1", session_ids).await);
        assert_eq!(status, 400);
        assert_eq!(error.error_code, "IIC.400");
        assert!(
            error.error_msg.starts_with("Bad Request: "),
            "{}",
            error.error_msg
        );
        assert!(error.error_msg.contains(complaint), "{}", error.error_msg);
        assert_eq!(error.request_id, request_id);
        assert_eq!(error.encoded_authorization_message, None, "not on 400");
    }

    // Bodies that are not the request type, correctly signed.
    let signer = credentials(
        &server,
        server.admin.huawei_access_key(),
        server.admin.huawei_secret_key(),
    );
    // (An id longer than 128 characters the generated client would not
    // send; an array of the fields is not the object the schema says.)
    let too_long = format!(r#"{{"session_ids": ["{}"]}}"#, "x".repeat(129));
    for body in [
        "{",
        "",
        r#"{"session_ids": "abc"}"#,
        r#"{"ids": []}"#,
        "[]",
        r#"[["a"]]"#,
        too_long.as_str(),
    ] {
        let (status, headers, error) = send_signed(
            &server,
            &signer,
            reqwest::Method::POST,
            BATCH_DELETE,
            Some(body),
            |_| {},
        )
        .await;
        assert_eq!(status, 400, "{body:?}: {error}");
        assert_eq!(error["error_code"], "IIC.400");
        assert_eq!(
            error["request_id"],
            headers["x-request-id"].to_str().unwrap()
        );
    }
    let (status, _, error) = send_signed(
        &server,
        &signer,
        reqwest::Method::POST,
        BATCH_DELETE,
        Some(r#"{"session_ids": ["a"]}"#),
        |request| {
            request
                .headers_mut()
                .insert("content-type", "text/plain".parse().unwrap());
        },
    )
    .await;
    assert_eq!(status, 401, "Content-Type is signed: {error}");

    // A malformed body from someone who cannot sign is a 401, not a 400.
    let outsider = credentials(&server, server.admin.huawei_access_key(), "wrong");
    let (status, _, _) = send_signed(
        &server,
        &outsider,
        reqwest::Method::POST,
        BATCH_DELETE,
        Some("{"),
        |_| {},
    )
    .await;
    assert_eq!(status, 401);

    // What Huawei's SDK sends when a path parameter is forgotten.
    let (status, request_id, error) = huawei_error(
        client
            .list_sessions()
            .identity_store_id("{identity_store_id}")
            .user_id("u-1")
            .send()
            .await,
    );
    assert_eq!((status, error.error_code.as_str()), (400, "IIC.400"));
    assert!(error.error_msg.contains("identity_store_id is missing"));
    assert_eq!(error.request_id, request_id);

    // A body over the server's limit is refused by "the gateway" before
    // authentication: 413 APIGW.0201.
    let huge = format!(r#"{{"session_ids": ["{}"]}}"#, "x".repeat(70 * 1024));
    let (status, _, error) = send_signed(
        &server,
        &signer,
        reqwest::Method::POST,
        BATCH_DELETE,
        Some(&huge),
        |_| {},
    )
    .await;
    assert_eq!(status, 413, "{error}");
    assert_eq!(error["error_code"], "APIGW.0201");
    server.finish().await;
}

async fn the_rate_limit_is_a_429(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let limited = server
        .issue_with(
            login_sessions_server::service::credentials::CredentialRequest {
                role: Role::Admin,
                identity_store_id: None,
                user_id: None,
                name: None,
                rate_limit: Some(1),
            },
        )
        .await;
    let client = client_for(&server, &limited);
    list(&client, "d-1", "u-1").await;
    list(&client, "d-1", "u-1").await;
    let (status, request_id, error) = huawei_error(
        client
            .list_sessions()
            .identity_store_id("d-1")
            .user_id("u-1")
            .send()
            .await,
    );
    assert_eq!(status, 429);
    assert_eq!(error.error_code, "APIGW.0308");
    assert_eq!(error.request_id, request_id);
    server.finish().await;
}

async fn the_request_id_is_the_x_request_id_header(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let client = client_for(&server, &server.admin);
    let response = client
        .list_sessions()
        .identity_store_id("d-1")
        .user_id("u-1")
        .send()
        .await
        .unwrap();
    // Huawei's gateway format: 32 lowercase hexadecimal digits.
    let header = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_huawei_request_id(&header);
    let (_, request_id, error) = huawei_error(
        huawei_client(
            &server.url(),
            credentials(&server, "UNKNOWNACCESSKEY0000", "x"),
        )
        .unwrap()
        .list_sessions()
        .identity_store_id("d-1")
        .user_id("u-1")
        .send()
        .await,
    );
    assert_huawei_request_id(&request_id);
    assert_eq!(error.request_id, request_id);
    assert_ne!(request_id, header, "one id per request");

    // Answers the server gives before any handler runs (no such route, no
    // such method) carry one too. They are not in the spec, so they go to
    // the server directly rather than through the validating proxy.
    let http = reqwest::Client::new();
    for (method, path) in [
        (
            reqwest::Method::GET,
            "/v1/identity-stores/d-1/users/u-1/nowhere",
        ),
        (
            reqwest::Method::DELETE,
            "/v1/identity-stores/d-1/users/u-1/sessions",
        ),
    ] {
        let response = http
            .request(
                method.clone(),
                format!("http://{}{path}", server.server_addr()),
            )
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error(), "{method} {path}");
        let header = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_string();
        assert_huawei_request_id(&header);
        // In Huawei's shape, with the header's id.
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["request_id"], header.as_str(), "{method} {path}");
        assert!(body["error_code"].is_string(), "{method} {path}: {body}");
    }
    server.finish().await;
}

/// Asserts Huawei's request-id format: 32 lowercase hexadecimal digits.
fn assert_huawei_request_id(request_id: &str) {
    assert!(is_request_id(request_id.as_bytes()), "{request_id:?}");
}

/// Fields Huawei's API does not know are ignored in a request body, as
/// Huawei's gateway ignores them (the spec leaves the body's
/// `additionalProperties` open); the native API, whose schemas close
/// them, refuses them instead.
async fn batch_delete_ignores_fields_it_does_not_know(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let session = record(&server, "d-1", "u-1", None, None).await;
    let admin = server.admin.clone();
    let signer = credentials(
        &server,
        admin.huawei_access_key(),
        admin.huawei_secret_key(),
    );
    let body = format!(
        r#"{{"session_ids": ["{}"], "dry_run": true, "x-extra": {{"nested": 1}}}}"#,
        session.id.as_str()
    );
    let (status, _, answer) = send_signed(
        &server,
        &signer,
        reqwest::Method::POST,
        BATCH_DELETE,
        Some(&body),
        |_| {},
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let revoked = server
        .admin_client()
        .session_view()
        .session_id(session.id.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        revoked.status,
        login_sessions_client::types::SessionStatus::Revoked,
        "the unknown fields changed nothing"
    );
    server.finish().await;
}

login_sessions_tests::contract_tests![
    batch_delete_ignores_fields_it_does_not_know,
    list_sessions_lists_the_users_live_sessions_newest_first,
    batch_delete_revokes_only_the_users_listed_live_sessions,
    only_an_admin_or_the_stores_store_admin_may_call,
    every_authentication_failure_is_apigw_0301,
    the_signing_time_must_be_within_fifteen_minutes,
    a_tampered_request_fails_the_signature,
    five_signature_failures_lock_the_access_key_for_five_minutes,
    temporary_credentials_carry_their_parents_role_until_they_expire,
    path_parameters_with_odd_characters_are_signed_and_matched,
    malformed_input_is_iic_400_after_authentication,
    the_rate_limit_is_a_429,
    the_request_id_is_the_x_request_id_header,
    ; covers: "huawei"
];
