//! `login-sessions backup`: a consistent copy of a live SQLite database.
//!
//! SQLite's online backup API copies the database page by page through a
//! connection of its own. Copying every page in one step reads them all
//! inside one read transaction, so the copy is the database as of one
//! commit, whatever the server writes meanwhile (in WAL mode a reader
//! never blocks the writer, nor the writer it). The copy is a complete
//! database with nothing in a log beside it, created only its owner may
//! read (it holds credential hashes and sealed keys).

use std::path::Path;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::{BUSY_TIMEOUT, db_error, schema};
use crate::store::StoreError;

/// Copies the database at `from` into a new file at `to`.
pub fn backup(from: &Path, to: &Path) -> Result<(), StoreError> {
    if !from.exists() {
        return Err(StoreError::Unavailable(format!(
            "there is no database at {}",
            from.display()
        )));
    }
    if to.exists() {
        return Err(StoreError::Duplicate(format!(
            "{} exists already: a backup never overwrites a file",
            to.display()
        )));
    }
    let source = Connection::open_with_flags(
        from,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db_error)?;
    source.busy_timeout(BUSY_TIMEOUT).map_err(db_error)?;
    schema::create_private_file(to)?;
    let copied = copy(&source, to);
    if copied.is_err() {
        // Nothing half-written is left to be mistaken for a backup.
        let _ = std::fs::remove_file(to);
    }
    copied
}

fn copy(source: &Connection, to: &Path) -> Result<(), StoreError> {
    let mut destination = Connection::open(to).map_err(db_error)?;
    {
        let backup = Backup::new(source, &mut destination).map_err(db_error)?;
        // Every page in one step: one read transaction, one snapshot.
        match backup.step(-1).map_err(db_error)? {
            StepResult::Done => {}
            StepResult::More | StepResult::Busy | StepResult::Locked => {
                return Err(StoreError::Unavailable(
                    "the database was busy; try the backup again".into(),
                ));
            }
            _ => {
                return Err(StoreError::Internal(
                    "the backup stopped for an unknown reason".into(),
                ));
            }
        }
    }
    // The copy in one file, with no write-ahead log beside it.
    destination
        .pragma_update(None, "journal_mode", "DELETE")
        .map_err(db_error)?;
    let check: String = destination
        .pragma_query_value(None, "quick_check", |row| row.get(0))
        .map_err(db_error)?;
    if check != "ok" {
        return Err(StoreError::Corrupt(format!(
            "the copy fails its check: {check}"
        )));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::pfid::Pfid;
    use crate::store::sqlite::SqliteStore;
    use crate::store::{SessionStore, conformance};

    /// A backup taken while the store keeps writing is a whole database
    /// as of one moment: every session it holds is complete, and it holds
    /// at least what was written before the backup began.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_backup_during_writes_is_consistent() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("live.db");
        let store = Arc::new(SqliteStore::open(&path).unwrap());
        let session = |n: u64| {
            let mut session = conformance::full_session();
            session.id = Pfid::generate(1, 1_700_000_000_000 + n).unwrap();
            session
        };
        let before: Vec<_> = (0..500).map(session).collect();
        store.insert_sessions(&before).await.unwrap();
        let during: Vec<_> = (500..1_500).map(session).collect();
        let writer = {
            let (store, during) = (store.clone(), during.clone());
            tokio::spawn(async move {
                for written in &during {
                    store.insert_session(written).await.unwrap();
                }
            })
        };
        let copy = directory.path().join("copy.db");
        let copied = {
            let (path, copy) = (path.clone(), copy.clone());
            tokio::task::spawn_blocking(move || backup(&path, &copy))
        };
        copied.await.unwrap().unwrap();
        writer.await.unwrap();

        let copy = SqliteStore::open(&copy).unwrap();
        let listed = copy
            .list_sessions(&conformance::query_all(10_000))
            .await
            .unwrap();
        assert!(
            listed.len() >= 500 && listed.len() <= 1_500,
            "{}",
            listed.len()
        );
        for stored in &listed {
            let written = before.iter().chain(&during).find(|s| s.id == stored.id);
            assert_eq!(Some(stored), written, "every copied session is whole");
        }
        for written in &before {
            assert!(listed.iter().any(|stored| stored.id == written.id));
        }
    }
}
