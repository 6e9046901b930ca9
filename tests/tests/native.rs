//! Contract tests of the native API, through the generated client against
//! the real server; every response is validated against the spec by the
//! harness's proxy.
//!
//! Every test runs on both stores (`sqlite::NAME`, `postgres::NAME`): see
//! the harness's documentation (`tests/src/lib.rs`) for the scheme.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::TimeDelta;
use login_sessions_client::Client;
use login_sessions_client::types::{
    EndReason, IdentityStoreId, Label, NativeError, NativeErrorCode, Session, SessionId,
    SessionStatus, SessionType, UserId,
};
use login_sessions_server::clock::Clock;
use login_sessions_server::domain::credential::Role;
use login_sessions_tests::IssuedSecrets;
use login_sessions_tests::{StoreKind, TestServer, error_response, pfid, test_epoch};
use serde_json::json;

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}

async fn create(client: &Client, store: &str, user: Option<&str>) -> Session {
    client
        .session_create()
        .body_map(|b| {
            b.identity_store_id(store)
                .user_id(user.map(|u| u.parse::<UserId>().unwrap()))
                .ip_address(Some("203.0.113.9".parse().unwrap()))
                .user_agent(Some("curl/8.5.0".to_string()))
        })
        .send()
        .await
        .expect("create session")
        .into_inner()
}

async fn list_all(client: &Client, user: Option<&str>, store: Option<&str>) -> Vec<Session> {
    let mut request = client
        .session_list()
        .limit(std::num::NonZeroU32::new(1000).unwrap());
    if let Some(user) = user {
        request = request.user_id(user.parse::<UserId>().unwrap());
    }
    if let Some(store) = store {
        request = request.identity_store_id(store.to_string());
    }
    request.send().await.expect("list").into_inner().items
}

async fn create_and_view_an_authenticated_session(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let client = server.admin_client();

    let created = client
        .session_create()
        .body_map(|b| {
            b.identity_store_id("acme")
                .user_id("42".parse::<UserId>().unwrap())
                .ip_address(Some("2001:db8::7".parse().unwrap()))
                .user_agent(Some(
                    "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".to_string(),
                ))
                .credentials_type("saml".parse::<Label>().unwrap())
                .session_type(Some(SessionType::Api))
                .ttl_seconds(std::num::NonZeroU32::new(600))
                .title("laptop".parse::<Label>().unwrap())
        })
        .send()
        .await
        .expect("create");
    assert_eq!(created.status().as_u16(), 201);
    let created = created.into_inner();
    assert_eq!(created.id.len(), 32);
    assert_eq!(created.identity_store_id, "acme");
    assert_eq!(created.user_id.as_deref(), Some("42"));
    assert_eq!(created.status, SessionStatus::Authenticated);
    assert!(created.live);
    assert_eq!(created.end_reason, None);
    assert_eq!(created.session_type, SessionType::Api);
    assert_eq!(created.credentials_type.as_deref(), Some("saml"));
    assert_eq!(created.created_at, test_epoch());
    assert_eq!(created.expires_at, test_epoch() + TimeDelta::seconds(600));
    assert_eq!(created.extended_count, 0);
    let first = created.first_seen.clone().expect("first seen");
    assert_eq!(first.at, test_epoch());
    assert_eq!(first.ip_address, Some("2001:db8::7".parse().unwrap()));
    assert_eq!(json(&created.last_seen), json(&created.first_seen));

    let viewed = client
        .session_view()
        .session_id(created.id.clone())
        .send()
        .await
        .expect("view");
    assert_eq!(json(&viewed.into_inner()), json(&created));
    server.finish().await;
}

async fn sessions_without_interaction_or_user(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let client = server.admin_client();

    let fresh = client
        .session_create()
        .body_map(|b| b.identity_store_id("acme"))
        .send()
        .await
        .expect("create")
        .into_inner();
    assert_eq!(fresh.status, SessionStatus::New);
    assert_eq!(fresh.user_id, None);
    assert!(fresh.first_seen.is_none() && fresh.last_seen.is_none());
    assert_eq!(
        fresh.expires_at,
        test_epoch() + TimeDelta::hours(24),
        "default lifetime"
    );

    let seen = client
        .session_create()
        .body_map(|b| {
            b.identity_store_id("acme")
                .user_agent(Some("curl/8".to_string()))
        })
        .send()
        .await
        .expect("create")
        .into_inner();
    assert_eq!(seen.status, SessionStatus::Unauthenticated);
    assert_eq!(seen.first_seen.expect("seen").ip_address, None);
    server.finish().await;
}

