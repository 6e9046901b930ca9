//! A short-lived cache of credential lookups in front of any store.
//!
//! Every authenticated request looks its credential up by a secret's hash
//! (or a Looker access token, or a Huawei access key): a second read on
//! every request, about a sixth of a session lookup's cost. Credentials
//! almost never change, so [`CachedCredentials`] keeps what it found for a
//! short lifetime ([`DEFAULT_CREDENTIAL_CACHE_TTL`], `serve
//! --credential-cache-millis`) and answers repeats from memory.
//!
//! What that means for revocation:
//!
//! * Through this process (revoking a credential, logging a Looker token
//!   out): refused at once. Revocations go through this store, which
//!   empties the cache; a lookup that raced with the revocation does not
//!   put its older answer back (a generation counter).
//! * Through another process sharing the database (another replica, the
//!   `credentials revoke` command): refused within the lifetime. A zero
//!   lifetime turns the cache off, for deployments that need revocations
//!   to hold across replicas at once.
//!
//! Only what was found is cached: a credential issued anywhere works at
//! once everywhere, and unknown secrets cannot fill the cache. Expiry of
//! access tokens and temporary keys is judged by the callers on every
//! request, as before. The lifetime is measured with the server's clock.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::TimeDelta;

use crate::clock::Clock;
use crate::domain::Timestamp;
use crate::domain::access_token::AccessToken;
use crate::domain::credential::{Credential, SecretKind, StoredSecret, TemporaryHuaweiKey};
use crate::pfid::Pfid;
use crate::secrets::SecretHash;
use crate::store::{CredentialStore, SharedCredentials, StoreError};

/// How long, in milliseconds, a credential lookup is reused by default
/// (`serve --credential-cache-millis`).
pub const DEFAULT_CREDENTIAL_CACHE_MILLIS: u32 = 1_000;

/// [`DEFAULT_CREDENTIAL_CACHE_MILLIS`] as a duration.
pub const DEFAULT_CREDENTIAL_CACHE_TTL: TimeDelta =
    TimeDelta::milliseconds(DEFAULT_CREDENTIAL_CACHE_MILLIS as i64);

/// The most lookups of one kind kept; past it, the cache starts over.
const CAPACITY: usize = 10_000;

/// A credential store whose lookups are cached for a short lifetime;
/// every other call goes straight to the store it wraps. Sessions never
/// pass through it.
pub struct CachedCredentials {
    inner: SharedCredentials,
    clock: Arc<dyn Clock>,
    ttl: TimeDelta,
    /// Bumped by every revocation: a lookup that started before one does
    /// not store its answer.
    generation: AtomicU64,
    /// Credentials by a secret's kind and lookup key, every dialect's.
    secrets: Lookups<(SecretKind, String), (Credential, StoredSecret)>,
    temporary_huawei_key: Lookups<String, (Credential, TemporaryHuaweiKey)>,
    access_token: Lookups<SecretHash, (AccessToken, Credential)>,
}

impl CachedCredentials {
    /// `inner` with credential lookups cached for `ttl`; `inner` itself
    /// when `ttl` is zero (or negative).
    pub fn wrap(
        inner: SharedCredentials,
        clock: Arc<dyn Clock>,
        ttl: TimeDelta,
    ) -> SharedCredentials {
        if ttl <= TimeDelta::zero() {
            return inner;
        }
        Arc::new(CachedCredentials {
            inner,
            clock,
            ttl,
            generation: AtomicU64::new(0),
            secrets: Lookups::default(),
            temporary_huawei_key: Lookups::default(),
            access_token: Lookups::default(),
        })
    }

    /// The cached answer for `key`, or the store's (cached if found). The
    /// key is only copied into the cache on a miss.
    async fn through<K, Q, V, F>(
        &self,
        lookups: &Lookups<K, V>,
        key: &Q,
        load: F,
    ) -> Result<Option<V>, StoreError>
    where
        K: Eq + Hash + Borrow<Q>,
        Q: Eq + Hash + ToOwned<Owned = K> + ?Sized,
        V: Clone,
        F: Future<Output = Result<Option<V>, StoreError>>,
    {
        let now = self.clock.now();
        if let Some(value) = lookups.fresh(key, now, self.ttl) {
            return Ok(Some(value));
        }
        let generation = self.generation.load(Ordering::Acquire);
        let found = load.await?;
        if let Some(value) = &found {
            lookups.keep(key.to_owned(), value.clone(), now, || {
                self.generation.load(Ordering::Acquire) == generation
            });
        }
        Ok(found)
    }

