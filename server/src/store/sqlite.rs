//! The embedded store: one SQLite file, zero setup.
//!
//! # Connections
//!
//! One writer connection, owned by the writer thread of [`writer`], which
//! commits the writes waiting for it together (SQLite allows one writer at
//! a time anyway); and a small pool of reader connections, each behind its
//! own mutex. The database runs in WAL mode, so readers never block the
//! writer nor each other, and every read sees the last committed write.
//!
//! # Why reads run inline, without `spawn_blocking`
//!
//! Every read is a point lookup or a short index range scan on a local
//! file that is almost always in the page cache: it takes microseconds.
//! Handing it to tokio's blocking pool would cost a thread hand-off and two
//! wake-ups, more than the query itself. So the async methods run the
//! query on the calling worker thread. No lock is ever held across an
//! `.await` (the synchronous helpers below take and release it), and a
//! poisoned reader mutex is recovered rather than turned into a panic: a
//! reader holds no transaction between queries. Writes go to the writer
//! thread and are awaited, so a request waiting for its commit does not
//! hold a worker thread.
//!
//! # Schema and migrations
//!
//! The schema is the numbered SQL files in `sqlite/migrations/`, embedded in
//! the binary. `PRAGMA user_version` records how many are applied. [`SqliteStore::open`]
//! applies the missing ones inside `BEGIN IMMEDIATE`, re-reading the version
//! once it holds the write lock, so processes opening a fresh file at the
//! same time (`serve` and `credentials create`, say) agree on one schema and
//! neither fails. A database with a version newer than this binary knows is
//! refused rather than misread.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};
use std::thread;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rusqlite::config::DbConfig;
use rusqlite::types::Value;
use rusqlite::{Connection, ErrorCode, OpenFlags, Row, TransactionBehavior, params_from_iter};

mod writer;

use writer::Writer;

use crate::domain::access_token::AccessToken;
use crate::domain::credential::{Credential, StoredSecrets, TemporaryHuaweiKey};
use crate::domain::session::{Interaction, Session, Status};
use crate::domain::{Timestamp, to_unix_millis};
use crate::pfid::Pfid;
use crate::secrets::SecretHash;
use crate::store::rows::{
    CREDENTIAL_COLUMN_COUNT, Columns, Record, StoredRow, decode_access_token, decode_credential,
    decode_session, decode_temporary_key,
};
use crate::store::{
    BearerKind, CredentialStore, JanitorLease, RevocationMark, RevokeSessions, RevokeUserSessions,
    SessionOrder, SessionQuery, SessionStore, StoreError, apply_revocation_marks, in_context,
    quote_identifier,
};

/// The migrations, in order: migration `n` (1-based) brings the schema from
/// version `n - 1` to version `n`.
const MIGRATIONS: &[&str] = &[
    include_str!("sqlite/migrations/0001_initial.sql"),
    include_str!("sqlite/migrations/0002_huawei_temporary_credentials.sql"),
    include_str!("sqlite/migrations/0003_looker_access_tokens.sql"),
    include_str!("sqlite/migrations/0004_revocation_marks_and_retention.sql"),
    include_str!("sqlite/migrations/0005_deferred_indexes.sql"),
];

/// The schema version this binary writes and understands.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

const _: () = assert!(!MIGRATIONS.is_empty() && MIGRATIONS.len() <= i32::MAX as usize);

/// How many reader connections the pool holds.
const READERS: usize = 4;

/// How long a statement waits for a lock held by another connection (or
/// process) before the store reports itself unavailable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long `open` keeps retrying set-up steps SQLite refuses with
/// `SQLITE_BUSY` without consulting the busy handler (switching a fresh
/// file to WAL while another process does the same).
const OPEN_RETRY_FOR: Duration = Duration::from_secs(10);

/// A batch of at least this many sessions is a bulk load: the writer's page
/// cache is enlarged to [`BULK_CACHE_KIB`] while it is written.
const BULK_ROWS: usize = 1_000;

/// The writer's page cache during a bulk load, in KiB. A batch inserts
/// into every index at random places (by user, by store); with SQLite's
/// default 2 MiB cache the pages it touches are evicted and read back again
/// and again, which made seeding slow down as the data grew. The cache is
/// released when the batch is written.
const BULK_CACHE_KIB: i64 = 256 * 1024;

/// Prepared statements kept per connection (the listing has a few dozen
/// filter shapes).
const STATEMENT_CACHE: usize = 64;

/// Every column of `sessions`, in the order [`session_values`] writes and
/// [`decode_session`] reads them.
const SESSION_COLUMNS: &str = "id, identity_store_id, user_id, status, session_type, \
     credentials_type, created_at, expires_at, extended_at, extended_count, \
     first_seen_at, first_seen_ip, first_seen_user_agent, \
     last_seen_at, last_seen_ip, last_seen_user_agent, \
     browser, operating_system, city, state, country, \
     sudo_user_id, account_id, domain_id, device_id, title, ended_at, version";

const INSERT_SESSION: &str = "INSERT INTO sessions (id, identity_store_id, user_id, status, \
     session_type, credentials_type, created_at, expires_at, extended_at, extended_count, \
     first_seen_at, first_seen_ip, first_seen_user_agent, \
     last_seen_at, last_seen_ip, last_seen_user_agent, \
     browser, operating_system, city, state, country, \
     sudo_user_id, account_id, domain_id, device_id, title, ended_at, version) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
     ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)";

/// Writes every column but `id` (`?1`) over the row if its version is still
/// `?29`.
const REPLACE_SESSION: &str = "UPDATE sessions SET identity_store_id = ?2, user_id = ?3, \
     status = ?4, session_type = ?5, credentials_type = ?6, created_at = ?7, expires_at = ?8, \
     extended_at = ?9, extended_count = ?10, \
     first_seen_at = ?11, first_seen_ip = ?12, first_seen_user_agent = ?13, \
     last_seen_at = ?14, last_seen_ip = ?15, last_seen_user_agent = ?16, \
     browser = ?17, operating_system = ?18, city = ?19, state = ?20, country = ?21, \
     sudo_user_id = ?22, account_id = ?23, domain_id = ?24, device_id = ?25, title = ?26, \
     ended_at = ?27, version = ?28 \
     WHERE id = ?1 AND version = ?29";

