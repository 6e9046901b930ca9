//! The tenant and role isolation matrix: every session operation of every
//! dialect, by every kind of caller, on its own session, another store's
//! and another user's.
//!
//! Callers: an admin; the store-admins of store A and of store B; two
//! users of store A; a revoked credential; (Huawei) expired temporary
//! credentials. Sessions: user 1's and user 2's in store A, user 1's in
//! store B. For every caller and operation:
//!
//! - a session the caller may see is answered (reads only: writes would
//!   change what the next cells read);
//! - a session it may not see is answered **exactly as a session that
//!   does not exist** (the same status and body, but for the request id),
//!   so nothing tells a caller whether a foreign session exists; and a
//!   write refused that way changes nothing (checked at the end).
//!
//! Every exchange goes through the validating proxy.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::TimeDelta;
use login_sessions_client::Client;
use login_sessions_client::huawei::{HuaweiCredentials, huawei_client};
use login_sessions_client::looker::looker_login;
use login_sessions_client::types::{BatchDeleteSessionsReqBodySessionIdsItem, Session, UserId};
use login_sessions_server::clock::Clock;
use login_sessions_server::domain::credential::Role;
use login_sessions_server::pfid::{Pfid, partition_for_identity_store};
use login_sessions_server::service::credentials::IssuedCredential;
use login_sessions_tests::IssuedSecrets;
use login_sessions_tests::{StoreKind, TestServer, error_response};
use serde_json::{Value, json};

/// A session of the matrix: its id, store and user.
#[derive(Clone, Debug)]
struct Target {
    id: String,
    store: &'static str,
    user: &'static str,
}

/// Which sessions a caller may see.
type Visibility = Box<dyn Fn(&Target) -> bool + Send + Sync>;

/// Which stores a caller may call Huawei's operations on.
type StoreAccess = Box<dyn Fn(&str) -> bool + Send + Sync>;

/// A caller of the matrix, with its secret for every dialect.
struct Caller {
    name: &'static str,
    native_token: String,
    prefactor_token: String,
    looker_token: String,
    huawei: HuaweiCredentials,
    /// Which sessions it may see; `None` for a caller refused outright.
    sees: Option<Visibility>,
    /// Whether it may call Huawei's operations on a store at all.
    huawei_store: StoreAccess,
}

/// An answer as the matrix compares it: status and body, without the
/// request id (new on every request) and with the session id asked about
/// written as `<id>`.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    body: Value,
}

fn normalized(status: u16, text: &str, id: &str) -> Answer {
    let text = if id.is_empty() {
        text.to_string()
    } else {
        text.replace(id, "<id>")
    };
    let mut body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if let Some(object) = body.as_object_mut() {
        object.remove("request_id");
    }
    Answer { status, body }
}

async fn send(request: reqwest::RequestBuilder, id: &str) -> Answer {
    let response = request.send().await.expect("a response");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    normalized(status, &text, id)
}

/// The dialects' operations on one session, over plain HTTP.
struct Operations<'a> {
    http: reqwest::Client,
    base: String,
    caller: &'a Caller,
}

impl Operations<'_> {
    fn native(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.caller.native_token)
    }

    /// Reads: (name, answer).
    async fn reads(&self, target: &Target) -> Vec<(&'static str, Answer)> {
        let id = target.id.as_str();
        vec![
            (
                "native session_view",
                send(
                    self.native(reqwest::Method::GET, &format!("/native/v1/sessions/{id}")),
                    id,
                )
                .await,
            ),
            (
                "prefactor fetch_session",
                send(
                    self.http
                        .get(format!("{}/api/v1/session/{id}", self.base))
                        .bearer_auth(&self.caller.prefactor_token),
                    id,
                )
                .await,
            ),
            (
                "looker user_session",
                send(
                    self.http
                        .get(format!(
                            "{}/api/4.0/users/{}/sessions/{id}",
                            self.base, target.user
                        ))
                        .header(
                            "Authorization",
                            format!("token {}", self.caller.looker_token),
                        ),
                    id,
                )
                .await,
            ),
        ]
    }

    /// Writes: (name, answer). Only ever sent for sessions the caller may
    /// not see.
    async fn writes(&self, target: &Target) -> Vec<(&'static str, Answer)> {
        let id = target.id.as_str();
        let post =
            |path: String, body: Value| self.native(reqwest::Method::POST, &path).json(&body);
        vec![
            (
                "native session_interaction",
                send(
                    post(format!("/native/v1/sessions/{id}/interactions"), json!({})),
                    id,
                )
                .await,
            ),
            (
                "native session_extend",
                send(
                    post(
                        format!("/native/v1/sessions/{id}/extend"),
                        json!({"ttl_seconds": 7200}),
                    ),
                    id,
                )
                .await,
            ),
            (
                "native session_authenticate",
                send(
                    post(
                        format!("/native/v1/sessions/{id}/authenticate"),
                        json!({"user_id": target.user}),
                    ),
                    id,
                )
                .await,
            ),
            (
                "native session_logout",
                send(
                    self.native(
                        reqwest::Method::POST,
                        &format!("/native/v1/sessions/{id}/logout"),
                    ),
                    id,
                )
                .await,
            ),
            (
                "native session_revoke",
                send(
                    self.native(
                        reqwest::Method::POST,
                        &format!("/native/v1/sessions/{id}/revoke"),
                    ),
                    id,
                )
                .await,
            ),
            (
                "prefactor revoke_session",
                send(
                    self.http
                        .post(format!("{}/api/v1/session/{id}/revoke", self.base))
                        .bearer_auth(&self.caller.prefactor_token),
                    id,
                )
                .await,
            ),
            (
                "looker delete_user_session",
                send(
                    self.http
                        .delete(format!(
                            "{}/api/4.0/users/{}/sessions/{id}",
                            self.base, target.user
                        ))
                        .header(
                            "Authorization",
                            format!("token {}", self.caller.looker_token),
                        ),
                    id,
                )
                .await,
            ),
        ]
    }
}

