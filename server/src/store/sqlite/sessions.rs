//! [`SessionStore`] on SQLite. Reads run on the caller's thread against a
//! reader connection; writes are closures the writer thread runs, each in
//! the transaction it commits with the writes waiting beside it.

use async_trait::async_trait;
use rusqlite::{Connection, params_from_iter};

use super::schema::{build_deferred_indexes, defer_session_indexes, with_bulk_cache};
use super::{BULK_ROWS, SCHEMA_VERSION, STATEMENTS, SqliteStore, db_error, watch};
use crate::domain::Timestamp;
use crate::domain::session::Session;
use crate::pfid::Pfid;
use crate::store::rows::{Columns, Record, decode_session};
use crate::store::sql::{self, EVERY_STORE, Placeholders, SqlValue};
use crate::store::{
    JanitorLease, RevocationMark, RevokeSessions, RevokeUserSessions, SessionQuery, SessionStore,
    StoreError, apply_revocation_marks,
};

/// [`sql::Statements::replace_session`] for the common change that leaves
/// every indexed column as it is (an interaction): those columns are not
/// assigned, so SQLite leaves the five indexes alone instead of rewriting
/// an entry in each, and the row is only written if they indeed hold
/// those values. (PostgreSQL makes the same saving itself: an update that
/// changes no indexed column is a heap-only tuple update.)
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