/// [`REPLACE_SESSION`] for the common change that leaves every indexed
/// column as it is (an interaction): those columns are not assigned, so
/// SQLite leaves the five indexes alone instead of rewriting an entry in
/// each, and the row is only written if they indeed hold those values.
const REPLACE_SESSION_KEEPING_INDEXED: &str = "UPDATE sessions SET \
     status = ?4, session_type = ?5, credentials_type = ?6, created_at = ?7, \
     extended_at = ?9, extended_count = ?10, \
     first_seen_at = ?11, first_seen_ip = ?12, first_seen_user_agent = ?13, \
     last_seen_at = ?14, last_seen_ip = ?15, last_seen_user_agent = ?16, \
     browser = ?17, operating_system = ?18, city = ?19, state = ?20, country = ?21, \
     sudo_user_id = ?22, account_id = ?23, domain_id = ?24, device_id = ?25, title = ?26, \
     version = ?28 \
     WHERE id = ?1 AND version = ?29 AND identity_store_id = ?2 AND user_id IS ?3 \
     AND expires_at = ?8 AND ended_at IS ?27";

/// Every column of `credentials` but the secrets, in the order
/// [`decode_credential`] reads them.
const CREDENTIAL_COLUMNS: &str =
    "id, name, role, identity_store_id, user_id, rate_limit, created_at, revoked_at";

const INSERT_CREDENTIAL: &str = "INSERT INTO credentials (id, name, role, identity_store_id, \
     user_id, rate_limit, created_at, revoked_at, native_token_hash, prefactor_token_hash, \
     looker_client_id, looker_client_secret_hash, huawei_access_key, huawei_secret_key_sealed) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";

/// Every column of `looker_access_tokens`, in the order
/// [`access_token_values`] writes and [`decode_access_token`] reads them.
const ACCESS_TOKEN_COLUMNS: &str = "token_hash, credential_id, created_at, expires_at, \
     revoked_at, acting_user_id, session_id";

