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
//!
//! # Layout
//!
//! [`sessions`] and [`credentials`] implement the two store traits; the
//! statements they run are [`super::sql`]'s, with SQLite's `?n` parameters.
//! [`schema`] opens files, migrates them and sets indexes aside for bulk
//! loads; [`writer`] owns the one writing connection; [`location`] says
//! where the database is: a file, or (`serve --database memory`) this
//! process's memory, shared by every connection through SQLite's `memdb`
//! VFS, without a write-ahead log.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, OnceLock, PoisonError, TryLockError};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, Row};

pub mod backup;
mod credentials;
mod identity;
mod location;
mod reset;
mod schema;
mod sessions;
#[cfg(test)]
mod tests;
mod watch;
mod writer;

use location::Location;
use writer::Writer;

use crate::store::coherence::Coherence;
use crate::store::rows::StoredRow;
use crate::store::sql::{Placeholders, SqlValue, Statements};
use crate::store::{StoreError, in_context};

/// The migrations, in order: migration `n` (1-based) brings the schema from
/// version `n - 1` to version `n`.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_huawei_temporary_credentials.sql"),
    include_str!("migrations/0003_looker_access_tokens.sql"),
    include_str!("migrations/0004_revocation_marks_and_retention.sql"),
    include_str!("migrations/0005_deferred_indexes.sql"),
    include_str!("migrations/0006_credential_secrets.sql"),
    include_str!("migrations/0007_revocation_counter.sql"),
    include_str!("migrations/0008_session_writers.sql"),
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

/// Every fixed statement, with SQLite's parameters.
static STATEMENTS: LazyLock<Statements> = LazyLock::new(|| Statements::new(Placeholders::Question));

/// The SQLite store. Cheap to share behind an `Arc`; every method is safe
/// to call from many tasks at once.
pub struct SqliteStore {
    writer: Writer,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    location: Location,
    /// The file the store opened, which the path must still name (none in
    /// memory).
    identity: Option<identity::FileIdentity>,
    /// Fed by [`watch`], started by the first caller that wants it.
    coherence: OnceLock<Arc<Coherence>>,
    /// Who this store is among the writers of sessions to the database
    /// ([`watch::count_session_write`]): random, one per open store.
    writer_id: Arc<str>,
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
        SqliteStore::open_file(path, writer::RESTART_LOG_BYTES)
    }

    /// [`SqliteStore::open`], with the log made to start over past
    /// `restart_log_bytes` ([`writer::RESTART_LOG_BYTES`] but in tests,
    /// which reach a lower threshold with few writes).
    fn open_file(path: &Path, restart_log_bytes: u64) -> Result<SqliteStore, StoreError> {
        let context = |error: StoreError| in_context(error, path.display());
        schema::create_private_file(path).map_err(context)?;
        SqliteStore::open_at(Location::File(path.to_path_buf()), restart_log_bytes)
    }

    /// Opens a new, empty database in this process's memory (see
    /// [`location`]): nothing is written to disk, and everything is gone
    /// when the store is dropped or the process ends.
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        SqliteStore::open_at(Location::new_memory(), writer::RESTART_LOG_BYTES)
    }

    fn open_at(location: Location, restart_log_bytes: u64) -> Result<SqliteStore, StoreError> {
        let context = |error: StoreError| in_context(error, &location);
        let mut writer = schema::open_connection(&location).map_err(context)?;
        // A memdb database has no write-ahead log (it shares no memory
        // between processes); its connections take turns under SQLite's
        // ordinary locks, which the busy timeout waits out.
        if location.file().is_some() {
            schema::retry_while_busy(|| schema::enable_wal(&writer)).map_err(context)?;
        }
        schema::retry_while_busy(|| schema::migrate(&mut writer)).map_err(context)?;
        schema::retry_while_busy(|| schema::build_indexes_left_deferred(&mut writer))
            .map_err(context)?;
        let readers = (0..READERS)
            .map(|_| {
                let reader = schema::open_connection(&location)?;
                reader
                    .pragma_update(None, "query_only", true)
                    .map_err(db_error)?;
                Ok(Mutex::new(reader))
            })
            .collect::<Result<Vec<_>, StoreError>>()
            .map_err(context)?;
        let writer = Writer::start(
            writer,
            &location,
            schema::open_connection(&location).map_err(context)?,
            restart_log_bytes,
        )?;
        let identity = location
            .file()
            .map(identity::FileIdentity::of)
            .transpose()
            .map_err(context)?;
        Ok(SqliteStore {
            writer,
            readers,
            next_reader: AtomicUsize::new(0),
            location,
            identity,
            coherence: OnceLock::new(),
            writer_id: format!("{:032x}", rand::random::<u128>()).into(),
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
}

impl rusqlite::ToSql for SqlValue<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            SqlValue::Null => ValueRef::Null,
            SqlValue::Integer(value) => ValueRef::Integer(*value),
            SqlValue::Text(text) => ValueRef::Text(text.as_bytes()),
            SqlValue::Bytes(bytes) => ValueRef::Blob(bytes),
        }))
    }
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

// ---------------------------------------------------------------------------
// Errors.

/// Maps a SQLite failure to the store's error.
pub(super) fn db_error(error: rusqlite::Error) -> StoreError {
    match &error {
        rusqlite::Error::SqliteFailure(failure, _) => match failure.code {
            // Busy, or unable to write now (a full disk, a read-only file
            // or file system, an I/O error): nothing the request did, and
            // it may pass once the operator has seen to it.
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::CannotOpen
            | ErrorCode::DiskFull
            | ErrorCode::ReadOnly
            | ErrorCode::SystemIoFailure => StoreError::Unavailable(error.to_string()),
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
