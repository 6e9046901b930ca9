//! Contract tests of the Looker API 4.0 dialect: through the generated
//! client (logged in with the `looker_login` helper) and, for what only the
//! wire shows (explicit nulls, absent bodies, headers), plain HTTP, against
//! the real server; every response is validated against the spec by the
//! harness's proxy. `sdk` runs Looker's own Python SDK; `spec` compares
//! the published spec with Looker's.
//!
//! Sessions are recorded through the native API (the Looker dialect only
//! reads and ends them), as an application would.
//!
//! Every test that starts a server runs on both stores (`sqlite::NAME`,
//! `postgres::NAME`): see the harness's documentation (`tests/src/lib.rs`)
//! for the scheme. The checks that need no server (the SDK's error-doc
//! pattern, the spec comparison) run once, named just `NAME`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "looker/sdk.rs"]
mod sdk;
#[path = "looker/spec.rs"]
mod spec;

use sdk::the_official_python_sdk_works_unmodified;
use spec::{
    the_comparison_notices_a_changed_field, the_published_looker_section_matches_lookers_spec,
};

use chrono::TimeDelta;
use login_sessions_client::Client;
use login_sessions_client::looker::{LookerLoginError, looker_client, looker_login};
use login_sessions_client::types::{Label, LookerError, SessionStatus, UserId};
use login_sessions_server::domain::credential::Role;
use login_sessions_server::service::credentials::{CredentialRequest, IssuedCredential};
use login_sessions_tests::IssuedSecrets;
use login_sessions_tests::{PUBLIC_URL, ServerOptions, StoreKind, TestServer, error_response};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The path Looker's Python SDK logs out at; not in the spec, validated
/// by the recording proxy as the published `/api/4.0/logout`.
const UNVERSIONED_LOGOUT: &str = "/api/logout";

/// Logs in with a credential's Looker client id and secret; the client and
/// the access token.
async fn login(server: &TestServer, credential: &IssuedCredential) -> (Client, String) {
    let (client, token) = looker_login(
        &server.url(),
        credential.looker_client_id(),
        credential.looker_client_secret(),
    )
    .await
    .expect("Looker login");
    (client, token.access_token.expect("an access token"))
}

/// Records a live session of `user` in `store` through the native API.
async fn record(server: &TestServer, store: &str, user: &str) -> String {
    server
        .admin_client()
        .session_create()
        .body_map(|b| {
            b.identity_store_id(store)
                .user_id(user.parse::<UserId>().unwrap())
                .ip_address(Some("203.0.113.9".parse().unwrap()))
                .user_agent(Some(
                    "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".to_string(),
                ))
                .credentials_type("email".parse::<Label>().unwrap())
                .ttl_seconds(std::num::NonZeroU32::new(7200))
        })
        .send()
        .await
        .expect("record a session")
        .into_inner()
        .id
        .to_string()
}

/// The native status of a session.
async fn native_status(server: &TestServer, id: &str) -> SessionStatus {
    server
        .admin_client()
        .session_view()
        .session_id(id)
        .send()
        .await
        .expect("native view")
        .into_inner()
        .status
}

/// A plain request under `/api/4.0` with `Authorization: token <token>`.
fn raw(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
) -> reqwest::RequestBuilder {
    let request = server
        .http()
        .request(method, format!("{}/api/4.0{path}", server.url()));
    match token {
        Some(token) => request.header("Authorization", format!("token {token}")),
        None => request,
    }
}

/// Sends a request; its status and JSON body (`Value::Null` when empty).
async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("request");
    let status = response.status();
    let bytes = response.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!("not JSON: {}", String::from_utf8_lossy(&bytes));
        })
    };
    (status, body)
}

/// Sending a form body (reqwest's `form` needs a feature this crate does
/// not enable).
trait FormBody {
    fn form_body(self, fields: &[(&str, &str)]) -> Self;
}

impl FormBody for reqwest::RequestBuilder {
    fn form_body(self, fields: &[(&str, &str)]) -> Self {
        let encode = |text: &str| {
            percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC)
                .to_string()
        };
        let body = fields
            .iter()
            .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        self.header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
    }
}

/// The pattern Looker's Python SDK (error.py, `ErrorDocHelper.RE_PATTERN`)
/// matches documentation URLs with before fetching Looker's error index.
fn sdk_would_fetch_error_docs(url: &str) -> bool {
    let url = url.to_ascii_lowercase();
    [
        "https://docs.looker.com/r/err/",
        "https://cloud.google.com/looker/docs/r/err/",
    ]
    .iter()
    .any(|prefix| {
        url.match_indices(prefix).any(|(at, _)| {
            // `(prefix)(.*)/(\d{3})(.*)`: a `/` followed by three digits
            // somewhere after the prefix.
            let rest = &url[at + prefix.len()..];
            rest.match_indices('/').any(|(slash, _)| {
                rest[slash + 1..]
                    .chars()
                    .take(3)
                    .filter(char::is_ascii_digit)
                    .count()
                    == 3
            })
        })
    })
}