/// The SQLite store. Cheap to share behind an `Arc`; every method is safe
/// to call from many tasks at once.
pub struct SqliteStore {
    writer: Writer,
    readers: Vec<Mutex<Connection>>,
    /// Which reader to wait for when all are busy (round-robin).
    next_reader: AtomicUsize,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("readers", &self.readers.len())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the database file at `path`, creating it if needed (readable
    /// and writable by its owner only: it holds credential hashes and
    /// sealed keys), and brings its schema up to [`SCHEMA_VERSION`].
    /// Refuses a database written by a newer version of the server.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let context = |error: StoreError| in_context(error, path.display());
        create_private_file(path).map_err(context)?;
        let mut writer = open_connection(path).map_err(context)?;
        retry_while_busy(|| enable_wal(&writer)).map_err(context)?;
        retry_while_busy(|| migrate(&mut writer)).map_err(context)?;
        retry_while_busy(|| build_indexes_left_deferred(&mut writer)).map_err(context)?;
        let readers = (0..READERS)
            .map(|_| {
                let reader = open_connection(path)?;
                reader
                    .pragma_update(None, "query_only", true)
                    .map_err(db_error)?;
                Ok(Mutex::new(reader))
            })
            .collect::<Result<Vec<_>, StoreError>>()
            .map_err(context)?;
        let writer = Writer::start(writer, path, open_connection(path).map_err(context)?)?;
        Ok(SqliteStore {
            writer,
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    /// A free reader connection, or (all busy) the next one round-robin.
    fn reader(&self) -> MutexGuard<'_, Connection> {
        for reader in &self.readers {
            match reader.try_lock() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        let index = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn insert_sessions_now(writer: &Connection, sessions: &[Session]) -> Result<(), StoreError> {
        if sessions.len() < BULK_ROWS {
            return insert_sessions_in(writer, sessions);
        }
        // A bulk load touches index pages all over the file: a larger page
        // cache for its duration keeps them from being evicted each batch.
        with_bulk_cache(writer, |writer| insert_sessions_in(writer, sessions))
    }

    fn delete_ended_sessions_now(
        writer: &Connection,
        cutoff: Timestamp,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let cutoff = to_unix_millis(cutoff);
        let mut statement = writer
            .prepare_cached(
                "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions \
                 WHERE ended_at < ?1 OR expires_at < ?1 LIMIT ?2)",
            )
            .map_err(db_error)?;
        let deleted = statement
            .execute(rusqlite::params![cutoff, i64::from(limit)])
            .map_err(db_error)?;
        Ok(deleted as u64)
    }

    fn session_now(&self, id: &Pfid) -> Result<Option<Session>, StoreError> {
        let reader = self.reader();
        let mut statement = reader
            .prepare_cached(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1"
            ))
            .map_err(db_error)?;
        let mut rows = statement.query([id.as_str()]).map_err(db_error)?;
        match rows.next().map_err(db_error)? {
            Some(row) => decode_session(row).map(Some),
            None => Ok(None),
        }
    }

    fn list_sessions_now(&self, query: &SessionQuery) -> Result<Vec<Session>, StoreError> {
        let (sql, values) = listing_sql(query);
        let reader = self.reader();
        let mut statement = reader.prepare_cached(&sql).map_err(db_error)?;
        let mut rows = statement
            .query(params_from_iter(values))
            .map_err(db_error)?;
        let mut sessions = Vec::new();
        while let Some(row) = rows.next().map_err(db_error)? {
            sessions.push(decode_session(row)?);
        }
        Ok(sessions)
    }

    fn count_sessions_now(&self, query: &SessionQuery) -> Result<u64, StoreError> {
        let (sql, values) = count_sql(query);
        let reader = self.reader();
        let mut statement = reader.prepare_cached(&sql).map_err(db_error)?;
        let count: i64 = statement
            .query_row(params_from_iter(values), |row| row.get(0))
            .map_err(db_error)?;
        u64::try_from(count).map_err(|_| StoreError::Corrupt(format!("a negative count {count}")))
    }

    fn replace_session_now(
        writer: &Connection,
        expected_version: u64,
        session: &Session,
    ) -> Result<bool, StoreError> {
        let mut values = session_values(session)?;
        values.push(Value::Integer(version_to_sql(expected_version)?));
        for sql in [REPLACE_SESSION_KEEPING_INDEXED, REPLACE_SESSION] {
            let mut statement = writer.prepare_cached(sql).map_err(db_error)?;
            if statement
                .execute(params_from_iter(&values))
                .map_err(db_error)?
                == 1
            {
                return Ok(true);
            }
        }
        // Either the indexed columns changed and the full update found
        // another version too, or there is no such session.
        Ok(false)
    }

    fn revoke_user_sessions_now(
        transaction: &Connection,
        request: &RevokeUserSessions,
    ) -> Result<Vec<Pfid>, StoreError> {
        let now = Value::Integer(to_unix_millis(request.now));
        let mut values = vec![
            Value::Text(Status::Revoked.as_str().to_string()),
            now.clone(),
            Value::Text(request.user_id.clone()),
        ];
        values.extend(open_statuses());
        values.push(now);
        let mut sql = String::from(
            "UPDATE sessions SET status = ?, ended_at = ?, version = version + 1 \
             WHERE user_id = ? AND status IN (?, ?, ?) AND expires_at > ?",
        );
        if let Some(store) = &request.identity_store_id {
            sql.push_str(" AND identity_store_id = ?");
            values.push(Value::Text(store.clone()));
        }
        if let Some(except) = &request.except_session_id {
            sql.push_str(" AND id <> ?");
            values.push(Value::Text(except.as_str().to_string()));
        }
        sql.push_str(" RETURNING id");

        transaction
            .prepare_cached(
                "INSERT INTO revocation_marks (user_id, identity_store_id, revoked_at) \
                 VALUES (?1, ?2, ?3) ON CONFLICT (user_id, identity_store_id) \
                 DO UPDATE SET revoked_at = max(revoked_at, excluded.revoked_at)",
            )
            .map_err(db_error)?
            .execute(rusqlite::params![
                request.user_id,
                request.identity_store_id.as_deref().unwrap_or(EVERY_STORE),
                to_unix_millis(request.now),
            ])
            .map_err(db_error)?;
        let mut revoked = Vec::new();
        {
            let mut statement = transaction.prepare_cached(&sql).map_err(db_error)?;
            let mut rows = statement
                .query(params_from_iter(values))
                .map_err(db_error)?;
            while let Some(row) = rows.next().map_err(db_error)? {
                revoked.push(Columns::of(row, "session").pfid(0, "id")?);
            }
        }
        revoked.sort_unstable();
        Ok(revoked)
    }

    fn revoke_sessions_now(
        transaction: &Connection,
        request: &RevokeSessions,
    ) -> Result<Vec<Pfid>, StoreError> {
        let mut ids: Vec<&Pfid> = request.ids.iter().collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let now = Value::Integer(to_unix_millis(request.now));
        let mut values = vec![
            Value::Text(Status::Revoked.as_str().to_string()),
            now.clone(),
            Value::Text(request.identity_store_id.clone()),
            Value::Text(request.user_id.clone()),
        ];
        values.extend(open_statuses());
        values.push(now);
        values.extend(ids.iter().map(|id| Value::Text(id.as_str().to_string())));
        let placeholders = vec!["?"; ids.len()].join(", ");
        // One statement: the whole set is revoked atomically, and a row
        // changed concurrently is judged live or not on its newest version.
        let sql = format!(
            "UPDATE sessions SET status = ?, ended_at = ?, version = version + 1 \
             WHERE identity_store_id = ? AND user_id = ? AND status IN (?, ?, ?) \
             AND expires_at > ? AND id IN ({placeholders}) RETURNING id"
        );
        let mut revoked = Vec::new();
        {
            // Not cached: the statement text varies with the number of ids.
            let mut statement = transaction.prepare(&sql).map_err(db_error)?;
            let mut rows = statement
                .query(params_from_iter(values))
                .map_err(db_error)?;
            while let Some(row) = rows.next().map_err(db_error)? {
                revoked.push(Columns::of(row, "session").pfid(0, "id")?);
            }
        }
        revoked.sort_unstable();
        Ok(revoked)
    }

    fn ping_now(&self) -> Result<(), StoreError> {
        let reader = self.reader();
        let version: i64 = reader
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(db_error)?;
        if version == i64::from(SCHEMA_VERSION) {
            Ok(())
        } else {
            Err(StoreError::Unavailable(format!(
                "the schema version changed under the server: found {version}, \
                 expected {SCHEMA_VERSION}"
            )))
        }
    }

    fn insert_credential_now(
        writer: &Connection,
        credential: &Credential,
        secrets: &StoredSecrets,
    ) -> Result<(), StoreError> {
        let values = credential_values(credential, secrets);
        let mut statement = writer.prepare_cached(INSERT_CREDENTIAL).map_err(db_error)?;
        statement
            .execute(params_from_iter(values))
            .map_err(|error| duplicate_credential(error, credential, secrets))?;
        Ok(())
    }

    fn list_credentials_now(&self) -> Result<Vec<Credential>, StoreError> {
        let reader = self.reader();
        let mut statement = reader
            .prepare_cached(&format!(
                "SELECT {CREDENTIAL_COLUMNS} FROM credentials ORDER BY created_at, id"
            ))
            .map_err(db_error)?;
        let mut rows = statement.query([]).map_err(db_error)?;
        let mut credentials = Vec::new();
        while let Some(row) = rows.next().map_err(db_error)? {
            credentials.push(decode_credential(row)?);
        }
        Ok(credentials)
    }

    /// The first credential `sql` (selecting [`CREDENTIAL_COLUMNS`] and
    /// possibly one more column) finds for `key`, with its extra column.
    fn credential_where<K, T>(
        &self,
        sql: &str,
        key: K,
        extra: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<(Credential, T)>, StoreError>
    where
        K: rusqlite::ToSql,
    {
        let reader = self.reader();
        let mut statement = reader.prepare_cached(sql).map_err(db_error)?;
        let mut rows = statement.query([key]).map_err(db_error)?;
        match rows.next().map_err(db_error)? {
            Some(row) => Ok(Some((decode_credential(row)?, extra(row)?))),
            None => Ok(None),
        }
    }

    fn insert_temporary_huawei_key_now(
        writer: &Connection,
        key: &TemporaryHuaweiKey,
    ) -> Result<(), StoreError> {
        let values = vec![
            Value::Text(key.access_key.clone()),
            Value::Text(key.credential_id.as_str().to_string()),
            Value::Blob(key.secret_key_sealed.clone()),
            Value::Blob(key.security_token.as_bytes().to_vec()),
            time_value(key.created_at),
            time_value(key.expires_at),
        ];
        let mut statement = writer
            .prepare_cached(
                "INSERT INTO huawei_temporary_credentials (access_key, credential_id, \
                 secret_key_sealed, security_token_hash, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(db_error)?;
        statement
            .execute(params_from_iter(values))
            .map_err(|error| match db_error(error) {
                StoreError::Duplicate(_) => {
                    StoreError::Duplicate(format!("Huawei temporary access key {}", key.access_key))
                }
                other => other,
            })?;
        Ok(())
    }

    fn temporary_huawei_key_now(
        &self,
        access_key: &str,
    ) -> Result<Option<(Credential, TemporaryHuaweiKey)>, StoreError> {
        let columns = CREDENTIAL_COLUMNS
            .split(", ")
            .map(|column| format!("c.{column}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns}, t.access_key, t.secret_key_sealed, t.security_token_hash, \
             t.created_at, t.expires_at \
             FROM huawei_temporary_credentials t JOIN credentials c ON c.id = t.credential_id \
             WHERE t.access_key = ?1 AND c.revoked_at IS NULL"
        );
        self.credential_where(&sql, access_key, |row| decode_temporary_key(row))
    }

    fn insert_access_token_now(writer: &Connection, token: &AccessToken) -> Result<(), StoreError> {
        let values = access_token_values(token);
        let mut statement = writer
            .prepare_cached(&format!(
                "INSERT INTO looker_access_tokens ({ACCESS_TOKEN_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ))
            .map_err(db_error)?;
        statement
            .execute(params_from_iter(values))
            .map_err(|error| match db_error(error) {
                StoreError::Duplicate(_) => {
                    StoreError::Duplicate("an access token with this hash".to_string())
                }
                other => other,
            })?;
        Ok(())
    }

    fn access_token_now(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<(AccessToken, Credential)>, StoreError> {
        let credential_columns = CREDENTIAL_COLUMNS
            .split(", ")
            .map(|column| format!("c.{column}"))
            .collect::<Vec<_>>()
            .join(", ");
        let token_columns = ACCESS_TOKEN_COLUMNS
            .split(", ")
            .map(|column| format!("t.{}", column.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let reader = self.reader();
        let mut statement = reader
            .prepare_cached(&format!(
                "SELECT {credential_columns}, {token_columns} \
                 FROM looker_access_tokens t JOIN credentials c ON c.id = t.credential_id \
                 WHERE t.token_hash = ?1 AND c.revoked_at IS NULL"
            ))
            .map_err(db_error)?;
        let mut rows = statement
            .query([hash.as_bytes().as_slice()])
            .map_err(db_error)?;
        match rows.next().map_err(db_error)? {
            Some(row) => {
                let credential = decode_credential(row)?;
                let token = decode_access_token(row, CREDENTIAL_COLUMN_COUNT)?;
                Ok(Some((token, credential)))
            }
            None => Ok(None),
        }
    }

    fn revoke_access_token_now(
        writer: &Connection,
        hash: &SecretHash,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut statement = writer
            .prepare_cached(
                "UPDATE looker_access_tokens SET revoked_at = ?1 \
                 WHERE token_hash = ?2 AND revoked_at IS NULL AND expires_at > ?1",
            )
            .map_err(db_error)?;
        let changed = statement
            .execute(rusqlite::params![
                to_unix_millis(at),
                hash.as_bytes().as_slice()
            ])
            .map_err(db_error)?;
        Ok(changed == 1)
    }

    fn delete_expired_access_tokens_now(
        writer: &Connection,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let mut statement = writer
            .prepare_cached("DELETE FROM looker_access_tokens WHERE expires_at <= ?1")
            .map_err(db_error)?;
        let deleted = statement.execute([to_unix_millis(now)]).map_err(db_error)?;
        Ok(deleted as u64)
    }

    fn revoke_credential_now(
        writer: &Connection,
        id: &Pfid,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut statement = writer
            .prepare_cached(
                "UPDATE credentials SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            )
            .map_err(db_error)?;
        let changed = statement
            .execute(rusqlite::params![to_unix_millis(at), id.as_str()])
            .map_err(db_error)?;
        Ok(changed == 1)
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        let session = session.clone();
        self.writer
            .write(move |writer| Self::insert_sessions_now(writer, std::slice::from_ref(&session)))
            .await
    }

    async fn insert_sessions(&self, sessions: &[Session]) -> Result<(), StoreError> {
        if sessions.is_empty() {
            return Ok(());
        }
        let sessions = sessions.to_vec();
        self.writer
            .write(move |writer| Self::insert_sessions_now(writer, &sessions))
            .await
    }

    async fn begin_bulk_load(&self, incoming: u64) -> Result<(), StoreError> {
        self.writer
            .write(move |writer| defer_session_indexes(writer, incoming))
            .await
    }

    async fn end_bulk_load(&self) -> Result<(), StoreError> {
        self.writer.write(build_deferred_indexes).await
    }

    async fn session(&self, id: &Pfid) -> Result<Option<Session>, StoreError> {
        self.session_now(id)
    }

    async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<Session>, StoreError> {
        self.list_sessions_now(query)
    }

    async fn count_sessions(&self, query: &SessionQuery) -> Result<u64, StoreError> {
        self.count_sessions_now(query)
    }

    async fn replace_session(
        &self,
        expected_version: u64,
        session: &Session,
    ) -> Result<bool, StoreError> {
        let session = session.clone();
        self.writer
            .write(move |writer| Self::replace_session_now(writer, expected_version, &session))
            .await
    }

    async fn revoke_user_sessions(
        &self,
        request: &RevokeUserSessions,
    ) -> Result<Vec<Pfid>, StoreError> {
        let request = request.clone();
        self.writer
            .write(move |writer| Self::revoke_user_sessions_now(writer, &request))
            .await
    }

    async fn revoke_sessions(&self, request: &RevokeSessions) -> Result<Vec<Pfid>, StoreError> {
        let request = request.clone();
        self.writer
            .write(move |writer| Self::revoke_sessions_now(writer, &request))
            .await
    }

    async fn delete_ended_sessions(
        &self,
        cutoff: Timestamp,
        limit: u32,
    ) -> Result<u64, StoreError> {
        self.writer
            .write(move |writer| Self::delete_ended_sessions_now(writer, cutoff, limit))
            .await
    }

    /// One file has one server: the lease is always free (the writer lock
    /// serialises the janitor's batches with everything else anyway).
    async fn janitor_lease(&self) -> Result<Option<JanitorLease>, StoreError> {
        Ok(Some(JanitorLease::new(())))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.ping_now()
    }
}

/// The `identity_store_id` of a revocation mark covering every store.
const EVERY_STORE: &str = "";

/// Whether any revocation mark exists.
fn any_revocation_marks(connection: &Connection) -> Result<bool, StoreError> {
    connection
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM revocation_marks)")
        .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
        .map_err(db_error)
}

/// Every revocation mark of `user`.
fn revocation_marks(
    connection: &Connection,
    user: &str,
) -> Result<Vec<RevocationMark>, StoreError> {
    let mut statement = connection
        .prepare_cached(
            "SELECT identity_store_id, revoked_at FROM revocation_marks WHERE user_id = ?1",
        )
        .map_err(db_error)?;
    let mut rows = statement.query([user]).map_err(db_error)?;
    let mut marks = Vec::new();
    while let Some(row) = rows.next().map_err(db_error)? {
        let columns = Columns::new(
            row,
            Record {
                kind: "revocation mark of user",
                id: Some(user),
            },
        );
        let store = columns.text(0, "identity_store_id")?;
        marks.push(RevocationMark {
            identity_store_id: (store != EVERY_STORE).then_some(store),
            revoked_at: columns.time(1, "revoked_at")?,
        });
    }
    Ok(marks)
}

#[async_trait]
impl CredentialStore for SqliteStore {
    async fn insert_credential(
        &self,
        credential: &Credential,
        secrets: &StoredSecrets,
    ) -> Result<(), StoreError> {
        let (credential, secrets) = (credential.clone(), secrets.clone());
        self.writer
            .write(move |writer| Self::insert_credential_now(writer, &credential, &secrets))
            .await
    }

    async fn list_credentials(&self) -> Result<Vec<Credential>, StoreError> {
        self.list_credentials_now()
    }

    async fn credential(&self, id: &Pfid) -> Result<Option<Credential>, StoreError> {
        let sql = format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE id = ?1");
        Ok(self
            .credential_where(&sql, id.as_str(), |_| Ok(()))?
            .map(|(credential, ())| credential))
    }

    async fn revoke_credential(&self, id: &Pfid, at: Timestamp) -> Result<bool, StoreError> {
        let id = *id;
        self.writer
            .write(move |writer| Self::revoke_credential_now(writer, &id, at))
            .await
    }

    async fn credential_by_bearer(
        &self,
        kind: BearerKind,
        hash: &SecretHash,
    ) -> Result<Option<Credential>, StoreError> {
        // Comparing SHA-256 hashes of high-entropy tokens in SQL is safe:
        // timing can at most reveal a prefix of a hash, not of a token.
        let column = match kind {
            BearerKind::Native => "native_token_hash",
            BearerKind::Prefactor => "prefactor_token_hash",
        };
        let sql = format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM credentials \
             WHERE {column} = ?1 AND revoked_at IS NULL"
        );
        Ok(self
            .credential_where(&sql, hash.as_bytes().as_slice(), |_| Ok(()))?
            .map(|(credential, ())| credential))
    }

    async fn credential_by_looker_client_id(
        &self,
        client_id: &str,
    ) -> Result<Option<(Credential, SecretHash)>, StoreError> {
        let sql = format!(
            "SELECT {CREDENTIAL_COLUMNS}, looker_client_secret_hash FROM credentials \
             WHERE looker_client_id = ?1 AND revoked_at IS NULL"
        );
        self.credential_where(&sql, client_id, |row| {
            Columns::of(row, "credential").hash(8, "looker_client_secret_hash")
        })
    }

    async fn credential_by_huawei_access_key(
        &self,
        access_key: &str,
    ) -> Result<Option<(Credential, Vec<u8>)>, StoreError> {
        let sql = format!(
            "SELECT {CREDENTIAL_COLUMNS}, huawei_secret_key_sealed FROM credentials \
             WHERE huawei_access_key = ?1 AND revoked_at IS NULL"
        );
        self.credential_where(&sql, access_key, |row| {
            Columns::of(row, "credential").bytes(8, "huawei_secret_key_sealed")
        })
    }

    async fn insert_temporary_huawei_key(
        &self,
        key: &TemporaryHuaweiKey,
    ) -> Result<(), StoreError> {
        let key = key.clone();
        self.writer
            .write(move |writer| Self::insert_temporary_huawei_key_now(writer, &key))
            .await
    }

    async fn temporary_huawei_key(
        &self,
        access_key: &str,
    ) -> Result<Option<(Credential, TemporaryHuaweiKey)>, StoreError> {
        self.temporary_huawei_key_now(access_key)
    }

    async fn insert_access_token(&self, token: &AccessToken) -> Result<(), StoreError> {
        let token = token.clone();
        self.writer
            .write(move |writer| Self::insert_access_token_now(writer, &token))
            .await
    }

    async fn access_token(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<(AccessToken, Credential)>, StoreError> {
        self.access_token_now(hash)
    }

    async fn revoke_access_token(
        &self,
        hash: &SecretHash,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let hash = *hash;
        self.writer
            .write(move |writer| Self::revoke_access_token_now(writer, &hash, at))
            .await
    }

    async fn delete_expired_access_tokens(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.writer
            .write(move |writer| Self::delete_expired_access_tokens_now(writer, now))
            .await
    }
}

// ---------------------------------------------------------------------------
// Opening and migrating.

/// One connection to `path`, configured as every connection of the store
/// is. `journal_mode` is a property of the file and set once by `open`.
/// Creates `path` as an empty file only its owner may read and write,
/// unless it exists. SQLite gives the log and shared-memory files it
/// creates beside a database the database file's permissions.
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(StoreError::Unavailable(format!(
            "cannot create the database file: {error}"
        ))),
    }
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags).map_err(db_error)?;
    connection.busy_timeout(BUSY_TIMEOUT).map_err(db_error)?;
    // The query planner's stability guarantee: plans never depend on the
    // values bound. Without it SQLite reads a bound `LIMIT ?` while
    // planning, and every later binding of that parameter throws the
    // prepared statement away: each listing was parsed and planned again,
    // a quarter of its CPU. (Nothing here relies on value-based plans: no
    // statistics, no partial indexes, no LIKE.)
    connection
        .set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(db_error)?;
    connection
        .pragma_update(None, "synchronous", "NORMAL")
        .map_err(db_error)?;
    connection
        .pragma_update(None, "foreign_keys", true)
        .map_err(db_error)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(connection)
}

fn enable_wal(connection: &Connection) -> Result<(), StoreError> {
    let mode: String = connection
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(db_error)?;
    if mode.eq_ignore_ascii_case("wal") {
        Ok(())
    } else {
        Err(StoreError::Internal(format!(
            "the database cannot use write-ahead logging (journal mode is {mode:?}); \
             it must be a file on a local file system"
        )))
    }
}

fn schema_version(connection: &Connection) -> Result<u32, StoreError> {
    let version: i64 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(db_error)?;
    let version = u32::try_from(version)
        .map_err(|_| StoreError::Corrupt(format!("the schema version is {version}")))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Internal(format!(
            "the database has schema version {version}, newer than the {SCHEMA_VERSION} this \
             server knows: it was written by a newer login-sessions; upgrade this server"
        )));
    }
    Ok(version)
}

/// Applies the migrations the database lacks, all in one `BEGIN IMMEDIATE`
/// transaction.
fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    // The common case, an up-to-date database, takes no write lock.
    if schema_version(connection)? == SCHEMA_VERSION {
        return Ok(());
    }
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    // Another process may have migrated while we waited for the lock.
    let current = schema_version(&transaction)?;
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        transaction.execute_batch(migration).map_err(|error| {
            in_context(db_error(error), format_args!("migration {}", index + 1))
        })?;
    }
    transaction
        .pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(db_error)?;
    transaction.commit().map_err(db_error)
}

/// Runs `step` again while it fails with `Unavailable` (SQLite reports
/// `SQLITE_BUSY` without waiting in a few set-up situations, such as two
/// connections switching a fresh file to WAL at once).
fn retry_while_busy<T>(mut step: impl FnMut() -> Result<T, StoreError>) -> Result<T, StoreError> {
    let deadline = Instant::now() + OPEN_RETRY_FOR;
    let mut pause = Duration::from_millis(1);
    loop {
        match step() {
            Err(StoreError::Unavailable(_)) if Instant::now() < deadline => {
                thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            result => return result,
        }
    }
}

// ---------------------------------------------------------------------------
// Errors.

/// Maps a SQLite failure to the store's error.
fn db_error(error: rusqlite::Error) -> StoreError {
    match &error {
        rusqlite::Error::SqliteFailure(failure, _) => match failure.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::CannotOpen => {
                StoreError::Unavailable(error.to_string())
            }
            ErrorCode::ConstraintViolation if is_uniqueness(failure) => {
                StoreError::Duplicate(unique_subject(&error))
            }
            ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt => {
                StoreError::Corrupt(error.to_string())
            }
            _ => StoreError::Internal(error.to_string()),
        },
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::Utf8Error(..) => StoreError::Corrupt(error.to_string()),
        _ => StoreError::Internal(error.to_string()),
    }
}

fn is_uniqueness(failure: &rusqlite::ffi::Error) -> bool {
    failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
        || failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
}

/// The `table.column` a uniqueness violation names (SQLite says
/// "UNIQUE constraint failed: table.column").
fn unique_subject(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(_, Some(message)) => message
            .rsplit_once(": ")
            .map_or_else(|| message.clone(), |(_, subject)| subject.to_string()),
        _ => "a row with this key".to_string(),
    }
}

fn duplicate_session(error: rusqlite::Error, id: &Pfid) -> StoreError {
    match db_error(error) {
        StoreError::Duplicate(_) => StoreError::Duplicate(format!("session {id}")),
        other => other,
    }
}

fn duplicate_credential(
    error: rusqlite::Error,
    credential: &Credential,
    secrets: &StoredSecrets,
) -> StoreError {
    match db_error(error) {
        StoreError::Duplicate(subject) => StoreError::Duplicate(match subject.as_str() {
            "credentials.id" => format!("credential {}", credential.id),
            "credentials.native_token_hash" => "a credential with this native token".to_string(),
            "credentials.prefactor_token_hash" => {
                "a credential with this Prefactor token".to_string()
            }
            "credentials.looker_client_id" => {
                format!("Looker client id {}", secrets.looker_client_id)
            }
            "credentials.huawei_access_key" => {
                format!("Huawei access key {}", secrets.huawei_access_key)
            }
            _ => subject,
        }),
        other => other,
    }
}

// ---------------------------------------------------------------------------
// Listing.

/// Inserts the sessions in one transaction, with one prepared statement,
/// each as its user's revocation marks leave it.
fn insert_sessions_in(transaction: &Connection, sessions: &[Session]) -> Result<(), StoreError> {
    {
        let mut statement = transaction
            .prepare_cached(INSERT_SESSION)
            .map_err(db_error)?;
        // The marks are read inside the write transaction, so no
        // revocation can slip between the check and the insert. A bulk
        // load into a store nobody revoked from skips looking up each
        // user's; for a few sessions, asking first would cost a query more.
        let marks_may_apply = sessions.len() < BULK_ROWS || any_revocation_marks(transaction)?;
        for session in sessions {
            let marked = match &session.user_id {
                Some(user) if marks_may_apply && session.status.is_open() => {
                    let marks = revocation_marks(transaction, user)?;
                    apply_revocation_marks(session, &marks)
                }
                _ => None,
            };
            let values = session_values(marked.as_ref().unwrap_or(session))?;
            statement
                .execute(params_from_iter(values))
                .map_err(|error| duplicate_session(error, &session.id))?;
        }
    }
    Ok(())
}

/// Runs `work` with the writer's page cache enlarged to [`BULK_CACHE_KIB`],
/// then restores it.
fn with_bulk_cache<T>(
    writer: &Connection,
    work: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let default_cache: i64 = writer
        .pragma_query_value(None, "cache_size", |row| row.get(0))
        .map_err(db_error)?;
    writer
        .pragma_update(None, "cache_size", -BULK_CACHE_KIB)
        .map_err(db_error)?;
    let outcome = work(writer);
    let restored = writer
        .pragma_update(None, "cache_size", default_cache)
        .map_err(db_error);
    let outcome = outcome?;
    restored.map(|()| outcome)
}

/// Sets the secondary indexes of `sessions` aside for a bulk load of
/// `incoming` sessions (see `migrations/0005_deferred_indexes.sql`): drops
/// them and records their definitions, in the caller's transaction, when
/// the table holds fewer rows than are coming. With more, inserting into
/// the indexes costs less than rebuilding them, and nothing changes.
fn defer_session_indexes(writer: &Connection, incoming: u64) -> Result<(), StoreError> {
    let limit = i64::try_from(incoming).unwrap_or(i64::MAX);
    let held: i64 = writer
        .query_row(
            "SELECT count(*) FROM (SELECT 1 FROM sessions LIMIT ?1)",
            [limit],
            |row| row.get(0),
        )
        .map_err(db_error)?;
    if held >= limit {
        return Ok(());
    }
    // Indexes SQLite made for a constraint have no SQL and cannot be
    // dropped; they stay.
    let indexes = named_definitions(
        writer,
        "SELECT name, sql FROM sqlite_schema \
         WHERE type = 'index' AND tbl_name = 'sessions' AND sql IS NOT NULL",
    )?;
    for (name, definition) in indexes {
        writer
            .execute(
                "INSERT INTO deferred_indexes (name, definition) VALUES (?1, ?2)",
                [&name, &definition],
            )
            .map_err(db_error)?;
        writer
            .execute_batch(&format!("DROP INDEX {}", quote_identifier(&name)))
            .map_err(db_error)?;
    }
    Ok(())
}

/// Builds every index [`defer_session_indexes`] set aside, in the caller's
/// transaction, and forgets them.
fn build_deferred_indexes(writer: &Connection) -> Result<(), StoreError> {
    let deferred = named_definitions(
        writer,
        "SELECT name, definition FROM deferred_indexes ORDER BY name",
    )?;
    if deferred.is_empty() {
        return Ok(());
    }
    with_bulk_cache(writer, |writer| {
        for (name, definition) in &deferred {
            writer.execute_batch(definition).map_err(|error| {
                in_context(db_error(error), format_args!("rebuilding index {name}"))
            })?;
            writer
                .execute("DELETE FROM deferred_indexes WHERE name = ?1", [name])
                .map_err(db_error)?;
        }
        Ok(())
    })
}

/// The (name, SQL) pairs a two-column query of the schema returns.
fn named_definitions(
    connection: &Connection,
    sql: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut statement = connection.prepare(sql).map_err(db_error)?;
    let rows = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .map_err(db_error)?;
    rows.collect::<Result<_, _>>().map_err(db_error)
}

/// Builds the indexes an interrupted bulk load left set aside, if any: at
/// open, before anything is served from this connection.
fn build_indexes_left_deferred(connection: &mut Connection) -> Result<(), StoreError> {
    let any: bool = connection
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM deferred_indexes)",
            [],
            |row| row.get(0),
        )
        .map_err(db_error)?;
    if !any {
        return Ok(());
    }
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    build_deferred_indexes(&transaction)?;
    transaction.commit().map_err(db_error)
}

/// The open statuses as query parameters, for `status IN (?, ?, ?)`.
fn open_statuses() -> impl Iterator<Item = Value> {
    Status::OPEN
        .iter()
        .map(|status| Value::Text(status.as_str().to_string()))
}

/// The `WHERE` clause (possibly empty) and parameters of a listing's
/// filters. The text depends only on which filters are set, so the
/// statement cache serves it.
fn filter_sql(query: &SessionQuery) -> (String, Vec<Value>) {
    let now = Value::Integer(to_unix_millis(query.now));
    let mut conditions: Vec<&str> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(store) = &query.identity_store_id {
        conditions.push("identity_store_id = ?");
        values.push(Value::Text(store.clone()));
    }
    if let Some(user) = &query.user_id {
        conditions.push("user_id = ?");
        values.push(Value::Text(user.clone()));
    }
    match query.status {
        None => {}
        // Ended by a logout, or open but expired.
        Some(Status::Complete) => {
            conditions.push("(status = ? OR (status IN (?, ?, ?) AND expires_at <= ?))");
            values.push(Value::Text(Status::Complete.as_str().to_string()));
            values.extend(open_statuses());
            values.push(now.clone());
        }
        Some(Status::Revoked) => {
            conditions.push("status = ?");
            values.push(Value::Text(Status::Revoked.as_str().to_string()));
        }
        // An open status, not yet expired.
        Some(open) => {
            conditions.push("status = ? AND expires_at > ?");
            values.push(Value::Text(open.as_str().to_string()));
            values.push(now.clone());
        }
    }
    match query.live {
        None => {}
        Some(true) => {
            conditions.push("status IN (?, ?, ?) AND expires_at > ?");
            values.extend(open_statuses());
            values.push(now);
        }
        Some(false) => {
            conditions.push("NOT (status IN (?, ?, ?) AND expires_at > ?)");
            values.extend(open_statuses());
            values.push(now);
        }
    }
    if let Some(cursor) = &query.cursor {
        conditions.push(match query.order {
            SessionOrder::NewestFirst => "id < ?",
            SessionOrder::OldestFirst => "id > ?",
        });
        values.push(Value::Text(cursor.as_str().to_string()));
    }
    let clause = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    (clause, values)
}

/// The statement and parameters of a listing.
fn listing_sql(query: &SessionQuery) -> (String, Vec<Value>) {
    let (clause, mut values) = filter_sql(query);
    let order = match query.order {
        SessionOrder::NewestFirst => "DESC",
        SessionOrder::OldestFirst => "ASC",
    };
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM sessions{clause} ORDER BY id {order} LIMIT ? OFFSET ?"
    );
    values.push(Value::Integer(i64::from(query.limit)));
    values.push(Value::Integer(i64::from(query.offset)));
    (sql, values)
}

