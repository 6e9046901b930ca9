//! The shared store: PostgreSQL, for several stateless server replicas over
//! one database.
//!
//! # Sharing
//!
//! Replicas keep nothing of their own: every read of this store goes to the
//! database, so a session created, touched, extended or revoked through one
//! replica, a credential revoked through the command line, is seen that way
//! by every replica the moment the write commits. (The server puts
//! [`super::credential_cache`] in front of the store: a credential lookup
//! may be reused for up to its lifetime, a second by default.)
//! Connections come from a [`deadpool_postgres`] pool per process
//! (`--database-pool-size`); the transaction isolation is PostgreSQL's
//! default, READ COMMITTED, which is enough for every write here:
//!
//! - `replace_session` is one `UPDATE ... WHERE id = $1 AND version = $n`:
//!   a concurrent writer of the same row makes it re-check the version on
//!   the new row and write nothing (optimistic concurrency).
//! - `revoke_user_sessions` and the insert of a session with a user take a
//!   transaction-scoped advisory lock on the user (a hash of the user id),
//!   so a revocation and an insert of the same user run one after the
//!   other: the revocation's `UPDATE` sees every insert that came first,
//!   and an insert that comes after sees the revocation mark it left (see
//!   [`crate::store::apply_revocation_marks`]). Bulk inserts take a `SHARE`
//!   lock on `revocation_marks` instead (one lock, however many users),
//!   which the revocation's upsert of its mark waits for.
//! - The janitor deletes with `... FOR UPDATE SKIP LOCKED`, so it never
//!   waits for (nor makes wait) a request writing a session, and at most
//!   one replica runs it at a time: [`SessionStore::janitor_lease`] is a
//!   session-level `pg_try_advisory_lock` on a connection of its own,
//!   released when the lease is dropped (the connection closes).
//!
//! # Schema and migrations
//!
//! The schema is the numbered SQL files in `postgres/migrations/`, embedded
//! in the binary. [`PostgresStore::open`] applies the missing ones in one
//! transaction holding `pg_advisory_xact_lock(MIGRATION_LOCK)`, recording
//! each in `login_sessions_schema`, so any number of replicas and command
//! line invocations starting at once over a fresh database agree on one
//! schema and none fails. A database whose schema is newer than this binary
//! knows is refused rather than misread.
//!
//! # Errors
//!
//! Unique violations are `Duplicate`; connection, pool, timeout,
//! authorization and transient server errors (SQLSTATE classes `08`, `28`,
//! `3D`, `53`, `57`, `40`) are `Unavailable`; a row this server could not have written is `Corrupt`;
//! anything else is `Internal`. Messages never carry the connection URL.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime,
};
use sha2::{Digest, Sha256};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSqlOwned, ToSql};
use tokio_postgres::{Config, GenericClient, NoTls, Row};

use crate::domain::access_token::AccessToken;
use crate::domain::credential::{Credential, StoredSecrets, TemporaryHuaweiKey};
use crate::domain::session::{Interaction, Session, Status};
use crate::domain::{Timestamp, to_unix_millis};
use crate::pfid::Pfid;
use crate::secrets::SecretHash;
use crate::store::rows::{
    CREDENTIAL_COLUMN_COUNT, Columns, StoredRow, decode_access_token, decode_credential,
    decode_session, decode_temporary_key,
};
use crate::store::{
    BearerKind, CredentialStore, JanitorLease, RevocationMark, RevokeSessions, RevokeUserSessions,
    SessionOrder, SessionQuery, SessionStore, StoreError, apply_revocation_marks, in_context,
    quote_identifier,
};

/// The migrations, in order, with their names: migration `n` (1-based)
/// brings the schema from version `n - 1` to version `n`.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_initial",
        include_str!("postgres/migrations/0001_initial.sql"),
    ),
    (
        "0002_tokens_and_temporary_keys",
        include_str!("postgres/migrations/0002_tokens_and_temporary_keys.sql"),
    ),
    (
        "0003_deferred_indexes",
        include_str!("postgres/migrations/0003_deferred_indexes.sql"),
    ),
];

/// Every column of `looker_access_tokens`, in the order
/// [`decode_access_token`] reads them.
const ACCESS_TOKEN_COLUMNS: &str = "t.token_hash, t.credential_id, t.created_at, t.expires_at, \
     t.revoked_at, t.acting_user_id, t.session_id";

/// The schema version this binary writes and understands.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

const _: () = assert!(!MIGRATIONS.is_empty() && MIGRATIONS.len() <= i32::MAX as usize);

/// The advisory lock (single `bigint` key space) held while migrating.
pub const MIGRATION_LOCK: i64 = 0x6c73_5f6d_6967_7261; // "ls_migra"

/// The advisory lock (single `bigint` key space) the janitor's lease holds.
pub const JANITOR_LOCK: i64 = 0x6c73_5f6a_616e_6974; // "ls_janit"

/// The class of the per-user advisory locks (two `int4` key space, which
/// PostgreSQL keeps apart from the single `bigint` one).
pub const USER_LOCK_CLASS: i32 = 0x6c73_7573; // "lsus"

/// How many connections a process keeps by default.
pub const DEFAULT_POOL_SIZE: u16 = 16;

/// How long a request waits for a free pooled connection before the store
/// reports itself unavailable.
const POOL_WAIT: Duration = Duration::from_secs(10);

/// How long opening a connection may take, unless the URL says
/// (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The table recording applied migrations.
const SCHEMA_TABLE: &str = "login_sessions_schema";

/// The `identity_store_id` of a revocation mark covering every store.
const EVERY_STORE: &str = "";

/// Every column of `sessions`, in the order [`SessionRow::params`] writes
/// and [`decode_session`] reads them.
const SESSION_COLUMNS: &str = "id, identity_store_id, user_id, status, session_type, \
     credentials_type, created_at, expires_at, extended_at, extended_count, \
     first_seen_at, first_seen_ip, first_seen_user_agent, \
     last_seen_at, last_seen_ip, last_seen_user_agent, \
     browser, operating_system, city, state, country, \
     sudo_user_id, account_id, domain_id, device_id, title, ended_at, version";

/// How many inserts of a bulk insert are in flight at once on the
/// connection.
const PIPELINED_INSERTS: usize = 512;

