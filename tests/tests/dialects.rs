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

login_sessions_tests::contract_tests![every_dialect_shows_the_same_session,];