#[async_trait]
impl SessionStore for SqliteStore {
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        let session = session.clone();
        let me = self.writer_id.clone();
        self.writer
            .write(move |writer| {
                watch::count_session_write(writer, &me)?;
                insert_sessions(writer, std::slice::from_ref(&session))
            })
            .await
    }

    async fn insert_sessions(&self, sessions: &[Session]) -> Result<(), StoreError> {
        if sessions.is_empty() {
            return Ok(());
        }
        let sessions = sessions.to_vec();
        let me = self.writer_id.clone();
        self.writer
            .write(move |writer| {
                watch::count_session_write(writer, &me)?;
                insert_sessions(writer, &sessions)
            })
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
        let reader = self.reader();
        let mut statement = reader
            .prepare_cached(&STATEMENTS.session)
            .map_err(db_error)?;
        let mut rows = statement.query([id.as_str()]).map_err(db_error)?;
        match rows.next().map_err(db_error)? {
            Some(row) => decode_session(row).map(Some),
            None => Ok(None),
        }
    }

    async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<Session>, StoreError> {
        let (sql, values) = sql::listing(query, Placeholders::Question);
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

    async fn count_sessions(&self, query: &SessionQuery) -> Result<u64, StoreError> {
        let (sql, values) = sql::count(query, Placeholders::Question);
        let reader = self.reader();
        let mut statement = reader.prepare_cached(&sql).map_err(db_error)?;
        let count: i64 = statement
            .query_row(params_from_iter(values), |row| row.get(0))
            .map_err(db_error)?;
        sql::count_from_sql(count)
    }

    async fn replace_session(
        &self,
        expected_version: u64,
        session: &Session,
    ) -> Result<bool, StoreError> {
        let session = session.clone();
        let me = self.writer_id.clone();
        self.writer
            .write(move |writer| {
                watch::count_session_write(writer, &me)?;
                replace_session(writer, expected_version, &session)
            })
            .await
    }

    async fn revoke_user_sessions(
        &self,
        request: &RevokeUserSessions,
    ) -> Result<Vec<Pfid>, StoreError> {
        let request = request.clone();
        let me = self.writer_id.clone();
        self.writer
            .write(move |writer| {
                watch::count_session_write(writer, &me)?;
                revoke_user_sessions(writer, &request)
            })
            .await
    }

    async fn revoke_sessions(&self, request: &RevokeSessions) -> Result<Vec<Pfid>, StoreError> {
        let request = request.clone();
        let me = self.writer_id.clone();
        self.writer
            .write(move |writer| {
                watch::count_session_write(writer, &me)?;
                revoke_sessions(writer, &request)
            })
            .await
    }

    async fn delete_ended_sessions(
        &self,
        cutoff: Timestamp,
        limit: u32,
    ) -> Result<u64, StoreError> {
        self.writer
            .write(move |writer| delete_ended_sessions(writer, cutoff, limit))
            .await
    }

    /// One file has one server: the lease is always free (the writer lock
    /// serialises the janitor's batches with everything else anyway).
    async fn janitor_lease(&self) -> Result<Option<JanitorLease>, StoreError> {
        Ok(Some(JanitorLease::new(())))
    }

    /// Rewrites the schema version with its own value: a real write (the
    /// header page goes through the log) that changes nothing.
    async fn probe_write(&self) -> Result<(), StoreError> {
        self.writer
            .write(|writer| {
                writer
                    .pragma_update(None, "user_version", SCHEMA_VERSION)
                    .map_err(db_error)
            })
            .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        if let Some(identity) = &self.identity {
            identity.check()?;
        }
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
}

// ---------------------------------------------------------------------------
// Writes, run by the writer thread.

fn insert_sessions(writer: &Connection, sessions: &[Session]) -> Result<(), StoreError> {
    if sessions.len() < BULK_ROWS {
        return insert_sessions_in(writer, sessions);
    }
    // A bulk load touches index pages all over the file: a larger page
    // cache for its duration keeps them from being evicted each batch.
    with_bulk_cache(writer, |writer| insert_sessions_in(writer, sessions))
}

/// Inserts the sessions in one transaction, with one prepared statement,
/// each as its user's revocation marks leave it.
fn insert_sessions_in(transaction: &Connection, sessions: &[Session]) -> Result<(), StoreError> {
    let mut statement = transaction
        .prepare_cached(&STATEMENTS.insert_session)
        .map_err(db_error)?;
    // The marks are read inside the write transaction, so no revocation
    // can slip between the check and the insert. A bulk load into a store
    // nobody revoked from skips looking up each user's; for a few
    // sessions, asking first would cost a query more.
    let marks_may_apply = sessions.len() < BULK_ROWS || any_revocation_marks(transaction)?;
    for session in sessions {
        let marked = match &session.user_id {
            Some(user) if marks_may_apply && session.status.is_open() => {
                let marks = revocation_marks(transaction, user)?;
                apply_revocation_marks(session, &marks)
            }
            _ => None,
        };
        let values = sql::session_values(marked.as_ref().unwrap_or(session))?;
        statement
            .execute(params_from_iter(values))
            .map_err(|error| sql::duplicate_session(db_error(error), &session.id))?;
    }
    Ok(())
}

fn replace_session(
    writer: &Connection,
    expected_version: u64,
    session: &Session,
) -> Result<bool, StoreError> {
    let values = sql::replace_values(session, expected_version)?;
    for statement in [REPLACE_SESSION_KEEPING_INDEXED, &STATEMENTS.replace_session] {
        let mut statement = writer.prepare_cached(statement).map_err(db_error)?;
        if statement
            .execute(params_from_iter(&values))
            .map_err(db_error)?
            == 1
        {
            return Ok(true);
        }
    }
    // Either the indexed columns changed and the full update found another
    // version too, or there is no such session.
    Ok(false)
}

fn revoke_user_sessions(
    transaction: &Connection,
    request: &RevokeUserSessions,
) -> Result<Vec<Pfid>, StoreError> {
    transaction
        .prepare_cached(&STATEMENTS.upsert_revocation_mark)
        .map_err(db_error)?
        .execute(rusqlite::params![
            request.user_id,
            request.identity_store_id.as_deref().unwrap_or(EVERY_STORE),
            crate::domain::to_unix_millis(request.now),
        ])
        .map_err(db_error)?;
    let (sql, values) = sql::revoke_user_sessions(request, Placeholders::Question);
    let mut statement = transaction.prepare_cached(&sql).map_err(db_error)?;
    revoked_ids(&mut statement, values)
}

fn revoke_sessions(
    transaction: &Connection,
    request: &RevokeSessions,
) -> Result<Vec<Pfid>, StoreError> {
    let mut ids: Vec<&Pfid> = request.ids.iter().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let first = 4;
    let list = (first..first + ids.len())
        .map(|n| Placeholders::Question.nth(n))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = sql::revoke_sessions(Placeholders::Question, &format!("IN ({list})"));
    let mut values = vec![
        SqlValue::Integer(crate::domain::to_unix_millis(request.now)),
        SqlValue::Text(request.identity_store_id.as_str().into()),
        SqlValue::Text(request.user_id.as_str().into()),
    ];
    values.extend(ids.iter().map(|id| SqlValue::Text(id.as_str().into())));
    // Not cached: the statement text varies with the number of ids.
    let mut statement = transaction.prepare(&sql).map_err(db_error)?;
    revoked_ids(&mut statement, values)
}

/// The ids a revoking `UPDATE ... RETURNING id` returns, sorted.
fn revoked_ids(
    statement: &mut rusqlite::Statement<'_>,
    values: Vec<SqlValue<'_>>,
) -> Result<Vec<Pfid>, StoreError> {
    let mut rows = statement
        .query(params_from_iter(values))
        .map_err(db_error)?;
    let mut revoked = Vec::new();
    while let Some(row) = rows.next().map_err(db_error)? {
        revoked.push(Columns::of(row, "session").pfid(0, "id")?);
    }
    revoked.sort_unstable();
    Ok(revoked)
}

fn delete_ended_sessions(
    writer: &Connection,
    cutoff: Timestamp,
    limit: u32,
) -> Result<u64, StoreError> {
    let cutoff = crate::domain::to_unix_millis(cutoff);
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
        .prepare_cached(&STATEMENTS.revocation_marks_of_user)
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