/// Asserts a Looker error body: the message, and a documentation URL under
/// the server's documentation that the Python SDK will not chase.
fn assert_looker_error(body: &Value, status: u16, message: &str) {
    assert_eq!(body["message"], message, "{body}");
    let url = body["documentation_url"]
        .as_str()
        .expect("documentation_url");
    assert_eq!(
        url,
        format!("{PUBLIC_URL}/docs/looker/errors#{status}"),
        "{body}"
    );
    assert!(!sdk_would_fetch_error_docs(url));
    if let Some(errors) = body.get("errors") {
        for detail in errors.as_array().expect("errors is an array") {
            let url = detail["documentation_url"]
                .as_str()
                .expect("each detail has one");
            assert!(!sdk_would_fetch_error_docs(url));
        }
    }
}

fn assert_client_error(
    error: login_sessions_client::Error<LookerError>,
    status: u16,
    message: &str,
) {
    let (got, body) = error_response(error);
    assert_eq!(got, status);
    assert_looker_error(&serde_json::to_value(&body).unwrap(), status, message);
}

fn the_sdk_error_doc_pattern_is_recognised() {
    assert!(sdk_would_fetch_error_docs(
        "https://cloud.google.com/looker/docs/r/err/4.0/404/get/users/:user_id/sessions/:session_id"
    ));
    assert!(sdk_would_fetch_error_docs(
        "https://docs.looker.com/r/err/4.0/422/post/login"
    ));
    assert!(!sdk_would_fetch_error_docs("https://docs.looker.com/"));
    assert!(!sdk_would_fetch_error_docs(
        "http://login-sessions.test/docs/looker/errors#404"
    ));
}

// ---------------------------------------------------------------------------
// The flow: login, every operation, logout.

async fn login_then_every_operation_then_logout(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let first = record(&server, "acme", "42").await;
    server.clock.advance(TimeDelta::seconds(1));
    let second = record(&server, "globex", "42").await;
    let _someone_else = record(&server, "acme", "7").await;

    let (client, _) = login(&server, &server.admin).await;

    let session = client
        .user_session()
        .user_id("42")
        .session_id(first.clone())
        .send()
        .await
        .expect("user_session")
        .into_inner();
    assert_eq!(session.id.as_deref(), Some(first.as_str()));
    assert_eq!(session.ip_address.as_deref(), Some("203.0.113.9"));
    assert_eq!(session.credentials_type.as_deref(), Some("email"));
    assert_eq!(
        session.created_at.as_deref(),
        Some("2026-03-01T12:00:00.000+00:00")
    );
    assert_eq!(
        session.expires_at.as_deref(),
        Some("2026-03-01T14:00:00.000+00:00")
    );
    assert_eq!(session.extended_count, Some(0));
    assert_eq!(
        session.url.as_deref(),
        Some(format!("{PUBLIC_URL}/api/4.0/users/42/sessions/{first}").as_str())
    );
    assert!(session.can.is_empty());

    let all = client
        .all_user_sessions()
        .user_id("42")
        .send()
        .await
        .expect("all_user_sessions")
        .into_inner();
    let ids: Vec<_> = all.iter().filter_map(|s| s.id.clone()).collect();
    assert_eq!(
        ids,
        [second.clone(), first.clone()],
        "newest first, every store"
    );

    let deleted = client
        .delete_user_session()
        .user_id("42")
        .session_id(second.clone())
        .send()
        .await
        .expect("delete_user_session");
    assert_eq!(deleted.status().as_u16(), 204);
    assert_eq!(
        native_status(&server, &second).await,
        SessionStatus::Revoked
    );
    let error = client
        .user_session()
        .user_id("42")
        .session_id(second.clone())
        .send()
        .await
        .unwrap_err();
    assert_client_error(error, 404, "Not found");

    let logged_out = client.logout().send().await.expect("logout");
    assert_eq!(logged_out.status().as_u16(), 204);
    let error = client
        .all_user_sessions()
        .user_id("42")
        .send()
        .await
        .unwrap_err();
    assert_client_error(error, 401, "Requires authentication.");
    let error = client.logout().send().await.unwrap_err();
    assert_client_error(error, 404, "Not found");
    server.finish().await;
}

// ---------------------------------------------------------------------------
// The wire.

