//! Emptying a store: what a test stand-in's reset does before it stores
//! its fixtures again (`POST /testing/v1/reset`).

use super::{SqliteStore, db_error, watch};
use crate::store::StoreError;

/// Tables that describe the schema rather than hold data: kept.
const KEPT: &[&str] = &["revocations", "deferred_indexes", "session_writers"];

impl SqliteStore {
    /// Deletes every session, credential, secret, token and revocation
    /// mark, in one transaction, and counts it as a revocation, so that
    /// every cache forgets what it held. Only in-memory stores allow it:
    /// nothing that empties a database file is reachable from the API.
    pub async fn delete_everything(&self) -> Result<(), StoreError> {
        if self.location.file().is_some() {
            return Err(StoreError::Internal(
                "only an in-memory store can be emptied".into(),
            ));
        }
        self.writer
            .write(|writer| {
                // Checked at commit, when nothing is left to refer to.
                writer
                    .pragma_update(None, "defer_foreign_keys", true)
                    .map_err(db_error)?;
                let tables: Vec<String> = writer
                    .prepare(
                        "SELECT name FROM sqlite_master WHERE type = 'table' \
                         AND name NOT LIKE 'sqlite_%'",
                    )
                    .and_then(|mut statement| {
                        statement
                            .query_map([], |row| row.get(0))?
                            .collect::<Result<Vec<String>, _>>()
                    })
                    .map_err(db_error)?;
                for table in tables.iter().filter(|t| !KEPT.contains(&t.as_str())) {
                    writer
                        .execute(
                            &format!("DELETE FROM {}", crate::store::quote_identifier(table)),
                            [],
                        )
                        .map_err(db_error)?;
                }
                watch::bump(writer)
            })
            .await
    }
}
