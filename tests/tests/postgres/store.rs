//! The store conformance suite, unchanged, on PostgreSQL; and what only the
//! PostgreSQL store has to prove: migrations under concurrent starts, a
//! newer schema refused, errors mapped (never a panic, never the password),
//! the pool bound, and the janitor's lease and batches among replicas.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use login_sessions_server::clock::ManualClock;
use login_sessions_server::config::{self, DatabaseUrl};
use login_sessions_server::domain::session::Status;
use login_sessions_server::pfid::Pfid;
use login_sessions_server::store::conformance::migration::{
    OLD_CREDENTIAL_COLUMNS, OldCredential, OldValue,
};
use login_sessions_server::store::conformance::{self, at, now, session};
use login_sessions_server::store::credential_cache::{
    CachedCredentials, DEFAULT_CREDENTIAL_CACHE_TTL,
};
use login_sessions_server::store::postgres::{PostgresStore, SCHEMA_VERSION, migrations};
use login_sessions_server::store::session_cache::{CachedSessions, DEFAULT_SESSION_CACHE_MIB};
use login_sessions_server::store::{CredentialStore, SessionStore, SharedStore, StoreError};
use login_sessions_tests::StoreKind;
use login_sessions_tests::postgres::{TestDatabase, connect};
use login_sessions_tests::runner::Test;
use tokio::sync::Barrier;

const HOUR: i64 = 3_600_000;

/// Every conformance case on a fresh PostgreSQL database, named
/// `conformance::<case>`.
pub fn conformance_trials() -> Vec<Test> {
    conformance_trials_named("conformance", false)
}

/// Every conformance case again, with sessions and credentials read
/// through the caches a server puts in front of the store, at their
/// default sizes, named `conformance_cached::<case>`.
pub fn cached_conformance_trials() -> Vec<Test> {
    conformance_trials_named("conformance_cached", true)
}

fn conformance_trials_named(prefix: &'static str, through_caches: bool) -> Vec<Test> {
    conformance::cases()
        .into_iter()
        .map(|(name, case)| {
            Test::postgres(format!("{prefix}::{name}"), move || async move {
                let (store, _url, guard) =
                    login_sessions_tests::fresh_store(StoreKind::Postgres).await;
                let store = if through_caches {
                    cached(store).await
                } else {
                    store
                };
                conformance::assert_empty(&store).await;
                case(store).await;
                drop(guard);
            })
        })
        .collect()
}