async fn a_session_on_the_wire_is_lookers(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let id = record(&server, "acme", "42").await;
    let (_, token) = login(&server, &server.admin).await;

    let response = raw(
        &server,
        reqwest::Method::GET,
        &format!("/users/42/sessions/{id}"),
        Some(&token),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "id": id,
            "ip_address": "203.0.113.9",
            "browser": "Firefox",
            "operating_system": "Linux",
            "city": null,
            "state": null,
            "country": null,
            "credentials_type": "email",
            "extended_at": null,
            "extended_count": 0,
            "sudo_user_id": null,
            "created_at": "2026-03-01T12:00:00.000+00:00",
            "expires_at": "2026-03-01T14:00:00.000+00:00",
            "url": format!("{PUBLIC_URL}/api/4.0/users/42/sessions/{id}"),
            "can": {},
        }),
        "every field, explicit nulls (no GeoIP database: no location)"
    );

    // Extended: extended_at and extended_count follow, with milliseconds.
    server.clock.advance(TimeDelta::milliseconds(1_234));
    server
        .admin_client()
        .session_extend()
        .session_id(id.clone())
        .body_map(|b| b.ttl_seconds(std::num::NonZeroU32::new(3 * 3600)))
        .send()
        .await
        .unwrap();
    let (status, body) = send(raw(
        &server,
        reqwest::Method::GET,
        &format!("/users/42/sessions/{id}"),
        Some(&token),
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["extended_at"], "2026-03-01T12:00:01.234+00:00");
    assert_eq!(body["extended_count"], 1);
    assert_eq!(body["expires_at"], "2026-03-01T15:00:01.234+00:00");

    // `/session` is Looker's API session (workspace), not a web login
    // session: not served here.
    server.proxy().allow_unmatched(&["/api/4.0/session"]);
    let (status, _) = send(raw(&server, reqwest::Method::GET, "/session", Some(&token))).await;
    assert_eq!(status, 404);

    // A GET carrying `Content-Type: application/json` and no body, and a
    // DELETE with `Content-Length: 0`, as the Python SDK sends them.
    let (status, _) = send(
        raw(
            &server,
            reqwest::Method::GET,
            "/users/42/sessions",
            Some(&token),
        )
        .header("Content-Type", "application/json"),
    )
    .await;
    assert_eq!(status, 200);
    let response = raw(
        &server,
        reqwest::Method::DELETE,
        &format!("/users/42/sessions/{id}"),
        Some(&token),
    )
    .header("Content-Type", "application/json")
    .header("Content-Length", "0")
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 204);
    assert!(
        response.headers().get("content-type").is_none(),
        "a 204 has no Content-Type"
    );
    assert!(response.bytes().await.unwrap().is_empty(), "and no body");
    server.finish().await;
}

async fn path_ids_arrive_percent_encoded(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let user = "a/b c+ü";
    let id = record(&server, "acme", user).await;
    let (client, token) = login(&server, &server.admin).await;

    let session = client
        .user_session()
        .user_id(user)
        .session_id(id.clone())
        .send()
        .await
        .expect("user_session")
        .into_inner();
    let url = format!("{PUBLIC_URL}/api/4.0/users/a%2Fb%20c%2B%C3%BC/sessions/{id}");
    assert_eq!(session.url.as_deref(), Some(url.as_str()));
    // Python's quote(): the same segment the SDK sends.
    let (status, body) = send(raw(
        &server,
        reqwest::Method::GET,
        "/users/a%2Fb%20c%2B%C3%BC/sessions",
        Some(&token),
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(body[0]["id"], id.as_str());
    server.finish().await;
}

// ---------------------------------------------------------------------------
// fields

async fn fields_select_keys(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let id = record(&server, "acme", "42").await;
    let (client, token) = login(&server, &server.admin).await;
    let get = |fields: &str| {
        raw(
            &server,
            reqwest::Method::GET,
            &format!("/users/42/sessions/{id}"),
            Some(&token),
        )
        .query(&[("fields", fields)])
    };
    let keys = |body: &Value| -> Vec<String> {
        let mut keys: Vec<String> = body.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };

    for (fields, expected) in [
        ("id,can", vec!["can", "id"]),
        (" id , created_at ", vec!["created_at", "id"]),
        ("id,browser,nonsense", vec!["browser", "id"]),
        ("can(show),url", vec!["can", "url"]),
        ("id(x),sudo_user_id", vec!["id", "sudo_user_id"]),
    ] {
        let (status, body) = send(get(fields)).await;
        assert_eq!(status, 200, "{fields}");
        assert_eq!(keys(&body), expected, "{fields}");
    }
    let (_, body) = send(get("city")).await;
    assert_eq!(body, json!({"city": null}), "a selected null stays");
    let (_, body) = send(get("*")).await;
    assert_eq!(keys(&body).len(), 15);
    let (_, body) = send(get("")).await;
    assert_eq!(keys(&body).len(), 15, "empty is everything");

    // Through the generated client, and on the listing.
    let listed = client
        .all_user_sessions()
        .user_id("42")
        .fields("id, expires_at")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id.as_deref(), Some(id.as_str()));
    assert!(listed[0].expires_at.is_some() && listed[0].created_at.is_none());

    // The comma percent-encoded, as the Python SDK sends it.
    let (status, body) = send(raw(
        &server,
        reqwest::Method::GET,
        &format!("/users/42/sessions/{id}?fields=id%2Ccan"),
        Some(&token),
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(keys(&body), ["can", "id"]);

    for malformed in ["id,", "id,,can", "can(show", "id)", "id;drop", "can()"] {
        let (status, body) = send(get(malformed)).await;
        assert_eq!(status, 400, "{malformed}");
        let message = body["message"].as_str().unwrap().to_string();
        assert!(message.starts_with("fields"), "{message}");
        assert_looker_error(&body, 400, &message);
        assert_eq!(body["errors"][0]["field"], "fields");
        assert_eq!(body["errors"][0]["code"], "invalid");
        assert_eq!(body["errors"][0]["message"], message.as_str());
    }
    let error = client
        .all_user_sessions()
        .user_id("42")
        .fields("id,(can")
        .send()
        .await
        .unwrap_err();
    let (status, body) = error_response(error);
    assert_eq!(status, 400);
    assert_eq!(body.errors.unwrap()[0].field.as_deref(), Some("fields"));
    server.finish().await;
}

// ---------------------------------------------------------------------------
// Login and logout.

async fn login_takes_a_form_or_the_query_string(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let admin = &server.admin;
    let login_url = format!("{}/api/4.0/login", server.url());
    let http = server.http();

    // The form body, with the Go SDK's grant_type: the token on the wire.
    let response = http
        .post(&login_url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            admin.looker_client_id(),
            admin.looker_client_secret()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let token: Value = response.json().await.unwrap();
    let keys: Vec<&String> = token.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["access_token", "expires_in", "token_type"],
        "no refresh_token"
    );
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 3600);
    let access_token = token["access_token"].as_str().unwrap();
    assert!(access_token.len() >= 40, "high entropy");

    // Both Authorization forms work.
    for authorization in [
        format!("token {access_token}"),
        format!("Bearer {access_token}"),
    ] {
        let (status, _) = send(
            http.get(format!("{}/api/4.0/users/42/sessions", server.url()))
                .header("Authorization", authorization),
        )
        .await;
        assert_eq!(status, 200);
    }

    // The query string (no body, no Content-Type), and through the client.
    let (status, body) = send(http.post(&login_url).query(&[
        ("client_id", admin.looker_client_id().as_str()),
        ("client_secret", admin.looker_client_secret().as_str()),
    ]))
    .await;
    assert_eq!(status, 200);
    assert_ne!(
        body["access_token"], token["access_token"],
        "a new token per login"
    );
    let anonymous = Client::new(&server.url(), login_sessions_client::ClientState::default());
    let by_query = anonymous
        .login()
        .client_id(admin.looker_client_id().clone())
        .client_secret(admin.looker_client_secret().clone())
        .body(login_sessions_client::types::LookerLoginBody::default())
        .send()
        .await
        .expect("login by query")
        .into_inner();
    assert_eq!(by_query.token_type.as_deref(), Some("Bearer"));
    assert_eq!(by_query.expires_in, Some(3600));

    // Wrong or unknown credentials: 404 Not found, as Looker answers.
    // (A client id with a NUL names nothing, on PostgreSQL too.)
    for (id, secret) in [
        (admin.looker_client_id().as_str(), "wrong-secret"),
        ("unknown-client", admin.looker_client_secret().as_str()),
        ("nul\0client", admin.looker_client_secret().as_str()),
    ] {
        let (status, body) = send(
            http.post(&login_url)
                .form_body(&[("client_id", id), ("client_secret", secret)]),
        )
        .await;
        assert_eq!(status, 404);
        assert_looker_error(&body, 404, "Not found");
    }
    match looker_login(&server.url(), admin.looker_client_id(), "wrong").await {
        Err(LookerLoginError::Login(error)) => assert_client_error(error, 404, "Not found"),
        other => panic!("expected a refused login, got {:?}", other.map(|_| ())),
    }

    // Missing a half: 400 with Looker's missing_field details.
    let (status, body) = send(
        http.post(&login_url)
            .form_body(&[("client_id", admin.looker_client_id().as_str())]),
    )
    .await;
    assert_eq!(status, 400);
    assert_looker_error(&body, 400, "Validation Failed: client_secret required");
    assert_eq!(
        body["errors"][0],
        json!({
            "field": "client_secret",
            "code": "missing_field",
            "message": "'client_secret' is required.",
            "documentation_url": format!("{PUBLIC_URL}/docs/looker/errors#400"),
        })
    );
    let (status, body) = send(http.post(&login_url)).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);

    // A JSON body is not a form.
    let (status, body) = send(http.post(&login_url).json(&json!({
        "client_id": admin.looker_client_id(),
        "client_secret": admin.looker_client_secret(),
    })))
    .await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("form-urlencoded")
    );
    server.finish().await;
}

