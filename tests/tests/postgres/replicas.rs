//! Several replicas over one PostgreSQL database, as a deployment behind a
//! load balancer runs them: each test starts two or three real servers on
//! 127.0.0.1:0 (their own connection pools, sharing only the database, the
//! server key and a clock) and checks that they behave as one service.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use login_sessions_client::Client;
use login_sessions_client::huawei::{HuaweiCredentials, huawei_client};
use login_sessions_client::looker::{looker_client, looker_login};
use login_sessions_client::types::{PrefactorSessionStatus, Session, SessionStatus, UserId};
use login_sessions_server::clock::{Clock, SystemClock};
use login_sessions_server::domain::credential::Role;
use login_sessions_server::domain::session::Status;
use login_sessions_server::janitor::JanitorSettings;
use login_sessions_server::pfid::Pfid;
use login_sessions_server::service::credentials::CredentialService;
use login_sessions_server::store::conformance;
use login_sessions_server::store::postgres::PostgresStore;
use login_sessions_tests::IssuedSecrets;
use login_sessions_tests::runner::Test;
use login_sessions_tests::{ServerOptions, TestServer, error_response, pfid, test_epoch};
use serde_json::json;
use tokio::sync::Barrier;

pub fn trials() -> Vec<Test> {
    vec![
        Test::postgres(
            "replicas::a_session_changed_through_one_replica_reads_the_same_through_all",
            a_session_changed_through_one_replica_reads_the_same_through_all,
        ),
        Test::postgres(
            "replicas::a_revocation_racing_reads_on_another_replica_wins_everywhere",
            a_revocation_racing_reads_on_another_replica_wins_everywhere,
        ),
        Test::postgres(
            "replicas::credentials_issued_anywhere_work_at_once_and_revoked_ones_fall_everywhere",
            credentials_issued_anywhere_work_at_once_and_revoked_ones_fall_everywhere,
        ),
        Test::postgres(
            "replicas::concurrent_extensions_and_interactions_from_every_replica_all_count",
            concurrent_extensions_and_interactions_from_every_replica_all_count,
        ),
        Test::postgres(
            "replicas::revoke_all_racing_new_logins_leaves_nothing_from_before_it_live",
            revoke_all_racing_new_logins_leaves_nothing_from_before_it_live,
        ),
        Test::postgres(
            "replicas::the_janitor_deletes_sessions_past_retention_and_nothing_else",
            the_janitor_deletes_sessions_past_retention_and_nothing_else,
        ),
        Test::postgres(
            "replicas::a_looker_token_from_one_replica_works_at_once_and_logs_out_everywhere",
            a_looker_token_from_one_replica_works_at_once_and_logs_out_everywhere,
        ),
        Test::postgres(
            "replicas::temporary_huawei_credentials_hold_and_fall_with_their_parent_everywhere",
            temporary_huawei_credentials_hold_and_fall_with_their_parent_everywhere,
        ),
    ]
}

fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}

async fn create(client: &Client, user: &str, ttl_seconds: u32) -> Session {
    client
        .session_create()
        .body_map(|b| {
            b.identity_store_id("acme")
                .user_id(user.parse::<UserId>().unwrap())
                .ip_address(Some("203.0.113.9".parse().unwrap()))
                .user_agent(Some("curl/8.5.0".to_string()))
                .ttl_seconds(std::num::NonZeroU32::new(ttl_seconds))
        })
        .send()
        .await
        .expect("create session")
        .into_inner()
}

async fn view(client: &Client, id: &str) -> Session {
    client
        .session_view()
        .session_id(id)
        .send()
        .await
        .expect("view")
        .into_inner()
}

/// The live sessions of `user`, as the native listing answers.
async fn live_sessions_of(client: &Client, user: &str) -> Vec<Session> {
    client
        .session_list()
        .user_id(user.parse::<UserId>().unwrap())
        .live(true)
        .send()
        .await
        .unwrap()
        .into_inner()
        .items
}