/// `store` behind the session and credential caches, once its listener
/// hears (the caches bypass themselves until then).
async fn cached(store: SharedStore) -> SharedStore {
    let coherence = store.coherence();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !coherence.is_sure() {
        assert!(std::time::Instant::now() < deadline, "never listening");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let clock = Arc::new(ManualClock::new(now()));
    Arc::new(conformance::Combined {
        sessions: Arc::new(CachedSessions::new(
            store.clone(),
            coherence,
            clock.clone(),
            DEFAULT_SESSION_CACHE_MIB,
        )),
        credentials: CachedCredentials::wrap(store, clock, DEFAULT_CREDENTIAL_CACHE_TTL),
        coherence: None,
    })
}

pub fn trials() -> Vec<Test> {
    vec![
        Test::postgres(
            "store::concurrent_opens_of_a_fresh_database_all_succeed",
            concurrent_opens_of_a_fresh_database_all_succeed,
        ),
        Test::postgres(
            "store::reopening_keeps_data_and_does_not_migrate_again",
            reopening_keeps_data_and_does_not_migrate_again,
        ),
        Test::postgres(
            "store::a_newer_schema_is_refused",
            a_newer_schema_is_refused,
        ),
        Test::postgres(
            "store::undecodable_rows_are_corrupt_not_panics",
            undecodable_rows_are_corrupt_not_panics,
        ),
        Test::postgres(
            "store::an_unreachable_server_is_unavailable_and_the_password_never_shows",
            an_unreachable_server_is_unavailable_and_the_password_never_shows,
        ),
        Test::postgres(
            "store::dropped_connections_are_unavailable_then_replaced",
            dropped_connections_are_unavailable_then_replaced,
        ),
        Test::postgres(
            "store::the_pool_size_bounds_the_connections",
            the_pool_size_bounds_the_connections,
        ),
        Test::postgres(
            "store::config_opens_postgres_urls",
            config_opens_postgres_urls,
        ),
        Test::postgres(
            "store::one_process_at_a_time_holds_the_janitor_lease",
            one_process_at_a_time_holds_the_janitor_lease,
        ),
        Test::postgres(
            "store::janitor_batches_skip_rows_a_request_holds",
            janitor_batches_skip_rows_a_request_holds,
        ),
        Test::postgres(
            "store::a_bulk_load_into_a_small_store_builds_the_indexes_at_its_end",
            a_bulk_load_into_a_small_store_builds_the_indexes_at_its_end,
        ),
        Test::postgres(
            "store::indexes_an_interrupted_bulk_load_set_aside_are_built_at_open",
            indexes_an_interrupted_bulk_load_set_aside_are_built_at_open,
        ),
        Test::postgres(
            "store::credentials_written_by_schema_3_keep_every_secret",
            credentials_written_by_schema_3_keep_every_secret,
        ),
    ]
}

async fn open(url: &str) -> PostgresStore {
    PostgresStore::open(url, 4).await.expect("open")
}

async fn schema_rows(url: &str) -> Vec<(i32, String)> {
    let client = connect(url).await.unwrap();
    client
        .query(
            "SELECT version, name FROM login_sessions_schema ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

async fn concurrent_opens_of_a_fresh_database_all_succeed() {
    for round in 0..4 {
        let database = TestDatabase::create().await;
        let barrier = Arc::new(Barrier::new(8));
        let openers: Vec<_> = (0..8)
            .map(|_| {
                let barrier = barrier.clone();
                let url = database.url.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    PostgresStore::open(&url, 2).await
                })
            })
            .collect();
        let mut stores = Vec::new();
        for opener in openers {
            let store = opener
                .await
                .unwrap()
                .unwrap_or_else(|error| panic!("round {round}: open failed: {error}"));
            stores.push(store);
        }
        let rows = schema_rows(&database.url).await;
        assert_eq!(
            rows.len(),
            SCHEMA_VERSION as usize,
            "round {round}: each migration applied once: {rows:?}"
        );
        // Every opener sees and writes the same database.
        let mut sessions = Vec::new();
        for (index, store) in stores.iter().enumerate() {
            let mut session = conformance::full_session();
            session.id = Pfid::generate(index as u32, 1_700_000_000_000).unwrap();
            store.insert_session(&session).await.unwrap();
            sessions.push(session);
        }
        for store in &stores {
            store.ping().await.unwrap();
            for session in &sessions {
                assert_eq!(
                    store.session(&session.id).await.unwrap().as_ref(),
                    Some(session)
                );
            }
        }
    }
}

async fn reopening_keeps_data_and_does_not_migrate_again() {
    let database = TestDatabase::create().await;
    let session = conformance::full_session();
    {
        let store = open(&database.url).await;
        store.insert_session(&session).await.unwrap();
    }
    let before = schema_rows(&database.url).await;
    assert_eq!(
        before
            .iter()
            .map(|(version, _)| *version)
            .collect::<Vec<_>>(),
        (1..=SCHEMA_VERSION).collect::<Vec<_>>()
    );
    for _ in 0..2 {
        let store = open(&database.url).await;
        assert_eq!(
            store.session(&session.id).await.unwrap(),
            Some(session.clone())
        );
        store.ping().await.unwrap();
    }
    assert_eq!(schema_rows(&database.url).await, before);
}

async fn a_newer_schema_is_refused() {
    let database = TestDatabase::create().await;
    let store = open(&database.url).await;
    let newer = SCHEMA_VERSION + 1;
    connect(&database.url)
        .await
        .unwrap()
        .execute(
            "INSERT INTO login_sessions_schema (version, name, applied_at) \
             VALUES ($1, 'from the future', 0)",
            &[&newer],
        )
        .await
        .unwrap();
    let error = PostgresStore::open(&database.url, 2).await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, StoreError::Internal(_)), "{error:?}");
    assert!(
        message.contains(&format!("schema version {newer}")),
        "{message}"
    );
    assert!(message.contains("newer"), "{message}");
    // A running server notices too: readiness fails.
    assert!(matches!(
        store.ping().await,
        Err(StoreError::Unavailable(_))
    ));
    // Nothing was changed.
    assert_eq!(schema_rows(&database.url).await.len(), newer as usize);
}

