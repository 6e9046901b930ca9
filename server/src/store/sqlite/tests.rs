//! The SQLite store's own tests: opening, migrating, corrupt rows, the
//! writer thread, bulk loads. The conformance suite runs here too, on a
//! fresh file per case.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Barrier};
use std::thread;

use rusqlite::params_from_iter;

use tempfile::TempDir;

use super::*;
use crate::auth::scheme::SecretScheme;
use crate::domain::session::Session;
use crate::pfid::Pfid;
use crate::store::conformance::migration::{OLD_CREDENTIAL_COLUMNS, OldCredential, OldValue};
use crate::store::sql;
use crate::store::{
    CredentialStore, SessionOrder, SessionQuery, SessionStore, SharedStore, Store, conformance,
};

/// A fresh store in a temporary directory that lives as long as it.
async fn fresh_store() -> (SharedStore, TempDir) {
    let directory = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&directory.path().join("sessions.db")).unwrap();
    (Arc::new(store) as SharedStore, directory)
}

mod suite {
    crate::store_conformance_tests!(super::fresh_store());
}

/// A fresh in-memory store (`serve --database memory`).
async fn fresh_memory_store() -> (SharedStore, ()) {
    let store = SqliteStore::open_in_memory().unwrap();
    (Arc::new(store) as SharedStore, ())
}

/// The in-memory store keeps every promise the file store does.
mod memory_suite {
    crate::store_conformance_tests!(super::fresh_memory_store());
}

#[tokio::test]
async fn in_memory_stores_are_apart_and_leave_no_file() {
    let listing = || {
        let mut names: Vec<_> = std::fs::read_dir(".")
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let before = listing();
    let first = SqliteStore::open_in_memory().unwrap();
    let second = SqliteStore::open_in_memory().unwrap();
    let session = conformance::full_session();
    first.insert_session(&session).await.unwrap();
    assert!(first.session(&session.id).await.unwrap().is_some());
    assert!(second.session(&session.id).await.unwrap().is_none());
    first.ping().await.unwrap();
    assert_eq!(listing(), before, "nothing was written beside the process");
    drop(first);
    // A third store never sees what a dropped one held.
    let third = SqliteStore::open_in_memory().unwrap();
    assert!(third.session(&session.id).await.unwrap().is_none());
}

fn raw(path: &Path) -> Connection {
    Connection::open(path).unwrap()
}

fn user_version(path: &Path) -> i64 {
    raw(path)
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap()
}

#[test]
fn open_sets_wal_and_the_schema_version() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("sessions.db");
    let store = SqliteStore::open(&path).unwrap();
    let mode: String = store
        .reader()
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let foreign_keys: i64 = store
        .reader()
        .pragma_query_value(None, "foreign_keys", |row| row.get(0))
        .unwrap();
    assert_eq!(foreign_keys, 1);
    assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
}

#[tokio::test]
async fn reopening_keeps_data_and_does_not_migrate_again() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("sessions.db");
    let session = conformance::full_session();
    {
        let store = SqliteStore::open(&path).unwrap();
        store.insert_session(&session).await.unwrap();
    }
    // The migrations create their tables without IF NOT EXISTS: running
    // them again would fail the open. Mark the file to be sure.
    raw(&path)
        .execute_batch(
            "CREATE TABLE reopen_marker (x INTEGER); INSERT INTO reopen_marker VALUES (1);",
        )
        .unwrap();
    for _ in 0..2 {
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(
            store.session(&session.id).await.unwrap(),
            Some(session.clone())
        );
        assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
    }
    let marker: i64 = raw(&path)
        .query_row("SELECT x FROM reopen_marker", [], |row| row.get(0))
        .unwrap();
    assert_eq!(marker, 1);
}

#[tokio::test]
async fn concurrent_opens_of_a_fresh_file_all_succeed() {
    for round in 0..20 {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("sessions.db");
        let barrier = Barrier::new(4);
        let stores: Vec<SqliteStore> = thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        SqliteStore::open(&path)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| {
                    handle
                        .join()
                        .unwrap()
                        .unwrap_or_else(|error| panic!("round {round}: open failed: {error}"))
                })
                .collect()
        });
        assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
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

