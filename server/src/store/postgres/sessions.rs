//! [`SessionStore`] on PostgreSQL: [`super::sql`]'s statements, plus what
//! only PostgreSQL has: per-user advisory locks between a revocation and
//! the inserts of its user, pipelined bulk inserts, `FOR UPDATE SKIP
//! LOCKED` for the janitor and a session-level lock for its lease.

use std::collections::BTreeSet;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use super::schema::{build_deferred_indexes, defer_session_indexes, schema_version};
use super::{
    JANITOR_LOCK, PostgresStore, SCHEMA_VERSION, STATEMENTS, USER_LOCK_CLASS, column, db_error,
    params, watch,
};
use crate::domain::session::Session;
use crate::domain::{Timestamp, to_unix_millis};
use crate::pfid::Pfid;
use crate::store::rows::{Columns, decode_session};
use crate::store::sql::{self, EVERY_STORE, Placeholders};
use crate::store::{
    JanitorLease, RevocationMark, RevokeSessions, RevokeUserSessions, SessionQuery, SessionStore,
    StoreError, apply_revocation_marks,
};

/// How many inserts of a bulk insert are in flight at once on the
/// connection.
const PIPELINED_INSERTS: usize = 512;

const LOCK_USER: &str = "SELECT pg_advisory_xact_lock($1, $2)";

