//! Persistence: what the server needs from a database, as traits, and the
//! implementations of them.
//!
//! [`SessionStore`] and [`CredentialStore`] describe behaviour, not SQL; the
//! domain decides every transition, the store persists it. Every
//! implementation must pass the one conformance suite in [`conformance`],
//! which the SQLite store (the embedded default) runs in its unit tests and
//! which the PostgreSQL store runs unchanged from the tests crate.
//!
//! # Revoking all of a user's sessions
//!
//! [`SessionStore::revoke_user_sessions`] does not only end the sessions it
//! finds: it records a *revocation mark* (user, identity store or every
//! store, time). A session of that user created before the mark, whose
//! insert lands after the revocation ran (its request raced the revocation
//! and lost), is stored revoked at the mark's time, exactly as the
//! revocation would have left it had the insert come first
//! ([`apply_revocation_marks`]). Each store makes the check and the insert
//! one atomic step against revocations. A session created *without* a user
//! and authenticated as the user after the revocation is a login after
//! the revocation and stays live.

pub mod coherence;
/// The conformance suite is test code: compiled for this crate's tests and,
/// through the `test-support` feature, for the tests crate, never into the
/// server a user runs.
#[cfg(any(test, feature = "test-support"))]
pub mod conformance;
pub mod credential_cache;
pub mod postgres;
pub(crate) mod rows;
pub mod session_cache;
pub(crate) mod sql;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::Timestamp;
use crate::domain::access_token::AccessToken;
use crate::domain::credential::{Credential, SecretKind, StoredSecret, TemporaryHuaweiKey};
use crate::domain::session::{Session, Status};
use crate::pfid::Pfid;
use crate::secrets::SecretHash;

/// A store failure. None of them is the caller's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A row with this key exists already.
    #[error("{0} already exists")]
    Duplicate(String),
    /// The database cannot be reached or is busy beyond the timeout.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// A row could not be read back into the domain: the database holds
    /// something this server never writes.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Any other database failure.
    #[error("store failure: {0}")]
    Internal(String),
}

/// Which sessions a listing returns. Filters combine with AND; status and
/// liveness are judged at `now`, as [`Session::effective_status`] and
/// [`Session::is_live`] do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionQuery {
    pub identity_store_id: Option<String>,
    pub user_id: Option<String>,
    /// The effective status: `Complete` also matches expired sessions; an
    /// open status matches only unexpired sessions in it.
    pub status: Option<Status>,
    pub live: Option<bool>,
    pub now: Timestamp,
    /// The listing order (ids are time-ordered, so this is creation order).
    pub order: SessionOrder,
    /// Keyset pagination: only sessions strictly past this id in the
    /// listing order.
    pub cursor: Option<Pfid>,
    /// Offset pagination: skip this many matching sessions first.
    pub offset: u32,
    /// At most this many sessions.
    pub limit: u32,
}

/// The order of a listing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SessionOrder {
    /// Greatest id (latest created) first.
    #[default]
    NewestFirst,
    /// Smallest id (earliest created) first.
    OldestFirst,
}

/// Revoke every live session of a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokeUserSessions {
    pub user_id: String,
    pub identity_store_id: Option<String>,
    pub except_session_id: Option<Pfid>,
    pub now: Timestamp,
}

/// Revoke some sessions of one user in one identity store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokeSessions {
    pub identity_store_id: String,
    pub user_id: String,
    /// The sessions to revoke; those that are not live sessions of the user
    /// in the store are left alone. Duplicates are fine.
    pub ids: Vec<Pfid>,
    pub now: Timestamp,
}

/// Where a value sealed with the server key is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SealedPlace {
    /// A credential's secret of this kind and lookup key.
    Secret { kind: String, lookup_key: String },
    /// A temporary Huawei key's secret key.
    TemporaryHuaweiKey { access_key: String },
}

/// A value sealed with the server key, where it is kept, and the context
/// it is bound to (a credential secret's: its credential's id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedValue {
    pub place: SealedPlace,
    pub context: Vec<u8>,
    pub sealed: Vec<u8>,
}

/// A revocation mark: `revoke_user_sessions` ran for a user at
/// `revoked_at`, in one identity store or (`None`) in every store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevocationMark {
    pub identity_store_id: Option<String>,
    pub revoked_at: Timestamp,
}