#[test]
fn a_newer_schema_is_refused() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("sessions.db");
    drop(SqliteStore::open(&path).unwrap());
    let newer = i64::from(SCHEMA_VERSION) + 1;
    raw(&path)
        .pragma_update(None, "user_version", newer)
        .unwrap();
    let error = SqliteStore::open(&path).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, StoreError::Internal(_)), "{error:?}");
    assert!(
        message.contains(&format!("schema version {newer}")),
        "{message}"
    );
    assert!(message.contains("newer"), "{message}");
    assert!(message.contains("sessions.db"), "{message}");
    // Nothing was changed.
    assert_eq!(user_version(&path), newer);
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("sessions.db");
    std::fs::write(&path, vec![b'x'; 8192]).unwrap();
    let error = SqliteStore::open(&path).unwrap_err();
    assert!(error.to_string().contains("sessions.db"), "{error}");
}

#[tokio::test]
async fn undecodable_rows_are_corrupt_not_panics() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("sessions.db");
    let store = SqliteStore::open(&path).unwrap();
    let session = conformance::full_session();
    store.insert_session(&session).await.unwrap();
    let now = session.created_at;
    let query = SessionQuery {
        identity_store_id: None,
        user_id: None,
        status: None,
        live: None,
        now,
        order: SessionOrder::NewestFirst,
        cursor: None,
        offset: 0,
        limit: 10,
    };
    let corruptions = [
        "UPDATE sessions SET status = 'bogus'",
        "UPDATE sessions SET session_type = 'carrier-pigeon'",
        "UPDATE sessions SET first_seen_ip = 'not an address'",
        "UPDATE sessions SET version = -1",
        "UPDATE sessions SET extended_count = 1 << 40",
        "UPDATE sessions SET created_at = 'yesterday'",
        "UPDATE sessions SET expires_at = 9223372036854775807",
        "UPDATE sessions SET account_id = 'NOT-A-PFID'",
        "UPDATE sessions SET title = x'00ff'",
    ];
    for corruption in corruptions {
        let connection = raw(&path);
        connection.execute_batch(corruption).unwrap();
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
        connection.execute("DELETE FROM sessions", []).unwrap();
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
    raw(&path)
        .execute("UPDATE credentials SET role = 'emperor'", [])
        .unwrap();
    let error = store.credential(&credential.id).await.unwrap_err();
    assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
    raw(&path)
        .execute_batch(
            "UPDATE credentials SET role = 'admin'; \
             UPDATE credential_secrets SET secret_sealed = 'text'",
        )
        .unwrap();
    let key_pair = conformance::secret_of(&secrets, conformance::KEY_PAIR);
    let error = store
        .credential_by_secret(key_pair.kind, &key_pair.lookup_key)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");

    let temporary = conformance::temporary_key(&credential, "TEMPAKCORRUPT0000000", 1_000);
    store.insert_temporary_huawei_key(&temporary).await.unwrap();
    raw(&path)
        .execute(
            "UPDATE huawei_temporary_credentials SET expires_at = 'soon'",
            [],
        )
        .unwrap();
    let error = store
        .temporary_huawei_key(&temporary.access_key)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
}

#[tokio::test]
async fn a_panicking_write_is_rolled_back_and_the_writer_carries_on() {
    let directory = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&directory.path().join("s.db")).unwrap();
    let error = store
        .writer
        .write(|writer| -> Result<(), StoreError> {
            writer
                .execute_batch("CREATE TABLE half_done (x INTEGER)")
                .unwrap();
            panic!("a bug in a write");
        })
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Internal(_)), "{error:?}");
    let session = conformance::full_session();
    store.insert_session(&session).await.unwrap();
    assert_eq!(store.session(&session.id).await.unwrap(), Some(session));
    let tables: i64 = store
        .reader()
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'half_done'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(tables, 0, "the interrupted transaction was rolled back");
}

#[tokio::test]
async fn a_failing_write_does_not_undo_the_writes_committed_with_it() {
    let directory = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&directory.path().join("s.db")).unwrap());
    let existing = conformance::full_session();
    store.insert_session(&existing).await.unwrap();

    // Keep the writer busy so that the writes below queue up and are
    // committed together.
    let busy = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store
                .writer
                .write(|_| {
                    thread::sleep(Duration::from_millis(300));
                    Ok(())
                })
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let fresh: Vec<Session> = (0..8u64)
        .map(|n| {
            let mut session = conformance::full_session();
            session.id = Pfid::generate(1, 1_700_000_000_000 + n).unwrap();
            session
        })
        .collect();
    let mut writes = Vec::new();
    for session in fresh.iter().cloned().chain([existing.clone()]) {
        let store = Arc::clone(&store);
        writes.push(tokio::spawn(
            async move { store.insert_session(&session).await },
        ));
    }
    busy.await.unwrap().unwrap();
    let mut results = Vec::new();
    for write in writes {
        results.push(write.await.unwrap());
    }
    let duplicate = results.pop().unwrap();
    assert!(
        matches!(duplicate, Err(StoreError::Duplicate(_))),
        "{duplicate:?}"
    );
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    for session in &fresh {
        assert_eq!(
            store.session(&session.id).await.unwrap().as_ref(),
            Some(session)
        );
    }
}