async fn undecodable_rows_are_corrupt_not_panics() {
    let database = TestDatabase::create().await;
    let store = open(&database.url).await;
    let raw = connect(&database.url).await.unwrap();
    let session = conformance::full_session();
    store.insert_session(&session).await.unwrap();
    let query = conformance::query_all(10);
    let corruptions = [
        "UPDATE sessions SET status = 'bogus'",
        "UPDATE sessions SET session_type = 'carrier-pigeon'",
        "UPDATE sessions SET first_seen_ip = 'not an address'",
        "UPDATE sessions SET version = -1",
        "UPDATE sessions SET extended_count = 1::bigint << 40",
        "UPDATE sessions SET expires_at = 9223372036854775807",
        "UPDATE sessions SET account_id = 'NOT-A-PFID'",
    ];
    for corruption in corruptions {
        raw.batch_execute(corruption)
            .await
            .unwrap_or_else(|error| panic!("{corruption}: {error}"));
        let error = store.session(&session.id).await.unwrap_err();
        assert!(
            matches!(error, StoreError::Corrupt(_)),
            "{corruption}: {error:?}"
        );
        let error = store.list_sessions(&query).await.unwrap_err();
        assert!(
            matches!(error, StoreError::Corrupt(_)),
            "{corruption}: {error:?}"
        );
        // Put the good row back for the next corruption.
        raw.batch_execute("DELETE FROM sessions").await.unwrap();
        store.insert_session(&session).await.unwrap();
        assert_eq!(
            store.session(&session.id).await.unwrap().as_ref(),
            Some(&session)
        );
    }

    let (credential, secrets) = conformance::credential_with_secrets("corrupt");
    store
        .insert_credential(&credential, &secrets)
        .await
        .unwrap();
    raw.batch_execute("UPDATE credentials SET role = 'emperor'")
        .await
        .unwrap();
    let error = store.credential(&credential.id).await.unwrap_err();
    assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
    raw.batch_execute("UPDATE credentials SET role = 'admin', rate_limit = -5")
        .await
        .unwrap();
    let key_pair = conformance::secret_of(&secrets, conformance::KEY_PAIR);
    let error = store
        .credential_by_secret(key_pair.kind, &key_pair.lookup_key)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
}

/// A TCP port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

async fn an_unreachable_server_is_unavailable_and_the_password_never_shows() {
    let url = format!(
        "postgres://someone:hunter2-secret@127.0.0.1:{}/db?connect_timeout=2",
        closed_port()
    );
    let error = PostgresStore::open(&url, 2).await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert!(!error.to_string().contains("hunter2"), "{error}");

    let database = DatabaseUrl::parse(&url).unwrap();
    let error = config::open_store(&database, 2)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(!error.contains("hunter2"), "{error}");
    assert!(
        error.contains("someone:***@127.0.0.1"),
        "the redacted URL: {error}"
    );

    let error = PostgresStore::open("postgres://u:hunter2@127.0.0.1:notaport/db", 2)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Internal(_)), "{error:?}");
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

/// The backends of the store's pooled connections (`login-sessions`).
async fn store_backends(raw: &tokio_postgres::Client) -> BTreeSet<i32> {
    raw.query(
        "SELECT pid FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'login-sessions'",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|row| row.get(0))
    .collect()
}