async fn logout_revokes_the_token_once_at_either_path(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let (_, token) = login(&server, &server.admin).await;
    let (_, other) = login(&server, &server.admin).await;

    let response = raw(&server, reqwest::Method::DELETE, "/logout", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert!(response.headers().get("content-type").is_none());
    assert!(response.bytes().await.unwrap().is_empty());
    // The token is gone; the other login's token is not.
    let (status, body) = send(raw(
        &server,
        reqwest::Method::GET,
        "/users/42/sessions",
        Some(&token),
    ))
    .await;
    assert_eq!(status, 401);
    assert_looker_error(&body, 401, "Requires authentication.");
    let (status, _) = send(raw(
        &server,
        reqwest::Method::GET,
        "/users/42/sessions",
        Some(&other),
    ))
    .await;
    assert_eq!(status, 200);
    // A second logout with the same token: 404 Not found, as Looker.
    let (status, body) = send(raw(
        &server,
        reqwest::Method::DELETE,
        "/logout",
        Some(&token),
    ))
    .await;
    assert_eq!(status, 404);
    assert_looker_error(&body, 404, "Not found");

    // The unversioned path the Python SDK uses.
    let unversioned = format!("{}{UNVERSIONED_LOGOUT}", server.url());
    let response = server
        .http()
        .delete(&unversioned)
        .header("Authorization", format!("Bearer {other}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.unwrap().is_empty());
    let (status, body) = send(
        server
            .http()
            .delete(&unversioned)
            .header("Authorization", format!("Bearer {other}")),
    )
    .await;
    assert_eq!(status, 404);
    assert_looker_error(&body, 404, "Not found");

    // Without any token, or with one never issued: authentication is
    // required.
    let (status, body) = send(raw(&server, reqwest::Method::DELETE, "/logout", None)).await;
    assert_eq!(status, 401);
    assert_looker_error(&body, 401, "Requires authentication.");
    let made_up = Some("lsa_never-issued");
    let (status, body) = send(raw(&server, reqwest::Method::DELETE, "/logout", made_up)).await;
    assert_eq!(status, 401);
    assert_looker_error(&body, 401, "Requires authentication.");
    server.finish().await;
}

// ---------------------------------------------------------------------------
// Authentication failures.

async fn requests_without_a_working_token_are_401(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let id = record(&server, "acme", "42").await;
    let path = format!("/users/42/sessions/{id}");
    let (_, token) = login(&server, &server.admin).await;
    let unauthorized = |body: &Value| assert_looker_error(body, 401, "Requires authentication.");

    // No token at all, through the generated client too.
    let (status, body) = send(raw(&server, reqwest::Method::GET, &path, None)).await;
    assert_eq!(status, 401);
    unauthorized(&body);
    let error = Client::new(&server.url(), login_sessions_client::ClientState::default())
        .user_session()
        .user_id("42")
        .session_id(id.clone())
        .send()
        .await
        .unwrap_err();
    assert_client_error(error, 401, "Requires authentication.");

    // A token that was never issued, a malformed header, another scheme,
    // the credential's other secrets.
    let bad_headers = [
        "token lsa_not-a-real-token".to_string(),
        "token".to_string(),
        format!("Basic {token}"),
        format!("token {token} extra"),
        format!("Bearer {}", server.admin.native_token()),
        format!("token {}", server.admin.looker_client_secret()),
    ];
    for authorization in bad_headers {
        let (status, body) = send(
            server
                .http()
                .get(format!("{}/api/4.0{path}", server.url()))
                .header("Authorization", &authorization),
        )
        .await;
        assert_eq!(status, 401, "{authorization}");
        unauthorized(&body);
    }
    let error = looker_client(&server.url(), "lsa_forged")
        .unwrap()
        .all_user_sessions()
        .user_id("42")
        .send()
        .await
        .unwrap_err();
    assert_client_error(error, 401, "Requires authentication.");

    // Expiry: the token works for an hour, then not.
    server.clock.advance(TimeDelta::seconds(3599));
    let (status, _) = send(raw(
        &server,
        reqwest::Method::GET,
        "/users/42/sessions",
        Some(&token),
    ))
    .await;
    assert_eq!(status, 200);
    server.clock.advance(TimeDelta::seconds(1));
    let (status, body) = send(raw(
        &server,
        reqwest::Method::GET,
        "/users/42/sessions",
        Some(&token),
    ))
    .await;
    assert_eq!(status, 401);
    unauthorized(&body);
    // Logging out an expired token finds nothing to log out.
    let (status, _) = send(raw(
        &server,
        reqwest::Method::DELETE,
        "/logout",
        Some(&token),
    ))
    .await;
    assert_eq!(status, 404);

    // Revoking the credential stops its tokens and its logins at once.
    let user = server.issue(Role::User, None, Some("42")).await;
    let (_, user_token) = login(&server, &user).await;
    server.revoke(&user).await;
    let (status, body) = send(raw(
        &server,
        reqwest::Method::GET,
        "/users/42/sessions",
        Some(&user_token),
    ))
    .await;
    assert_eq!(status, 401);
    unauthorized(&body);
    let (status, body) = send(
        server
            .http()
            .post(format!("{}/api/4.0/login", server.url()))
            .form_body(&[
                ("client_id", user.looker_client_id().as_str()),
                ("client_secret", user.looker_client_secret().as_str()),
            ]),
    )
    .await;
    assert_eq!(status, 404);
    assert_looker_error(&body, 404, "Not found");
    server.finish().await;
}

// ---------------------------------------------------------------------------
// Visibility.

async fn a_user_credential_sees_only_its_own_user(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let own_acme = record(&server, "acme", "42").await;
    let own_globex = record(&server, "globex", "42").await;
    let theirs = record(&server, "acme", "7").await;
    let user = server.issue(Role::User, None, Some("42")).await;
    let (client, _) = login(&server, &user).await;

    let mine = client
        .all_user_sessions()
        .user_id("42")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.len(), 2, "its sessions in every store");
    client
        .user_session()
        .user_id("42")
        .session_id(own_acme.clone())
        .send()
        .await
        .expect("its own session");

    // Another user's: 403, whether the session exists or not.
    let error = client
        .all_user_sessions()
        .user_id("7")
        .send()
        .await
        .unwrap_err();
    assert_client_error(
        error,
        403,
        "Permission Denied: a user credential may only see its own user's sessions",
    );
    for session in [&theirs, &own_acme] {
        let error = client
            .user_session()
            .user_id("7")
            .session_id(session)
            .send()
            .await
            .unwrap_err();
        let (status, _) = error_response(error);
        assert_eq!(status, 403);
        let error = client
            .delete_user_session()
            .user_id("7")
            .session_id(session)
            .send()
            .await
            .unwrap_err();
        let (status, _) = error_response(error);
        assert_eq!(status, 403);
    }
    assert_eq!(
        native_status(&server, &theirs).await,
        SessionStatus::Authenticated
    );
    // Another user's session under its own path does not exist.
    let error = client
        .user_session()
        .user_id("42")
        .session_id(theirs.clone())
        .send()
        .await
        .unwrap_err();
    assert_client_error(error, 404, "Not found");

    // Ending its own session logs it out (the user's act, not a revocation).
    client
        .delete_user_session()
        .user_id("42")
        .session_id(own_globex.clone())
        .send()
        .await
        .expect("end its own session");
    assert_eq!(
        native_status(&server, &own_globex).await,
        SessionStatus::Complete
    );

    // A user credential limited to one identity store sees only that store.
    let scoped = server.issue(Role::User, Some("acme"), Some("42")).await;
    let (client, _) = login(&server, &scoped).await;
    let mine = client
        .all_user_sessions()
        .user_id("42")
        .send()
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<_> = mine.iter().filter_map(|s| s.id.clone()).collect();
    assert_eq!(ids, [own_acme]);
    server.finish().await;
}

async fn a_store_admin_sees_its_store_and_an_admin_every_store(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let in_acme = record(&server, "acme", "42").await;
    let in_globex = record(&server, "globex", "42").await;
    let store_admin = server.issue(Role::StoreAdmin, Some("acme"), None).await;
    let (scoped, _) = login(&server, &store_admin).await;
    let (admin, _) = login(&server, &server.admin).await;

    let listed = scoped
        .all_user_sessions()
        .user_id("42")
        .send()
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<_> = listed.iter().filter_map(|s| s.id.clone()).collect();
    assert_eq!(ids, std::slice::from_ref(&in_acme));
    let error = scoped
        .user_session()
        .user_id("42")
        .session_id(in_globex.clone())
        .send()
        .await
        .unwrap_err();
    assert_client_error(error, 404, "Not found");
    let error = scoped
        .delete_user_session()
        .user_id("42")
        .session_id(in_globex.clone())
        .send()
        .await
        .unwrap_err();
    assert_client_error(error, 404, "Not found");
    assert_eq!(
        native_status(&server, &in_globex).await,
        SessionStatus::Authenticated
    );
    scoped
        .delete_user_session()
        .user_id("42")
        .session_id(in_acme.clone())
        .send()
        .await
        .expect("a session of its store");
    assert_eq!(
        native_status(&server, &in_acme).await,
        SessionStatus::Revoked
    );

    let listed = admin
        .all_user_sessions()
        .user_id("42")
        .send()
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<_> = listed.iter().filter_map(|s| s.id.clone()).collect();
    assert_eq!(ids, [in_globex], "every store, live sessions only");
    let nobody = admin
        .all_user_sessions()
        .user_id("nobody")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(nobody.is_empty(), "a user with no sessions has none");
    server.finish().await;
}

// ---------------------------------------------------------------------------
// Only live sessions exist.

async fn ended_and_expired_sessions_do_not_exist(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let native = server.admin_client();
    let revoked = record(&server, "acme", "42").await;
    let logged_out = record(&server, "acme", "42").await;
    let expiring = native
        .session_create()
        .body_map(|b| {
            b.identity_store_id("acme")
                .user_id("42".parse::<UserId>().unwrap())
                .ttl_seconds(std::num::NonZeroU32::new(60))
        })
        .send()
        .await
        .unwrap()
        .into_inner()
        .id;
    let live = record(&server, "acme", "42").await;
    native
        .session_revoke()
        .session_id(revoked.clone())
        .send()
        .await
        .unwrap();
    native
        .session_logout()
        .session_id(logged_out.clone())
        .send()
        .await
        .unwrap();
    let (client, _) = login(&server, &server.admin).await;

    let before = client
        .all_user_sessions()
        .user_id("42")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(before.len(), 2, "the live one and the one about to expire");
    server.clock.advance(TimeDelta::seconds(60));
    let after = client
        .all_user_sessions()
        .user_id("42")
        .send()
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<_> = after.iter().filter_map(|s| s.id.clone()).collect();
    assert_eq!(ids, [live]);

    for gone in [&revoked, &logged_out, &expiring] {
        let error = client
            .user_session()
            .user_id("42")
            .session_id(gone)
            .send()
            .await
            .unwrap_err();
        assert_client_error(error, 404, "Not found");
        let error = client
            .delete_user_session()
            .user_id("42")
            .session_id(gone)
            .send()
            .await
            .unwrap_err();
        assert_client_error(error, 404, "Not found");
    }
    assert_eq!(
        native_status(&server, &logged_out).await,
        SessionStatus::Complete
    );
    server.finish().await;
}

async fn path_ids_that_cannot_exist_are_404(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let id = record(&server, "acme", "42").await;
    let (_, token) = login(&server, &server.admin).await;
    let long = "x".repeat(129);
    let not_found = |body: &Value| assert_looker_error(body, 404, "Not found");

    let user_paths = [
        long.clone(),
        "a%00b".to_string(),
        "a%0Ab".to_string(),
        "%1F".to_string(),
        "%20leading".to_string(),
    ];
    for user in &user_paths {
        for path in [
            format!("/users/{user}/sessions"),
            format!("/users/{user}/sessions/{id}"),
        ] {
            let (status, body) =
                send(raw(&server, reqwest::Method::GET, &path, Some(&token))).await;
            assert_eq!(status, 404, "GET {path}");
            not_found(&body);
        }
        let path = format!("/users/{user}/sessions/{id}");
        let (status, body) = send(raw(&server, reqwest::Method::DELETE, &path, Some(&token))).await;
        assert_eq!(status, 404, "DELETE {path}");
        not_found(&body);
        let (status, body) = send(raw(
            &server,
            reqwest::Method::POST,
            &format!("/login/{user}"),
            Some(&token),
        ))
        .await;
        assert_eq!(status, 404, "login_user {user}");
        not_found(&body);
    }
    let session_paths = [
        "x".repeat(129),
        format!("{id}0"),
        id.to_uppercase(),
        "0".repeat(31),
        "a%00b".to_string(),
        "%0A".to_string(),
    ];
    for session in &session_paths {
        let path = format!("/users/42/sessions/{session}");
        for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
            let (status, body) = send(raw(&server, method.clone(), &path, Some(&token))).await;
            assert_eq!(status, 404, "{method} {path}");
            not_found(&body);
        }
    }
    assert_eq!(
        native_status(&server, &id).await,
        SessionStatus::Authenticated
    );

    // A segment that is not UTF-8 once decoded never reaches a handler:
    // dropshot's router refuses it, answered in Looker's shape.
    let path = "/api/4.0/users/%FF/sessions";
    server.proxy().allow_unmatched(&[path]);
    let (status, body) = send(
        server
            .http()
            .get(format!("{}{path}", server.url()))
            .header("Authorization", format!("token {token}")),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["message"], "invalid path encoding");
    assert_eq!(
        body["documentation_url"],
        format!("{PUBLIC_URL}/docs/looker/errors#400")
    );
    server.finish().await;
}

// ---------------------------------------------------------------------------
// Rate limits.

async fn the_credentials_rate_limit_is_429_in_lookers_shape(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let limited = server
        .issue_with(CredentialRequest {
            role: Role::Admin,
            identity_store_id: None,
            user_id: None,
            name: Some("limited".into()),
            rate_limit: Some(1),
        })
        .await;
    // A burst of two: the login and one request; the clock does not move.
    let (client, token) = login(&server, &limited).await;
    client
        .all_user_sessions()
        .user_id("42")
        .send()
        .await
        .expect("within the burst");
    let error = client
        .all_user_sessions()
        .user_id("42")
        .send()
        .await
        .unwrap_err();
    assert_client_error(error, 429, "Too Many Requests");
    let (status, body) = send(
        server
            .http()
            .post(format!("{}/api/4.0/login", server.url()))
            .form_body(&[
                ("client_id", limited.looker_client_id().as_str()),
                ("client_secret", limited.looker_client_secret().as_str()),
            ]),
    )
    .await;
    assert_eq!(status, 429, "logins count too");
    assert_looker_error(&body, 429, "Too Many Requests");
    let response = raw(
        &server,
        reqwest::Method::GET,
        "/users/42/sessions",
        Some(&token),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 429);
    // Looker documents no rate-limit headers; every dialect here sends
    // Retry-After with a 429 (the contract declares it), nothing else.
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    assert!(
        retry_after.is_some_and(|seconds| seconds >= 1),
        "a 429 says when to retry: {:?}",
        response.headers()
    );
    assert!(
        response
            .headers()
            .keys()
            .all(|name| !name.as_str().starts_with("x-ratelimit")),
        "no other rate-limit headers: {:?}",
        response.headers()
    );
    // A second later the bucket has one more request.
    server.clock.advance(TimeDelta::seconds(1));
    let (status, _) = send(raw(
        &server,
        reqwest::Method::GET,
        "/users/42/sessions",
        Some(&token),
    ))
    .await;
    assert_eq!(status, 200);
    let (status, _) = send(raw(
        &server,
        reqwest::Method::GET,
        "/users/42/sessions",
        Some(&token),
    ))
    .await;
    assert_eq!(status, 429);
    server.finish().await;
}

// ---------------------------------------------------------------------------
// login_user

async fn login_user_acts_as_the_user_and_records_the_sudo(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let theirs = record(&server, "globex", "42").await;
    let _other = record(&server, "acme", "7").await;
    let (admin, _) = login(&server, &server.admin).await;

    server.clock.advance(TimeDelta::seconds(5));
    let sudo = admin
        .login_user()
        .user_id("42")
        .send()
        .await
        .expect("login_user")
        .into_inner();
    assert_eq!(sudo.token_type.as_deref(), Some("Bearer"));
    assert_eq!(sudo.expires_in, Some(3600));
    let sudo_token = sudo.access_token.unwrap();
    let as_user = looker_client(&server.url(), &sudo_token).unwrap();

    let sessions = as_user
        .all_user_sessions()
        .user_id("42")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sessions.len(), 2);
    let recorded = &sessions[0];
    assert_eq!(
        recorded.sudo_user_id.as_deref(),
        Some(server.admin.credential.id.as_str())
    );
    assert_eq!(recorded.credentials_type.as_deref(), Some("api3"));
    assert_eq!(recorded.ip_address.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        recorded.created_at.as_deref(),
        Some("2026-03-01T12:00:05.000+00:00")
    );
    assert_eq!(
        recorded.expires_at.as_deref(),
        Some("2026-03-01T13:00:05.000+00:00")
    );
    assert_eq!(sessions[1].id.as_deref(), Some(theirs.as_str()));
    let sudo_session = recorded.id.clone().unwrap();
    let native = server
        .admin_client()
        .session_view()
        .session_id(sudo_session.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        native.identity_store_id, "globex",
        "the store of the user's newest session"
    );

    // The token is the user's: nobody else's sessions, no further sudo.
    let error = as_user
        .all_user_sessions()
        .user_id("7")
        .send()
        .await
        .unwrap_err();
    let (status, _) = error_response(error);
    assert_eq!(status, 403);
    let error = as_user.login_user().user_id("7").send().await.unwrap_err();
    let (status, body) = error_response(error);
    assert_eq!(status, 403);
    assert!(body.message.unwrap().starts_with("Permission Denied"));

    // Logging the token out ends the sudo session.
    as_user.logout().send().await.expect("logout");
    assert_eq!(
        native_status(&server, &sudo_session).await,
        SessionStatus::Complete
    );

    // Only administrators may sudo; a user nobody saw does not exist.
    let user = server.issue(Role::User, None, Some("42")).await;
    let (as_user_credential, _) = login(&server, &user).await;
    let error = as_user_credential
        .login_user()
        .user_id("42")
        .send()
        .await
        .unwrap_err();
    let (status, _) = error_response(error);
    assert_eq!(status, 403);
    let error = admin
        .login_user()
        .user_id("nobody")
        .send()
        .await
        .unwrap_err();
    assert_client_error(error, 404, "Not found");

    // A store-admin may sudo as users of its store only.
    let acme_admin = server.issue(Role::StoreAdmin, Some("acme"), None).await;
    let (acme, _) = login(&server, &acme_admin).await;
    let error = acme.login_user().user_id("42").send().await.unwrap_err();
    assert_client_error(error, 404, "Not found");
    let sudo = acme
        .login_user()
        .user_id("7")
        .send()
        .await
        .expect("a user of its store")
        .into_inner();
    let as_seven = looker_client(&server.url(), sudo.access_token.as_deref().unwrap()).unwrap();
    let sessions = as_seven
        .all_user_sessions()
        .user_id("7")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sessions.len(), 2);
    assert!(sessions.iter().all(|s| s.sudo_user_id.is_none()
        || s.sudo_user_id.as_deref() == Some(acme_admin.credential.id.as_str())));
    // Without a token, login_user needs authentication.
    let error = Client::new(&server.url(), login_sessions_client::ClientState::default())
        .login_user()
        .user_id("42")
        .send()
        .await
        .unwrap_err();
    assert_client_error(error, 401, "Requires authentication.");
    server.finish().await;
}

