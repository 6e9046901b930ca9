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
//! authorization, read-only and transient server errors (SQLSTATE classes
//! `08`, `28`, `3D`, `53`, `57`, `40`, `25`) are `Unavailable`; a row this
//! server could not have written is `Corrupt`; anything else is
//! `Internal`. Messages never carry the connection URL.
//!
//! # Layout
//!
//! [`sessions`] and [`credentials`] implement the two store traits with
//! [`super::sql`]'s statements (PostgreSQL's `$n` parameters are the ones
//! they are written with); [`schema`] migrates and sets indexes aside for
//! bulk loads.

use std::time::Duration;

use bytes::BytesMut;
use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSqlOwned, IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Config, NoTls, Row};

mod credentials;
mod schema;
mod sessions;
mod watch;

use schema::{build_deferred_indexes, migrate};

use crate::store::StoreError;
use crate::store::rows::StoredRow;
use crate::store::sql::{Placeholders, SqlValue, Statements};

/// The migrations, in order, with their names: migration `n` (1-based)
/// brings the schema from version `n - 1` to version `n`.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_initial", include_str!("migrations/0001_initial.sql")),
    (
        "0002_tokens_and_temporary_keys",
        include_str!("migrations/0002_tokens_and_temporary_keys.sql"),
    ),
    (
        "0003_deferred_indexes",
        include_str!("migrations/0003_deferred_indexes.sql"),
    ),
    (
        "0004_credential_secrets",
        include_str!("migrations/0004_credential_secrets.sql"),
    ),
    (
        "0005_session_notifications",
        include_str!("migrations/0005_session_notifications.sql"),
    ),
];

/// The migrations, for tests that build a database as an earlier release
/// left it.
#[cfg(any(test, feature = "test-support"))]
pub fn migrations() -> &'static [(&'static str, &'static str)] {
    MIGRATIONS
}

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

/// Every fixed statement, with PostgreSQL's parameters; the revoking ones
/// notify every listening replica from their own transaction (see
/// [`watch`]).
static STATEMENTS: std::sync::LazyLock<Statements> = std::sync::LazyLock::new(|| {
    let mut statements = Statements::new(Placeholders::Dollar);
    for revoking in [
        &mut statements.revoke_credential,
        &mut statements.revoke_access_token,
    ] {
        *revoking = format!(
            "WITH revoked AS ({revoking} RETURNING 1) \
             SELECT pg_notify('{}', 'revoked') FROM revoked",
            watch::REVOCATIONS
        );
    }
    statements
});

/// The PostgreSQL store. Cheap to share behind an `Arc`; every method is
/// safe to call from many tasks (and processes) at once.
pub struct PostgresStore {
    pool: Pool,
    /// For connections outside the pool (the janitor's lease, the
    /// revocation listener).
    config: Config,
    /// Fed by [`watch`], started by the first caller that wants it.
    coherence: std::sync::OnceLock<std::sync::Arc<crate::store::coherence::Coherence>>,
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
        let store = PostgresStore {
            pool,
            config,
            coherence: std::sync::OnceLock::new(),
        };
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
}

/// The parameters as the client takes them.
fn params<'a>(values: &'a [SqlValue<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    values
        .iter()
        .map(|value| value as &(dyn ToSql + Sync))
        .collect()
}

/// A value bound as the column's own type: every integer column is
/// `BIGINT`, every text `TEXT`, every secret `BYTEA` (the migrations), so
/// each kind of value has one type it may go to.
impl ToSql for SqlValue<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let fits = match self {
            SqlValue::Null => true,
            SqlValue::Integer(_) => <i64 as ToSql>::accepts(ty),
            SqlValue::Text(_) => <&str as ToSql>::accepts(ty),
            SqlValue::Bytes(_) => <&[u8] as ToSql>::accepts(ty),
        };
        if !fits {
            return Err(format!("{self:?} cannot be stored in a {ty} column").into());
        }
        match self {
            SqlValue::Null => Ok(IsNull::Yes),
            SqlValue::Integer(value) => value.to_sql(ty, out),
            SqlValue::Text(text) => text.as_ref().to_sql(ty, out),
            SqlValue::Bytes(bytes) => bytes.as_ref().to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <i64 as ToSql>::accepts(ty) || <&str as ToSql>::accepts(ty) || <&[u8] as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

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
        // rollback (serialization failure, deadlock), a read-only
        // transaction (a standby, or default_transaction_read_only): the
        // database cannot be used now; nothing a request did wrong.
        "08" | "28" | "3D" | "53" | "57" | "40" | "25" => StoreError::Unavailable(message),
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