    /// Forgets every cached lookup, after a revocation.
    fn forget_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.secrets.clear();
        self.temporary_huawei_key.clear();
        self.access_token.clear();
    }
}

/// The cached lookups of one kind, each with when it was made.
struct Lookups<K, V> {
    entries: Mutex<HashMap<K, (Timestamp, V)>>,
}

impl<K, V> Default for Lookups<K, V> {
    fn default() -> Self {
        Lookups {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V: Clone> Lookups<K, V> {
    fn fresh<Q>(&self, key: &Q, now: Timestamp, ttl: TimeDelta) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let (made, value) = entries.get(key)?;
        // A clock that went back does not make an entry live longer.
        (*made <= now && now < *made + ttl).then(|| value.clone())
    }

    /// Keeps `value`, if `still_valid` holds once the lock is taken (no
    /// revocation since the lookup started).
    fn keep(&self, key: K, value: V, made: Timestamp, still_valid: impl FnOnce() -> bool) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if !still_valid() {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(key, (made, value));
    }

    fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

#[async_trait]
impl CredentialStore for CachedCredentials {
    async fn insert_credential(
        &self,
        credential: &Credential,
        secrets: &[StoredSecret],
    ) -> Result<(), StoreError> {
        self.inner.insert_credential(credential, secrets).await
    }

    async fn list_credentials(&self) -> Result<Vec<Credential>, StoreError> {
        self.inner.list_credentials().await
    }

    async fn credential(&self, id: &Pfid) -> Result<Option<Credential>, StoreError> {
        self.inner.credential(id).await
    }

    async fn revoke_credential(&self, id: &Pfid, at: Timestamp) -> Result<bool, StoreError> {
        // Forgotten before and after: no lookup made while the revocation
        // is being written survives it.
        self.forget_all();
        let revoked = self.inner.revoke_credential(id, at).await;
        self.forget_all();
        revoked
    }

    async fn credential_by_secret(
        &self,
        kind: SecretKind,
        lookup_key: &str,
    ) -> Result<Option<(Credential, StoredSecret)>, StoreError> {
        self.through(
            &self.secrets,
            &(kind, lookup_key.to_string()),
            self.inner.credential_by_secret(kind, lookup_key),
        )
        .await
    }

    async fn insert_temporary_huawei_key(
        &self,
        key: &TemporaryHuaweiKey,
    ) -> Result<(), StoreError> {
        self.inner.insert_temporary_huawei_key(key).await
    }

    async fn temporary_huawei_key(
        &self,
        access_key: &str,
    ) -> Result<Option<(Credential, TemporaryHuaweiKey)>, StoreError> {
        self.through(
            &self.temporary_huawei_key,
            access_key,
            self.inner.temporary_huawei_key(access_key),
        )
        .await
    }

    async fn insert_access_token(&self, token: &AccessToken) -> Result<(), StoreError> {
        self.inner.insert_access_token(token).await
    }

    async fn access_token(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<(AccessToken, Credential)>, StoreError> {
        self.through(&self.access_token, hash, self.inner.access_token(hash))
            .await
    }

    async fn revoke_access_token(
        &self,
        hash: &SecretHash,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.forget_all();
        let revoked = self.inner.revoke_access_token(hash, at).await;
        self.forget_all();
        revoked
    }

    async fn delete_expired_access_tokens(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.inner.delete_expired_access_tokens(now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::SharedStore;
    use crate::store::conformance;
    use crate::store::sqlite::SqliteStore;

    /// The cached store and the store under it (standing for another
    /// process sharing the database).
    struct Fixture {
        cached: SharedCredentials,
        other_process: SharedStore,
        clock: Arc<ManualClock>,
        _directory: tempfile::TempDir,
    }

    fn fixture() -> Fixture {
        let directory = tempfile::tempdir().unwrap();
        let inner: SharedStore =
            Arc::new(SqliteStore::open(&directory.path().join("s.db")).unwrap());
        let clock = Arc::new(ManualClock::new(conformance::now()));
        Fixture {
            cached: CachedCredentials::wrap(
                inner.clone(),
                clock.clone(),
                DEFAULT_CREDENTIAL_CACHE_TTL,
            ),
            other_process: inner,
            clock,
            _directory: directory,
        }
    }

    #[tokio::test]
    async fn a_revocation_elsewhere_holds_within_the_lifetime() {
        let f = fixture();
        let (credential, secrets) = conformance::credential_with_secrets("cached");
        f.cached
            .insert_credential(&credential, &secrets)
            .await
            .unwrap();
        let token = conformance::secret_of(&secrets, conformance::TOKEN);
        let by_token = || f.cached.credential_by_secret(token.kind, &token.lookup_key);
        let found = |credential: &Credential| Some((credential.clone(), token.clone()));
        assert_eq!(by_token().await.unwrap(), found(&credential));

        f.other_process
            .revoke_credential(&credential.id, conformance::now())
            .await
            .unwrap();
        f.clock
            .advance(DEFAULT_CREDENTIAL_CACHE_TTL - TimeDelta::milliseconds(1));
        assert_eq!(
            by_token().await.unwrap(),
            found(&credential),
            "still the cached answer within the lifetime"
        );
        f.clock.advance(TimeDelta::milliseconds(1));
        assert_eq!(by_token().await.unwrap(), None, "refused once it is over");
    }

    #[tokio::test]
    async fn a_revocation_through_the_cache_holds_at_once() {
        let f = fixture();
        let (credential, secrets) = conformance::credential_with_secrets("revoked");
        f.cached
            .insert_credential(&credential, &secrets)
            .await
            .unwrap();
        for secret in &secrets {
            assert!(
                f.cached
                    .credential_by_secret(secret.kind, &secret.lookup_key)
                    .await
                    .unwrap()
                    .is_some()
            );
        }
        f.cached
            .revoke_credential(&credential.id, conformance::now())
            .await
            .unwrap();
        for secret in &secrets {
            assert_eq!(
                f.cached
                    .credential_by_secret(secret.kind, &secret.lookup_key)
                    .await
                    .unwrap(),
                None,
                "the {} secret, at once",
                secret.kind
            );
        }
    }

    #[tokio::test]
    async fn a_logged_out_access_token_is_refused_at_once() {
        let f = fixture();
        let (credential, secrets) = conformance::credential_with_secrets("token");
        f.cached
            .insert_credential(&credential, &secrets)
            .await
            .unwrap();
        let token = AccessToken {
            token_hash: SecretHash::of("lsa_cached"),
            credential_id: credential.id,
            created_at: conformance::now(),
            expires_at: conformance::at(3_600_000),
            revoked_at: None,
            acting_user_id: None,
            session_id: None,
        };
        f.cached.insert_access_token(&token).await.unwrap();
        let found = f.cached.access_token(&token.token_hash).await.unwrap();
        assert_eq!(found.map(|(t, _)| t.revoked_at), Some(None));
        assert!(
            f.cached
                .revoke_access_token(&token.token_hash, conformance::at(1))
                .await
                .unwrap()
        );
        let found = f.cached.access_token(&token.token_hash).await.unwrap();
        assert_eq!(
            found.map(|(t, _)| t.revoked_at),
            Some(Some(conformance::at(1))),
            "read again, with its revocation"
        );
    }

    #[tokio::test]
    async fn what_was_not_found_is_not_cached() {
        let f = fixture();
        let (credential, secrets) = conformance::credential_with_secrets("late");
        let client = conformance::secret_of(&secrets, conformance::CLIENT);
        let by_token = || {
            f.cached
                .credential_by_secret(client.kind, &client.lookup_key)
        };
        assert_eq!(by_token().await.unwrap(), None);
        f.other_process
            .insert_credential(&credential, &secrets)
            .await
            .unwrap();
        assert_eq!(
            by_token().await.unwrap(),
            Some((credential, client.clone())),
            "issued elsewhere, found at once"
        );
    }

    #[tokio::test]
    async fn a_zero_lifetime_is_no_cache() {
        let f = fixture();
        let inner: SharedCredentials = f.other_process.clone();
        let uncached = CachedCredentials::wrap(inner.clone(), f.clock, TimeDelta::zero());
        assert!(Arc::ptr_eq(&uncached, &inner));
    }

    mod suite {
        use std::sync::Arc;

        use crate::store::SharedStore;
        use crate::store::conformance::Combined;

        /// The suite, with every credential call through the cache.
        async fn cached() -> (SharedStore, tempfile::TempDir) {
            let f = super::fixture();
            let store = Combined {
                sessions: f.other_process,
                credentials: f.cached,
            };
            (Arc::new(store) as SharedStore, f._directory)
        }
        crate::store_conformance_tests!(cached());
    }
}
