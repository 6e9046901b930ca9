//! Contract tests of the Prefactor dialect through the generated client:
//! Fetch session, the list and revoke extensions, PFIDs, Unix-second
//! timestamps, and every error code the dialect emits. Every response is
//! validated against the spec by the harness's proxy.
//!
//! Every test runs on both stores (`sqlite::NAME`, `postgres::NAME`): see
//! the harness's documentation (`tests/src/lib.rs`) for the scheme.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::TimeDelta;
use login_sessions_client::Client;
use login_sessions_client::types::{Label, Pfid, PrefactorErrorCode, Session, SessionId, UserId};
use login_sessions_client::types::{
    PrefactorSessionStatus as PfStatus, PrefactorSessionType as PfType,
};
use login_sessions_server::domain::credential::Role;
use login_sessions_tests::IssuedSecrets;
use login_sessions_tests::{StoreKind, TestServer, error_response, test_epoch};

async fn create(admin: &Client, store: &str, user: Option<&str>, ip: Option<&str>) -> Session {
    admin
        .session_create()
        .body_map(|b| {
            b.identity_store_id(store)
                .user_id(user.map(|u| u.parse::<UserId>().unwrap()))
                .ip_address(ip.map(|ip| ip.parse().unwrap()))
                .user_agent(ip.map(|_| "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".to_string()))
        })
        .send()
        .await
        .expect("create session")
        .into_inner()
}