/// Writes that never pause leave no moment in which a passive
/// checkpoint copies the whole log: the writer must still keep the log
/// from growing without bound. (The threshold is lowered so that a few
/// thousand writes cross it several times.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_stays_bounded_under_writes_that_never_pause() {
    const WRITERS: u64 = 4;
    const EACH: u64 = 3_000;
    const RESTART: u64 = 4 << 20;
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("s.db");
    let store = Arc::new(SqliteStore::open_file(&path, RESTART).unwrap());
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let store = Arc::clone(&store);
        writers.push(tokio::spawn(async move {
            for n in 0..EACH {
                let mut session = conformance::full_session();
                let millis = 1_700_000_000_000 + writer * EACH + n;
                session.id = Pfid::generate(writer as u32, millis).unwrap();
                session.user_id = Some(format!("user-{}", n % 97));
                store.insert_session(&session).await.unwrap();
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let log = std::fs::metadata(directory.path().join("s.db-wal"))
        .map(|metadata| metadata.len())
        .unwrap_or(0);
    eprintln!("log after {} writes: {log} bytes", WRITERS * EACH);
    // Past the threshold the writer waits for up to CHECKPOINT_EVERY since
    // its last copy, so the log overshoots by what is written meanwhile.
    // Without the restart these writes grew it to about 390 MB.
    assert!(log < 6 * RESTART, "the log grew to {log} bytes");
}

/// A database at schema `version`, as that release created it.
fn database_at_version(path: &Path, version: usize) -> Connection {
    let connection = raw(path);
    for migration in &MIGRATIONS[..version] {
        connection.execute_batch(migration).unwrap();
    }
    connection
        .pragma_update(None, "user_version", version as i64)
        .unwrap();
    connection
}

/// Writes `old` as releases before schema 6 did.
fn write_old_credential(connection: &Connection, old: &OldCredential) {
    use rusqlite::types::Value;
    let values: Vec<Value> = old
        .values()
        .into_iter()
        .map(|value| match value {
            OldValue::Text(text) => Value::Text(text),
            OldValue::OptionalText(text) => text.map_or(Value::Null, Value::Text),
            OldValue::Integer(integer) => Value::Integer(integer),
            OldValue::OptionalInteger(integer) => integer.map_or(Value::Null, Value::Integer),
            OldValue::Bytes(bytes) => Value::Blob(bytes),
        })
        .collect();
    let placeholders = (1..=values.len())
        .map(|n| format!("?{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    connection
        .execute(
            &format!("INSERT INTO credentials ({OLD_CREDENTIAL_COLUMNS}) VALUES ({placeholders})"),
            params_from_iter(values),
        )
        .unwrap();
}

#[tokio::test]
async fn a_version_1_database_is_migrated_keeping_its_data() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("sessions.db");
    let session = conformance::full_session();
    let old = OldCredential::issue("v1");
    {
        // Rows as a version-1 server wrote them.
        let connection = database_at_version(&path, 1);
        connection
            .execute(
                &STATEMENTS.insert_session,
                params_from_iter(sql::session_values(&session).unwrap()),
            )
            .unwrap();
        write_old_credential(&connection, &old);
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
    assert_eq!(store.session(&session.id).await.unwrap(), Some(session));
    let store: SharedStore = Arc::new(store);
    old.assert_every_secret_works(&store).await;
    let token = conformance::access_token(&old.credential, "after migration", 60_000);
    store.insert_access_token(&token).await.unwrap();
    assert_eq!(
        store.access_token(&token.token_hash).await.unwrap(),
        Some((token, old.credential.clone()))
    );
}

/// The release before credential secrets became rows (schema 5) wrote
/// credentials with temporary keys and access tokens referring to them:
/// after the migration every secret works as issued, nothing refers to a
/// missing row, and the old columns are gone.
#[tokio::test]
async fn credentials_written_by_schema_5_keep_every_secret() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("sessions.db");
    let old = OldCredential::issue("v5");
    let other = OldCredential::issue("other");
    let temporary = conformance::temporary_key(&old.credential, "TEMPAKFROMVERSION005", 60_000);
    let token = conformance::access_token(&old.credential, "v5", 60_000);
    {
        let connection = database_at_version(&path, 5);
        write_old_credential(&connection, &old);
        write_old_credential(&connection, &other);
        connection
            .execute(
                &STATEMENTS.insert_temporary_key,
                params_from_iter(sql::temporary_key_values(&temporary)),
            )
            .unwrap();
        connection
            .execute(
                &STATEMENTS.insert_access_token,
                params_from_iter(sql::access_token_values(&token)),
            )
            .unwrap();
    }
    let store: SharedStore = Arc::new(SqliteStore::open(&path).unwrap());
    assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
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
    let connection = raw(&path);
    let dangling: i64 = connection
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(dangling, 0);
    assert!(
        connection
            .prepare("SELECT native_token_hash FROM credentials")
            .is_err(),
        "the old secret columns are gone"
    );
    // Revoking still ends every secret at once.
    assert!(
        store
            .revoke_credential(&old.credential.id, conformance::now())
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .credential_by_secret(crate::auth::looker::SECRETS.kind(), &old.looker_client_id)
            .await
            .unwrap(),
        None
    );
    other.assert_every_secret_works(&store).await;
}

#[tokio::test]
async fn undecodable_access_tokens_are_corrupt_not_panics() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("sessions.db");
    let store = SqliteStore::open(&path).unwrap();
    let (credential, secrets) = conformance::credential_with_secrets("tokens");
    store
        .insert_credential(&credential, &secrets)
        .await
        .unwrap();
    let token = conformance::access_token(&credential, "corrupt", 60_000);
    store.insert_access_token(&token).await.unwrap();
    for corruption in [
        "UPDATE looker_access_tokens SET session_id = 'NOT-A-PFID'",
        "UPDATE looker_access_tokens SET expires_at = 'soon'",
        "UPDATE looker_access_tokens SET revoked_at = 9223372036854775807",
        "UPDATE looker_access_tokens SET acting_user_id = x'00ff'",
    ] {
        let connection = raw(&path);
        connection
            .execute_batch("PRAGMA ignore_check_constraints = ON")
            .unwrap();
        connection.execute_batch(corruption).unwrap();
        let error = store.access_token(&token.token_hash).await.unwrap_err();
        assert!(
            matches!(error, StoreError::Corrupt(_)),
            "{corruption}: {error:?}"
        );
        connection
            .execute("DELETE FROM looker_access_tokens", [])
            .unwrap();
        store.insert_access_token(&token).await.unwrap();
    }
}

#[tokio::test]
async fn a_bulk_insert_restores_the_page_cache() {
    let directory = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&directory.path().join("s.db")).unwrap();
    async fn cache_size(store: &SqliteStore) -> i64 {
        store
            .writer
            .write(|writer| {
                writer
                    .pragma_query_value(None, "cache_size", |row| row.get(0))
                    .map_err(db_error)
            })
            .await
            .unwrap()
    }
    let before = cache_size(&store).await;
    let sessions = sessions_at(1_700_000_000_000, BULK_ROWS as u64);
    store.insert_sessions(&sessions).await.unwrap();
    assert_eq!(cache_size(&store).await, before);
    let count: i64 = store
        .reader()
        .query_row("SELECT count(*) FROM sessions", [], |row| row.get(0))
        .unwrap();
    assert_eq!(count, BULK_ROWS as i64);
}

/// The names of the indexes of `sessions` SQLite would use for a query
/// (not the one behind the primary key).
fn session_indexes(path: &Path) -> Vec<String> {
    let connection = raw(path);
    let mut statement = connection
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'index' \
             AND tbl_name = 'sessions' AND sql IS NOT NULL ORDER BY name",
        )
        .unwrap();
    let names = statement.query_map([], |row| row.get(0)).unwrap();
    names.collect::<Result<_, _>>().unwrap()
}

fn sessions_at(first_ms: u64, count: u64) -> Vec<Session> {
    (0..count)
        .map(|n| {
            let mut session = conformance::full_session();
            session.id = Pfid::generate(1, first_ms + n).unwrap();
            session
        })
        .collect()
}

const ALL_SESSION_INDEXES: [&str; 5] = [
    "sessions_by_end",
    "sessions_by_expiry",
    "sessions_by_store",
    "sessions_by_store_user",
    "sessions_by_user",
];

#[tokio::test]
async fn a_bulk_load_into_a_small_store_builds_the_indexes_at_its_end() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("s.db");
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(session_indexes(&path), ALL_SESSION_INDEXES);
    store
        .insert_sessions(&sessions_at(1_000, 10))
        .await
        .unwrap();

    store.begin_bulk_load(100).await.unwrap();
    assert_eq!(session_indexes(&path), Vec::<String>::new());
    store
        .insert_sessions(&sessions_at(2_000, 100))
        .await
        .unwrap();
    store.end_bulk_load().await.unwrap();
    assert_eq!(session_indexes(&path), ALL_SESSION_INDEXES);
    let deferred: i64 = raw(&path)
        .query_row("SELECT count(*) FROM deferred_indexes", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(deferred, 0);

    // 110 held: a load of 110 or fewer keeps the indexes.
    store.begin_bulk_load(110).await.unwrap();
    assert_eq!(session_indexes(&path), ALL_SESSION_INDEXES);
    store.end_bulk_load().await.unwrap();
    let check: String = raw(&path)
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

#[tokio::test]
async fn indexes_an_interrupted_bulk_load_set_aside_are_built_at_open() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("s.db");
    let store = SqliteStore::open(&path).unwrap();
    store.begin_bulk_load(1_000).await.unwrap();
    store
        .insert_sessions(&sessions_at(1_000, 50))
        .await
        .unwrap();
    drop(store);
    assert_eq!(session_indexes(&path), Vec::<String>::new());

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(session_indexes(&path), ALL_SESSION_INDEXES);
    let plan: String = raw(&path)
        .query_row(
            "EXPLAIN QUERY PLAN SELECT id FROM sessions WHERE user_id = 'u' ORDER BY id",
            [],
            |row| row.get(3),
        )
        .unwrap();
    assert!(plan.contains("sessions_by_user"), "{plan}");
    let count: i64 = store
        .reader()
        .query_row("SELECT count(*) FROM sessions", [], |row| row.get(0))
        .unwrap();
    assert_eq!(count, 50);
}

#[tokio::test]
async fn listings_reuse_their_prepared_statement_whatever_the_limit() {
    let directory = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&directory.path().join("s.db")).unwrap();
    store
        .insert_sessions(&sessions_at(1_000, 20))
        .await
        .unwrap();
    let mut query = conformance::query_all(5);
    query.identity_store_id = Some(conformance::full_session().identity_store_id);
    for limit in [5, 7, 5, 20] {
        query.limit = limit;
        let listed = store.list_sessions(&query).await.unwrap();
        assert_eq!(listed.len(), limit as usize);
    }
    // One test thread: every listing above used the first reader.
    let reader = store.reader();
    let statement = reader
        .prepare_cached(&sql::listing(&query, Placeholders::Question).0)
        .unwrap();
    assert_eq!(
        statement.get_status(rusqlite::StatementStatus::RePrepare),
        0,
        "a new LIMIT made SQLite prepare the listing again"
    );
}