const INSERT_SESSION: &str = "INSERT INTO sessions (id, identity_store_id, user_id, status, \
     session_type, credentials_type, created_at, expires_at, extended_at, extended_count, \
     first_seen_at, first_seen_ip, first_seen_user_agent, \
     last_seen_at, last_seen_ip, last_seen_user_agent, \
     browser, operating_system, city, state, country, \
     sudo_user_id, account_id, domain_id, device_id, title, ended_at, version) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
     $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)";

/// Writes every column but `id` (`$1`) over the row if its version is still
/// `$29`.
const REPLACE_SESSION: &str = "UPDATE sessions SET identity_store_id = $2, user_id = $3, \
     status = $4, session_type = $5, credentials_type = $6, created_at = $7, expires_at = $8, \
     extended_at = $9, extended_count = $10, \
     first_seen_at = $11, first_seen_ip = $12, first_seen_user_agent = $13, \
     last_seen_at = $14, last_seen_ip = $15, last_seen_user_agent = $16, \
     browser = $17, operating_system = $18, city = $19, state = $20, country = $21, \
     sudo_user_id = $22, account_id = $23, domain_id = $24, device_id = $25, title = $26, \
     ended_at = $27, version = $28 \
     WHERE id = $1 AND version = $29";

/// Every column of `credentials` but the secrets, in the order
/// [`decode_credential`] reads them.
const CREDENTIAL_COLUMNS: &str =
    "id, name, role, identity_store_id, user_id, rate_limit, created_at, revoked_at";

const INSERT_CREDENTIAL: &str = "INSERT INTO credentials (id, name, role, identity_store_id, \
     user_id, rate_limit, created_at, revoked_at, native_token_hash, prefactor_token_hash, \
     looker_client_id, looker_client_secret_hash, huawei_access_key, huawei_secret_key_sealed) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

const LOCK_USER: &str = "SELECT pg_advisory_xact_lock($1, $2)";

const USER_MARKS: &str =
    "SELECT identity_store_id, revoked_at FROM revocation_marks WHERE user_id = $1";

const UPSERT_MARK: &str = "INSERT INTO revocation_marks (user_id, identity_store_id, revoked_at) \
     VALUES ($1, $2, $3) ON CONFLICT (user_id, identity_store_id) \
     DO UPDATE SET revoked_at = GREATEST(revocation_marks.revoked_at, EXCLUDED.revoked_at)";

const DELETE_ENDED: &str = "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions \
     WHERE ended_at < $1 OR expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)";

/// A query parameter of any type.
type Param = Box<dyn ToSql + Sync + Send>;