/// Huawei's operations (signed, through the generated client): a listing
/// of the target's user in its store, and a batch delete of the target.
async fn huawei(
    client: &Client,
    target: &Target,
    write: bool,
) -> Vec<(&'static str, (u16, Value))> {
    let listing = client
        .list_sessions()
        .identity_store_id(target.store)
        .user_id(target.user)
        .send()
        .await;
    let listing = match listing {
        Ok(listed) => {
            let ids: Vec<String> = listed
                .into_inner()
                .session_list
                .into_iter()
                .map(|session| session.session_id.to_string())
                .collect();
            (200, json!(ids))
        }
        Err(error) => {
            let (status, mut body) = error_response(error);
            body.request_id = String::new();
            (status, serde_json::to_value(body).unwrap())
        }
    };
    let mut answers = vec![("huawei ListSessions", listing)];
    if write {
        let deleted = client
            .batch_delete_sessions()
            .identity_store_id(target.store)
            .user_id(target.user)
            .body_map(|b| {
                b.session_ids(vec![
                    BatchDeleteSessionsReqBodySessionIdsItem::try_from(target.id.as_str()).unwrap(),
                ])
            })
            .send()
            .await;
        let deleted = match deleted {
            Ok(response) => (
                response.status().as_u16(),
                serde_json::to_value(response.into_inner()).unwrap(),
            ),
            Err(error) => {
                let (status, mut body) = error_response(error);
                body.request_id = String::new();
                (status, serde_json::to_value(body).unwrap())
            }
        };
        answers.push(("huawei BatchDeleteSessions", deleted));
    }
    answers
}