/// Deletes a batch of sessions that ended before `$1`, skipping rows a
/// writer holds.
const DELETE_ENDED: &str = "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions \
     WHERE ended_at < $1 OR expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)";

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
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let Some(user) = marked_user(session) else {
            let statement = client
                .prepare_cached(&STATEMENTS.insert_session)
                .await
                .map_err(db_error)?;
            let values = sql::session_values(session)?;
            client
                .execute(&statement, &params(&values))
                .await
                .map_err(|error| sql::duplicate_session(db_error(error), &session.id))?;
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
            .prepare_cached(&STATEMENTS.revocation_marks_of_user)
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
        let values = sql::session_values(marked.as_ref().unwrap_or(session))?;
        let statement = transaction
            .prepare_cached(&STATEMENTS.insert_session)
            .await
            .map_err(db_error)?;
        transaction
            .execute(&statement, &params(&values))
            .await
            .map_err(|error| sql::duplicate_session(db_error(error), &session.id))?;
        transaction.commit().await.map_err(db_error)
    }

    async fn insert_sessions(&self, sessions: &[Session]) -> Result<(), StoreError> {
        if sessions.is_empty() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(db_error)?;
        // One notification for the whole load rather than one per row
        // (see the migration `0005_session_notifications`).
        transaction
            .batch_execute(&format!(
                "SET LOCAL login_sessions.bulk_load = 'on'; SELECT pg_notify('{}', '{}')",
                watch::SESSIONS,
                watch::EVERY_SESSION
            ))
            .await
            .map_err(db_error)?;
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
            .prepare_cached(&STATEMENTS.insert_session)
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
            .map(|(session, marked)| sql::session_values(marked.as_ref().unwrap_or(session)))
            .collect::<Result<Vec<_>, _>>()?;
        // The inserts of a chunk are sent without waiting for each answer
        // (the client pipelines them on its connection): one round trip per
        // chunk instead of one per session. Answers come back in order, so
        // the first error is the first failing insert's.
        for (rows, sessions) in rows
            .chunks(PIPELINED_INSERTS)
            .zip(sessions.chunks(PIPELINED_INSERTS))
        {
            futures::future::try_join_all(rows.iter().zip(sessions).map(|(values, session)| {
                let statement = &statement;
                let transaction = &transaction;
                async move {
                    transaction
                        .execute(statement, &params(values))
                        .await
                        .map_err(|error| sql::duplicate_session(db_error(error), &session.id))
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
            .prepare_cached(&STATEMENTS.session)
            .await
            .map_err(db_error)?;
        let row = client
            .query_opt(&statement, &[&id.as_str()])
            .await
            .map_err(db_error)?;
        row.as_ref().map(decode_session).transpose()
    }

    async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<Session>, StoreError> {
        let (sql, values) = sql::listing(query, Placeholders::Dollar);
        let client = self.client().await?;
        let statement = client.prepare_cached(&sql).await.map_err(db_error)?;
        let rows = client
            .query(&statement, &params(&values))
            .await
            .map_err(db_error)?;
        rows.iter().map(decode_session).collect()
    }

    async fn count_sessions(&self, query: &SessionQuery) -> Result<u64, StoreError> {
        let (sql, values) = sql::count(query, Placeholders::Dollar);
        let client = self.client().await?;
        let statement = client.prepare_cached(&sql).await.map_err(db_error)?;
        let row = client
            .query_one(&statement, &params(&values))
            .await
            .map_err(db_error)?;
        sql::count_from_sql(column(&row, 0, "count", "count")?)
    }

    async fn replace_session(
        &self,
        expected_version: u64,
        session: &Session,
    ) -> Result<bool, StoreError> {
        let values = sql::replace_values(session, expected_version)?;
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&STATEMENTS.replace_session)
            .await
            .map_err(db_error)?;
        let changed = client
            .execute(&statement, &params(&values))
            .await
            .map_err(db_error)?;
        Ok(changed == 1)
    }

    async fn revoke_user_sessions(
        &self,
        request: &RevokeUserSessions,
    ) -> Result<Vec<Pfid>, StoreError> {
        let (sql, values) = sql::revoke_user_sessions(request, Placeholders::Dollar);
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
            .prepare_cached(&STATEMENTS.upsert_revocation_mark)
            .await
            .map_err(db_error)?;
        transaction
            .execute(
                &upsert,
                &[&request.user_id, &scope, &to_unix_millis(request.now)],
            )
            .await
            .map_err(db_error)?;
        // A statement of its own, after the lock: its snapshot includes
        // every insert of the user that took the lock first.
        let statement = transaction.prepare_cached(&sql).await.map_err(db_error)?;
        let rows = transaction
            .query(&statement, &params(&values))
            .await
            .map_err(db_error)?;
        let revoked = revoked_ids(&rows)?;
        transaction.commit().await.map_err(db_error)?;
        Ok(revoked)
    }

    async fn revoke_sessions(&self, request: &RevokeSessions) -> Result<Vec<Pfid>, StoreError> {
        let mut ids: Vec<&str> = request.ids.iter().map(Pfid::as_str).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // The set as one array parameter: one statement text whatever its
        // size, so the statement cache serves it.
        let sql = sql::revoke_sessions(Placeholders::Dollar, "= ANY($4)");
        let client = self.client().await?;
        let statement = client.prepare_cached(&sql).await.map_err(db_error)?;
        let rows = client
            .query(
                &statement,
                &[
                    &to_unix_millis(request.now),
                    &request.identity_store_id,
                    &request.user_id,
                    &ids,
                ],
            )
            .await
            .map_err(db_error)?;
        revoked_ids(&rows)
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

    /// Rewrites the latest migration's row with its own values: a real
    /// write, refused by a read-only server or a full disk, that changes
    /// nothing.
    async fn probe_write(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .batch_execute(
                "UPDATE login_sessions_schema SET applied_at = applied_at \
                 WHERE version = (SELECT max(version) FROM login_sessions_schema)",
            )
            .await
            .map_err(db_error)
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

/// The ids a revoking `UPDATE ... RETURNING id` returned, sorted.
fn revoked_ids(rows: &[Row]) -> Result<Vec<Pfid>, StoreError> {
    let mut revoked = rows
        .iter()
        .map(|row| Columns::of(row, "session").pfid(0, "id"))
        .collect::<Result<Vec<_>, _>>()?;
    revoked.sort_unstable();
    Ok(revoked)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_lock_keys_are_stable() {
        assert_eq!(user_lock_key("u1"), user_lock_key("u1"));
        assert_ne!(user_lock_key("u1"), user_lock_key("u2"));
    }
}