async fn bad_input_gets_a_clear_400_and_writes_nothing(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let http = server.http();
    let url = format!("{}/native/v1/sessions", server.url());
    let token = server.admin.native_token();

    let cases = [
        (
            json!({"identity_store_id": ""}),
            "identity_store_id must not be empty",
        ),
        (
            json!({"identity_store_id": "a\u{1}b"}),
            "control or format characters",
        ),
        (
            json!({"identity_store_id": "acme", "title": "invoice\u{202e}fdp.exe"}),
            "title must not contain control or format characters",
        ),
        (
            json!({"identity_store_id": "acme", "credentials_type": "saml\u{200b}"}),
            "credentials_type must not contain control or format characters",
        ),
        (
            json!({"identity_store_id": "x".repeat(129)}),
            "longer than 128",
        ),
        (
            json!({"identity_store_id": "acme", "ip_address": "300.1.1.1"}),
            "ip_address",
        ),
        (
            json!({"identity_store_id": "acme", "surprise": 1}),
            "surprise",
        ),
        (
            json!({"identity_store_id": "acme", "ttl_seconds": 60, "expires_at": "2026-03-02T00:00:00Z"}),
            "not both",
        ),
        (
            json!({"identity_store_id": "acme", "ttl_seconds": 0}),
            "at least one second",
        ),
        (
            json!({"identity_store_id": "acme", "ttl_seconds": 400_000_000u32}),
            "at most",
        ),
        (
            json!({"identity_store_id": "acme", "expires_at": "2020-01-01T00:00:00Z"}),
            "at least one second",
        ),
        (
            json!({"identity_store_id": "acme", "status": "authenticated"}),
            "needs user_id",
        ),
        (
            json!({"identity_store_id": "acme", "user_id": "1", "status": "new"}),
            "has none",
        ),
        (
            json!({"identity_store_id": "acme", "user_id": "1", "status": "revoked"}),
            "recorded live",
        ),
        (
            json!({"identity_store_id": "acme", "account_id": "not-a-pfid"}),
            "account_id",
        ),
        (
            json!({"identity_store_id": "acme", "session_type": "robot"}),
            "session_type",
        ),
    ];
    for (body, expected) in cases {
        let response = http
            .post(&url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400, "{body}");
        let request_id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_string();
        let error: serde_json::Value = response.json().await.unwrap();
        assert_eq!(error["error_code"], "InvalidRequest", "{body}: {error}");
        assert_eq!(
            error["request_id"],
            request_id.as_str(),
            "request id in body and header"
        );
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains(expected),
            "{body}: message {message:?} lacks {expected:?}"
        );
    }
    // A query that does not decode to UTF-8 is refused, not read with
    // U+FFFD in place of its bytes.
    let not_utf8 = http
        .get(format!("{url}?user_id=%FF"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(not_utf8.status().as_u16(), 400);
    let error: serde_json::Value = not_utf8.json().await.unwrap();
    assert_eq!(error["error_code"], "InvalidRequest");
    assert!(
        error["message"].as_str().unwrap().contains("UTF-8"),
        "{error}"
    );
    let malformed = http
        .post(&url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body("{\"identity_store_id\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status().as_u16(), 400);
    let error: serde_json::Value = malformed.json().await.unwrap();
    assert_eq!(error["error_code"], "InvalidRequest");

    assert!(
        list_all(&server.admin_client(), None, None)
            .await
            .is_empty(),
        "nothing written"
    );
    server.finish().await;
}

async fn unauthenticated_requests_are_refused(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let url = format!("{}/native/v1/sessions", server.url());
    let http = server.http();

    let missing = http.get(&url).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 401);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error_code"], "Unauthenticated");

    for header in [
        "Bearer lsn_unknown",
        "Basic Zm9vOmJhcg==",
        "Bearer",
        "token lsn_x",
    ] {
        let response = http
            .get(&url)
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401, "{header}");
    }

    let other = server.issue(Role::Admin, None, None).await;
    let client = server.native_client(other.native_token());
    client
        .session_list()
        .send()
        .await
        .expect("works before revocation");
    server.revoke(&other).await;
    let (status, error) = error_response(client.session_list().send().await.unwrap_err());
    assert_eq!(
        (status, error.error_code),
        (401, NativeErrorCode::Unauthenticated)
    );
    server.finish().await;
}

async fn session_ids_are_checked_before_the_store(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let client = server.admin_client();

    for bad in [
        "nope",
        "013XRZP12G3NQK8NKV4Y96WRBZJE9DSR",
        "813xrzp12g3nqk8nkv4y96wrbzje9dsr",
    ] {
        // The generated client refuses it (the spec's pattern); the server
        // does too, for clients that send it anyway.
        let refused = client.session_view().session_id(bad).send().await;
        assert!(
            matches!(
                refused,
                Err(login_sessions_client::Error::InvalidRequest(_))
            ),
            "{bad}"
        );
        let response = server
            .http()
            .get(format!("{}/native/v1/sessions/{bad}", server.url()))
            .bearer_auth(server.admin.native_token())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400, "{bad}");
        let error: NativeError = response.json().await.unwrap();
        assert_eq!(error.error_code, NativeErrorCode::InvalidRequest, "{bad}");
        assert!(error.message.contains("session id"), "{}", error.message);
    }
    let (status, error) = error_response(
        client
            .session_view()
            .session_id("013xrzp12g3nqk8nkv4y96wrbzje9dsr")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((status, error.error_code), (404, NativeErrorCode::NotFound));
    server.finish().await;
}

async fn interactions_move_last_seen(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let client = server.admin_client();
    let session = client
        .session_create()
        .body_map(|b| b.identity_store_id("acme"))
        .send()
        .await
        .unwrap()
        .into_inner();

    server.clock.advance(TimeDelta::seconds(30));
    let seen = client
        .session_interaction_create()
        .session_id(session.id.clone())
        .body_map(|b| {
            b.ip_address(Some("198.51.100.1".parse().unwrap()))
                .user_agent(Some("A".to_string()))
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seen.status, SessionStatus::Unauthenticated);
    let first = seen.first_seen.clone().unwrap();
    assert_eq!(first.at, test_epoch() + TimeDelta::seconds(30));

    server.clock.advance(TimeDelta::seconds(30));
    let again = client
        .session_interaction_create()
        .session_id(session.id.clone())
        .body_map(|b| b.ip_address(Some("198.51.100.2".parse().unwrap())))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        json(&again.first_seen),
        json(&seen.first_seen),
        "first_seen is kept"
    );
    let last = again.last_seen.unwrap();
    assert_eq!(last.at, test_epoch() + TimeDelta::seconds(60));
    assert_eq!(last.ip_address, Some("198.51.100.2".parse().unwrap()));

    let future = server.clock.now() + TimeDelta::minutes(10);
    let (status, _) = error_response(
        client
            .session_interaction_create()
            .session_id(session.id.clone())
            .body_map(|b| b.at(Some(future)))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 400);
    server.finish().await;
}

/// A client seen again from the same address and agent within the
/// server's last-seen granularity (60 s by default) changes nothing at that
/// precision: the interaction is answered with the session as stored and
/// not written. A different address, or the granularity passing, is
/// written; an ended session is refused as ever.
async fn repeated_interactions_within_the_granularity_are_coalesced(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let client = server.admin_client();
    let session = create(&client, "acme", Some("42")).await;
    let touch = |ip: &'static str| {
        let client = client.clone();
        let id = session.id.clone();
        async move {
            client
                .session_interaction_create()
                .session_id(id.clone())
                .body_map(|b| {
                    b.ip_address(Some(ip.parse().unwrap()))
                        .user_agent(Some("A".to_string()))
                })
                .send()
                .await
        }
    };

    server.clock.advance(TimeDelta::seconds(1));
    let first = touch("198.51.100.1").await.unwrap().into_inner();
    let first_at = test_epoch() + TimeDelta::seconds(1);
    assert_eq!(first.last_seen.as_ref().unwrap().at, first_at);
    let stored = server
        .store
        .session(&pfid(&session.id))
        .await
        .unwrap()
        .unwrap();

    server.clock.advance(TimeDelta::seconds(59));
    let coalesced = touch("198.51.100.1").await.unwrap().into_inner();
    assert_eq!(json(&coalesced), json(&first), "answered as stored");
    let after = server
        .store
        .session(&pfid(&session.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.version, stored.version, "nothing was written");

    let moved = touch("198.51.100.2").await.unwrap().into_inner();
    let last = moved.last_seen.unwrap();
    assert_eq!(last.at, test_epoch() + TimeDelta::seconds(60));
    assert_eq!(last.ip_address, Some("198.51.100.2".parse().unwrap()));

    server.clock.advance(TimeDelta::seconds(60));
    let later = touch("198.51.100.2").await.unwrap().into_inner();
    assert_eq!(
        later.last_seen.unwrap().at,
        test_epoch() + TimeDelta::seconds(120),
        "a granularity later, the same client is written again"
    );

    client
        .session_revoke()
        .session_id(session.id.clone())
        .send()
        .await
        .unwrap();
    let (status, error) = error_response(touch("198.51.100.2").await.unwrap_err());
    assert_eq!((status, error.error_code), (409, NativeErrorCode::Conflict));
    server.finish().await;
}

async fn extend_and_expiry(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let client = server.admin_client();
    let session = create(&client, "acme", Some("7")).await;

    server.clock.advance(TimeDelta::hours(1));
    let extended = client
        .session_extend()
        .session_id(session.id.clone())
        .body_map(|b| b.ttl_seconds(std::num::NonZeroU32::new(86_400)))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(extended.extended_count, 1);
    assert_eq!(
        extended.extended_at,
        Some(test_epoch() + TimeDelta::hours(1))
    );
    assert_eq!(extended.expires_at, test_epoch() + TimeDelta::hours(25));

    let (status, error) = error_response(
        client
            .session_extend()
            .session_id(session.id.clone())
            .body_map(|b| b.ttl_seconds(std::num::NonZeroU32::new(60)))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 400, "shortening is refused: {}", error.message);

    // Clients racing to extend to the same time all succeed, and it
    // counts once: an extension to the current expiry is idempotent.
    let until = test_epoch() + TimeDelta::hours(30);
    let racing: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            let id = session.id.clone();
            tokio::spawn(async move {
                client
                    .session_extend()
                    .session_id(id)
                    .body_map(move |b| b.expires_at(Some(until)))
                    .send()
                    .await
            })
        })
        .collect();
    for task in racing {
        let extended = task
            .await
            .unwrap()
            .expect("every racing extension succeeds")
            .into_inner();
        assert_eq!(extended.expires_at, until);
        assert_eq!(extended.extended_count, 2, "counted once");
    }

    server.clock.advance(TimeDelta::hours(30));
    let expired = client
        .session_view()
        .session_id(session.id.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(expired.status, SessionStatus::Complete);
    assert!(!expired.live);
    assert_eq!(expired.end_reason, Some(EndReason::Expired));
    assert_eq!(expired.ended_at, None);

    let (status, error) = error_response(
        client
            .session_extend()
            .session_id(session.id.clone())
            .body_map(|b| b.ttl_seconds(std::num::NonZeroU32::new(60)))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((status, error.error_code), (409, NativeErrorCode::Conflict));
    assert!(error.message.contains("expired"), "{}", error.message);
    server.finish().await;
}

async fn authenticate_logout_and_revoke_follow_the_status_machine(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let client = server.admin_client();
    let session = client
        .session_create()
        .body_map(|b| b.identity_store_id("acme"))
        .send()
        .await
        .unwrap()
        .into_inner();

    let authenticated = client
        .session_authenticate()
        .session_id(session.id.clone())
        .body_map(|b| {
            b.user_id("42")
                .credentials_type("email".parse::<Label>().unwrap())
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(authenticated.status, SessionStatus::Authenticated);
    assert_eq!(authenticated.user_id.as_deref(), Some("42"));
    assert_eq!(authenticated.credentials_type.as_deref(), Some("email"));

    let (status, error) = error_response(
        client
            .session_authenticate()
            .session_id(session.id.clone())
            .body_map(|b| b.user_id("43"))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((status, error.error_code), (409, NativeErrorCode::Conflict));

    server.clock.advance(TimeDelta::seconds(5));
    let logged_out = client
        .session_logout()
        .session_id(session.id.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(logged_out.status, SessionStatus::Complete);
    assert_eq!(logged_out.end_reason, Some(EndReason::LoggedOut));
    assert_eq!(
        logged_out.ended_at,
        Some(test_epoch() + TimeDelta::seconds(5))
    );
    let (status, _) = error_response(
        client
            .session_logout()
            .session_id(session.id.clone())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 409);

    let other = create(&client, "acme", Some("42")).await;
    let revoked = client
        .session_revoke()
        .session_id(other.id.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (revoked.status, revoked.live),
        (SessionStatus::Revoked, false)
    );
    assert_eq!(revoked.end_reason, Some(EndReason::Revoked));
    let (status, error) = error_response(
        client
            .session_revoke()
            .session_id(other.id.clone())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((status, error.error_code), (409, NativeErrorCode::Conflict));
    let unchanged = client
        .session_view()
        .session_id(other.id.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        json(&unchanged),
        json(&revoked),
        "a refused revocation changes nothing"
    );
    server.finish().await;
}

async fn revoke_all_of_a_users_sessions(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let client = server.admin_client();
    let keep = create(&client, "acme", Some("42")).await;
    let a = create(&client, "acme", Some("42")).await;
    let b = create(&client, "globex", Some("42")).await;
    let other_user = create(&client, "acme", Some("43")).await;
    let ended = create(&client, "acme", Some("42")).await;
    client
        .session_logout()
        .session_id(ended.id.clone())
        .send()
        .await
        .unwrap();

    let only_acme = client
        .user_sessions_revoke()
        .user_id("42")
        .body_map(|r| {
            r.identity_store_id("acme".parse::<IdentityStoreId>().unwrap())
                .except_session_id(Some(keep.id.clone()))
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(only_acme.revoked_session_ids, vec![a.id.clone()]);

    let view = |id: String| {
        let client = client.clone();
        async move {
            client
                .session_view()
                .session_id(id)
                .send()
                .await
                .unwrap()
                .into_inner()
        }
    };
    assert!(view(keep.id.to_string()).await.live);
    assert!(view(b.id.to_string()).await.live);
    assert!(view(other_user.id.to_string()).await.live);
    assert_eq!(
        view(ended.id.to_string()).await.status,
        SessionStatus::Complete
    );

    let everything = client
        .user_sessions_revoke()
        .user_id("42")
        .body_map(|r| r)
        .send()
        .await
        .unwrap()
        .into_inner();
    let mut expected = vec![keep.id.clone(), b.id.clone()];
    expected.sort();
    let mut got = everything.revoked_session_ids;
    got.sort();
    assert_eq!(got, expected);
    assert!(view(other_user.id.to_string()).await.live);
    server.finish().await;
}

async fn listing_filters_and_keyset_pagination(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let client = server.admin_client();
    let mut ids = Vec::new();
    for i in 0..7 {
        server.clock.advance(TimeDelta::milliseconds(3));
        let store = if i % 2 == 0 { "acme" } else { "globex" };
        ids.push(
            create(&client, store, Some(if i < 5 { "1" } else { "2" }))
                .await
                .id,
        );
    }
    let logged_out = ids[0].clone();
    client
        .session_logout()
        .session_id(logged_out.clone())
        .send()
        .await
        .unwrap();

    let all = list_all(&client, None, None).await;
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(
        all.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        newest_first
    );

    assert_eq!(list_all(&client, Some("2"), None).await.len(), 2);
    assert_eq!(list_all(&client, None, Some("acme")).await.len(), 4);
    assert_eq!(list_all(&client, Some("1"), Some("globex")).await.len(), 2);

    let complete = client
        .session_list()
        .status(SessionStatus::Complete)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        complete
            .items
            .iter()
            .map(|s| s.id.clone())
            .collect::<Vec<_>>(),
        vec![logged_out.clone()]
    );
    let live = client
        .session_list()
        .live(true)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(live.items.len(), 6);

    // Walk pages of 3 while new sessions arrive: each existing session is
    // seen exactly once and the new ones do not disturb the walk.
    let limit = std::num::NonZeroU32::new(3).unwrap();
    let mut seen = Vec::new();
    let mut added_during_walk = 0;
    let mut page = client
        .session_list()
        .limit(limit)
        .send()
        .await
        .unwrap()
        .into_inner();
    loop {
        seen.extend(page.items.iter().map(|s| s.id.clone()));
        create(&client, "acme", Some("9")).await;
        added_during_walk += 1;
        let Some(token) = page.next_page.clone() else {
            break;
        };
        page = client
            .session_list()
            .limit(limit)
            .page_token(token)
            .send()
            .await
            .unwrap()
            .into_inner();
    }
    assert_eq!(seen, newest_first);

    // After expiry, status=complete also finds the expired ones.
    server.clock.advance(TimeDelta::days(2));
    let complete = client
        .session_list()
        .status(SessionStatus::Complete)
        .limit(std::num::NonZeroU32::new(1000).unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(complete.items.len(), 7 + added_during_walk);
    assert!(
        client
            .session_list()
            .live(true)
            .send()
            .await
            .unwrap()
            .into_inner()
            .items
            .is_empty()
    );
    server.finish().await;
}

async fn credentials_see_only_their_scope(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let admin = server.admin_client();
    let acme_42 = create(&admin, "acme", Some("42")).await;
    let acme_43 = create(&admin, "acme", Some("43")).await;
    let globex_42 = create(&admin, "globex", Some("42")).await;

    let store_admin = server.issue(Role::StoreAdmin, Some("acme"), None).await;
    let acme = server.native_client(store_admin.native_token());
    acme.session_view()
        .session_id(acme_43.id.clone())
        .send()
        .await
        .expect("own store");
    let (status, _) = error_response(
        acme.session_view()
            .session_id(globex_42.id.clone())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        status, 404,
        "another store's session does not exist for a store-admin"
    );
    assert_eq!(list_all(&acme, None, None).await.len(), 2);
    let (status, error) = error_response(
        acme.session_list()
            .identity_store_id("globex")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, error.error_code),
        (403, NativeErrorCode::Forbidden)
    );
    let (status, _) = error_response(
        acme.session_create()
            .body_map(|b| b.identity_store_id("globex"))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 403);
    create(&acme, "acme", None).await;

    let user = server.issue(Role::User, None, Some("42")).await;
    let user = server.native_client(user.native_token());
    let own = list_all(&user, None, None).await;
    let mut own_ids: Vec<_> = own.iter().map(|s| s.id.clone()).collect();
    own_ids.sort();
    let mut expected = vec![acme_42.id.clone(), globex_42.id.clone()];
    expected.sort();
    assert_eq!(own_ids, expected);
    let (status, _) = error_response(
        user.session_view()
            .session_id(acme_43.id.clone())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 404);
    let (status, _) = error_response(
        user.session_create()
            .body_map(|b| {
                b.identity_store_id("acme")
                    .user_id("42".parse::<UserId>().unwrap())
            })
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 403);
    let (status, _) = error_response(
        user.session_revoke()
            .session_id(acme_42.id.clone())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 403, "a user logs out; only administrators revoke");
    let (status, _) = error_response(
        user.user_sessions_revoke()
            .user_id("43")
            .body_map(|r| r)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 403);
    let logged_out = user
        .session_logout()
        .session_id(acme_42.id.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(logged_out.status, SessionStatus::Complete);
    let others = user
        .user_sessions_revoke()
        .user_id("42")
        .body_map(|r| r)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(others.revoked_session_ids, vec![globex_42.id]);
    server.finish().await;
}

async fn rate_limited_credentials_get_429(kind: StoreKind) {
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
    let client = server.native_client(limited.native_token());
    client.session_list().send().await.expect("first");
    client
        .session_list()
        .send()
        .await
        .expect("second (burst of 2)");
    let (status, error) = error_response(client.session_list().send().await.unwrap_err());
    assert_eq!(
        (status, error.error_code),
        (429, NativeErrorCode::TooManyRequests)
    );
    server.clock.advance(TimeDelta::seconds(1));
    client.session_list().send().await.expect("refilled");
    server
        .admin_client()
        .session_list()
        .send()
        .await
        .expect("other credentials are not limited");
    server.finish().await;
}

async fn healthz_answers_once_the_store_is_ready(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let response = server
        .http()
        .get(format!("{}/healthz", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    server.admin_client().session_list().send().await.unwrap();
    server.finish().await;
}

/// Walks every session of a fresh identity store in pages of `limit`:
/// how many requests it took, and the ids in the order listed.
async fn walk(client: &Client, store: &str, limit: u32) -> (usize, Vec<SessionId>) {
    let limit = std::num::NonZeroU32::new(limit).unwrap();
    let mut requests = 0;
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let request = client.session_list().limit(limit);
        let request = match token {
            Some(token) => request.page_token(token),
            None => request.identity_store_id(store.to_string()),
        };
        let page = request.send().await.expect("list a page").into_inner();
        requests += 1;
        assert!(page.items.len() <= limit.get() as usize);
        if page.next_page.is_some() {
            assert_eq!(
                page.items.len(),
                limit.get() as usize,
                "a short page is the last"
            );
        }
        seen.extend(page.items.into_iter().map(|s| s.id));
        match page.next_page {
            Some(next) => token = Some(next),
            None => return (requests, seen),
        }
    }
}

async fn a_walk_makes_the_minimal_number_of_requests(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let client = server.admin_client();
    let mut newest_first = Vec::new();
    for _ in 0..6 {
        server.clock.advance(TimeDelta::milliseconds(3));
        newest_first.insert(0, create(&client, "walk", Some("1")).await.id);
    }
    create(&client, "elsewhere", Some("1")).await;

    for (limit, requests) in login_sessions_tests::WALKS_OF_SIX {
        let (made, seen) = walk(&client, "walk", limit).await;
        assert_eq!(made, requests, "limit {limit}");
        assert_eq!(seen, newest_first, "limit {limit}");
    }
    // A store with no sessions: one request, an empty last page.
    assert_eq!(walk(&client, "empty", 3).await, (1, Vec::new()));
    server.finish().await;
}

/// `credentials revoke` run while the server runs, by another process
/// with its own connections to the same database: the server, which has
/// the credential cached, refuses it once it hears of the revocation
/// (SQLite: its watcher sees the file's revocation counter move;
/// PostgreSQL: the revoking transaction's notification), its clock
/// standing still.
async fn a_credential_revoked_by_the_command_line_is_refused_by_a_running_server(kind: StoreKind) {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use login_sessions_server::clock::SystemClock;
    use login_sessions_server::service::credentials::CredentialService;
    use login_sessions_server::store::SharedStore;
    use login_sessions_server::store::postgres::PostgresStore;
    use login_sessions_server::store::sqlite::SqliteStore;

    let (server, command_line): (TestServer, SharedStore) = match kind {
        StoreKind::Sqlite => {
            let dir = tempfile::tempdir().expect("temporary directory");
            let path = dir.path().join("sessions.db");
            let store = Arc::new(SqliteStore::open(&path).expect("open"));
            let server = TestServer::start_on(store, dir).await;
            let other = Arc::new(SqliteStore::open(&path).expect("a second opener"));
            (server, other)
        }
        StoreKind::Postgres => {
            let server = TestServer::start_with(kind).await;
            let url = server.database_url.clone().expect("a database URL");
            let other = Arc::new(PostgresStore::open(&url, 1).await.expect("a second opener"));
            (server, other)
        }
    };
    let user = server.issue(Role::User, None, Some("7")).await;
    let client = server.native_client(user.native_token());
    let status = || async {
        match client.session_list().send().await {
            Ok(_) => 200,
            Err(error) => error_response(error).0,
        }
    };
    assert_eq!(status().await, 200, "the credential works, and is cached");

    let cli = CredentialService::new(command_line, Arc::new(SystemClock), server.key.clone());
    cli.revoke(user.credential.id.as_str())
        .await
        .expect("credentials revoke");
    // The bound only keeps a broken watcher from hanging the suite; the
    // benchmark measures how soon it hears.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answered = status().await;
        if answered == 401 {
            break;
        }
        assert_eq!(answered, 200);
        assert!(
            Instant::now() < deadline,
            "the revocation was never heard of"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.finish().await;
}

login_sessions_tests::contract_tests![
    create_and_view_an_authenticated_session,
    sessions_without_interaction_or_user,
    bad_input_gets_a_clear_400_and_writes_nothing,
    unauthenticated_requests_are_refused,
    session_ids_are_checked_before_the_store,
    interactions_move_last_seen,
    repeated_interactions_within_the_granularity_are_coalesced,
    extend_and_expiry,
    authenticate_logout_and_revoke_follow_the_status_machine,
    revoke_all_of_a_users_sessions,
    listing_filters_and_keyset_pagination,
    a_walk_makes_the_minimal_number_of_requests,
    credentials_see_only_their_scope,
    rate_limited_credentials_get_429,
    healthz_answers_once_the_store_is_ready,
    a_credential_revoked_by_the_command_line_is_refused_by_a_running_server,
    ; covers: "native"
];