/// The status of a Huawei ListSessions of user `u-1` in store `acme` that
/// must fail.
async fn refused_listing(client: &Client) -> u16 {
    let result = client
        .list_sessions()
        .identity_store_id("acme")
        .user_id("u-1")
        .send()
        .await;
    error_response(result.unwrap_err()).0
}

/// Waits until `status` (a request's answer) is 401, which must happen
/// once every replica's revocation listener has heard of a revocation
/// (within 50 ms of it; the benchmark measures the window). The clock does
/// not move: a cache lifetime running out cannot be what ends it. The
/// bound only keeps a broken listener from hanging the suite.
async fn refused_eventually<F, Fut>(what: &str, status: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let answered = status().await;
        if answered == 401 {
            return;
        }
        assert_eq!(answered, 200, "{what}: an answer that is neither");
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: still accepted, its revocation never heard of"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn finish(replicas: Vec<TestServer>) {
    for replica in replicas {
        replica.finish().await;
    }
}

/// Waits until `client` shows session `id` as `expected`: the replica that
/// wrote it must show it at once (checked by the caller), every other one
/// once its listener has heard of the write (within 50 ms; the benchmark
/// measures the window). The clock does not move; the bound only keeps a
/// broken listener from hanging the suite.
async fn seen_eventually(what: &str, client: &Client, id: &str, expected: &Session) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let seen = view(client, id).await;
        if to_json(&seen) == to_json(expected) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: still {seen:?}, the write never heard of"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Every replica shows `expected`: the one that wrote it (`writer`) at
/// once, the others once they have heard of it.
async fn seen_everywhere(clients: &[Client], writer: usize, expected: &Session) {
    assert_eq!(
        to_json(&view(&clients[writer], &expected.id).await),
        to_json(expected),
        "the writing replica, at once"
    );
    for (index, client) in clients.iter().enumerate() {
        seen_eventually(&format!("replica {index}"), client, &expected.id, expected).await;
    }
}

async fn a_session_changed_through_one_replica_reads_the_same_through_all() {
    let replicas = TestServer::start_replicas(3, ServerOptions::default()).await;
    let clients: Vec<Client> = replicas.iter().map(TestServer::admin_client).collect();
    let clock = &replicas[0].clock;

    let created = create(&clients[0], "42", 600).await;
    seen_everywhere(&clients, 0, &created).await;

    clock.advance(TimeDelta::seconds(10));
    let touched = clients[1]
        .session_interaction_create()
        .session_id(created.id.clone())
        .body_map(|b| b.ip_address(Some("198.51.100.7".parse().unwrap())))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        touched.last_seen.as_ref().unwrap().at,
        test_epoch() + TimeDelta::seconds(10)
    );
    seen_everywhere(&clients, 1, &touched).await;

    clock.advance(TimeDelta::seconds(10));
    let extended = clients[2]
        .session_extend()
        .session_id(created.id.clone())
        .body_map(|b| b.ttl_seconds(std::num::NonZeroU32::new(3600)))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(extended.extended_count, 1);
    seen_everywhere(&clients, 2, &extended).await;

    let revoked = clients[0]
        .session_revoke()
        .session_id(created.id.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(revoked.status, SessionStatus::Revoked);
    seen_everywhere(&clients, 0, &revoked).await;
    for (index, client) in clients.iter().enumerate() {
        let live = live_sessions_of(client, "42").await;
        assert!(
            live.is_empty(),
            "replica {index} lists it as live: {live:?}"
        );
        let (status, _) = error_response(
            client
                .session_extend()
                .session_id(created.id.clone())
                .body_map(|b| b.ttl_seconds(std::num::NonZeroU32::new(7200)))
                .send()
                .await
                .unwrap_err(),
        );
        assert_eq!(status, 409, "replica {index} refuses to extend it");
    }
    let fetched = replicas[1]
        .prefactor_client(replicas[1].admin.prefactor_api_token())
        .fetch_session()
        .session_id(created.id.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched.summary.status, PrefactorSessionStatus::Revoked);
    finish(replicas).await;
}

