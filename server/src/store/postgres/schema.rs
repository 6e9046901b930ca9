//! Migrating a database, and setting the secondary indexes of `sessions`
//! aside for a bulk load and building them again.

use deadpool_postgres::Object;
use tokio_postgres::GenericClient;

use super::{MIGRATION_LOCK, MIGRATIONS, SCHEMA_TABLE, SCHEMA_VERSION, column, db_error};
use crate::domain::to_unix_millis;
use crate::store::{StoreError, in_context, quote_identifier};

/// The schema version recorded in the database (0 for a fresh one).
pub(super) async fn schema_version(client: &impl GenericClient) -> Result<i32, StoreError> {
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
pub(super) async fn migrate(client: &mut Object) -> Result<(), StoreError> {
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
pub(super) async fn defer_session_indexes(
    client: &mut Object,
    incoming: u64,
) -> Result<(), StoreError> {
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
pub(super) async fn build_deferred_indexes(client: &mut Object) -> Result<(), StoreError> {
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
