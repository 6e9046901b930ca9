//! Opening a database file: its permissions, the connection settings every
//! connection shares, write-ahead logging, the migrations, and the
//! secondary indexes a bulk load sets aside and builds again.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, TransactionBehavior};

use super::location::Location;
use super::{
    BULK_CACHE_KIB, BUSY_TIMEOUT, MIGRATIONS, OPEN_RETRY_FOR, SCHEMA_VERSION, STATEMENT_CACHE,
    db_error,
};
use crate::store::{StoreError, in_context, quote_identifier};

/// One connection to `path`, configured as every connection of the store
/// is. `journal_mode` is a property of the file and set once by `open`.
/// Creates `path` as an empty file only its owner may read and write,
/// unless it exists. SQLite gives the log and shared-memory files it
/// creates beside a database the database file's permissions.
pub(super) fn create_private_file(path: &Path) -> Result<(), StoreError> {
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

pub(super) fn open_connection(location: &Location) -> Result<Connection, StoreError> {
    let connection = location.connect()?;
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

pub(super) fn enable_wal(connection: &Connection) -> Result<(), StoreError> {
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

pub(super) fn schema_version(connection: &Connection) -> Result<u32, StoreError> {
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
///
/// Foreign keys are off while they run, as SQLite's procedure for
/// changing a table's shape asks (a migration may rebuild a table others
/// refer to), and checked before the transaction commits: a migration
/// that leaves a dangling reference is undone. They are on again
/// afterwards, whatever happened.
pub(super) fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    // The common case, an up-to-date database, takes no write lock.
    if schema_version(connection)? == SCHEMA_VERSION {
        return Ok(());
    }
    // Outside any transaction: inside one, SQLite ignores the pragma.
    connection
        .pragma_update(None, "foreign_keys", false)
        .map_err(db_error)?;
    let migrated = migrate_in_transaction(connection);
    let restored = connection
        .pragma_update(None, "foreign_keys", true)
        .map_err(db_error);
    migrated.and(restored)
}

fn migrate_in_transaction(connection: &mut Connection) -> Result<(), StoreError> {
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
    let dangling: i64 = transaction
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
            row.get(0)
        })
        .map_err(db_error)?;
    if dangling > 0 {
        return Err(StoreError::Corrupt(format!(
            "migrating would leave {dangling} rows referring to rows that do not exist"
        )));
    }
    transaction
        .pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(db_error)?;
    transaction.commit().map_err(db_error)
}

/// Runs `step` again while it fails with `Unavailable` (SQLite reports
/// `SQLITE_BUSY` without waiting in a few set-up situations, such as two
/// connections switching a fresh file to WAL at once).
pub(super) fn retry_while_busy<T>(
    mut step: impl FnMut() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
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
// Bulk loads.

/// Runs `work` with the writer's page cache enlarged to [`BULK_CACHE_KIB`],
/// then restores it.
pub(super) fn with_bulk_cache<T>(
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
pub(super) fn defer_session_indexes(writer: &Connection, incoming: u64) -> Result<(), StoreError> {
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
pub(super) fn build_deferred_indexes(writer: &Connection) -> Result<(), StoreError> {
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
pub(super) fn build_indexes_left_deferred(connection: &mut Connection) -> Result<(), StoreError> {
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