/// The PostgreSQL store. Cheap to share behind an `Arc`; every method is
/// safe to call from many tasks (and processes) at once.
pub struct PostgresStore {
    pool: Pool,
    /// For connections outside the pool (the janitor's lease).
    config: Config,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("pool_size", &self.pool.status().max_size)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?...]`)
    /// with a pool of at most `pool_size` connections, and brings its
    /// schema up to [`SCHEMA_VERSION`]. Refuses a database written by a
    /// newer version of the server.
    pub async fn open(url: &str, pool_size: usize) -> Result<PostgresStore, StoreError> {
        let config: Config = url.parse().map_err(|error: tokio_postgres::Error| {
            StoreError::Internal(format!("the PostgreSQL URL is not valid: {error}"))
        })?;
        PostgresStore::connect(config, pool_size).await
    }

    /// Like [`PostgresStore::open`], from a parsed configuration.
    pub async fn connect(
        mut config: Config,
        pool_size: usize,
    ) -> Result<PostgresStore, StoreError> {
        if pool_size == 0 {
            return Err(StoreError::Internal(
                "the database pool needs at least one connection".into(),
            ));
        }
        if config.get_application_name().is_none() {
            config.application_name("login-sessions");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|error| StoreError::Internal(format!("the database pool: {error}")))?;
        let store = PostgresStore { pool, config };
        let mut client = store.client().await?;
        migrate(&mut client).await?;
        build_deferred_indexes(&mut client).await?;
        Ok(store)
    }

    /// A pooled connection.
    async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(pool_error)
    }

    /// The pool's size and use, for diagnostics.
    pub fn pool_status(&self) -> deadpool_postgres::Status {
        self.pool.status()
    }

    // -----------------------------------------------------------------------
    // Credentials.

    /// The first credential `sql` (selecting [`CREDENTIAL_COLUMNS`] and
    /// possibly one more column) finds for `key`, with that row.
    async fn credential_where(
        &self,
        sql: &str,
        key: &(dyn ToSql + Sync),
    ) -> Result<Option<(Credential, Row)>, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(db_error)?;
        let row = client
            .query_opt(&statement, &[key])
            .await
            .map_err(db_error)?;
        match row {
            Some(row) => Ok(Some((decode_credential(&row)?, row))),
            None => Ok(None),
        }
    }
}

/// The connection holding the janitor's lock. Dropping the client closes
/// the connection, which releases the lock; the task ends with it.
struct LeaseConnection {
    _client: tokio_postgres::Client,
    task: tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>,
}

impl Drop for LeaseConnection {
    fn drop(&mut self) {
        // Ending the connection's task closes the socket, which releases
        // the lock at once.
        self.task.abort();
    }
}

#[async_trait]
impl SessionStore for PostgresStore {
    async fn revoke_sessions(&self, request: &RevokeSessions) -> Result<Vec<Pfid>, StoreError> {
        let mut ids: Vec<String> = request
            .ids
            .iter()
            .map(|id| id.as_str().to_string())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let now = to_unix_millis(request.now);
        // One statement: the whole set is revoked atomically, and a row
        // changed concurrently is judged live or not on its newest version.
        let sql = format!(
            "UPDATE sessions SET status = '{revoked}', ended_at = $1, version = version + 1 \
             WHERE identity_store_id = $2 AND user_id = $3 AND status IN {open} \
             AND expires_at > $1 AND id = ANY($4) RETURNING id",
            revoked = Status::Revoked.as_str(),
            open = open_statuses(),
        );
        let client = self.client().await?;
        let statement = client.prepare_cached(&sql).await.map_err(db_error)?;
        let rows = client
            .query(
                &statement,
                &[&now, &request.identity_store_id, &request.user_id, &ids],
            )
            .await
            .map_err(db_error)?;
        let mut revoked = rows
            .iter()
            .map(|row| Columns::of(row, "session").pfid(0, "id"))
            .collect::<Result<Vec<_>, _>>()?;
        revoked.sort_unstable();
        Ok(revoked)
    }

    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let Some(user) = marked_user(session) else {
            let statement = client
                .prepare_cached(INSERT_SESSION)
                .await
                .map_err(db_error)?;
            let row = SessionRow::of(session)?;
            client
                .execute(&statement, &row.params())
                .await
                .map_err(|error| duplicate_session(error, &session.id))?;
            return Ok(());
        };
        let transaction = client.transaction().await.map_err(db_error)?;
        // Under the user's lock, no revocation of the user can run between
        // reading its marks and inserting. The read is sent right behind
        // the lock, without waiting for it (one round trip, not two): the
        // server runs it once the lock is held, on a snapshot taken then
        // (READ COMMITTED), so it sees every revocation that came first.
        let lock_statement = transaction
            .prepare_cached(LOCK_USER)
            .await
            .map_err(db_error)?;
        let marks_statement = transaction
            .prepare_cached(USER_MARKS)
            .await
            .map_err(db_error)?;
        let lock_key = user_lock_key(user);
        let lock_params: [&(dyn ToSql + Sync); 2] = [&USER_LOCK_CLASS, &lock_key];
        let marks_params: [&(dyn ToSql + Sync); 1] = [&user];
        let (_, marks) = futures::try_join!(
            transaction.execute(&lock_statement, &lock_params),
            transaction.query(&marks_statement, &marks_params),
        )
        .map_err(db_error)?;
        let marks = marks
            .iter()
            .map(|row| decode_mark(row, 0))
            .collect::<Result<Vec<_>, _>>()?;
        let marked = apply_revocation_marks(session, &marks);
        let row = SessionRow::of(marked.as_ref().unwrap_or(session))?;
        let statement = transaction
            .prepare_cached(INSERT_SESSION)
            .await
            .map_err(db_error)?;
        transaction
            .execute(&statement, &row.params())
            .await
            .map_err(|error| duplicate_session(error, &session.id))?;
        transaction.commit().await.map_err(db_error)
    }

    async fn insert_sessions(&self, sessions: &[Session]) -> Result<(), StoreError> {
        if sessions.is_empty() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(db_error)?;
        let users: BTreeSet<&str> = sessions.iter().filter_map(marked_user).collect();
        let mut marks: Vec<(String, RevocationMark)> = Vec::new();
        if !users.is_empty() {
            // One table lock instead of one advisory lock per user: a
            // revocation's upsert of its mark waits for this transaction,
            // and this one waits for revocations in progress.
            transaction
                .batch_execute("LOCK TABLE revocation_marks IN SHARE MODE")
                .await
                .map_err(db_error)?;
            let users: Vec<String> = users.into_iter().map(str::to_string).collect();
            let rows = transaction
                .query(
                    "SELECT user_id, identity_store_id, revoked_at FROM revocation_marks \
                     WHERE user_id = ANY($1)",
                    &[&users],
                )
                .await
                .map_err(db_error)?;
            for row in &rows {
                let user: String = column(row, 0, "revocation mark", "user_id")?;
                marks.push((user, decode_mark(row, 1)?));
            }
        }
        let statement = transaction
            .prepare_cached(INSERT_SESSION)
            .await
            .map_err(db_error)?;
        let marked: Vec<Option<Session>> = sessions
            .iter()
            .map(|session| {
                let user = marked_user(session)?;
                let own: Vec<RevocationMark> = marks
                    .iter()
                    .filter(|(owner, _)| owner == user)
                    .map(|(_, mark)| mark.clone())
                    .collect();
                apply_revocation_marks(session, &own)
            })
            .collect();
        let rows = sessions
            .iter()
            .zip(&marked)
            .map(|(session, marked)| SessionRow::of(marked.as_ref().unwrap_or(session)))
            .collect::<Result<Vec<_>, _>>()?;
        // The inserts of a chunk are sent without waiting for each answer
        // (the client pipelines them on its connection): one round trip per
        // chunk instead of one per session. Answers come back in order, so
        // the first error is the first failing insert's.
        for (rows, sessions) in rows
            .chunks(PIPELINED_INSERTS)
            .zip(sessions.chunks(PIPELINED_INSERTS))
        {
            futures::future::try_join_all(rows.iter().zip(sessions).map(|(row, session)| {
                let statement = &statement;
                let transaction = &transaction;
                async move {
                    transaction
                        .execute(statement, &row.params())
                        .await
                        .map_err(|error| duplicate_session(error, &session.id))
                }
            }))
            .await?;
        }
        // Dropping the transaction on an error above rolls it back.
        transaction.commit().await.map_err(db_error)
    }

    async fn begin_bulk_load(&self, incoming: u64) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        defer_session_indexes(&mut client, incoming).await
    }

    async fn end_bulk_load(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        build_deferred_indexes(&mut client).await
    }

    async fn session(&self, id: &Pfid) -> Result<Option<Session>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"
            ))
            .await
            .map_err(db_error)?;
        let row = client
            .query_opt(&statement, &[&id.as_str()])
            .await
            .map_err(db_error)?;
        row.as_ref().map(decode_session).transpose()
    }

    async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<Session>, StoreError> {
        let (sql, params) = listing_sql(query);
        let client = self.client().await?;
        let statement = client.prepare_cached(&sql).await.map_err(db_error)?;
        let rows = client
            .query(&statement, &borrow(&params))
            .await
            .map_err(db_error)?;
        rows.iter().map(decode_session).collect()
    }

    async fn count_sessions(&self, query: &SessionQuery) -> Result<u64, StoreError> {
        let (sql, params) = count_sql(query);
        let client = self.client().await?;
        let statement = client.prepare_cached(&sql).await.map_err(db_error)?;
        let row = client
            .query_one(&statement, &borrow(&params))
            .await
            .map_err(db_error)?;
        let count: i64 = column(&row, 0, "count", "count")?;
        u64::try_from(count).map_err(|_| StoreError::Corrupt(format!("a negative count {count}")))
    }

    async fn replace_session(
        &self,
        expected_version: u64,
        session: &Session,
    ) -> Result<bool, StoreError> {
        let row = SessionRow::of(session)?;
        let expected = version_to_sql(expected_version)?;
        let mut params = row.params().to_vec();
        params.push(&expected);
        let client = self.client().await?;
        let statement = client
            .prepare_cached(REPLACE_SESSION)
            .await
            .map_err(db_error)?;
        let changed = client
            .execute(&statement, &params)
            .await
            .map_err(db_error)?;
        Ok(changed == 1)
    }

    async fn revoke_user_sessions(
        &self,
        request: &RevokeUserSessions,
    ) -> Result<Vec<Pfid>, StoreError> {
        let now = to_unix_millis(request.now);
        let mut params: Vec<Param> = vec![Box::new(now), Box::new(request.user_id.clone())];
        let mut sql = format!(
            "UPDATE sessions SET status = '{revoked}', ended_at = $1, version = version + 1 \
             WHERE user_id = $2 AND status IN {open} AND expires_at > $1",
            revoked = Status::Revoked.as_str(),
            open = open_statuses(),
        );
        if let Some(store) = &request.identity_store_id {
            params.push(Box::new(store.clone()));
            sql.push_str(&format!(" AND identity_store_id = ${}", params.len()));
        }
        if let Some(except) = &request.except_session_id {
            params.push(Box::new(except.as_str().to_string()));
            sql.push_str(&format!(" AND id <> ${}", params.len()));
        }
        sql.push_str(" RETURNING id");

        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(db_error)?;
        let lock = transaction
            .prepare_cached(LOCK_USER)
            .await
            .map_err(db_error)?;
        transaction
            .execute(&lock, &[&USER_LOCK_CLASS, &user_lock_key(&request.user_id)])
            .await
            .map_err(db_error)?;
        let scope = request.identity_store_id.as_deref().unwrap_or(EVERY_STORE);
        let upsert = transaction
            .prepare_cached(UPSERT_MARK)
            .await
            .map_err(db_error)?;
        transaction
            .execute(&upsert, &[&request.user_id, &scope, &now])
            .await
            .map_err(db_error)?;
        // A statement of its own, after the lock: its snapshot includes
        // every insert of the user that took the lock first.
        let statement = transaction.prepare_cached(&sql).await.map_err(db_error)?;
        let rows = transaction
            .query(&statement, &borrow(&params))
            .await
            .map_err(db_error)?;
        let mut revoked = rows
            .iter()
            .map(|row| Columns::of(row, "session").pfid(0, "id"))
            .collect::<Result<Vec<_>, _>>()?;
        transaction.commit().await.map_err(db_error)?;
        revoked.sort_unstable();
        Ok(revoked)
    }

    async fn delete_ended_sessions(
        &self,
        cutoff: Timestamp,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(DELETE_ENDED)
            .await
            .map_err(db_error)?;
        client
            .execute(&statement, &[&to_unix_millis(cutoff), &i64::from(limit)])
            .await
            .map_err(db_error)
    }

    async fn janitor_lease(&self) -> Result<Option<JanitorLease>, StoreError> {
        // A connection of its own: the lock is the connection's, and it is
        // released when the connection closes, whatever happens to this
        // process. A pooled connection would carry it back into the pool.
        let (client, connection) = self.config.connect(NoTls).await.map_err(db_error)?;
        let task = tokio::spawn(connection);
        let row = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&JANITOR_LOCK])
            .await
            .map_err(db_error)?;
        let acquired: bool = column(&row, 0, "janitor lease", "acquired")?;
        if acquired {
            Ok(Some(JanitorLease::new(LeaseConnection {
                _client: client,
                task,
            })))
        } else {
            Ok(None)
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        let version = schema_version(&**client).await?;
        if version == SCHEMA_VERSION {
            Ok(())
        } else {
            Err(StoreError::Unavailable(format!(
                "the schema version changed under the server: found {version}, \
                 expected {SCHEMA_VERSION}"
            )))
        }
    }
}

#[async_trait]
impl CredentialStore for PostgresStore {
    async fn insert_temporary_huawei_key(
        &self,
        key: &TemporaryHuaweiKey,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "INSERT INTO huawei_temporary_credentials (access_key, credential_id, \
                 secret_key_sealed, security_token_hash, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .await
            .map_err(db_error)?;
        let token_hash = key.security_token.as_bytes().to_vec();
        client
            .execute(
                &statement,
                &[
                    &key.access_key,
                    &key.credential_id.as_str(),
                    &key.secret_key_sealed,
                    &token_hash,
                    &to_unix_millis(key.created_at),
                    &to_unix_millis(key.expires_at),
                ],
            )
            .await
            .map_err(|error| match db_error(error) {
                StoreError::Duplicate(_) => {
                    StoreError::Duplicate(format!("Huawei temporary access key {}", key.access_key))
                }
                other => other,
            })?;
        Ok(())
    }

    async fn temporary_huawei_key(
        &self,
        access_key: &str,
    ) -> Result<Option<(Credential, TemporaryHuaweiKey)>, StoreError> {
        let credential_columns = CREDENTIAL_COLUMNS
            .split(", ")
            .map(|name| format!("c.{name}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {credential_columns}, t.access_key, t.secret_key_sealed, t.security_token_hash, \
             t.created_at, t.expires_at \
             FROM huawei_temporary_credentials t JOIN credentials c ON c.id = t.credential_id \
             WHERE t.access_key = $1 AND c.revoked_at IS NULL"
        );
        let Some((credential, row)) = self.credential_where(&sql, &access_key).await? else {
            return Ok(None);
        };
        Ok(Some((credential, decode_temporary_key(&row)?)))
    }

    async fn insert_access_token(&self, token: &AccessToken) -> Result<(), StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "INSERT INTO looker_access_tokens (token_hash, credential_id, created_at, \
                 expires_at, revoked_at, acting_user_id, session_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .await
            .map_err(db_error)?;
        let hash = token.token_hash.as_bytes().to_vec();
        client
            .execute(
                &statement,
                &[
                    &hash,
                    &token.credential_id.as_str(),
                    &to_unix_millis(token.created_at),
                    &to_unix_millis(token.expires_at),
                    &token.revoked_at.map(to_unix_millis),
                    &token.acting_user_id,
                    &token.session_id.map(|id| id.as_str().to_string()),
                ],
            )
            .await
            .map_err(|error| match db_error(error) {
                StoreError::Duplicate(_) => {
                    StoreError::Duplicate("an access token with this hash".to_string())
                }
                other => other,
            })?;
        Ok(())
    }

    async fn access_token(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<(AccessToken, Credential)>, StoreError> {
        let credential_columns = CREDENTIAL_COLUMNS
            .split(", ")
            .map(|name| format!("c.{name}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {credential_columns}, {ACCESS_TOKEN_COLUMNS} \
             FROM looker_access_tokens t JOIN credentials c ON c.id = t.credential_id \
             WHERE t.token_hash = $1 AND c.revoked_at IS NULL"
        );
        let key = hash.as_bytes().to_vec();
        let Some((credential, row)) = self.credential_where(&sql, &key).await? else {
            return Ok(None);
        };
        let token = decode_access_token(&row, CREDENTIAL_COLUMN_COUNT)?;
        Ok(Some((token, credential)))
    }

    async fn revoke_access_token(
        &self,
        hash: &SecretHash,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "UPDATE looker_access_tokens SET revoked_at = $1 \
                 WHERE token_hash = $2 AND revoked_at IS NULL AND expires_at > $1",
            )
            .await
            .map_err(db_error)?;
        let key = hash.as_bytes().to_vec();
        let changed = client
            .execute(&statement, &[&to_unix_millis(at), &key])
            .await
            .map_err(db_error)?;
        Ok(changed == 1)
    }

    async fn delete_expired_access_tokens(&self, now: Timestamp) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("DELETE FROM looker_access_tokens WHERE expires_at <= $1")
            .await
            .map_err(db_error)?;
        client
            .execute(&statement, &[&to_unix_millis(now)])
            .await
            .map_err(db_error)
    }

    async fn insert_credential(
        &self,
        credential: &Credential,
        secrets: &StoredSecrets,
    ) -> Result<(), StoreError> {
        let rate_limit = credential.rate_limit.map(i64::from);
        let created_at = to_unix_millis(credential.created_at);
        let revoked_at = credential.revoked_at.map(to_unix_millis);
        let native = secrets.native_token.as_bytes().to_vec();
        let prefactor = secrets.prefactor_token.as_bytes().to_vec();
        let looker_secret = secrets.looker_client_secret.as_bytes().to_vec();
        let client = self.client().await?;
        let statement = client
            .prepare_cached(INSERT_CREDENTIAL)
            .await
            .map_err(db_error)?;
        client
            .execute(
                &statement,
                &[
                    &credential.id.as_str(),
                    &credential.name,
                    &credential.role.as_str(),
                    &credential.identity_store_id,
                    &credential.user_id,
                    &rate_limit,
                    &created_at,
                    &revoked_at,
                    &native,
                    &prefactor,
                    &secrets.looker_client_id,
                    &looker_secret,
                    &secrets.huawei_access_key,
                    &secrets.huawei_secret_key_sealed,
                ],
            )
            .await
            .map_err(|error| duplicate_credential(error, credential, secrets))?;
        Ok(())
    }

    async fn list_credentials(&self) -> Result<Vec<Credential>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!(
                "SELECT {CREDENTIAL_COLUMNS} FROM credentials ORDER BY created_at, id"
            ))
            .await
            .map_err(db_error)?;
        let rows = client.query(&statement, &[]).await.map_err(db_error)?;
        rows.iter().map(decode_credential).collect()
    }

    async fn credential(&self, id: &Pfid) -> Result<Option<Credential>, StoreError> {
        let sql = format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE id = $1");
        Ok(self
            .credential_where(&sql, &id.as_str())
            .await?
            .map(|(credential, _)| credential))
    }

    async fn revoke_credential(&self, id: &Pfid, at: Timestamp) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "UPDATE credentials SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            )
            .await
            .map_err(db_error)?;
        let changed = client
            .execute(&statement, &[&to_unix_millis(at), &id.as_str()])
            .await
            .map_err(db_error)?;
        Ok(changed == 1)
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
             WHERE {column} = $1 AND revoked_at IS NULL"
        );
        let hash = hash.as_bytes().to_vec();
        Ok(self
            .credential_where(&sql, &hash)
            .await?
            .map(|(credential, _)| credential))
    }

    async fn credential_by_looker_client_id(
        &self,
        client_id: &str,
    ) -> Result<Option<(Credential, SecretHash)>, StoreError> {
        let sql = format!(
            "SELECT {CREDENTIAL_COLUMNS}, looker_client_secret_hash FROM credentials \
             WHERE looker_client_id = $1 AND revoked_at IS NULL"
        );
        let Some((credential, row)) = self.credential_where(&sql, &client_id).await? else {
            return Ok(None);
        };
        let hash = Columns::of(&row, "credential").hash(8, "looker_client_secret_hash")?;
        Ok(Some((credential, hash)))
    }

    async fn credential_by_huawei_access_key(
        &self,
        access_key: &str,
    ) -> Result<Option<(Credential, Vec<u8>)>, StoreError> {
        let sql = format!(
            "SELECT {CREDENTIAL_COLUMNS}, huawei_secret_key_sealed FROM credentials \
             WHERE huawei_access_key = $1 AND revoked_at IS NULL"
        );
        let Some((credential, row)) = self.credential_where(&sql, &access_key).await? else {
            return Ok(None);
        };
        let sealed = Columns::of(&row, "credential").bytes(8, "huawei_secret_key_sealed")?;
        Ok(Some((credential, sealed)))
    }
}

// ---------------------------------------------------------------------------
// Migrations.

/// The schema version recorded in the database (0 for a fresh one).
async fn schema_version(client: &impl GenericClient) -> Result<i32, StoreError> {
    let row = client
        .query_one(
            &format!("SELECT COALESCE(MAX(version), 0) FROM {SCHEMA_TABLE}"),
            &[],
        )
        .await
        .map_err(db_error)?;
    column(&row, 0, SCHEMA_TABLE, "version")
}

/// Applies the migrations the database lacks, all in one transaction
/// holding the migration lock; refuses a newer schema.
async fn migrate(client: &mut Object) -> Result<(), StoreError> {
    let transaction = client.transaction().await.map_err(db_error)?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(db_error)?;
    // Created under the lock, so concurrent openers never race on it.
    transaction
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (\
                 version    INTEGER PRIMARY KEY, \
                 name       TEXT    NOT NULL, \
                 applied_at BIGINT  NOT NULL)"
        ))
        .await
        .map_err(db_error)?;
    let current = schema_version(&*transaction).await?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::Internal(format!(
            "the database has schema version {current}, newer than the {SCHEMA_VERSION} this \
             server knows: it was written by a newer login-sessions; upgrade this server"
        )));
    }
    if current < 0 {
        return Err(StoreError::Corrupt(format!(
            "the schema version is {current}"
        )));
    }
    let applied_at = to_unix_millis(chrono::Utc::now());
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = index as i32 + 1;
        transaction.batch_execute(sql).await.map_err(|error| {
            in_context(
                db_error(error),
                format_args!("migration {version} ({name})"),
            )
        })?;
        transaction
            .execute(
                &format!(
                    "INSERT INTO {SCHEMA_TABLE} (version, name, applied_at) VALUES ($1, $2, $3)"
                ),
                &[&version, name, &applied_at],
            )
            .await
            .map_err(db_error)?;
    }
    transaction.commit().await.map_err(db_error)
}

// ---------------------------------------------------------------------------
// Bulk loads.

/// The memory an index build may sort in (`maintenance_work_mem`).
const INDEX_BUILD_MEMORY: &str = "256MB";

/// Sets the secondary indexes of `sessions` aside for a bulk load of
/// `incoming` sessions (see `migrations/0003_deferred_indexes.sql`): drops
/// them and records their definitions, in one transaction, when the table
/// holds fewer rows than are coming. With more, inserting into the indexes
/// costs less than rebuilding them, and nothing changes. Indexes behind a
/// constraint (the primary key, unique ones) stay.
async fn defer_session_indexes(client: &mut Object, incoming: u64) -> Result<(), StoreError> {
    let limit = i64::try_from(incoming).unwrap_or(i64::MAX);
    let transaction = client.transaction().await.map_err(db_error)?;
    let held: i64 = transaction
        .query_one(
            "SELECT count(*) FROM (SELECT 1 FROM sessions LIMIT $1) AS held",
            &[&limit],
        )
        .await
        .map_err(db_error)?
        .try_get(0)
        .map_err(db_error)?;
    if held >= limit {
        return Ok(());
    }
    let indexes = transaction
        .query(
            "SELECT class.relname::text, pg_get_indexdef(ix.indexrelid) \
             FROM pg_index AS ix JOIN pg_class AS class ON class.oid = ix.indexrelid \
             WHERE ix.indrelid = 'sessions'::regclass AND NOT ix.indisunique",
            &[],
        )
        .await
        .map_err(db_error)?;
    for index in indexes {
        let name: String = index.try_get(0).map_err(db_error)?;
        let definition: String = index.try_get(1).map_err(db_error)?;
        // A concurrent load may have set the same index aside first.
        transaction
            .execute(
                "INSERT INTO deferred_indexes (name, definition) VALUES ($1, $2) \
                 ON CONFLICT (name) DO NOTHING",
                &[&name, &definition],
            )
            .await
            .map_err(db_error)?;
        transaction
            .batch_execute(&format!("DROP INDEX IF EXISTS {}", quote_identifier(&name)))
            .await
            .map_err(db_error)?;
    }
    transaction.commit().await.map_err(db_error)
}

/// Builds every index [`defer_session_indexes`] set aside and forgets it,
/// then refreshes the table's statistics, in one transaction (writers of
/// `sessions` wait for the build; readers do not). A concurrent caller
/// waits for this one and finds nothing left.
async fn build_deferred_indexes(client: &mut Object) -> Result<(), StoreError> {
    let transaction = client.transaction().await.map_err(db_error)?;
    let deferred = transaction
        .query(
            "SELECT name, definition FROM deferred_indexes ORDER BY name FOR UPDATE",
            &[],
        )
        .await
        .map_err(db_error)?;
    if deferred.is_empty() {
        return Ok(());
    }
    transaction
        .batch_execute(&format!(
            "SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'"
        ))
        .await
        .map_err(db_error)?;
    for index in deferred {
        let name: String = index.try_get(0).map_err(db_error)?;
        let definition: String = index.try_get(1).map_err(db_error)?;
        transaction
            .batch_execute(&definition)
            .await
            .map_err(|error| {
                in_context(db_error(error), format_args!("rebuilding index {name}"))
            })?;
        transaction
            .execute("DELETE FROM deferred_indexes WHERE name = $1", &[&name])
            .await
            .map_err(db_error)?;
    }
    // The planner's statistics still describe the table before the load
    // (empty, often): without fresh ones it may scan it whole until
    // autovacuum comes by.
    transaction
        .batch_execute("ANALYZE sessions")
        .await
        .map_err(db_error)?;
    transaction.commit().await.map_err(db_error)
}

// ---------------------------------------------------------------------------
// Revocation marks.

/// The user whose revocation marks an insert of `session` must consult:
/// only an open session with a user can be one a revocation would end.
fn marked_user(session: &Session) -> Option<&str> {
    session
        .user_id
        .as_deref()
        .filter(|_| session.status.is_open())
}

/// The second key of a user's advisory lock: the first four bytes of the
/// SHA-256 of the user id (a collision only serialises two users).
fn user_lock_key(user: &str) -> i32 {
    let digest = Sha256::digest(user.as_bytes());
    i32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The mark in columns `index` (identity store) and `index + 1` (time).
fn decode_mark(row: &Row, index: usize) -> Result<RevocationMark, StoreError> {
    let columns = Columns::of(row, "revocation mark");
    let store = columns.text(index, "identity_store_id")?;
    Ok(RevocationMark {
        identity_store_id: (store != EVERY_STORE).then_some(store),
        revoked_at: columns.time(index + 1, "revoked_at")?,
    })
}

// ---------------------------------------------------------------------------
// Errors.

/// Maps a PostgreSQL client failure to the store's error.
pub fn db_error(error: tokio_postgres::Error) -> StoreError {
    let Some(db) = error.as_db_error() else {
        // No answer from the server: the connection failed, closed or
        // timed out. The causes say which (refused, timed out, ...).
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message = format!("{message}: {cause}");
            source = cause.source();
        }
        return StoreError::Unavailable(message);
    };
    let message = format!("{}: {} ({})", db.severity(), db.message(), db.code().code());
    if *db.code() == SqlState::UNIQUE_VIOLATION {
        return StoreError::Duplicate(db.constraint().unwrap_or("a row with this key").to_string());
    }
    match &db.code().code()[..2] {
        // Connection exception, refused authorization (a wrong password, a
        // role not allowed in), no such database, insufficient resources,
        // operator intervention (shutdown, cannot connect now), transaction
        // rollback (serialization failure, deadlock): the database cannot
        // be used now; nothing a request did wrong.
        "08" | "28" | "3D" | "53" | "57" | "40" => StoreError::Unavailable(message),
        // Data exceptions on read-back (a value this server never writes).
        _ => StoreError::Internal(message),
    }
}

/// Maps a pool failure to the store's error.
fn pool_error(error: PoolError) -> StoreError {
    match error {
        PoolError::Backend(error) => db_error(error),
        other => StoreError::Unavailable(format!("the database pool: {other}")),
    }
}

fn duplicate_session(error: tokio_postgres::Error, id: &Pfid) -> StoreError {
    match db_error(error) {
        StoreError::Duplicate(_) => StoreError::Duplicate(format!("session {id}")),
        other => other,
    }
}

fn duplicate_credential(
    error: tokio_postgres::Error,
    credential: &Credential,
    secrets: &StoredSecrets,
) -> StoreError {
    match db_error(error) {
        StoreError::Duplicate(constraint) => StoreError::Duplicate(match constraint.as_str() {
            "credentials_pkey" => format!("credential {}", credential.id),
            "credentials_native_token_hash_key" => {
                "a credential with this native token".to_string()
            }
            "credentials_prefactor_token_hash_key" => {
                "a credential with this Prefactor token".to_string()
            }
            "credentials_looker_client_id_key" => {
                format!("Looker client id {}", secrets.looker_client_id)
            }
            "credentials_huawei_access_key_key" => {
                format!("Huawei access key {}", secrets.huawei_access_key)
            }
            _ => constraint,
        }),
        other => other,
    }
}

// ---------------------------------------------------------------------------
// Listing.

/// `('new', 'unauthenticated', 'authenticated')`: the open statuses, as an
/// SQL list (constants of ours, never input).
fn open_statuses() -> String {
    let names: Vec<String> = Status::OPEN
        .iter()
        .map(|status| format!("'{}'", status.as_str()))
        .collect();
    format!("({})", names.join(", "))
}

/// The `WHERE` clause (possibly empty) and parameters of a listing's
/// filters. The text depends only on which filters are set, so the
/// statement cache serves it.
fn filter_sql(query: &SessionQuery) -> (String, Vec<Param>) {
    let open = open_statuses();
    let mut conditions: Vec<String> = Vec::new();
    let mut params: Vec<Param> = Vec::new();
    let mut now_param: Option<usize> = None;
    let mut now = |params: &mut Vec<Param>| -> usize {
        *now_param.get_or_insert_with(|| {
            params.push(Box::new(to_unix_millis(query.now)));
            params.len()
        })
    };
    if let Some(store) = &query.identity_store_id {
        params.push(Box::new(store.clone()));
        conditions.push(format!("identity_store_id = ${}", params.len()));
    }
    if let Some(user) = &query.user_id {
        params.push(Box::new(user.clone()));
        conditions.push(format!("user_id = ${}", params.len()));
    }
    match query.status {
        None => {}
        // Ended by a logout, or open but expired.
        Some(Status::Complete) => {
            let now = now(&mut params);
            conditions.push(format!(
                "(status = '{}' OR (status IN {open} AND expires_at <= ${now}))",
                Status::Complete.as_str()
            ));
        }
        Some(Status::Revoked) => {
            conditions.push(format!("status = '{}'", Status::Revoked.as_str()));
        }
        // An open status, not yet expired.
        Some(status) => {
            let now = now(&mut params);
            conditions.push(format!(
                "status = '{}' AND expires_at > ${now}",
                status.as_str()
            ));
        }
    }
    match query.live {
        None => {}
        Some(true) => {
            let now = now(&mut params);
            conditions.push(format!("status IN {open} AND expires_at > ${now}"));
        }
        Some(false) => {
            let now = now(&mut params);
            conditions.push(format!("NOT (status IN {open} AND expires_at > ${now})"));
        }
    }
    if let Some(cursor) = &query.cursor {
        params.push(Box::new(cursor.as_str().to_string()));
        let operator = match query.order {
            SessionOrder::NewestFirst => "<",
            SessionOrder::OldestFirst => ">",
        };
        conditions.push(format!("id {operator} ${}", params.len()));
    }
    let clause = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    (clause, params)
}

/// The statement and parameters of a listing.
fn listing_sql(query: &SessionQuery) -> (String, Vec<Param>) {
    let (clause, mut params) = filter_sql(query);
    let order = match query.order {
        SessionOrder::NewestFirst => "DESC",
        SessionOrder::OldestFirst => "ASC",
    };
    params.push(Box::new(i64::from(query.limit)));
    let limit = params.len();
    params.push(Box::new(i64::from(query.offset)));
    let offset = params.len();
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM sessions{clause} ORDER BY id {order} \
         LIMIT ${limit} OFFSET ${offset}"
    );
    (sql, params)
}

/// The statement and parameters counting a listing's matches.
fn count_sql(query: &SessionQuery) -> (String, Vec<Param>) {
    let unpaged = SessionQuery {
        cursor: None,
        ..query.clone()
    };
    let (clause, params) = filter_sql(&unpaged);
    (format!("SELECT COUNT(*) FROM sessions{clause}"), params)
}

/// The parameters as the client takes them.
fn borrow(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|param| param.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

// ---------------------------------------------------------------------------
// Encoding.

fn version_to_sql(version: u64) -> Result<i64, StoreError> {
    i64::try_from(version).map_err(|_| {
        StoreError::Internal(format!(
            "session version {version} is beyond what the store holds"
        ))
    })
}

/// A session's columns as owned values, in [`SESSION_COLUMNS`] order.
struct SessionRow<'a> {
    id: &'a str,
    identity_store_id: &'a str,
    user_id: Option<&'a str>,
    status: &'static str,
    session_type: &'static str,
    credentials_type: Option<&'a str>,
    created_at: i64,
    expires_at: i64,
    extended_at: Option<i64>,
    extended_count: i64,
    first_seen: InteractionColumns<'a>,
    last_seen: InteractionColumns<'a>,
    browser: Option<&'a str>,
    operating_system: Option<&'a str>,
    city: Option<&'a str>,
    state: Option<&'a str>,
    country: Option<&'a str>,
    sudo_user_id: Option<&'a str>,
    account_id: Option<&'a str>,
    domain_id: Option<&'a str>,
    device_id: Option<&'a str>,
    title: Option<&'a str>,
    ended_at: Option<i64>,
    version: i64,
}

/// The at / ip / user agent columns of an interaction.
struct InteractionColumns<'a> {
    at: Option<i64>,
    ip: Option<String>,
    user_agent: Option<&'a str>,
}

impl<'a> InteractionColumns<'a> {
    fn of(interaction: Option<&'a Interaction>) -> InteractionColumns<'a> {
        InteractionColumns {
            at: interaction.map(|interaction| to_unix_millis(interaction.at)),
            ip: interaction.and_then(|interaction| interaction.ip.map(|ip| ip.to_string())),
            user_agent: interaction.and_then(|interaction| interaction.user_agent.as_deref()),
        }
    }
}

impl<'a> SessionRow<'a> {
    fn of(session: &'a Session) -> Result<SessionRow<'a>, StoreError> {
        let enrichment = &session.enrichment;
        Ok(SessionRow {
            id: session.id.as_str(),
            identity_store_id: &session.identity_store_id,
            user_id: session.user_id.as_deref(),
            status: session.status.as_str(),
            session_type: session.session_type.as_str(),
            credentials_type: session.credentials_type.as_deref(),
            created_at: to_unix_millis(session.created_at),
            expires_at: to_unix_millis(session.expires_at),
            extended_at: session.extended_at.map(to_unix_millis),
            extended_count: i64::from(session.extended_count),
            first_seen: InteractionColumns::of(session.first_seen.as_ref()),
            last_seen: InteractionColumns::of(session.last_seen.as_ref()),
            browser: enrichment.browser.as_deref(),
            operating_system: enrichment.operating_system.as_deref(),
            city: enrichment.city.as_deref(),
            state: enrichment.state.as_deref(),
            country: enrichment.country.as_deref(),
            sudo_user_id: session.sudo_user_id.as_deref(),
            account_id: session.account_id.as_ref().map(Pfid::as_str),
            domain_id: session.domain_id.as_ref().map(Pfid::as_str),
            device_id: session.device_id.as_ref().map(Pfid::as_str),
            title: session.title.as_deref(),
            ended_at: session.ended_at.map(to_unix_millis),
            version: version_to_sql(session.version)?,
        })
    }

    /// `$1` to `$28` of [`INSERT_SESSION`] and [`REPLACE_SESSION`].
    fn params(&self) -> [&(dyn ToSql + Sync); 28] {
        [
            &self.id,
            &self.identity_store_id,
            &self.user_id,
            &self.status,
            &self.session_type,
            &self.credentials_type,
            &self.created_at,
            &self.expires_at,
            &self.extended_at,
            &self.extended_count,
            &self.first_seen.at,
            &self.first_seen.ip,
            &self.first_seen.user_agent,
            &self.last_seen.at,
            &self.last_seen.ip,
            &self.last_seen.user_agent,
            &self.browser,
            &self.operating_system,
            &self.city,
            &self.state,
            &self.country,
            &self.sudo_user_id,
            &self.account_id,
            &self.domain_id,
            &self.device_id,
            &self.title,
            &self.ended_at,
            &self.version,
        ]
    }
}

// ---------------------------------------------------------------------------
// Decoding. Nothing read from the database is trusted: every value is
// checked and a bad one is `Corrupt`, never a panic.

/// Column `index` of `row`, as `T`.
fn column<T: FromSqlOwned>(
    row: &Row,
    index: usize,
    record: &str,
    name: &str,
) -> Result<T, StoreError> {
    row.try_get(index)
        .map_err(|error| StoreError::Corrupt(format!("{record} column {name}: {error}")))
}

impl StoredRow for Row {
    fn text(&self, index: usize) -> Result<Option<String>, String> {
        self.try_get(index).map_err(|error| error.to_string())
    }

    fn integer(&self, index: usize) -> Result<Option<i64>, String> {
        self.try_get(index).map_err(|error| error.to_string())
    }

    fn bytes(&self, index: usize) -> Result<Option<Vec<u8>>, String> {
        self.try_get(index).map_err(|error| error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance;

    #[test]
    fn listing_sql_numbers_its_parameters() {
        let mut query = conformance::query_all(10);
        query.identity_store_id = Some("s1".into());
        query.user_id = Some("u1".into());
        query.status = Some(Status::Complete);
        query.live = Some(false);
        query.cursor = Some(Pfid::ZERO);
        let (sql, params) = listing_sql(&query);
        assert_eq!(params.len(), 6, "{sql}");
        for index in 1..=6 {
            assert!(sql.contains(&format!("${index}")), "{sql}");
        }
        assert!(!sql.contains("$7"), "{sql}");
        let (sql, params) = count_sql(&query);
        assert_eq!(params.len(), 3, "now is passed once: {sql}");
        let (sql, params) = listing_sql(&conformance::query_all(1));
        assert_eq!(params.len(), 2);
        assert!(sql.ends_with("LIMIT $1 OFFSET $2"), "{sql}");
    }

    #[test]
    fn user_lock_keys_are_stable() {
        assert_eq!(user_lock_key("u1"), user_lock_key("u1"));
        assert_ne!(user_lock_key("u1"), user_lock_key("u2"));
    }

    #[test]
    fn a_bad_url_is_refused_without_connecting() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|error| panic!("runtime: {error}"));
        let error = runtime
            .block_on(PostgresStore::open("postgres://u:secret@h:notaport/db", 1))
            .err()
            .unwrap_or_else(|| panic!("a bad port is refused"));
        assert!(!error.to_string().contains("secret"), "{error}");
    }
}