/// What `session`, about to be inserted, must be stored as given its
/// user's revocation marks: `None` if no mark touches it, else the session
/// revoked as the earliest mark that would have found it live (open, in
/// the mark's store, created before the mark and expiring after it) left
/// it: `revoked`, ended at the mark's time, its version bumped. Both stores
/// apply this inside the transaction that inserts the session.
pub fn apply_revocation_marks(session: &Session, marks: &[RevocationMark]) -> Option<Session> {
    if session.user_id.is_none() || !session.status.is_open() {
        return None;
    }
    let revoked_at = marks
        .iter()
        .filter(|mark| {
            mark.identity_store_id
                .as_ref()
                .is_none_or(|store| *store == session.identity_store_id)
                && session.created_at < mark.revoked_at
                && session.expires_at > mark.revoked_at
        })
        .map(|mark| mark.revoked_at)
        .min()?;
    let mut revoked = session.clone();
    revoked.status = Status::Revoked;
    revoked.ended_at = Some(revoked_at);
    revoked.version = revoked.version.saturating_add(1);
    Some(revoked)
}

/// The right to run one janitor round, held by at most one process among
/// all that share the database; given up when dropped.
pub struct JanitorLease {
    _held: Box<dyn std::any::Any + Send + Sync>,
}

impl JanitorLease {
    /// A lease kept as long as `held` (a connection holding a lock, say).
    pub fn new(held: impl std::any::Any + Send + Sync) -> JanitorLease {
        JanitorLease {
            _held: Box::new(held),
        }
    }
}

impl std::fmt::Debug for JanitorLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JanitorLease")
    }
}

/// Where sessions live.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Stores a new session. `Duplicate` if the id exists. A session its
    /// user's revocation marks would have revoked is stored revoked (see
    /// [`apply_revocation_marks`]).
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError>;

    /// Stores many new sessions in one transaction (seeding, bulk loads):
    /// all or none, revocation marks applied as by `insert_session`.
    async fn insert_sessions(&self, sessions: &[Session]) -> Result<(), StoreError>;

    /// Announces a bulk load of `incoming` sessions through
    /// [`Self::insert_sessions`]; [`Self::end_bulk_load`] must follow,
    /// whether or not the load succeeded. A store may set aside work it
    /// does faster once for all the rows: SQLite and PostgreSQL drop the
    /// secondary indexes of sessions when they hold fewer sessions than
    /// are coming, and build them again at the end. Every reader sees the
    /// same answers meanwhile, only slower. Indexes an interrupted load
    /// left set aside are built when the store is next opened.
    async fn begin_bulk_load(&self, incoming: u64) -> Result<(), StoreError>;

    /// Ends a bulk load: builds what [`Self::begin_bulk_load`] set aside.
    async fn end_bulk_load(&self) -> Result<(), StoreError>;

    /// The session with this id, in whatever state.
    async fn session(&self, id: &Pfid) -> Result<Option<Session>, StoreError>;

    /// Sessions matching the query, in its order, from its cursor and
    /// offset, at most its limit.
    async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<Session>, StoreError>;

    /// How many sessions match the query's filters (its order, cursor,
    /// offset and limit play no part).
    async fn count_sessions(&self, query: &SessionQuery) -> Result<u64, StoreError>;

    /// Writes `session` over the stored row if the stored version is still
    /// `expected_version` (optimistic concurrency: `session.version` is the
    /// new version). Returns false, writing nothing, if the row changed
    /// meanwhile or does not exist.
    async fn replace_session(
        &self,
        expected_version: u64,
        session: &Session,
    ) -> Result<bool, StoreError>;

    /// Revokes, in one atomic step, every session of the user that is live
    /// at `now` (optionally in one store, optionally but one), and returns
    /// the ids revoked. A session changed concurrently through
    /// `replace_session` is either revoked here or was changed before;
    /// never both lost. Records a revocation mark at `now` for the user
    /// and store (kept if a later one exists), so that sessions of the
    /// user created before `now` and inserted after are stored revoked;
    /// those are not in the returned ids.
    async fn revoke_user_sessions(
        &self,
        request: &RevokeUserSessions,
    ) -> Result<Vec<Pfid>, StoreError>;

    /// Revokes, in one atomic step, those of `request.ids` that are
    /// sessions of the user in the identity store and live at `now`, and
    /// returns the ids revoked, sorted. Like [`Self::revoke_user_sessions`],
    /// a concurrent `replace_session` either happened before or fails.
    async fn revoke_sessions(&self, request: &RevokeSessions) -> Result<Vec<Pfid>, StoreError>;

    /// Deletes, in one bounded batch, at most `limit` sessions that ended
    /// before `cutoff` (ended by a logout or revocation: `ended_at`; or
    /// expired: `expires_at`), and returns how many it deleted. Never waits
    /// for rows other writers hold: those are left for a later batch.
    async fn delete_ended_sessions(&self, cutoff: Timestamp, limit: u32)
    -> Result<u64, StoreError>;

    /// The right to run a janitor round now, or `None` if another process
    /// sharing the database holds it (skip the round). Never waits.
    async fn janitor_lease(&self) -> Result<Option<JanitorLease>, StoreError>;

    /// Whether the store answers reads (for readiness).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Whether the store accepts a write (for readiness): writes and
    /// commits something harmless, so that a full disk, a read-only
    /// database or (SQLite) a file deleted or replaced under the server is
    /// `Unavailable` here before a request meets it.
    async fn probe_write(&self) -> Result<(), StoreError>;
}

