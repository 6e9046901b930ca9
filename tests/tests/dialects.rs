//! One session, seen through every dialect: the views agree on the id, the
//! user, the times (each in its own dialect's format) and liveness.
//!
//! Every test runs on both stores (`sqlite::NAME`, `postgres::NAME`): see
//! the harness's documentation (`tests/src/lib.rs`) for the scheme.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::TimeDelta;
use login_sessions_client::Client;
use login_sessions_client::huawei::{HuaweiCredentials, huawei_client};
use login_sessions_client::looker::looker_login;
use login_sessions_client::types::{PrefactorSessionStatus, UserId, UserSessionDto};
use login_sessions_server::clock::Clock;
use login_sessions_server::store::StoreError;
use login_sessions_server::store::conformance::Faults;
use login_sessions_tests::IssuedSecrets;
use login_sessions_tests::{StoreKind, TestServer, test_epoch};

fn huawei(server: &TestServer) -> Client {
    let clock = server.clock.clone();
    let credentials = HuaweiCredentials::new(
        server.admin.huawei_access_key(),
        server.admin.huawei_secret_key(),
    )
    .with_clock(Arc::new(move || clock.now()));
    huawei_client(&server.url(), credentials).unwrap()
}

async fn huawei_list(client: &Client) -> Vec<UserSessionDto> {
    client
        .list_sessions()
        .identity_store_id("acme")
        .user_id("42")
        .send()
        .await
        .unwrap()
        .into_inner()
        .session_list
}