/// How many times the race below is run.
const RACE_ROUNDS: usize = 40;

/// A revocation through one replica while another reads the session as
/// fast as it can, round after round, with every cache at its default:
/// the writing replica never shows the session live once its revocation
/// is acknowledged; the other stops showing it live once it has heard
/// (the test fails if it never does) and never shows it live again; and
/// Looker's listing of the user on the other replica agrees.
async fn a_revocation_racing_reads_on_another_replica_wins_everywhere() {
    let replicas = TestServer::start_replicas(2, ServerOptions::default()).await;
    let writer = replicas[0].admin_client();
    let reader = Arc::new(replicas[1].admin_client());
    for round in 0..RACE_ROUNDS {
        let user = format!("racer-{round}");
        let session = create(&writer, &user, 600).await;
        seen_eventually("the reader, before", &reader, &session.id, &session).await;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader_task = tokio::spawn({
            let (reader, id, stop) = (reader.clone(), session.id.clone(), stop.clone());
            async move {
                // Once it has seen the revocation, never live again.
                let mut seen_revoked = false;
                let mut reads = 0_u32;
                while !stop.load(std::sync::atomic::Ordering::Acquire) || !seen_revoked {
                    let live = view(&reader, &id).await.live;
                    assert!(
                        !(seen_revoked && live),
                        "live again after it was seen revoked"
                    );
                    seen_revoked |= !live;
                    reads += 1;
                    assert!(reads < 20_000, "the reader never heard of the revocation");
                }
            }
        });
        tokio::task::yield_now().await;
        let revoked = writer
            .session_revoke()
            .session_id(session.id.clone())
            .send()
            .await
            .unwrap()
            .into_inner();
        assert!(!revoked.live);
        assert!(
            !view(&writer, &session.id).await.live,
            "round {round}: the writer, at once"
        );
        stop.store(true, std::sync::atomic::Ordering::Release);
        // The reader's own assertions fail the round.
        reader_task.await.expect("the reader");
        let listed = live_sessions_of(&reader, &user).await;
        assert!(
            listed.is_empty(),
            "round {round}: still listed live: {listed:?}"
        );
    }
    finish(replicas).await;
}

async fn credentials_issued_anywhere_work_at_once_and_revoked_ones_fall_everywhere() {
    let replicas = TestServer::start_replicas(2, ServerOptions::default()).await;
    let (first, second) = (&replicas[0], &replicas[1]);
    let session = create(&first.admin_client(), "7", 600).await;

    // Issued through one replica, it works on the other the moment it is
    // issued.
    let issued = first.issue(Role::Admin, None, None).await;
    second
        .native_client(issued.native_token())
        .session_view()
        .session_id(session.id.clone())
        .send()
        .await
        .expect("a credential issued on another replica");
    second
        .prefactor_client(issued.prefactor_api_token())
        .fetch_session()
        .session_id(session.id.clone())
        .send()
        .await
        .expect("its Prefactor token too");

    // Revoked through that other replica: refused by it at once, and by the
    // first (which has not cached it) at once too.
    second.revoke(&issued).await;
    let (status, _) = error_response(
        first
            .native_client(issued.native_token())
            .session_view()
            .session_id(session.id.clone())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 401);
    let (status, _) = error_response(
        first
            .prefactor_client(issued.prefactor_api_token())
            .fetch_session()
            .session_id(session.id.clone())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 401);

    // Revoked by a command line process (its own store, the shared key):
    // the replicas that looked it up lately (and cached it) refuse it as
    // soon as their revocation listeners hear of it, the clock standing
    // still.
    let user = first.issue(Role::User, None, Some("7")).await;
    for replica in &replicas {
        replica
            .native_client(user.native_token())
            .session_view()
            .session_id(session.id.clone())
            .send()
            .await
            .expect("the user's own session");
    }
    let cli_store = PostgresStore::open(first.database_url.as_deref().unwrap(), 1)
        .await
        .unwrap();
    CredentialService::new(
        Arc::new(cli_store),
        Arc::new(SystemClock),
        first.key.clone(),
    )
    .revoke(user.credential.id.as_str())
    .await
    .unwrap();
    for replica in &replicas {
        let client = replica.native_client(user.native_token());
        refused_eventually("a credential revoked by the command line", || async {
            match client
                .session_view()
                .session_id(session.id.clone())
                .send()
                .await
            {
                Ok(_) => 200,
                Err(error) => error_response(error).0,
            }
        })
        .await;
    }
    finish(replicas).await;
}

