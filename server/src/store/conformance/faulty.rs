//! A store that fails on demand: every dialect's 500 and 503 answers and
//! readiness are tested against it, over a real store of either kind.

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use crate::domain::Timestamp;
use crate::domain::access_token::AccessToken;
use crate::domain::credential::{Credential, SecretKind, StoredSecret, TemporaryHuaweiKey};
use crate::domain::session::Session;
use crate::pfid::Pfid;
use crate::secrets::SecretHash;
use crate::store::coherence::Coherence;
use crate::store::{
    CredentialStore, JanitorLease, RevokeSessions, RevokeUserSessions, SessionQuery, SessionStore,
    SharedStore, StoreError,
};

/// Which calls fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Faults {
    /// Every write (as a full disk or a read-only database fails them);
    /// reads go on.
    Writes,
    /// Every call.
    Everything,
}

/// What a call does to the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operation {
    Read,
    Write,
}

/// `inner`, failing with a chosen error while told to.
pub struct Faulty {
    inner: SharedStore,
    failing: Mutex<Option<(Faults, StoreError)>>,
}

impl Faulty {
    pub fn new(inner: SharedStore) -> Faulty {
        Faulty {
            inner,
            failing: Mutex::new(None),
        }
    }

    /// From now on, the calls `faults` names fail with `error`.
    pub fn fail(&self, faults: Faults, error: StoreError) {
        *self.failing.lock().unwrap_or_else(PoisonError::into_inner) = Some((faults, error));
    }

    /// From now on, nothing fails.
    pub fn heal(&self) {
        *self.failing.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn fault(&self, operation: Operation) -> Result<(), StoreError> {
        match &*self.failing.lock().unwrap_or_else(PoisonError::into_inner) {
            Some((Faults::Everything, error)) => Err(error.clone()),
            Some((Faults::Writes, error)) if operation == Operation::Write => Err(error.clone()),
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl SessionStore for Faulty {
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        self.fault(Operation::Write)?;
        self.inner.insert_session(session).await
    }

    async fn insert_sessions(&self, sessions: &[Session]) -> Result<(), StoreError> {
        self.fault(Operation::Write)?;
        self.inner.insert_sessions(sessions).await
    }

    async fn begin_bulk_load(&self, incoming: u64) -> Result<(), StoreError> {
        self.fault(Operation::Write)?;
        self.inner.begin_bulk_load(incoming).await
    }

    async fn end_bulk_load(&self) -> Result<(), StoreError> {
        self.fault(Operation::Write)?;
        self.inner.end_bulk_load().await
    }

    async fn session(&self, id: &Pfid) -> Result<Option<Session>, StoreError> {
        self.fault(Operation::Read)?;
        self.inner.session(id).await
    }

    async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<Session>, StoreError> {
        self.fault(Operation::Read)?;
        self.inner.list_sessions(query).await
    }

    async fn count_sessions(&self, query: &SessionQuery) -> Result<u64, StoreError> {
        self.fault(Operation::Read)?;
        self.inner.count_sessions(query).await
    }

    async fn replace_session(
        &self,
        expected_version: u64,
        session: &Session,
    ) -> Result<bool, StoreError> {
        self.fault(Operation::Write)?;
        self.inner.replace_session(expected_version, session).await
    }

    async fn revoke_user_sessions(
        &self,
        request: &RevokeUserSessions,
    ) -> Result<Vec<Pfid>, StoreError> {
        self.fault(Operation::Write)?;
        self.inner.revoke_user_sessions(request).await
    }

    async fn revoke_sessions(&self, request: &RevokeSessions) -> Result<Vec<Pfid>, StoreError> {
        self.fault(Operation::Write)?;
        self.inner.revoke_sessions(request).await
    }

    async fn delete_ended_sessions(
        &self,
        cutoff: Timestamp,
        limit: u32,
    ) -> Result<u64, StoreError> {
        self.fault(Operation::Write)?;
        self.inner.delete_ended_sessions(cutoff, limit).await
    }

    async fn janitor_lease(&self) -> Result<Option<JanitorLease>, StoreError> {
        self.fault(Operation::Read)?;
        self.inner.janitor_lease().await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.fault(Operation::Read)?;
        self.inner.ping().await
    }

    async fn probe_write(&self) -> Result<(), StoreError> {
        self.fault(Operation::Write)?;
        self.inner.probe_write().await
    }
}

#[async_trait]
impl CredentialStore for Faulty {
    async fn insert_credential(
        &self,
        credential: &Credential,
        secrets: &[StoredSecret],
    ) -> Result<(), StoreError> {
        self.fault(Operation::Write)?;
        self.inner.insert_credential(credential, secrets).await
    }

    async fn list_credentials(&self) -> Result<Vec<Credential>, StoreError> {
        self.fault(Operation::Read)?;
        self.inner.list_credentials().await
    }

    async fn credential(&self, id: &Pfid) -> Result<Option<Credential>, StoreError> {
        self.fault(Operation::Read)?;
        self.inner.credential(id).await
    }

    async fn revoke_credential(&self, id: &Pfid, at: Timestamp) -> Result<bool, StoreError> {
        self.fault(Operation::Write)?;
        self.inner.revoke_credential(id, at).await
    }

    async fn credential_by_secret(
        &self,
        kind: SecretKind,
        lookup_key: &str,
    ) -> Result<Option<(Credential, StoredSecret)>, StoreError> {
        self.fault(Operation::Read)?;
        self.inner.credential_by_secret(kind, lookup_key).await
    }

    async fn insert_temporary_huawei_key(
        &self,
        key: &TemporaryHuaweiKey,
    ) -> Result<(), StoreError> {
        self.fault(Operation::Write)?;
        self.inner.insert_temporary_huawei_key(key).await
    }

    async fn temporary_huawei_key(
        &self,
        access_key: &str,
    ) -> Result<Option<(Credential, TemporaryHuaweiKey)>, StoreError> {
        self.fault(Operation::Read)?;
        self.inner.temporary_huawei_key(access_key).await
    }

    async fn insert_access_token(&self, token: &AccessToken) -> Result<(), StoreError> {
        self.fault(Operation::Write)?;
        self.inner.insert_access_token(token).await
    }

    async fn access_token(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<(AccessToken, Credential)>, StoreError> {
        self.fault(Operation::Read)?;
        self.inner.access_token(hash).await
    }

    async fn revoke_access_token(
        &self,
        hash: &SecretHash,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.fault(Operation::Write)?;
        self.inner.revoke_access_token(hash, at).await
    }

    async fn delete_expired_access_tokens(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.fault(Operation::Write)?;
        self.inner.delete_expired_access_tokens(now).await
    }

    async fn sealed_values(&self) -> Result<Vec<crate::store::SealedValue>, StoreError> {
        self.fault(Operation::Read)?;
        self.inner.sealed_values().await
    }

    async fn reseal(
        &self,
        value: &crate::store::SealedValue,
        resealed: &[u8],
    ) -> Result<bool, StoreError> {
        self.fault(Operation::Write)?;
        self.inner.reseal(value, resealed).await
    }

    fn coherence(&self) -> Arc<Coherence> {
        self.inner.coherence()
    }
}