#[test]
fn the_store_is_a_store() {
    fn assert_store<S: Store>() {}
    assert_store::<SqliteStore>();
}

/// A database file deleted, or replaced, under a running store: writes
/// are refused (they would be acknowledged into a file nobody will open
/// again), readiness says why, and reads go on from the open file.
#[tokio::test]
async fn writes_stop_when_the_file_is_deleted_or_replaced() {
    for replace in [false, true] {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("sessions.db");
        let store = SqliteStore::open(&path).unwrap();
        let session = conformance::full_session();
        store.insert_session(&session).await.unwrap();
        store.probe_write().await.unwrap();
        store.ping().await.unwrap();

        let what = if replace {
            let other = directory.path().join("other.db");
            drop(SqliteStore::open(&other).unwrap());
            std::fs::rename(&other, &path).unwrap();
            "replaced"
        } else {
            std::fs::remove_file(&path).unwrap();
            "deleted"
        };
        let mut next = conformance::minimal_session();
        next.id = Pfid::generate(3, 1_700_000_000_000).unwrap();
        for error in [
            store.insert_session(&next).await.unwrap_err(),
            store.probe_write().await.unwrap_err(),
            store.ping().await.unwrap_err(),
        ] {
            assert!(
                matches!(&error, StoreError::Unavailable(message) if message.contains(what)),
                "{what}: {error}"
            );
        }
        assert_eq!(
            store.session(&session.id).await.unwrap(),
            Some(session),
            "{what}: reads go on"
        );
    }
}
