//! Noticing revocations another process commits to the same file: the
//! command line's `credentials revoke` while `serve` runs.
//!
//! Every revoking write bumps the one-row `revocations` counter in the
//! transaction that revokes. A thread of this process polls, every
//! [`WATCH_INTERVAL`], `PRAGMA data_version` on a connection of its own
//! (cheap: it changes only when another connection committed); only then
//! does it read the counter, and a counter that moved tells the caches
//! (through [`Coherence`]) to forget what they hold. A poll that fails
//! makes the caches stop trusting themselves until one succeeds again.
//! The thread ends once nothing holds the [`Coherence`] any longer.

use std::sync::{Arc, Weak};
use std::thread;

use rusqlite::Connection;

use super::location::Location;
use super::{db_error, schema};
use crate::store::StoreError;
use crate::store::coherence::{Coherence, WATCH_INTERVAL};

/// Starts watching the database at `location`; returns the coherence the
/// thread feeds.
pub(super) fn start(location: &Location) -> Arc<Coherence> {
    let coherence = Arc::new(Coherence::unsure());
    let watched = Arc::downgrade(&coherence);
    let location = location.clone();
    let started = thread::Builder::new()
        .name("sqlite-revocations".into())
        .spawn(move || watch(location, watched));
    if started.is_err() {
        // No thread, no feed: the caches stay unsure and ask the store
        // every time, which is slower but right.
        return coherence;
    }
    coherence
}

/// What the watcher has seen so far.
#[derive(Default)]
struct Seen {
    connection: Option<Connection>,
    data_version: Option<i64>,
    revocations: Option<i64>,
}

fn watch(location: Location, coherence: Weak<Coherence>) {
    let mut seen = Seen::default();
    loop {
        let Some(coherence) = coherence.upgrade() else {
            return;
        };
        match poll(&location, &mut seen) {
            Ok(revoked) => {
                if revoked {
                    coherence.revoked();
                }
                if !coherence.is_sure() {
                    coherence.sure();
                }
            }
            Err(_) => {
                seen = Seen::default();
                coherence.unsure_now();
            }
        }
        drop(coherence);
        thread::sleep(WATCH_INTERVAL);
    }
}

/// Whether a revocation was committed since the last poll.
fn poll(location: &Location, seen: &mut Seen) -> Result<bool, StoreError> {
    if seen.connection.is_none() {
        let connection = schema::open_connection(location)?;
        connection
            .pragma_update(None, "query_only", true)
            .map_err(db_error)?;
        seen.connection = Some(connection);
    }
    let Some(connection) = &seen.connection else {
        return Ok(false);
    };
    let data_version: i64 = connection
        .pragma_query_value(None, "data_version", |row| row.get(0))
        .map_err(db_error)?;
    if seen.data_version == Some(data_version) {
        return Ok(false);
    }
    seen.data_version = Some(data_version);
    let revocations: i64 = connection
        .prepare_cached("SELECT generation FROM revocations")
        .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
        .map_err(db_error)?;
    let previous = seen.revocations.replace(revocations);
    Ok(previous.is_some_and(|previous| previous != revocations))
}

/// Bumps the revocation counter, in the revoking write's transaction.
pub(super) fn bump(writer: &Connection) -> Result<(), StoreError> {
    writer
        .prepare_cached("UPDATE revocations SET generation = generation + 1")
        .and_then(|mut statement| statement.execute([]))
        .map_err(db_error)?;
    Ok(())
}
