//! Noticing what another process commits to the same file: the command
//! line's `credentials revoke` while `serve` runs, another `serve` writing
//! sessions.
//!
//! Every revoking write bumps the one-row `revocations` counter in the
//! transaction that revokes, and every write to sessions counts itself in
//! `session_writers` under its store's id ([`count_session_write`]). A
//! thread of this process polls, every [`WATCH_INTERVAL`], `PRAGMA
//! data_version` on a connection of its own (cheap: it changes only when
//! another connection committed); only then does it read the counters. A
//! revocation counter that moved tells the credential caches (through
//! [`Coherence`]) to forget what they hold; another writer's session
//! count that moved tells the session cache to forget every session, since
//! which ones changed is not recorded (this store's own writes, which the
//! session cache has seen already, are left out). A poll that fails makes
//! the caches stop trusting themselves until one succeeds again. The
//! thread ends once nothing holds the [`Coherence`] any longer.

use std::sync::{Arc, Weak};
use std::thread;

use rusqlite::Connection;

use super::location::Location;
use super::{db_error, schema};
use crate::store::StoreError;
use crate::store::coherence::{Coherence, WATCH_INTERVAL};

/// Starts watching the database at `location` for the store whose writes
/// of sessions count as `writer_id`'s; returns the coherence the thread
/// feeds.
pub(super) fn start(location: &Location, writer_id: &Arc<str>) -> Arc<Coherence> {
    let coherence = Arc::new(Coherence::unsure());
    let watched = Arc::downgrade(&coherence);
    let location = location.clone();
    let me = writer_id.clone();
    let started = thread::Builder::new()
        .name("sqlite-watcher".into())
        .spawn(move || watch(location, me, watched));
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
    /// Every other writer of sessions, with its count.
    session_writers: Option<Vec<(String, i64)>>,
}

/// What moved since the last poll.
#[derive(Default)]
struct Moved {
    revocations: bool,
    sessions: bool,
}

fn watch(location: Location, me: Arc<str>, coherence: Weak<Coherence>) {
    let mut seen = Seen::default();
    loop {
        let Some(coherence) = coherence.upgrade() else {
            return;
        };
        match poll(&location, &me, &mut seen) {
            Ok(moved) => {
                if moved.revocations {
                    coherence.revoked();
                }
                if moved.sessions {
                    coherence.sessions_changed();
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

/// What another process committed since the last poll.
fn poll(location: &Location, me: &str, seen: &mut Seen) -> Result<Moved, StoreError> {
    if seen.connection.is_none() {
        let connection = schema::open_connection(location)?;
        connection
            .pragma_update(None, "query_only", true)
            .map_err(db_error)?;
        seen.connection = Some(connection);
    }
    let Some(connection) = &seen.connection else {
        return Ok(Moved::default());
    };
    let data_version: i64 = connection
        .pragma_query_value(None, "data_version", |row| row.get(0))
        .map_err(db_error)?;
    if seen.data_version == Some(data_version) {
        return Ok(Moved::default());
    }
    seen.data_version = Some(data_version);
    // One read transaction for both, so neither is newer than the other.
    connection.execute_batch("BEGIN").map_err(db_error)?;
    let counters = read_counters(connection, me);
    connection.execute_batch("COMMIT").map_err(db_error)?;
    let (revocations, writers) = counters?;
    let previous = seen.revocations.replace(revocations);
    let previous_writers = seen.session_writers.replace(writers);
    Ok(Moved {
        revocations: previous.is_some_and(|previous| previous != revocations),
        sessions: previous_writers
            .is_some_and(|previous| Some(&previous) != seen.session_writers.as_ref()),
    })
}

/// The revocation counter, and every other writer of sessions with its
/// count, in a stable order.
fn read_counters(
    connection: &Connection,
    me: &str,
) -> Result<(i64, Vec<(String, i64)>), StoreError> {
    let revocations: i64 = connection
        .prepare_cached("SELECT generation FROM revocations")
        .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
        .map_err(db_error)?;
    let writers = connection
        .prepare_cached(
            "SELECT writer, revision FROM session_writers WHERE writer <> ?1 ORDER BY writer",
        )
        .and_then(|mut statement| {
            statement
                .query_map([me], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<Vec<(String, i64)>, _>>()
        })
        .map_err(db_error)?;
    Ok((revocations, writers))
}

/// Counts a write to sessions by the store `writer_id` names, in the
/// writing transaction: what tells other processes' watchers that their
/// cached sessions may be stale.
pub(super) fn count_session_write(writer: &Connection, writer_id: &str) -> Result<(), StoreError> {
    writer
        .prepare_cached(
            "INSERT INTO session_writers (writer, revision) VALUES (?1, 1) \
             ON CONFLICT (writer) DO UPDATE SET revision = revision + 1",
        )
        .and_then(|mut statement| statement.execute([writer_id]))
        .map_err(db_error)?;
    Ok(())
}

/// Bumps the revocation counter, in the revoking write's transaction.
pub(super) fn bump(writer: &Connection) -> Result<(), StoreError> {
    writer
        .prepare_cached("UPDATE revocations SET generation = generation + 1")
        .and_then(|mut statement| statement.execute([]))
        .map_err(db_error)?;
    Ok(())
}