async fn concurrent_extensions_and_interactions_from_every_replica_all_count() {
    const EXTENSIONS: usize = 36;
    const INTERACTIONS: usize = 36;
    let replicas = TestServer::start_replicas(3, ServerOptions::default()).await;
    let clients: Vec<Client> = replicas.iter().map(TestServer::admin_client).collect();
    let session = create(&clients[0], "42", 600).await;
    // Time passes between any two readings of the clock, as it does on
    // real, synchronised clocks: "an hour from now" is later each time.
    replicas[0].clock.set_step(TimeDelta::milliseconds(1));

    let barrier = Arc::new(Barrier::new(EXTENSIONS + INTERACTIONS));
    let mut tasks = Vec::new();
    for index in 0..EXTENSIONS + INTERACTIONS {
        let client = clients[index % clients.len()].clone();
        let barrier = barrier.clone();
        let id = session.id.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            if index < EXTENSIONS {
                client
                    .session_extend()
                    .session_id(id.clone())
                    .body_map(|b| b.ttl_seconds(std::num::NonZeroU32::new(3600)))
                    .send()
                    .await
                    .map(|response| response.into_inner())
            } else {
                let ip = format!("198.51.100.{}", index % 250);
                client
                    .session_interaction_create()
                    .session_id(id.clone())
                    .body_map(|b| b.ip_address(Some(ip.parse().unwrap())))
                    .send()
                    .await
                    .map(|response| response.into_inner())
            }
        }));
    }
    for (index, task) in tasks.into_iter().enumerate() {
        let result = task.await.unwrap();
        assert!(result.is_ok(), "request {index} failed: {result:?}");
    }
    replicas[0].clock.set_step(TimeDelta::zero());

    let stored = replicas[1]
        .store
        .session(&pfid(&session.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.extended_count as usize, EXTENSIONS,
        "every extension counted exactly once"
    );
    assert_eq!(
        stored.version as usize,
        1 + EXTENSIONS + INTERACTIONS,
        "every write applied over the one before it: none lost"
    );
    let extended_at = stored.extended_at.unwrap();
    assert_eq!(
        stored.expires_at,
        extended_at + TimeDelta::seconds(3600),
        "the last extension written counts an hour from when it was written"
    );
    for client in &clients {
        let seen = view(client, &session.id).await;
        assert_eq!(seen.extended_count as usize, EXTENSIONS);
        assert!(seen.live);
    }
    finish(replicas).await;
}