/// The statement and parameters counting a listing's matches.
fn count_sql(query: &SessionQuery) -> (String, Vec<Value>) {
    let unpaged = SessionQuery {
        cursor: None,
        ..query.clone()
    };
    let (clause, values) = filter_sql(&unpaged);
    (format!("SELECT COUNT(*) FROM sessions{clause}"), values)
}

// ---------------------------------------------------------------------------
// Encoding.

fn time_value(at: Timestamp) -> Value {
    Value::Integer(to_unix_millis(at))
}

fn optional_time(at: Option<Timestamp>) -> Value {
    at.map_or(Value::Null, time_value)
}

fn optional_text(text: Option<&str>) -> Value {
    text.map_or(Value::Null, |text| Value::Text(text.to_string()))
}

fn optional_pfid(id: Option<&Pfid>) -> Value {
    optional_text(id.map(Pfid::as_str))
}

fn version_to_sql(version: u64) -> Result<i64, StoreError> {
    i64::try_from(version).map_err(|_| {
        StoreError::Internal(format!(
            "session version {version} is beyond what the store holds"
        ))
    })
}

/// The at / ip / user agent columns of an interaction.
fn interaction_values(interaction: Option<&Interaction>) -> [Value; 3] {
    match interaction {
        None => [Value::Null, Value::Null, Value::Null],
        Some(interaction) => [
            time_value(interaction.at),
            interaction
                .ip
                .map_or(Value::Null, |ip| Value::Text(ip.to_string())),
            optional_text(interaction.user_agent.as_deref()),
        ],
    }
}

