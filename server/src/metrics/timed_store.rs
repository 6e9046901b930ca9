//! Store latency at one seam: [`TimedStore`] wraps the store `serve` runs
//! on and times every call into it, by the method called
//! (`store_query_duration_seconds{query}`), counting failures by kind
//! (`store_errors_total{query,error}`).
//!
//! It sits under the credential cache, so a lookup the cache answers is no
//! store call. `serve` wraps its store only when metrics are on
//! (`--metrics-bind`): otherwise calls go straight to the store.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use crate::domain::Timestamp;
use crate::domain::access_token::AccessToken;
use crate::domain::credential::{Credential, SecretKind, StoredSecret, TemporaryHuaweiKey};
use crate::domain::session::Session;
use crate::pfid::Pfid;
use crate::secrets::SecretHash;
use crate::store::coherence::Coherence;
use crate::store::{
    CredentialStore, JanitorLease, RevokeSessions, RevokeUserSessions, SealedValue, SessionQuery,
    SessionStore, SharedStore, StoreError,
};

/// A store whose every call is timed into [`super::global`].
pub struct TimedStore {
    inner: SharedStore,
}

impl TimedStore {
    /// `inner`, timed.
    pub fn wrap(inner: SharedStore) -> SharedStore {
        Arc::new(TimedStore { inner })
    }
}

/// Awaits `call`, a store call of kind `query`, and records how long it
/// took and whether it failed.
async fn timed<T>(
    query: &'static str,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let started = Instant::now();
    let result = call.await;
    super::global()
        .store
        .query_completed(query, started.elapsed(), result.as_ref().err());
    result
}

#[async_trait]
impl SessionStore for TimedStore {
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        timed("insert_session", self.inner.insert_session(session)).await
    }

    async fn insert_sessions(&self, sessions: &[Session]) -> Result<(), StoreError> {
        timed("insert_sessions", self.inner.insert_sessions(sessions)).await
    }

    async fn begin_bulk_load(&self, incoming: u64) -> Result<(), StoreError> {
        timed("begin_bulk_load", self.inner.begin_bulk_load(incoming)).await
    }

    async fn end_bulk_load(&self) -> Result<(), StoreError> {
        timed("end_bulk_load", self.inner.end_bulk_load()).await
    }

    async fn session(&self, id: &Pfid) -> Result<Option<Session>, StoreError> {
        timed("session", self.inner.session(id)).await
    }

    async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<Session>, StoreError> {
        timed("list_sessions", self.inner.list_sessions(query)).await
    }

    async fn count_sessions(&self, query: &SessionQuery) -> Result<u64, StoreError> {
        timed("count_sessions", self.inner.count_sessions(query)).await
    }

    async fn replace_session(
        &self,
        expected_version: u64,
        session: &Session,
    ) -> Result<bool, StoreError> {
        timed(
            "replace_session",
            self.inner.replace_session(expected_version, session),
        )
        .await
    }

    async fn revoke_user_sessions(
        &self,
        request: &RevokeUserSessions,
    ) -> Result<Vec<Pfid>, StoreError> {
        timed(
            "revoke_user_sessions",
            self.inner.revoke_user_sessions(request),
        )
        .await
    }

    async fn revoke_sessions(&self, request: &RevokeSessions) -> Result<Vec<Pfid>, StoreError> {
        timed("revoke_sessions", self.inner.revoke_sessions(request)).await
    }

    async fn delete_ended_sessions(
        &self,
        cutoff: Timestamp,
        limit: u32,
    ) -> Result<u64, StoreError> {
        timed(
            "delete_ended_sessions",
            self.inner.delete_ended_sessions(cutoff, limit),
        )
        .await
    }

    async fn janitor_lease(&self) -> Result<Option<JanitorLease>, StoreError> {
        timed("janitor_lease", self.inner.janitor_lease()).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        timed("ping", self.inner.ping()).await
    }

    async fn probe_write(&self) -> Result<(), StoreError> {
        timed("probe_write", self.inner.probe_write()).await
    }
}

#[async_trait]
impl CredentialStore for TimedStore {
    async fn insert_credential(
        &self,
        credential: &Credential,
        secrets: &[StoredSecret],
    ) -> Result<(), StoreError> {
        timed(
            "insert_credential",
            self.inner.insert_credential(credential, secrets),
        )
        .await
    }

    async fn list_credentials(&self) -> Result<Vec<Credential>, StoreError> {
        timed("list_credentials", self.inner.list_credentials()).await
    }

    async fn credential(&self, id: &Pfid) -> Result<Option<Credential>, StoreError> {
        timed("credential", self.inner.credential(id)).await
    }

    async fn revoke_credential(&self, id: &Pfid, at: Timestamp) -> Result<bool, StoreError> {
        timed("revoke_credential", self.inner.revoke_credential(id, at)).await
    }

    async fn credential_by_secret(
        &self,
        kind: SecretKind,
        lookup_key: &str,
    ) -> Result<Option<(Credential, StoredSecret)>, StoreError> {
        timed(
            "credential_by_secret",
            self.inner.credential_by_secret(kind, lookup_key),
        )
        .await
    }

    async fn insert_temporary_huawei_key(
        &self,
        key: &TemporaryHuaweiKey,
    ) -> Result<(), StoreError> {
        timed(
            "insert_temporary_huawei_key",
            self.inner.insert_temporary_huawei_key(key),
        )
        .await
    }

    async fn temporary_huawei_key(
        &self,
        access_key: &str,
    ) -> Result<Option<(Credential, TemporaryHuaweiKey)>, StoreError> {
        timed(
            "temporary_huawei_key",
            self.inner.temporary_huawei_key(access_key),
        )
        .await
    }

    async fn insert_access_token(&self, token: &AccessToken) -> Result<(), StoreError> {
        timed("insert_access_token", self.inner.insert_access_token(token)).await
    }

    async fn access_token(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<(AccessToken, Credential)>, StoreError> {
        timed("access_token", self.inner.access_token(hash)).await
    }

    async fn revoke_access_token(
        &self,
        hash: &SecretHash,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        timed(
            "revoke_access_token",
            self.inner.revoke_access_token(hash, at),
        )
        .await
    }

    async fn delete_expired_access_tokens(&self, now: Timestamp) -> Result<u64, StoreError> {
        timed(
            "delete_expired_access_tokens",
            self.inner.delete_expired_access_tokens(now),
        )
        .await
    }

    async fn sealed_values(&self) -> Result<Vec<SealedValue>, StoreError> {
        timed("sealed_values", self.inner.sealed_values()).await
    }

    async fn reseal(&self, value: &SealedValue, resealed: &[u8]) -> Result<bool, StoreError> {
        timed("reseal", self.inner.reseal(value, resealed)).await
    }

    fn coherence(&self) -> Arc<Coherence> {
        self.inner.coherence()
    }
}