async fn revoke_all_racing_new_logins_leaves_nothing_from_before_it_live() {
    // At least this many rounds; more, up to the most, until the race
    // this test is about has happened.
    const ROUNDS: usize = 6;
    const MOST_ROUNDS: usize = 40;
    const LOGINS: usize = 24;
    let replicas = TestServer::start_replicas(3, ServerOptions::default()).await;
    let clients: Vec<Client> = replicas.iter().map(TestServer::admin_client).collect();
    replicas[0].clock.set_step(TimeDelta::milliseconds(1));
    let mut landed_after_the_revocation = 0;
    let mut rounds = 0;
    for round in 0..MOST_ROUNDS {
        if round >= ROUNDS && landed_after_the_revocation > 0 {
            break;
        }
        rounds += 1;
        let user = format!("racer-{round}");
        // A session from well before, so the revocation has something to
        // revoke and its time can be read back from it.
        let sentinel = create(&clients[round % 3], &user, 3600).await;

        let barrier = Arc::new(Barrier::new(LOGINS + 1));
        let logins: Vec<_> = (0..LOGINS)
            .map(|index| {
                let client = clients[index % 3].clone();
                let barrier = barrier.clone();
                let user = user.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    // Stagger a little, so some logins start before the
                    // revocation and some after.
                    tokio::time::sleep(Duration::from_micros(100 * index as u64)).await;
                    create(&client, &user, 3600).await
                })
            })
            .collect();
        let revoke = {
            let client = clients[(round + 1) % 3].clone();
            let barrier = barrier.clone();
            let user = user.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                tokio::time::sleep(Duration::from_micros(100 * (LOGINS as u64 / 2))).await;
                client
                    .user_sessions_revoke()
                    .user_id(user)
                    .body_map(|b| b)
                    .send()
                    .await
                    .expect("revoke all")
                    .into_inner()
            })
        };
        let mut created = Vec::new();
        for login in logins {
            created.push(login.await.unwrap());
        }
        let revoked: BTreeSet<_> = revoke
            .await
            .unwrap()
            .revoked_session_ids
            .into_iter()
            .collect();
        assert!(revoked.contains(&sentinel.id), "round {round}");

        let store = &replicas[round % 3].store;
        let revoked_at = store
            .session(&pfid(&sentinel.id))
            .await
            .unwrap()
            .unwrap()
            .ended_at
            .expect("the sentinel was revoked");
        for session in &created {
            assert!(session.live, "round {round}: answered as a live login");
            let stored = store.session(&pfid(&session.id)).await.unwrap().unwrap();
            if stored.created_at < revoked_at {
                assert_eq!(
                    (stored.status, stored.ended_at),
                    (Status::Revoked, Some(revoked_at)),
                    "round {round}: {} was created before the revocation ({} < {revoked_at}) \
                     and must not stay live (listed by the revocation: {})",
                    session.id.as_str(),
                    stored.created_at,
                    revoked.contains(&session.id)
                );
                if !revoked.contains(&session.id) {
                    landed_after_the_revocation += 1;
                }
            } else if !revoked.contains(&session.id) {
                // Created (by the clock) at or after the revocation's time:
                // live, unless its insert committed before the revocation
                // ran, which then found and revoked it (and said so).
                assert_eq!(
                    stored.status,
                    Status::Authenticated,
                    "round {round}: a login after the revocation stays live"
                );
            }
        }
        // Every replica agrees.
        for (index, client) in clients.iter().enumerate() {
            let live = client
                .session_list()
                .user_id(user.clone())
                .live(true)
                .limit(std::num::NonZeroU32::new(1000).unwrap())
                .send()
                .await
                .unwrap()
                .into_inner()
                .items;
            for session in live {
                let stored = store.session(&pfid(&session.id)).await.unwrap().unwrap();
                assert!(
                    stored.created_at >= revoked_at,
                    "replica {index} lists {} as live",
                    session.id.as_str()
                );
            }
        }
    }
    replicas[0].clock.set_step(TimeDelta::zero());
    eprintln!(
        "revoke-all race: {landed_after_the_revocation} login(s) created before a revocation \
         landed after it and were stored revoked ({rounds} rounds)"
    );
    // Without such a login, the rounds never raced: the revocation ran
    // before or after every login, and the checks above were easy.
    assert!(
        landed_after_the_revocation > 0,
        "in {rounds} rounds no login created before a revocation landed after it: \
         the race this test is about never happened"
    );
    finish(replicas).await;
}