/// Every column [`INSERT_CREDENTIAL`] writes, in its order.
fn credential_values(credential: &Credential, secrets: &StoredSecrets) -> Vec<Value> {
    vec![
        Value::Text(credential.id.as_str().to_string()),
        optional_text(credential.name.as_deref()),
        Value::Text(credential.role.as_str().to_string()),
        optional_text(credential.identity_store_id.as_deref()),
        optional_text(credential.user_id.as_deref()),
        credential
            .rate_limit
            .map_or(Value::Null, |limit| Value::Integer(i64::from(limit))),
        time_value(credential.created_at),
        optional_time(credential.revoked_at),
        Value::Blob(secrets.native_token.as_bytes().to_vec()),
        Value::Blob(secrets.prefactor_token.as_bytes().to_vec()),
        Value::Text(secrets.looker_client_id.clone()),
        Value::Blob(secrets.looker_client_secret.as_bytes().to_vec()),
        Value::Text(secrets.huawei_access_key.clone()),
        Value::Blob(secrets.huawei_secret_key_sealed.clone()),
    ]
}

/// Every column of an access token row, in [`ACCESS_TOKEN_COLUMNS`] order.
fn access_token_values(token: &AccessToken) -> Vec<Value> {
    vec![
        Value::Blob(token.token_hash.as_bytes().to_vec()),
        Value::Text(token.credential_id.as_str().to_string()),
        time_value(token.created_at),
        time_value(token.expires_at),
        optional_time(token.revoked_at),
        optional_text(token.acting_user_id.as_deref()),
        optional_pfid(token.session_id.as_ref()),
    ]
}