/// Where credentials live.
#[async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    /// Stores a new credential with its secrets, all or nothing.
    /// `Duplicate` if the id exists, or a secret whose kind and lookup key
    /// another credential's secret has.
    async fn insert_credential(
        &self,
        credential: &Credential,
        secrets: &[StoredSecret],
    ) -> Result<(), StoreError>;

    /// Every credential, revoked ones included, oldest first.
    async fn list_credentials(&self) -> Result<Vec<Credential>, StoreError>;

    /// The credential with this id, revoked or not.
    async fn credential(&self, id: &Pfid) -> Result<Option<Credential>, StoreError>;

    /// Marks the credential revoked at `at`. False if there is no such
    /// credential or it was revoked already.
    async fn revoke_credential(&self, id: &Pfid, at: Timestamp) -> Result<bool, StoreError>;

    /// The unrevoked credential with a secret of this kind and lookup key,
    /// and that secret.
    async fn credential_by_secret(
        &self,
        kind: SecretKind,
        lookup_key: &str,
    ) -> Result<Option<(Credential, StoredSecret)>, StoreError>;

    /// Stores a temporary Huawei key of an existing credential.
    /// `Duplicate` if a temporary key with this access key exists; an
    /// error (of any kind) if the parent credential does not exist.
    async fn insert_temporary_huawei_key(&self, key: &TemporaryHuaweiKey)
    -> Result<(), StoreError>;

    /// The temporary Huawei key with this access key and its parent
    /// credential, while the parent is not revoked. Expired keys are found
    /// too: the caller judges expiry by its clock.
    async fn temporary_huawei_key(
        &self,
        access_key: &str,
    ) -> Result<Option<(Credential, TemporaryHuaweiKey)>, StoreError>;

    /// Stores a new access token of an existing credential. `Duplicate` if
    /// its hash exists.
    async fn insert_access_token(&self, token: &AccessToken) -> Result<(), StoreError>;

    /// The access token whose hash is `hash`, in whatever state (revoked,
    /// expired), with its credential, as long as that credential is not
    /// revoked: a revoked credential's tokens are not found.
    async fn access_token(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<(AccessToken, Credential)>, StoreError>;

    /// Revokes, in one atomic step, the access token whose hash is `hash` if
    /// it is live at `at` (not revoked, not expired). False, writing
    /// nothing, otherwise: of two concurrent logouts with one token, one
    /// succeeds.
    async fn revoke_access_token(
        &self,
        hash: &SecretHash,
        at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Deletes every access token that expired at or before `now` (they can
    /// never work again) and returns how many.
    async fn delete_expired_access_tokens(&self, now: Timestamp) -> Result<u64, StoreError>;

    /// Every value sealed with the server key (for `key rotate`).
    async fn sealed_values(&self) -> Result<Vec<SealedValue>, StoreError>;

    /// Replaces `value` with `resealed` if its place still holds
    /// `value.sealed`; whether it did.
    async fn reseal(&self, value: &SealedValue, resealed: &[u8]) -> Result<bool, StoreError>;

    /// How caches in front of this store hear of revocations made through
    /// other processes sharing the database (see [`coherence`]). The first
    /// call starts watching; every call returns the same one.
    fn coherence(&self) -> Arc<coherence::Coherence>;
}

/// Everything the server keeps.
pub trait Store: SessionStore + CredentialStore {}

impl<T: SessionStore + CredentialStore> Store for T {}

/// The store the server runs on, shared by every request.
pub type SharedStore = Arc<dyn Store>;

/// Where sessions live, as the session service and the janitor see it.
pub type SharedSessions = Arc<dyn SessionStore>;

/// Where credentials live, as the credential service and the
/// authenticators see it (through the credential cache, when it is on).
pub type SharedCredentials = Arc<dyn CredentialStore>;

/// Adds where an error happened to its message, keeping its kind.
pub(crate) fn in_context(error: StoreError, place: impl std::fmt::Display) -> StoreError {
    match error {
        StoreError::Duplicate(message) => StoreError::Duplicate(message),
        StoreError::Unavailable(message) => StoreError::Unavailable(format!("{place}: {message}")),
        StoreError::Corrupt(message) => StoreError::Corrupt(format!("{place}: {message}")),
        StoreError::Internal(message) => StoreError::Internal(format!("{place}: {message}")),
    }
}

/// `name` as an SQL identifier.
pub(crate) fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