async fn the_janitor_deletes_sessions_past_retention_and_nothing_else() {
    let options = ServerOptions {
        janitor: Some(JanitorSettings {
            retention: TimeDelta::days(1),
            interval: Duration::from_millis(25),
            batch_size: 4,
        }),
        ..ServerOptions::default()
    };
    let replicas = TestServer::start_replicas(3, options).await;
    let clients: Vec<Client> = replicas.iter().map(TestServer::admin_client).collect();
    let prefactor = replicas[1].prefactor_client(replicas[1].admin.prefactor_api_token());
    let clock = &replicas[0].clock;

    let revoked = create(&clients[0], "1", 600).await;
    clients[0]
        .session_revoke()
        .session_id(revoked.id.clone())
        .send()
        .await
        .unwrap();
    let logged_out = create(&clients[1], "1", 600).await;
    clients[1]
        .session_logout()
        .session_id(logged_out.id.clone())
        .send()
        .await
        .unwrap();
    let expiring = create(&clients[2], "2", 60).await;
    let long_lived = create(&clients[2], "3", 10 * 86_400).await;
    // Plenty of expired sessions, for several batches.
    let old: Vec<_> = (0..22)
        .map(|index| {
            let mut session =
                conformance::session("acme", Some("bulk"), Status::Authenticated, 0, 60_000);
            session.created_at =
                test_epoch() - TimeDelta::hours(2) + TimeDelta::milliseconds(index);
            session.expires_at = test_epoch() - TimeDelta::hours(1);
            session.id = conformance::new_id("acme", session.created_at);
            session
        })
        .collect();
    // And one past retention already (expired two days before the
    // clock), inserted last: once it is gone, a janitor round ran after
    // every session above existed.
    let mut witness =
        conformance::session("acme", Some("witness"), Status::Authenticated, 0, 60_000);
    witness.created_at = test_epoch() - TimeDelta::days(3);
    witness.expires_at = test_epoch() - TimeDelta::days(2);
    witness.id = conformance::new_id("acme", witness.created_at);
    replicas[2].store.insert_sessions(&old).await.unwrap();
    replicas[2].store.insert_session(&witness).await.unwrap();

    // Within retention, ended sessions stay fetchable, whatever the
    // janitors do meanwhile: once a round has run (the witness is gone).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while replicas[0]
        .store
        .session(&witness.id)
        .await
        .unwrap()
        .is_some()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no janitor round deleted the session past retention"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for id in [&revoked.id, &logged_out.id, &expiring.id] {
        prefactor
            .fetch_session()
            .session_id(id.clone())
            .send()
            .await
            .expect("still retained");
    }
    assert!(
        replicas[0]
            .store
            .session(&old[0].id)
            .await
            .unwrap()
            .is_some()
    );

    clock.advance(TimeDelta::days(1) + TimeDelta::hours(1));
    let recently_revoked = create(&clients[0], "4", 600).await;
    clients[0]
        .session_revoke()
        .session_id(recently_revoked.id.clone())
        .send()
        .await
        .unwrap();

    let doomed: Vec<Pfid> = [&revoked.id, &logged_out.id, &expiring.id]
        .into_iter()
        .map(|id| pfid(id))
        .chain(old.iter().map(|session| session.id))
        .collect();
    let mut gone = false;
    for _ in 0..400 {
        let mut remaining = 0;
        for id in &doomed {
            if replicas[0].store.session(id).await.unwrap().is_some() {
                remaining += 1;
            }
        }
        if remaining == 0 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(gone, "the janitors deleted every session past retention");
    let (status, _) = error_response(
        prefactor
            .fetch_session()
            .session_id(revoked.id.clone())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 404, "past retention, a session is gone");
    for id in [&long_lived.id, &recently_revoked.id] {
        let kept = prefactor
            .fetch_session()
            .session_id(id.clone())
            .send()
            .await
            .expect("kept")
            .into_inner();
        assert_eq!(to_json(&kept.summary.id), json!(id));
    }
    finish(replicas).await;
}