/// Every column of a session row, in [`SESSION_COLUMNS`] order.
fn session_values(session: &Session) -> Result<Vec<Value>, StoreError> {
    let mut values = Vec::with_capacity(29);
    values.extend([
        Value::Text(session.id.as_str().to_string()),
        Value::Text(session.identity_store_id.clone()),
        optional_text(session.user_id.as_deref()),
        Value::Text(session.status.as_str().to_string()),
        Value::Text(session.session_type.as_str().to_string()),
        optional_text(session.credentials_type.as_deref()),
        time_value(session.created_at),
        time_value(session.expires_at),
        optional_time(session.extended_at),
        Value::Integer(i64::from(session.extended_count)),
    ]);
    values.extend(interaction_values(session.first_seen.as_ref()));
    values.extend(interaction_values(session.last_seen.as_ref()));
    let enrichment = &session.enrichment;
    values.extend([
        optional_text(enrichment.browser.as_deref()),
        optional_text(enrichment.operating_system.as_deref()),
        optional_text(enrichment.city.as_deref()),
        optional_text(enrichment.state.as_deref()),
        optional_text(enrichment.country.as_deref()),
        optional_text(session.sudo_user_id.as_deref()),
        optional_pfid(session.account_id.as_ref()),
        optional_pfid(session.domain_id.as_ref()),
        optional_pfid(session.device_id.as_ref()),
        optional_text(session.title.as_deref()),
        optional_time(session.ended_at),
        Value::Integer(version_to_sql(session.version)?),
    ]);
    Ok(values)
}