async fn fetch_a_new_session_never_seen(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let admin = server.admin_client();
    let prefactor = server.prefactor_client(server.admin.prefactor_api_token());
    let created = create(&admin, "pool-a", None, None).await;

    let fetched = prefactor
        .fetch_session()
        .session_id(created.id.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    let summary = &fetched.summary;
    assert_eq!(summary.id, created.id);
    assert_eq!(summary.status, PfStatus::New);
    assert_eq!(summary.session_type, PfType::Browser);
    assert_eq!(summary.pool_id, "pool-a");
    assert!(summary.authenticated_identity_id.is_none());
    assert!(summary.first_seen.is_none() && summary.last_seen.is_none());
    assert!(fetched.actions.revoke, "an admin may revoke a live session");

    // On the wire: explicit nulls, "type": "session", "status": "success".
    let raw = raw_fetch(&server, &created.id).await;
    assert_eq!(raw["status"], "success");
    assert_eq!(raw["summary"]["type"], "session");
    for key in [
        "first_seen",
        "last_seen",
        "authenticated_identity_id",
        "account_id",
        "domain_id",
        "device_id",
        "title",
    ] {
        assert!(
            raw["summary"].as_object().unwrap().contains_key(key),
            "{key} is present"
        );
        assert!(raw["summary"][key].is_null(), "{key} is null");
    }
    server.finish().await;
}

async fn raw_fetch(server: &TestServer, id: &str) -> serde_json::Value {
    server
        .http()
        .get(format!("{}/api/v1/session/{id}", server.url()))
        .bearer_auth(server.admin.prefactor_api_token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn fetch_an_authenticated_session_with_interactions_in_unix_seconds(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let admin = server.admin_client();
    let created = admin
        .session_create()
        .body_map(|b| {
            b.identity_store_id("pool-a")
                .user_id(
                    "013xrzp12g3nqk8n3f5qv5e2r757shwd"
                        .parse::<UserId>()
                        .unwrap(),
                )
                .ip_address(Some("2001:db8::1".parse().unwrap()))
                .user_agent(Some("curl/8.5.0".to_string()))
                .session_type(Some(login_sessions_client::types::SessionType::Api))
                .account_id("013xrzp12g3nqk8n6cyr5x0k8yb10h59".parse::<Pfid>().unwrap())
                .domain_id("013xrzp12g3nqk8n32sd3jyxq5a8ywe2".parse::<Pfid>().unwrap())
                .device_id("013xrzp12g3nqk8ncwfp3ra29yjzx1gs".parse::<Pfid>().unwrap())
                .title("CI runner".parse::<Label>().unwrap())
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    server.clock.advance(TimeDelta::seconds(90));
    admin
        .session_interaction_create()
        .session_id(created.id.clone())
        .body_map(|b| b.ip_address(Some("192.0.2.7".parse().unwrap())))
        .send()
        .await
        .unwrap();

    let prefactor = server.prefactor_client(server.admin.prefactor_api_token());
    let summary = prefactor
        .fetch_session()
        .session_id(created.id.clone())
        .send()
        .await
        .unwrap()
        .into_inner()
        .summary;
    assert_eq!(summary.status, PfStatus::Authenticated);
    assert_eq!(summary.session_type, PfType::Api);
    assert_eq!(
        summary.authenticated_identity_id.as_deref(),
        Some("013xrzp12g3nqk8n3f5qv5e2r757shwd")
    );
    assert_eq!(
        summary.account_id.as_deref(),
        Some("013xrzp12g3nqk8n6cyr5x0k8yb10h59")
    );
    assert_eq!(
        summary.domain_id.as_deref(),
        Some("013xrzp12g3nqk8n32sd3jyxq5a8ywe2")
    );
    assert_eq!(
        summary.device_id.as_deref(),
        Some("013xrzp12g3nqk8ncwfp3ra29yjzx1gs")
    );
    assert_eq!(summary.title.as_deref(), Some("CI runner"));
    let first = summary.first_seen.unwrap();
    assert_eq!(first.at, test_epoch().timestamp() as f64);
    assert_eq!(first.remote_ip.as_deref(), Some("2001:db8::1"));
    assert_eq!(first.user_agent.as_deref(), Some("curl/8.5.0"));
    let last = summary.last_seen.unwrap();
    assert_eq!(
        last.at,
        (test_epoch() + TimeDelta::seconds(90)).timestamp() as f64
    );
    assert_eq!(last.remote_ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(last.user_agent, None);

    // Seconds as a JSON integer, not milliseconds, not a string.
    let raw = raw_fetch(&server, &created.id).await;
    assert_eq!(
        raw["summary"]["first_seen"]["at"],
        serde_json::json!(test_epoch().timestamp())
    );
    server.finish().await;
}

async fn revoked_logged_out_and_expired_sessions_stay_fetchable(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let admin = server.admin_client();
    let prefactor = server.prefactor_client(server.admin.prefactor_api_token());
    let revoked = create(&admin, "pool-a", Some("u1"), Some("10.0.0.1")).await;
    let logged_out = create(&admin, "pool-a", Some("u1"), Some("10.0.0.2")).await;
    let expiring = admin
        .session_create()
        .body_map(|b| {
            b.identity_store_id("pool-a")
                .user_id("u1".parse::<UserId>().unwrap())
                .ttl_seconds(std::num::NonZeroU32::new(60))
        })
        .send()
        .await
        .unwrap()
        .into_inner();

    let after_revoke = prefactor
        .revoke_session()
        .session_id(revoked.id.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after_revoke.summary.status, PfStatus::Revoked);
    assert!(!after_revoke.actions.revoke);
    admin
        .session_logout()
        .session_id(logged_out.id.clone())
        .send()
        .await
        .unwrap();
    server.clock.advance(TimeDelta::seconds(61));

    let fetch = |id: String| {
        let prefactor = prefactor.clone();
        async move {
            prefactor
                .fetch_session()
                .session_id(id.clone())
                .send()
                .await
                .unwrap()
                .into_inner()
        }
    };
    let r = fetch(revoked.id.to_string()).await;
    assert_eq!(
        (r.summary.status, r.actions.revoke),
        (PfStatus::Revoked, false)
    );
    let l = fetch(logged_out.id.to_string()).await;
    assert_eq!(
        (l.summary.status, l.actions.revoke),
        (PfStatus::Complete, false)
    );
    let e = fetch(expiring.id.to_string()).await;
    assert_eq!(
        (e.summary.status, e.actions.revoke),
        (PfStatus::Complete, false),
        "expired reads complete"
    );

    for id in [&revoked.id, &logged_out.id, &expiring.id] {
        let (status, error) = error_response(
            prefactor
                .revoke_session()
                .session_id(id.clone())
                .send()
                .await
                .unwrap_err(),
        );
        assert_eq!(
            (status, error.code),
            (409, PrefactorErrorCode::InvalidAction),
            "{}",
            id.as_str()
        );
        assert_eq!(
            error.status,
            login_sessions_client::types::ErrorStatus::Error
        );
    }
    let unchanged = fetch(revoked.id.to_string()).await;
    assert_eq!(
        unchanged.summary.status,
        PfStatus::Revoked,
        "a refused revoke changes nothing"
    );
    server.finish().await;
}

async fn every_error_code_the_dialect_emits(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let admin = server.admin_client();
    let session = create(&admin, "pool-a", Some("u1"), Some("10.0.0.1")).await;
    let url = |path: &str| format!("{}{path}", server.url());
    let http = server.http();

    // not_authenticated: no credentials at all.
    let response = http
        .get(url(&format!("/api/v1/session/{}", session.id.as_str())))
        .send()
        .await
        .unwrap();
    assert_error(response, 401, "not_authenticated").await;

    // bad_authtoken: unknown, malformed, or revoked.
    for header in ["Bearer lsp_unknown", "Bearer", "Basic dTpw"] {
        let response = http
            .get(url(&format!("/api/v1/session/{}", session.id.as_str())))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_error(response, 401, "bad_authtoken").await;
    }
    let doomed = server.issue(Role::Admin, None, None).await;
    server.revoke(&doomed).await;
    let revoked_client = server.prefactor_client(doomed.prefactor_api_token());
    let (status, error) = error_response(
        revoked_client
            .fetch_session()
            .session_id(session.id.clone())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, error.code),
        (401, PrefactorErrorCode::BadAuthtoken)
    );
    // The native token is not a Prefactor token.
    let wrong_kind = server.prefactor_client(server.admin.native_token());
    let (status, _) = error_response(
        wrong_kind
            .fetch_session()
            .session_id(session.id.clone())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 401);

    let prefactor = server.prefactor_client(server.admin.prefactor_api_token());
    // invalid_value: not a PFID (uppercase, wrong length, first char past 7).
    for bad in [
        "013XRZP12G3NQK8NKV4Y96WRBZJE9DSR",
        "short",
        "813xrzp12g3nqk8nkv4y96wrbzje9dsr",
        "013xrzp12g3nqk8nkv4y96wrbzje9dsi",
    ] {
        // The generated client refuses it (the spec's pattern); the server
        // does too, for clients that send it anyway.
        let refused = prefactor.fetch_session().session_id(bad).send().await;
        assert!(
            matches!(
                refused,
                Err(login_sessions_client::Error::InvalidRequest(_))
            ),
            "{bad}"
        );
        let response = server
            .http()
            .get(format!("{}/api/v1/session/{bad}", server.url()))
            .bearer_auth(server.admin.prefactor_api_token())
            .send()
            .await
            .unwrap();
        assert_error(response, 400, "invalid_value").await;
    }
    // not_found: a valid PFID nobody recorded, asked by an admin.
    let (status, error) = error_response(
        prefactor
            .fetch_session()
            .session_id("013xrzp12g3nqk8nkv4y96wrbzje9dsr")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((status, error.code), (404, PrefactorErrorCode::NotFound));

    // required_value: the list without its pool.
    let response = http
        .get(url("/api/v1/session"))
        .bearer_auth(server.admin.prefactor_api_token())
        .send()
        .await
        .unwrap();
    assert_error(response, 400, "required_value").await;
    // invalid_value: a paging value that is not a number.
    let response = http
        .get(url(
            "/api/v1/session?pool_id=pool-a&pagination%5Boffset%5D=ten",
        ))
        .bearer_auth(server.admin.prefactor_api_token())
        .send()
        .await
        .unwrap();
    assert_error(response, 400, "invalid_value").await;
    // invalid_value: a query that does not decode to UTF-8.
    let response = http
        .get(url("/api/v1/session?pool_id=%FF"))
        .bearer_auth(server.admin.prefactor_api_token())
        .send()
        .await
        .unwrap();
    assert_error(response, 400, "invalid_value").await;

    // validation_errors: out-of-range page size, unsupported sort.
    let (status, error) = error_response(
        prefactor
            .list_pool_sessions()
            .pool_id("pool-a")
            .pagination_page_size(101u64)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, error.code),
        (422, PrefactorErrorCode::ValidationErrors)
    );
    assert!(error.errors.unwrap().contains_key("pagination[page_size]"));
    // A sort the spec does not list: the generated client refuses it, the
    // server answers it with validation_errors.
    let refused = prefactor
        .list_pool_sessions()
        .pool_id("pool-a")
        .sorting("-title")
        .send()
        .await;
    assert!(matches!(
        refused,
        Err(login_sessions_client::Error::InvalidRequest(_))
    ));
    for sorting in ["-title", " id", "id "] {
        let response = server
            .http()
            .get(format!("{}/api/v1/session", server.url()))
            .query(&[("pool_id", "pool-a"), ("sorting", sorting)])
            .bearer_auth(server.admin.prefactor_api_token())
            .send()
            .await
            .unwrap();
        assert_error(response, 422, "validation_errors").await;
    }

    // invalid_action: covered by revoked_logged_out_and_expired_sessions_stay_fetchable.
    // not_permitted: covered by scoped_credentials_are_not_permitted_outside_their_scope.

    // 429 with Prefactor's body when the credential's rate limit is spent.
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
    let limited = server.prefactor_client(limited.prefactor_api_token());
    limited
        .fetch_session()
        .session_id(session.id.clone())
        .send()
        .await
        .unwrap();
    limited
        .fetch_session()
        .session_id(session.id.clone())
        .send()
        .await
        .unwrap();
    let (status, error) = error_response(
        limited
            .fetch_session()
            .session_id(session.id.clone())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!((status, error.code), (429, PrefactorErrorCode::Unknown));
    server.finish().await;
}

async fn assert_error(response: reqwest::Response, status: u16, code: &str) {
    assert_eq!(response.status().as_u16(), status);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

async fn scoped_credentials_are_not_permitted_outside_their_scope(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let admin = server.admin_client();
    let in_a = create(&admin, "pool-a", Some("u1"), None).await;
    let in_b = create(&admin, "pool-b", Some("u1"), None).await;
    let other_user = create(&admin, "pool-a", Some("u2"), None).await;

    let store_admin = server.issue(Role::StoreAdmin, Some("pool-a"), None).await;
    let a = server.prefactor_client(store_admin.prefactor_api_token());
    assert!(
        a.fetch_session()
            .session_id(in_a.id.clone())
            .send()
            .await
            .unwrap()
            .into_inner()
            .actions
            .revoke
    );
    // Another pool's session and a session that exists nowhere look alike.
    for id in [in_b.id.as_str(), "013xrzp12g3nqk8nkv4y96wrbzje9dsr"] {
        let (status, error) =
            error_response(a.fetch_session().session_id(id).send().await.unwrap_err());
        assert_eq!(
            (status, error.code),
            (403, PrefactorErrorCode::NotPermitted),
            "{id}"
        );
        let (status, error) =
            error_response(a.revoke_session().session_id(id).send().await.unwrap_err());
        assert_eq!(
            (status, error.code),
            (403, PrefactorErrorCode::NotPermitted),
            "{id}"
        );
    }
    let (status, error) = error_response(
        a.list_pool_sessions()
            .pool_id("pool-b")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, error.code),
        (403, PrefactorErrorCode::NotPermitted)
    );

    let user = server.issue(Role::User, None, Some("u1")).await;
    let user = server.prefactor_client(user.prefactor_api_token());
    let own = user
        .fetch_session()
        .session_id(in_a.id.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(
        !own.actions.revoke,
        "a user may not revoke, so the action is not offered"
    );
    let (status, error) = error_response(
        user.revoke_session()
            .session_id(in_a.id.clone())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, error.code),
        (403, PrefactorErrorCode::NotPermitted)
    );
    let (status, _) = error_response(
        user.fetch_session()
            .session_id(other_user.id.clone())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 403);
    let listed = user
        .list_pool_sessions()
        .pool_id("pool-a")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed
            .summaries
            .iter()
            .map(|s| s.id.clone())
            .collect::<Vec<_>>(),
        vec![in_a.id.clone()]
    );
    server.finish().await;
}

async fn list_pages_by_offset_with_computed_pagination(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let admin = server.admin_client();
    let mut ids = Vec::new();
    for i in 0..7 {
        server.clock.advance(TimeDelta::milliseconds(2));
        ids.push(
            create(&admin, "pool-a", Some(&format!("u{i}")), Some("10.0.0.1"))
                .await
                .id,
        );
    }
    create(&admin, "pool-b", Some("u1"), None).await;
    let prefactor = server.prefactor_client(server.admin.prefactor_api_token());

    let first = prefactor
        .list_pool_sessions()
        .pool_id("pool-a")
        .pagination_page_size(std::num::NonZeroU64::new(3).unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    let newest_first: Vec<_> = ids.iter().rev().cloned().collect();
    assert_eq!(
        first
            .summaries
            .iter()
            .map(|s| s.id.clone())
            .collect::<Vec<_>>(),
        newest_first[..3]
    );
    let p = first.pagination.unwrap();
    assert_eq!(
        (
            p.item_count,
            p.item_start,
            p.item_end,
            p.page_count,
            p.page_index
        ),
        (7, 1, 3, 3, 1)
    );
    assert_eq!(
        (
            p.page_offset,
            p.page_size,
            p.next_page_offset,
            p.previous_page_offset
        ),
        (0, 3, Some(3), None)
    );
    let sorting = first.sorting.unwrap();
    assert_eq!(
        format!("{:?}/{:?}", sorting.field, sorting.direction),
        "Id/Desc"
    );

    let last = prefactor
        .list_pool_sessions()
        .pool_id("pool-a")
        .sorting("id")
        .pagination_offset(6u64)
        .pagination_page_size(std::num::NonZeroU64::new(3).unwrap())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        last.summaries
            .iter()
            .map(|s| s.id.clone())
            .collect::<Vec<_>>(),
        vec![ids[6].clone()]
    );
    let p = last.pagination.unwrap();
    assert_eq!(
        (
            p.item_start,
            p.item_end,
            p.page_index,
            p.next_page_offset,
            p.previous_page_offset
        ),
        (7, 7, 3, None, Some(3))
    );

    let empty = prefactor
        .list_pool_sessions()
        .pool_id("pool-nobody")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(empty.summaries.is_empty());
    assert_eq!(empty.pagination.unwrap().item_count, 0);
    server.finish().await;
}

/// Walks every session of a pool in pages of `size`, following
/// `next_page_offset`: how many requests it took, and the ids listed.
async fn walk(prefactor: &Client, pool: &str, size: u64) -> (usize, Vec<SessionId>) {
    let mut requests = 0;
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let page = prefactor
            .list_pool_sessions()
            .pool_id(pool)
            .pagination_offset(offset)
            .pagination_page_size(std::num::NonZeroU64::new(size).unwrap())
            .send()
            .await
            .expect("list a page")
            .into_inner();
        requests += 1;
        let pagination = page.pagination.expect("pagination");
        if pagination.next_page_offset.is_some() {
            assert_eq!(
                page.summaries.len() as u64,
                size,
                "a short page is the last"
            );
        }
        seen.extend(page.summaries.into_iter().map(|s| s.id));
        match pagination.next_page_offset {
            Some(next) => offset = next,
            None => return (requests, seen),
        }
    }
}

async fn a_walk_makes_the_minimal_number_of_requests(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let admin = server.admin_client();
    let mut newest_first = Vec::new();
    for _ in 0..6 {
        server.clock.advance(TimeDelta::milliseconds(2));
        newest_first.insert(0, create(&admin, "walk", Some("u1"), None).await.id);
    }
    create(&admin, "elsewhere", Some("u1"), None).await;
    let prefactor = server.prefactor_client(server.admin.prefactor_api_token());

    for (size, requests) in login_sessions_tests::WALKS_OF_SIX {
        let (made, seen) = walk(&prefactor, "walk", u64::from(size)).await;
        assert_eq!(made, requests, "page size {size}");
        assert_eq!(seen, newest_first, "page size {size}");
    }
    assert_eq!(walk(&prefactor, "empty", 3).await, (1, Vec::new()));
    server.finish().await;
}

login_sessions_tests::contract_tests![
    fetch_a_new_session_never_seen,
    fetch_an_authenticated_session_with_interactions_in_unix_seconds,
    revoked_logged_out_and_expired_sessions_stay_fetchable,
    every_error_code_the_dialect_emits,
    scoped_credentials_are_not_permitted_outside_their_scope,
    list_pages_by_offset_with_computed_pagination,
    a_walk_makes_the_minimal_number_of_requests,
    ; covers: "prefactor"
];