async fn dropped_connections_are_unavailable_then_replaced() {
    let database = TestDatabase::create().await;
    let store = open(&database.url).await;
    let session = conformance::full_session();
    store.insert_session(&session).await.unwrap();
    let raw = connect(&database.url).await.unwrap();
    let mut unavailable = 0;
    for round in 0..3 {
        let before = store_backends(&raw).await;
        assert!(!before.is_empty(), "round {round}: the store is connected");
        // The server (an administrator, a failover) drops every connection
        // the store has.
        let terminated: Vec<bool> = raw
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND application_name = 'login-sessions'",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert!(
            !terminated.is_empty() && terminated.iter().all(|done| *done),
            "round {round}: every connection of the store terminated: {terminated:?}"
        );
        let mut answered = false;
        for _ in 0..20 {
            match store.session(&session.id).await {
                Ok(found) => {
                    assert_eq!(found.as_ref(), Some(&session));
                    answered = true;
                    break;
                }
                Err(StoreError::Unavailable(_)) => unavailable += 1,
                Err(other) => panic!("round {round}: {other:?}"),
            }
        }
        assert!(answered, "round {round}: the pool replaced its connections");
        // It answered on a new connection, not one that survived: once the
        // terminated backends have exited (and left pg_stat_activity), the
        // store's backends are all new.
        let mut after = store_backends(&raw).await;
        for _ in 0..200 {
            if after.is_disjoint(&before) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            after = store_backends(&raw).await;
        }
        assert!(
            !after.is_empty() && after.is_disjoint(&before),
            "round {round}: answered through new backends {after:?}, not {before:?}"
        );
    }
    eprintln!(
        "dropped connections: {unavailable} request(s) answered Unavailable before a new connection served"
    );
}

async fn the_pool_size_bounds_the_connections() {
    let database = TestDatabase::create().await;
    let store: SharedStore = Arc::new(PostgresStore::open(&database.url, 3).await.unwrap());
    let session = conformance::full_session();
    store.insert_session(&session).await.unwrap();
    let raw = connect(&database.url).await.unwrap();
    let readers: Vec<_> = (0..40)
        .map(|_| {
            let store = store.clone();
            let id = session.id;
            tokio::spawn(async move {
                for _ in 0..25 {
                    store.session(&id).await.unwrap();
                }
            })
        })
        .collect();
    // Counted while the readers are in flight, until the last is done.
    let mut most = 0;
    let mut samples = 0;
    while readers.iter().any(|reader| !reader.is_finished()) {
        let count: i64 = raw
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND application_name = 'login-sessions'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        most = most.max(count);
        samples += 1;
    }
    for reader in readers {
        reader.await.unwrap();
    }
    assert!(samples > 0, "counted while the readers were in flight");
    assert!(most <= 3, "at most the pool's size: {most}");
    // 40 readers at once need more than one connection: a count that
    // stays below the pool's size (always 0 if the query counted nothing)
    // would not show the bound at all.
    assert_eq!(most, 3, "the pool filled up to its size under load");
}

async fn config_opens_postgres_urls() {
    let database = TestDatabase::create().await;
    let url = DatabaseUrl::parse(&database.url).unwrap();
    let store = config::open_store(&url, 2).await.unwrap();
    store.ping().await.unwrap();
    assert!(
        config::key_source(None, &url).is_err(),
        "replicas must be given the shared key file"
    );
    // This build speaks no TLS to PostgreSQL: a URL requiring it is
    // refused, not silently downgraded.
    let separator = if database.url.contains('?') { '&' } else { '?' };
    let tls = format!("{}{separator}sslmode=require", database.url);
    let error = PostgresStore::open(&tls, 1).await.unwrap_err();
    assert!(error.to_string().contains("TLS"), "{error}");
}