// ---------------------------------------------------------------------------
// Decoding. Nothing read from the file is trusted: every value is checked
// and a bad one is `Corrupt`, never a panic.

impl StoredRow for Row<'_> {
    fn text(&self, index: usize) -> Result<Option<String>, String> {
        self.get(index).map_err(|error| error.to_string())
    }

    fn integer(&self, index: usize) -> Result<Option<i64>, String> {
        self.get(index).map_err(|error| error.to_string())
    }

    fn bytes(&self, index: usize) -> Result<Option<Vec<u8>>, String> {
        self.get(index).map_err(|error| error.to_string())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::{Arc, Barrier};

    use tempfile::TempDir;

    use super::*;
    use crate::store::conformance;
    use crate::store::{SharedStore, Store};

    /// A fresh store in a temporary directory that lives as long as it.
    async fn fresh_store() -> (SharedStore, TempDir) {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&directory.path().join("sessions.db")).unwrap();
        (Arc::new(store) as SharedStore, directory)
    }

    mod suite {
        crate::store_conformance_tests!(super::fresh_store());
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
            .execute(
                "UPDATE credentials SET role = 'admin', huawei_secret_key_sealed = 'text'",
                [],
            )
            .unwrap();
        let error = store
            .credential_by_huawei_access_key(&secrets.huawei_access_key)
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
    /// checkpoint copies the whole log: the checkpointer must still keep
    /// the log from growing without bound.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_stays_bounded_under_writes_that_never_pause() {
        const WRITERS: u64 = 4;
        const EACH: u64 = 3_000;
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("s.db");
        let store = Arc::new(SqliteStore::open(&path).unwrap());
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
        assert!(log < 24 << 20, "the log grew to {log} bytes");
    }

    #[tokio::test]
    async fn a_version_1_database_is_migrated_keeping_its_data() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("sessions.db");
        {
            let connection = raw(&path);
            connection.execute_batch(MIGRATIONS[0]).unwrap();
            connection.pragma_update(None, "user_version", 1).unwrap();
        }
        let session = conformance::full_session();
        let (credential, secrets) = conformance::credential_with_secrets("v1");
        {
            // Rows as a version-1 server wrote them.
            let connection = raw(&path);
            connection
                .execute(
                    INSERT_SESSION,
                    params_from_iter(session_values(&session).unwrap()),
                )
                .unwrap();
            connection
                .execute(
                    INSERT_CREDENTIAL,
                    params_from_iter(credential_values(&credential, &secrets)),
                )
                .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
        assert_eq!(store.session(&session.id).await.unwrap(), Some(session));
        let token = conformance::access_token(&credential, "after migration", 60_000);
        store.insert_access_token(&token).await.unwrap();
        assert_eq!(
            store.access_token(&token.token_hash).await.unwrap(),
            Some((token, credential))
        );
    }

    #[test]
    fn credential_column_count_matches_the_column_list() {
        assert_eq!(
            CREDENTIAL_COLUMNS.split(", ").count(),
            CREDENTIAL_COLUMN_COUNT
        );
        assert_eq!(ACCESS_TOKEN_COLUMNS.split(", ").count(), 7);
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
        let statement = reader.prepare_cached(&listing_sql(&query).0).unwrap();
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
}
