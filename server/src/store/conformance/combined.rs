//! A store made of a session store and a credential store, for running
//! the suite over a credential store that wraps another (the credential
//! cache): the server itself hands each service only its own half.

use async_trait::async_trait;

use crate::domain::Timestamp;
use crate::domain::access_token::AccessToken;
use crate::domain::credential::{Credential, SecretKind, StoredSecret, TemporaryHuaweiKey};
use crate::domain::session::Session;
use crate::pfid::Pfid;
use crate::secrets::SecretHash;
use crate::store::{
    CredentialStore, JanitorLease, RevokeSessions, RevokeUserSessions, SessionQuery, SessionStore,
    SharedCredentials, SharedSessions, StoreError,
};

/// Sessions from one store, credentials from another.
pub struct Combined {
    pub sessions: SharedSessions,
    pub credentials: SharedCredentials,
    /// What caches hear of revocations, when not the credential store's
    /// own (a test that makes the cache unsure).
    pub coherence: Option<std::sync::Arc<crate::store::coherence::Coherence>>,
}

#[async_trait]
impl SessionStore for Combined {
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        self.sessions.insert_session(session).await
    }

    async fn insert_sessions(&self, sessions: &[Session]) -> Result<(), StoreError> {
        self.sessions.insert_sessions(sessions).await
    }

    async fn begin_bulk_load(&self, incoming: u64) -> Result<(), StoreError> {
        self.sessions.begin_bulk_load(incoming).await
    }

    async fn end_bulk_load(&self) -> Result<(), StoreError> {
        self.sessions.end_bulk_load().await
    }

    async fn session(&self, id: &Pfid) -> Result<Option<Session>, StoreError> {
        self.sessions.session(id).await
    }

    async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<Session>, StoreError> {
        self.sessions.list_sessions(query).await
    }

    async fn count_sessions(&self, query: &SessionQuery) -> Result<u64, StoreError> {
        self.sessions.count_sessions(query).await
    }

    async fn replace_session(
        &self,
        expected_version: u64,
        session: &Session,
    ) -> Result<bool, StoreError> {
        self.sessions
            .replace_session(expected_version, session)
            .await
    }

    async fn revoke_user_sessions(
        &self,
        request: &RevokeUserSessions,
    ) -> Result<Vec<Pfid>, StoreError> {
        self.sessions.revoke_user_sessions(request).await
    }

    async fn revoke_sessions(&self, request: &RevokeSessions) -> Result<Vec<Pfid>, StoreError> {
        self.sessions.revoke_sessions(request).await
    }

    async fn delete_ended_sessions(
        &self,
        cutoff: Timestamp,
        limit: u32,
    ) -> Result<u64, StoreError> {
        self.sessions.delete_ended_sessions(cutoff, limit).await
    }

    async fn janitor_lease(&self) -> Result<Option<JanitorLease>, StoreError> {
        self.sessions.janitor_lease().await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.sessions.ping().await
    }

    async fn probe_write(&self) -> Result<(), StoreError> {
        self.sessions.probe_write().await
    }
}

#[async_trait]
impl CredentialStore for Combined {
    async fn insert_credential(
        &self,
        credential: &Credential,
        secrets: &[StoredSecret],
    ) -> Result<(), StoreError> {
        self.credentials
            .insert_credential(credential, secrets)
            .await
    }

    async fn list_credentials(&self) -> Result<Vec<Credential>, StoreError> {
        self.credentials.list_credentials().await
    }

    async fn credential(&self, id: &Pfid) -> Result<Option<Credential>, StoreError> {
        self.credentials.credential(id).await
    }

    async fn revoke_credential(&self, id: &Pfid, at: Timestamp) -> Result<bool, StoreError> {
        self.credentials.revoke_credential(id, at).await
    }

    async fn credential_by_secret(
        &self,
        kind: SecretKind,
        lookup_key: &str,
    ) -> Result<Option<(Credential, StoredSecret)>, StoreError> {
        self.credentials
            .credential_by_secret(kind, lookup_key)
            .await
    }

    async fn insert_temporary_huawei_key(
        &self,
        key: &TemporaryHuaweiKey,
    ) -> Result<(), StoreError> {
        self.credentials.insert_temporary_huawei_key(key).await
    }

    async fn temporary_huawei_key(
        &self,
        access_key: &str,
    ) -> Result<Option<(Credential, TemporaryHuaweiKey)>, StoreError> {
        self.credentials.temporary_huawei_key(access_key).await
    }

    async fn insert_access_token(&self, token: &AccessToken) -> Result<(), StoreError> {
        self.credentials.insert_access_token(token).await
    }

    async fn access_token(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<(AccessToken, Credential)>, StoreError> {
        self.credentials.access_token(hash).await
    }

    async fn revoke_access_token(
        &self,
        hash: &SecretHash,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.credentials.revoke_access_token(hash, at).await
    }

    async fn delete_expired_access_tokens(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.credentials.delete_expired_access_tokens(now).await
    }

    async fn sealed_values(&self) -> Result<Vec<crate::store::SealedValue>, StoreError> {
        self.credentials.sealed_values().await
    }

    async fn reseal(
        &self,
        value: &crate::store::SealedValue,
        resealed: &[u8],
    ) -> Result<bool, StoreError> {
        self.credentials.reseal(value, resealed).await
    }

    fn coherence(&self) -> std::sync::Arc<crate::store::coherence::Coherence> {
        self.coherence
            .clone()
            .unwrap_or_else(|| self.credentials.coherence())
    }
}