async fn create(server: &TestServer, store: &'static str, user: &'static str) -> Target {
    let session: Session = server
        .admin_client()
        .session_create()
        .body_map(|b| {
            b.identity_store_id(store)
                .user_id(user.parse::<UserId>().unwrap())
                .ttl_seconds(std::num::NonZeroU32::new(86_400))
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    Target {
        id: session.id.to_string(),
        store,
        user,
    }
}

async fn caller(
    server: &TestServer,
    name: &'static str,
    issued: &IssuedCredential,
    sees: Option<Visibility>,
    huawei_store: StoreAccess,
) -> Caller {
    let (_, token) = looker_login(
        &server.url(),
        issued.looker_client_id(),
        issued.looker_client_secret(),
    )
    .await
    .expect("a Looker login");
    let clock = server.clock.clone();
    Caller {
        name,
        native_token: issued.native_token().clone(),
        prefactor_token: issued.prefactor_api_token().clone(),
        looker_token: token.access_token.expect("an access token"),
        huawei: HuaweiCredentials::new(issued.huawei_access_key(), issued.huawei_secret_key())
            .with_clock(Arc::new(move || clock.now())),
        sees,
        huawei_store,
    }
}

async fn no_caller_sees_or_learns_of_a_session_it_may_not_see(kind: StoreKind) {
    let server = TestServer::start_with(kind).await;
    let a_user_1 = create(&server, "store-a", "user-1").await;
    let a_user_2 = create(&server, "store-a", "user-2").await;
    let b_user_1 = create(&server, "store-b", "user-1").await;
    let targets = [a_user_1.clone(), a_user_2.clone(), b_user_1.clone()];

    let admin = server.admin.clone();
    let store_a = server.issue(Role::StoreAdmin, Some("store-a"), None).await;
    let store_b = server.issue(Role::StoreAdmin, Some("store-b"), None).await;
    let user_1 = server
        .issue(Role::User, Some("store-a"), Some("user-1"))
        .await;
    let user_2 = server
        .issue(Role::User, Some("store-a"), Some("user-2"))
        .await;
    let revoked = server.issue(Role::Admin, None, None).await;
    let mut callers = vec![
        caller(
            &server,
            "admin",
            &admin,
            Some(Box::new(|_| true)),
            Box::new(|_| true),
        )
        .await,
        caller(
            &server,
            "store-admin of A",
            &store_a,
            Some(Box::new(|t| t.store == "store-a")),
            Box::new(|store| store == "store-a"),
        )
        .await,
        caller(
            &server,
            "store-admin of B",
            &store_b,
            Some(Box::new(|t| t.store == "store-b")),
            Box::new(|store| store == "store-b"),
        )
        .await,
        caller(
            &server,
            "user 1 of A",
            &user_1,
            Some(Box::new(|t| t.store == "store-a" && t.user == "user-1")),
            Box::new(|_| false),
        )
        .await,
        caller(
            &server,
            "user 2 of A",
            &user_2,
            Some(Box::new(|t| t.store == "store-a" && t.user == "user-2")),
            Box::new(|_| false),
        )
        .await,
        caller(
            &server,
            "a revoked credential",
            &revoked,
            None,
            Box::new(|_| false),
        )
        .await,
    ];
    server.revoke(&revoked).await;

    // Expired temporary Huawei credentials of the admin: refused outright.
    let temporary = server.issue_temporary_huawei(&admin, Some(900)).await;
    let clock = server.clock.clone();
    let expired_huawei = HuaweiCredentials::new(&temporary.access_key, &temporary.secret_key)
        .with_security_token(&temporary.security_token)
        .with_clock(Arc::new(move || clock.now()));
    server.clock.advance(TimeDelta::seconds(901));

    let before = session_states(&server, &targets).await;
    let mut cells = 0;
    for caller in &mut callers {
        let ops = Operations {
            http: server.http(),
            base: server.url(),
            caller,
        };
        for target in &targets {
            // A session that does not exist, in the target's store and
            // of its user: what a foreign session must look like.
            let ghost = Target {
                id: Pfid::generate(
                    partition_for_identity_store(target.store),
                    u64::try_from(server.clock.now().timestamp_millis()).unwrap(),
                )
                .unwrap()
                .to_string(),
                ..target.clone()
            };
            let visible = caller.sees.as_ref().is_some_and(|sees| sees(target));
            let reads = ops.reads(target).await;
            let ghost_reads = ops.reads(&ghost).await;
            for ((name, answer), (_, ghost_answer)) in reads.iter().zip(&ghost_reads) {
                cells += 1;
                if visible {
                    assert_eq!(answer.status, 200, "{}: {name} of {target:?}", caller.name);
                } else {
                    assert!(
                        answer.status >= 400,
                        "{}: {name} of {target:?}",
                        caller.name
                    );
                    assert_eq!(
                        answer, ghost_answer,
                        "{}: {name} of {target:?} must answer as if it did not exist",
                        caller.name
                    );
                }
            }
            if !visible {
                let writes = ops.writes(target).await;
                let ghost_writes = ops.writes(&ghost).await;
                for ((name, answer), (_, ghost_answer)) in writes.iter().zip(&ghost_writes) {
                    cells += 1;
                    assert!(
                        answer.status >= 400,
                        "{}: {name} of {target:?}",
                        caller.name
                    );
                    assert_eq!(
                        answer, ghost_answer,
                        "{}: {name} of {target:?} must answer as if it did not exist",
                        caller.name
                    );
                }
            }
            // Huawei: listing the target's user in its store, and (where
            // the caller may not) deleting the target, by id.
            let client = huawei_client(&server.url(), caller.huawei.clone()).unwrap();
            let allowed = caller.sees.is_some() && (caller.huawei_store)(target.store);
            let answers = huawei(&client, target, !allowed).await;
            let ghost_answers = huawei(&client, &ghost, !allowed).await;
            for ((name, answer), (_, ghost_answer)) in answers.iter().zip(&ghost_answers) {
                cells += 1;
                if allowed {
                    assert_eq!(answer.0, 200, "{}: {name} of {target:?}", caller.name);
                    assert_eq!(answer.1, json!([target.id]), "{}: {name}", caller.name);
                } else {
                    assert!(answer.0 >= 400, "{}: {name} of {target:?}", caller.name);
                    let (ghost_status, ghost_body) = ghost_answer;
                    let ghost_body = ghost_body.to_string().replace(&ghost.id, &target.id);
                    assert_eq!(
                        (answer.0, answer.1.to_string()),
                        (*ghost_status, ghost_body),
                        "{}: {name} of {target:?}",
                        caller.name
                    );
                }
            }
        }
    }
    // Expired temporary credentials: refused outright, on every target.
    let expired = huawei_client(&server.url(), expired_huawei).unwrap();
    for target in &targets {
        for (name, (status, _)) in huawei(&expired, target, true).await {
            cells += 1;
            assert_eq!(status, 401, "expired temporary credentials: {name}");
        }
    }
    assert!(cells > 150, "the matrix has {cells} cells");
    assert_eq!(
        session_states(&server, &targets).await,
        before,
        "no refused write changed a session"
    );
    server.finish().await;
}

/// Each target as the admin reads it, whole.
async fn session_states(server: &TestServer, targets: &[Target]) -> Vec<Value> {
    let admin = server.admin_client();
    let mut states = Vec::new();
    for target in targets {
        let session = admin
            .session_view()
            .session_id(target.id.clone())
            .send()
            .await
            .unwrap()
            .into_inner();
        states.push(serde_json::to_value(session).unwrap());
    }
    states
}

login_sessions_tests::contract_tests![no_caller_sees_or_learns_of_a_session_it_may_not_see,];