async fn a_looker_token_from_one_replica_works_at_once_and_logs_out_everywhere() {
    let replicas = TestServer::start_replicas(2, ServerOptions::default()).await;
    let (a, b) = (&replicas[0], &replicas[1]);
    let session = create(&a.admin_client(), "42", 600).await;

    // POST /api/4.0/login on A; the token works on B the moment it is
    // issued.
    let (on_a, token) = looker_login(
        &a.url(),
        a.admin.looker_client_id(),
        a.admin.looker_client_secret(),
    )
    .await
    .expect("Looker login on A");
    let token = token.access_token.expect("an access token");
    let on_b = looker_client(&b.url(), &token).unwrap();
    let seen = on_b
        .user_session()
        .user_id("42")
        .session_id(session.id.clone())
        .send()
        .await
        .expect("A's token on B")
        .into_inner();
    assert_eq!(seen.id.as_deref(), Some(session.id.as_str()));
    on_a.all_user_sessions()
        .user_id("42")
        .send()
        .await
        .expect("and on A");

    // DELETE /api/4.0/logout on B; B refuses the token at once, A (which
    // looked it up lately) once its listener hears of the logout.
    let logged_out = on_b.logout().send().await.expect("logout on B");
    assert_eq!(logged_out.status().as_u16(), 204);
    let (status, _) = error_response(
        on_b.all_user_sessions()
            .user_id("42")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        status, 401,
        "the replica that logged it out refuses it at once"
    );
    refused_eventually("a token logged out on another replica", || async {
        match on_a.all_user_sessions().user_id("42").send().await {
            Ok(_) => 200,
            Err(error) => error_response(error).0,
        }
    })
    .await;
    finish(replicas).await;
}

async fn temporary_huawei_credentials_hold_and_fall_with_their_parent_everywhere() {
    let replicas = TestServer::start_replicas(3, ServerOptions::default()).await;
    let session = create(&replicas[0].admin_client(), "u-1", 600).await;
    let parent = replicas[0]
        .issue(Role::StoreAdmin, Some("acme"), None)
        .await;
    let temporary = replicas[0].issue_temporary_huawei(&parent, Some(900)).await;
    // Signed with the replicas' shared (test-controlled) clock.
    let clients: Vec<Client> = replicas
        .iter()
        .map(|replica| {
            let clock = replica.clock.clone();
            let signer = HuaweiCredentials::new(&temporary.access_key, &temporary.secret_key)
                .with_clock(Arc::new(move || clock.now()))
                .with_security_token(&temporary.security_token);
            huawei_client(&replica.url(), signer).unwrap()
        })
        .collect();

    // Accepted by a signed ListSessions on every replica at once.
    for client in &clients {
        let listed = client
            .list_sessions()
            .identity_store_id("acme")
            .user_id("u-1")
            .send()
            .await
            .expect("ListSessions with temporary credentials")
            .into_inner()
            .session_list;
        let ids: Vec<&str> = listed.iter().map(|s| s.session_id.as_str()).collect();
        assert_eq!(ids, [session.id.as_str()]);
    }

    // The parent revoked through another replica: that replica refuses the
    // temporary credentials at once, every other one once it hears of it.
    replicas[2].revoke(&parent).await;
    assert_eq!(
        refused_listing(&clients[2]).await,
        401,
        "the revoking replica refuses them at once"
    );
    for client in &clients {
        refused_eventually("a revoked parent's temporary credentials", || async {
            match client
                .list_sessions()
                .identity_store_id("acme")
                .user_id("u-1")
                .send()
                .await
            {
                Ok(_) => 200,
                Err(error) => error_response(error).0,
            }
        })
        .await;
    }
    finish(replicas).await;
}