async fn every_dialect_shows_the_same_session(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let native = server.admin_client();
    let created = native
        .session_create()
        .body_map(|b| {
            b.identity_store_id("acme")
                .user_id("42".parse::<UserId>().unwrap())
                .ip_address(Some("198.51.100.20".parse().unwrap()))
                .user_agent(Some(
                    "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".to_string(),
                ))
                .ttl_seconds(std::num::NonZeroU32::new(3600))
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    server.clock.advance(TimeDelta::milliseconds(1500));
    let viewed = native
        .session_view()
        .session_id(created.id.clone())
        .send()
        .await
        .unwrap()
        .into_inner();

    let prefactor = server.prefactor_client(server.admin.prefactor_api_token());
    let fetched = prefactor
        .fetch_session()
        .session_id(created.id.clone())
        .send()
        .await
        .unwrap()
        .into_inner();

    // The id and the user.
    assert_eq!(fetched.summary.id, viewed.id);
    assert_eq!(fetched.summary.authenticated_identity_id, viewed.user_id);
    assert_eq!(fetched.summary.pool_id, viewed.identity_store_id);
    // The times: RFC 3339 with milliseconds natively, Unix seconds in
    // Prefactor.
    assert_eq!(viewed.created_at, test_epoch());
    let first = fetched.summary.first_seen.as_ref().unwrap();
    assert_eq!(
        first.at,
        viewed.first_seen.as_ref().unwrap().at.timestamp() as f64
    );
    // Liveness.
    assert!(viewed.live);
    assert_eq!(
        fetched.summary.status,
        PrefactorSessionStatus::Authenticated
    );
    assert!(fetched.actions.revoke);

    let listed = huawei_list(&huawei(&server)).await;
    assert_eq!(listed.len(), 1, "live, so Huawei lists it");
    let dto = &listed[0];
    assert_eq!(dto.session_id, viewed.id);
    assert_eq!(dto.user_id, "42");
    // Unix seconds in Huawei.
    assert_eq!(
        dto.creation_time,
        viewed.first_seen.as_ref().unwrap().at.timestamp()
    );
    assert_eq!(dto.session_not_valid_after, viewed.expires_at.timestamp());
    assert_eq!(dto.ip_address.as_deref(), Some("198.51.100.20"));

    let (looker, _) = looker_login(
        &server.url(),
        server.admin.looker_client_id(),
        server.admin.looker_client_secret(),
    )
    .await
    .unwrap();
    let seen = looker
        .user_session()
        .user_id("42")
        .session_id(viewed.id.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seen.id.as_deref(), Some(viewed.id.as_str()));
    // ISO 8601 with milliseconds and +00:00 in Looker.
    assert_eq!(
        seen.created_at.as_deref(),
        Some("2026-03-01T12:00:00.000+00:00")
    );
    assert_eq!(
        seen.expires_at.as_deref(),
        Some(
            viewed
                .expires_at
                .format("%Y-%m-%dT%H:%M:%S%.3f+00:00")
                .to_string()
                .as_str()
        )
    );
    assert_eq!(seen.ip_address.as_deref(), Some("198.51.100.20"));

    // After expiry, every dialect agrees it is over.
    server.clock.advance(TimeDelta::hours(2));
    let viewed = native
        .session_view()
        .session_id(created.id.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    let fetched = prefactor
        .fetch_session()
        .session_id(created.id.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(!viewed.live);
    assert_eq!(fetched.summary.status, PrefactorSessionStatus::Complete);
    assert!(!fetched.actions.revoke);
    assert!(
        huawei_list(&huawei(&server)).await.is_empty(),
        "Huawei shows only live sessions"
    );
    server.finish().await;
}

/// What a dialect answered a request with: the status and the body.
struct Answer {
    status: u16,
    body: serde_json::Value,
}

/// The answer of a request through the generated client, whatever it was.
fn answer<T: serde::Serialize, E: serde::Serialize + std::fmt::Debug>(
    result: Result<login_sessions_client::ResponseValue<T>, login_sessions_client::Error<E>>,
) -> Answer {
    match result {
        Ok(response) => Answer {
            status: response.status().as_u16(),
            body: serde_json::to_value(response.into_inner()).unwrap(),
        },
        Err(error) => {
            let (status, body) = login_sessions_tests::error_response(error);
            Answer {
                status,
                body: serde_json::to_value(body).unwrap(),
            }
        }
    }
}

/// A write in each dialect: (dialect, what it answered). Each writes:
/// a native create, a Looker login (it stores an access token), a
/// Prefactor revoke and a Huawei batch delete of one session.
async fn a_write_in_every_dialect(
    server: &TestServer,
    session: &str,
) -> Vec<(&'static str, Answer)> {
    let native = server.admin_client();
    let created = answer(
        native
            .session_create()
            .body_map(|b| b.identity_store_id("acme"))
            .send()
            .await,
    );
    let looker = match looker_login(
        &server.url(),
        server.admin.looker_client_id(),
        server.admin.looker_client_secret(),
    )
    .await
    {
        Ok(_) => Answer {
            status: 200,
            body: serde_json::Value::Null,
        },
        Err(login_sessions_client::looker::LookerLoginError::Login(error)) => {
            let (status, body) = login_sessions_tests::error_response(error);
            Answer {
                status,
                body: serde_json::to_value(body).unwrap(),
            }
        }
        Err(other) => panic!("the Looker login failed otherwise: {other}"),
    };
    let prefactor = answer(
        server
            .prefactor_client(server.admin.prefactor_api_token())
            .revoke_session()
            .session_id(session)
            .send()
            .await,
    );
    let huawei = answer(
        huawei(server)
            .batch_delete_sessions()
            .identity_store_id("acme")
            .user_id("42")
            .body_map(|b| {
                b.session_ids(vec![
                    login_sessions_client::types::BatchDeleteSessionsReqBodySessionIdsItem::try_from(
                        session,
                    )
                    .unwrap(),
                ])
            })
            .send()
            .await,
    );
    vec![
        ("native", created),
        ("looker", looker),
        ("prefactor", prefactor),
        ("huawei", huawei),
    ]
}

/// Asserts that `answer` is `status` in `dialect`'s own error shape.
fn assert_error_shape(dialect: &str, answer: &Answer, status: u16) {
    assert_eq!(answer.status, status, "{dialect}: {}", answer.body);
    let body = &answer.body;
    let has = |field: &str| body.get(field).is_some_and(|value| !value.is_null());
    match dialect {
        "native" => assert!(
            has("error_code") && has("message") && has("request_id"),
            "{body}"
        ),
        "looker" => assert!(has("message") && has("documentation_url"), "{body}"),
        "prefactor" => assert!(has("status") && has("code") && has("message"), "{body}"),
        "huawei" => assert!(
            has("error_code") && has("error_msg") && has("request_id"),
            "{body}"
        ),
        other => panic!("no dialect {other}"),
    }
    let text = body.to_string();
    assert!(
        !text.contains("disk I/O") && !text.contains("the disk is full"),
        "{dialect}: no internals in the answer: {text}"
    );
}

/// Readiness as a load balancer reads it: the status and `Retry-After`.
async fn readiness(server: &TestServer, path: &str) -> (u16, Option<String>) {
    let response = reqwest::get(format!("{}{path}", server.url()))
        .await
        .unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_string());
    (response.status().as_u16(), retry_after)
}

/// A store that cannot write (a full disk, a read-only database) makes
/// every dialect answer its writes 503 in its own shape, with
/// `Retry-After` (the validating proxy holds each to the spec, which
/// requires the header), while reads go on; readiness says 503 until the
/// store writes again, then 200, without a restart. Any other store
/// failure is 500, without internals.
async fn store_failures_are_answered_in_every_dialects_shape(kind: StoreKind) {
    let (server, store) = login_sessions_tests::TestServer::start_faulty(kind).await;
    let native = server.admin_client();
    let session = native
        .session_create()
        .body_map(|b| {
            b.identity_store_id("acme")
                .user_id("42".parse::<UserId>().unwrap())
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(readiness(&server, "/healthz/ready").await.0, 200);

    store.fail(
        Faults::Writes,
        StoreError::Unavailable("the disk is full".into()),
    );
    for (dialect, answer) in a_write_in_every_dialect(&server, session.id.as_str()).await {
        assert_error_shape(dialect, &answer, 503);
    }
    // Reads go on.
    native
        .session_view()
        .session_id(session.id.clone())
        .send()
        .await
        .expect("a read while writes fail");
    assert_eq!(huawei_list(&huawei(&server)).await.len(), 1);
    assert_eq!(
        readiness(&server, "/healthz/ready").await,
        (503, Some("1".to_string())),
        "not ready while the store cannot write"
    );
    assert_eq!(
        readiness(&server, "/healthz").await.0,
        503,
        "/healthz is ready's alias"
    );
    assert_eq!(
        readiness(&server, "/healthz/live").await.0,
        200,
        "still alive"
    );

    store.fail(
        Faults::Writes,
        StoreError::Internal("disk I/O error".into()),
    );
    for (dialect, answer) in a_write_in_every_dialect(&server, session.id.as_str()).await {
        assert_error_shape(dialect, &answer, 500);
    }

    store.fail(
        Faults::Everything,
        StoreError::Unavailable("the disk is full".into()),
    );
    let (status, _) = login_sessions_tests::error_response(
        native
            .session_view()
            .session_id(session.id.clone())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 503, "a read of a store that cannot answer");

    store.heal();
    assert_eq!(
        readiness(&server, "/healthz/ready").await.0,
        200,
        "ready again"
    );
    for (dialect, answer) in a_write_in_every_dialect(&server, session.id.as_str()).await {
        assert!(
            answer.status < 300,
            "{dialect} writes again: {}",
            answer.body
        );
    }
    server.finish().await;
}

login_sessions_tests::contract_tests![
    every_dialect_shows_the_same_session,
    store_failures_are_answered_in_every_dialects_shape,
];