async fn one_process_at_a_time_holds_the_janitor_lease() {
    let database = TestDatabase::create().await;
    let first = open(&database.url).await;
    let second = open(&database.url).await;
    let lease = first.janitor_lease().await.unwrap().expect("free at first");
    for _ in 0..3 {
        assert!(
            second.janitor_lease().await.unwrap().is_none(),
            "held by the first process: the second skips its round"
        );
        assert!(
            first.janitor_lease().await.unwrap().is_none(),
            "not reentrant"
        );
    }
    drop(lease);
    // The lock goes when the lease's connection closes: promptly, not at
    // once.
    let mut taken = None;
    for _ in 0..100 {
        taken = second.janitor_lease().await.unwrap();
        if taken.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(taken.is_some(), "released with the first lease");
}

async fn janitor_batches_skip_rows_a_request_holds() {
    let database = TestDatabase::create().await;
    let store = open(&database.url).await;
    let ended: Vec<_> = (0..5)
        .map(|index| {
            session(
                "s1",
                Some("u1"),
                Status::Authenticated,
                -5 * HOUR + index,
                -2 * HOUR,
            )
        })
        .collect();
    store.insert_sessions(&ended).await.unwrap();
    // A request holds one of them (as an UPDATE in flight would).
    let mut holder = connect(&database.url).await.unwrap();
    let transaction = holder.transaction().await.unwrap();
    transaction
        .execute(
            "SELECT id FROM sessions WHERE id = $1 FOR UPDATE",
            &[&ended[0].id.as_str()],
        )
        .await
        .unwrap();
    let deleted = tokio::time::timeout(
        Duration::from_secs(5),
        store.delete_ended_sessions(at(-HOUR), 100),
    )
    .await
    .expect("the batch does not wait for the held row")
    .unwrap();
    assert_eq!(deleted, 4);
    assert!(store.session(&ended[0].id).await.unwrap().is_some());
    transaction.rollback().await.unwrap();
    assert_eq!(
        store.delete_ended_sessions(at(-HOUR), 100).await.unwrap(),
        1
    );
    assert_eq!(store.session(&ended[0].id).await.unwrap(), None);
    assert_eq!(store.delete_ended_sessions(now(), 100).await.unwrap(), 0);
}

/// The secondary indexes of `sessions` (those behind no constraint).
const ALL_SESSION_INDEXES: [&str; 5] = [
    "sessions_by_end",
    "sessions_by_expiry",
    "sessions_by_store",
    "sessions_by_store_user",
    "sessions_by_user",
];

async fn session_indexes(url: &str) -> Vec<String> {
    let client = connect(url).await.unwrap();
    client
        .query(
            "SELECT class.relname::text \
             FROM pg_index AS ix JOIN pg_class AS class ON class.oid = ix.indexrelid \
             WHERE ix.indrelid = 'sessions'::regclass AND NOT ix.indisunique \
             ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

fn live_sessions(count: usize) -> Vec<login_sessions_server::domain::session::Session> {
    (0..count)
        .map(|_| conformance::live_session("s1", "u1"))
        .collect()
}

async fn a_bulk_load_into_a_small_store_builds_the_indexes_at_its_end() {
    let database = TestDatabase::create().await;
    let store = open(&database.url).await;
    assert_eq!(session_indexes(&database.url).await, ALL_SESSION_INDEXES);
    store.insert_sessions(&live_sessions(10)).await.unwrap();

    store.begin_bulk_load(100).await.unwrap();
    assert_eq!(session_indexes(&database.url).await, Vec::<String>::new());
    store.insert_sessions(&live_sessions(100)).await.unwrap();
    store.end_bulk_load().await.unwrap();
    assert_eq!(session_indexes(&database.url).await, ALL_SESSION_INDEXES);
    let client = connect(&database.url).await.unwrap();
    let deferred: i64 = client
        .query_one("SELECT count(*) FROM deferred_indexes", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(deferred, 0);
    // The planner has statistics of the loaded rows (CREATE INDEX alone
    // leaves none).
    let user_statistics: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_stats \
             WHERE schemaname = current_schema() AND tablename = 'sessions' \
             AND attname = 'user_id'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(user_statistics, 1);

    // 110 held: a load of 110 or fewer keeps the indexes.
    store.begin_bulk_load(110).await.unwrap();
    assert_eq!(session_indexes(&database.url).await, ALL_SESSION_INDEXES);
    store.end_bulk_load().await.unwrap();
}

async fn indexes_an_interrupted_bulk_load_set_aside_are_built_at_open() {
    let database = TestDatabase::create().await;
    let store = open(&database.url).await;
    store.begin_bulk_load(1_000).await.unwrap();
    store.insert_sessions(&live_sessions(50)).await.unwrap();
    drop(store);
    assert_eq!(session_indexes(&database.url).await, Vec::<String>::new());

    let store = open(&database.url).await;
    assert_eq!(session_indexes(&database.url).await, ALL_SESSION_INDEXES);
    let mut query = conformance::query_all(100);
    query.user_id = Some("u1".into());
    assert_eq!(store.list_sessions(&query).await.unwrap().len(), 50);
}

/// The release before credential secrets became rows (schema 3) wrote
/// every dialect's secret into columns of `credentials`: after the
/// migration every secret works as issued, a temporary key and an access
/// token still find their credential, and the old columns are gone.
async fn credentials_written_by_schema_3_keep_every_secret() {
    let database = TestDatabase::create().await;
    let old = OldCredential::issue("v3");
    let other = OldCredential::issue("other");
    let temporary = conformance::temporary_key(&old.credential, "TEMPAKFROMVERSION003", HOUR);
    let token = conformance::access_token(&old.credential, "v3", HOUR);
    {
        let mut client = connect(&database.url).await.unwrap();
        let transaction = client.transaction().await.unwrap();
        transaction
            .batch_execute(
                "CREATE TABLE login_sessions_schema (version INTEGER PRIMARY KEY, \
                 name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
            )
            .await
            .unwrap();
        for (index, (name, sql)) in migrations()[..3].iter().enumerate() {
            transaction.batch_execute(sql).await.unwrap();
            transaction
                .execute(
                    "INSERT INTO login_sessions_schema (version, name, applied_at) \
                     VALUES ($1, $2, 0)",
                    &[&(index as i32 + 1), name],
                )
                .await
                .unwrap();
        }
        for credential in [&old, &other] {
            write_old_credential(&transaction, credential).await;
        }
        transaction
            .execute(
                "INSERT INTO huawei_temporary_credentials (access_key, credential_id, \
                 secret_key_sealed, security_token_hash, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &temporary.access_key,
                    &temporary.credential_id.as_str(),
                    &temporary.secret_key_sealed,
                    &temporary.security_token.as_bytes().as_slice(),
                    &temporary.created_at.timestamp_millis(),
                    &temporary.expires_at.timestamp_millis(),
                ],
            )
            .await
            .unwrap();
        transaction
            .execute(
                "INSERT INTO looker_access_tokens (token_hash, credential_id, created_at, \
                 expires_at) VALUES ($1, $2, $3, $4)",
                &[
                    &token.token_hash.as_bytes().as_slice(),
                    &token.credential_id.as_str(),
                    &token.created_at.timestamp_millis(),
                    &token.expires_at.timestamp_millis(),
                ],
            )
            .await
            .unwrap();
        transaction.commit().await.unwrap();
    }
    let store: SharedStore = Arc::new(open(&database.url).await);
    assert_eq!(
        schema_rows(&database.url).await.len(),
        SCHEMA_VERSION as usize
    );
    old.assert_every_secret_works(&store).await;
    other.assert_every_secret_works(&store).await;
    assert_eq!(
        store
            .temporary_huawei_key(&temporary.access_key)
            .await
            .unwrap(),
        Some((old.credential.clone(), temporary))
    );
    assert_eq!(
        store.access_token(&token.token_hash).await.unwrap(),
        Some((token, old.credential.clone()))
    );
    let gone = connect(&database.url)
        .await
        .unwrap()
        .query("SELECT native_token_hash FROM credentials", &[])
        .await;
    assert!(gone.is_err(), "the old secret columns are gone");
}

/// Writes `old` as releases before schema 4 did.
async fn write_old_credential(client: &impl tokio_postgres::GenericClient, old: &OldCredential) {
    let values = old.values();
    let params: Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>> = values
        .into_iter()
        .map(
            |value| -> Box<dyn tokio_postgres::types::ToSql + Sync + Send> {
                match value {
                    OldValue::Text(text) => Box::new(text),
                    OldValue::OptionalText(text) => Box::new(text),
                    OldValue::Integer(integer) => Box::new(integer),
                    OldValue::OptionalInteger(integer) => Box::new(integer),
                    OldValue::Bytes(bytes) => Box::new(bytes),
                }
            },
        )
        .collect();
    let placeholders = (1..=params.len())
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let borrowed: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
        .iter()
        .map(|param| param.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect();
    client
        .execute(
            &format!("INSERT INTO credentials ({OLD_CREDENTIAL_COLUMNS}) VALUES ({placeholders})"),
            &borrowed,
        )
        .await
        .unwrap();
}