// ---------------------------------------------------------------------------
// documentation_url

async fn the_default_documentation_url_is_served(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let page = "/docs/looker/errors";
    server.proxy().allow_unmatched(&[page]);
    let (status, body) = send(raw(
        &server,
        reqwest::Method::GET,
        "/users/42/sessions",
        None,
    ))
    .await;
    assert_eq!(status, 401);
    let url = body["documentation_url"].as_str().unwrap();
    // The link, on this server rather than the public URL's host.
    let (path, anchor) = url
        .strip_prefix(PUBLIC_URL)
        .and_then(|rest| rest.split_once('#'))
        .unwrap();
    assert_eq!(path, page);
    let response = server
        .http()
        .get(format!("{}{path}", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    for status in ["400", "401", "403", "404", "429", "500", "503"] {
        assert!(html.contains(&format!("id=\"{status}\"")), "{status}");
    }
    assert!(html.contains(&format!("id=\"{anchor}\"")));
    server.finish().await;
}

async fn documentation_urls_follow_the_configured_base(kind: StoreKind) {
    let server = TestServer::start_with_options(
        kind,
        ServerOptions {
            docs_url: Some("https://help.example.test/ls".to_string()),
            ..Default::default()
        },
    )
    .await;
    let (status, body) = send(raw(
        &server,
        reqwest::Method::GET,
        "/users/42/sessions",
        None,
    ))
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({
            "message": "Requires authentication.",
            "documentation_url": "https://help.example.test/ls/looker/errors#401",
        })
    );
    server.finish().await;
}

login_sessions_tests::contract_tests![
    login_then_every_operation_then_logout,
    a_session_on_the_wire_is_lookers,
    path_ids_arrive_percent_encoded,
    fields_select_keys,
    login_takes_a_form_or_the_query_string,
    logout_revokes_the_token_once_at_either_path,
    requests_without_a_working_token_are_401,
    a_user_credential_sees_only_its_own_user,
    a_store_admin_sees_its_store_and_an_admin_every_store,
    ended_and_expired_sessions_do_not_exist,
    path_ids_that_cannot_exist_are_404,
    the_credentials_rate_limit_is_429_in_lookers_shape,
    login_user_acts_as_the_user_and_records_the_sudo,
    the_default_documentation_url_is_served,
    documentation_urls_follow_the_configured_base,
    the_official_python_sdk_works_unmodified;
    once: [
        the_sdk_error_doc_pattern_is_recognised,
        the_published_looker_section_matches_lookers_spec,
        the_comparison_notices_a_changed_field,
    ];
    covers: "looker"
];
