//! A cache of credential lookups in front of any credential store.
//!
//! Every authenticated request looks its credential up by a secret (a
//! bearer token's hash, a Looker client id, a Huawei access key, a Looker
//! access token): a second read on every request. Credentials almost never
//! change, so [`CachedCredentials`] keeps what it found, for at most
//! [`DEFAULT_CREDENTIAL_CACHE_TTL`] (`serve --credential-cache-millis`),
//! and answers repeats from memory.
//!
//! Revocations hold as [`super::coherence`] states, with the cache on:
//!
//! * Through this process (revoking a credential, logging a Looker token
//!   out): refused at once. Revocations go through this cache, which moves
//!   the generation on before and after writing them; a lookup that raced
//!   with the revocation is filed under the older generation and never
//!   used.
//! * Through another process sharing the database (another replica, the
//!   `credentials revoke` command): refused once the store's watcher hears
//!   of it (within 50 ms); while the watcher is not sure it would hear,
//!   the cache keeps nothing and asks the store every time.
//!
//! Only what was found is cached: a credential issued anywhere works at
//! once everywhere, and unknown secrets cannot fill the cache. Expiry of
//! access tokens and temporary keys is judged by the callers on every
//! request, and an entry's age by the server's clock.
//!
//! The entries live in [`quick_cache`]'s concurrent cache, bounded to
//! [`CAPACITY`] per kind of lookup (its S3-FIFO policy decides what goes
//! first), as the session cache's do: every request makes one of these
//! lookups, and a quick_cache hit does no housekeeping (see
//! `super::session_cache`). It has no expiry of its own; an entry's age
//! is judged by the domain clock the tests control.
//!
//! Each lookup is counted for the metrics as a hit, a miss or a bypass
//! (`cache_lookups_total{cache="credential"}`, see `crate::metrics`).

use std::borrow::Borrow;
use std::hash::Hash;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::TimeDelta;

use crate::clock::Clock;
use crate::domain::Timestamp;
use crate::domain::access_token::AccessToken;
use crate::domain::credential::{Credential, SecretKind, StoredSecret, TemporaryHuaweiKey};
use crate::metrics::{Cache, Lookup};
use crate::pfid::Pfid;
use crate::secrets::SecretHash;
use crate::store::coherence::Coherence;
use crate::store::{CredentialStore, SharedCredentials, StoreError};

/// How long, in milliseconds, a credential lookup is reused at most by
/// default (`serve --credential-cache-millis`).
pub const DEFAULT_CREDENTIAL_CACHE_MILLIS: u32 = 1_000;

/// [`DEFAULT_CREDENTIAL_CACHE_MILLIS`] as a duration.
pub const DEFAULT_CREDENTIAL_CACHE_TTL: TimeDelta =
    TimeDelta::milliseconds(DEFAULT_CREDENTIAL_CACHE_MILLIS as i64);

/// The most lookups of one kind kept.
const CAPACITY: usize = 10_000;

/// A credential store whose lookups are cached; every other call goes
/// straight to the store it wraps. Sessions never pass through it.
pub struct CachedCredentials {
    inner: SharedCredentials,
    clock: Arc<dyn Clock>,
    ttl: TimeDelta,
    coherence: Arc<Coherence>,
    /// Credentials by a secret's kind and lookup key, every dialect's.
    secrets: Lookups<(SecretKind, String), (Credential, StoredSecret)>,
    temporary_huawei_key: Lookups<String, (Credential, TemporaryHuaweiKey)>,
    access_token: Lookups<SecretHash, (AccessToken, Credential)>,
}

/// One kind of lookup: what was found, when, under which generation.
type Lookups<K, V> = quick_cache::sync::Cache<K, Arc<Entry<V>>>;

struct Entry<V> {
    made: Timestamp,
    generation: u64,
    value: V,
}

impl CachedCredentials {
    /// `inner` with credential lookups cached for at most `ttl`, coherent
    /// with revocations through `inner.coherence()`; `inner` itself when
    /// `ttl` is zero (or negative).
    pub fn wrap(
        inner: SharedCredentials,
        clock: Arc<dyn Clock>,
        ttl: TimeDelta,
    ) -> SharedCredentials {
        if ttl <= TimeDelta::zero() {
            return inner;
        }
        Arc::new(CachedCredentials {
            coherence: inner.coherence(),
            inner,
            clock,
            ttl,
            secrets: quick_cache::sync::Cache::new(CAPACITY),
            temporary_huawei_key: quick_cache::sync::Cache::new(CAPACITY),
            access_token: quick_cache::sync::Cache::new(CAPACITY),
        })
    }

    /// The cached answer for `key`, or the store's (cached if found, and
    /// if the cache may be trusted). The key is only copied into the cache
    /// on a miss.
    async fn through<K, Q, V, F>(
        &self,
        lookups: &Lookups<K, V>,
        key: &Q,
        load: F,
    ) -> Result<Option<V>, StoreError>
    where
        K: Eq + Hash + Borrow<Q> + Send + Sync + 'static,
        Q: Eq + Hash + ToOwned<Owned = K> + ?Sized,
        V: Clone + Send + Sync + 'static,
        F: Future<Output = Result<Option<V>, StoreError>>,
    {
        let Some(generation) = self.coherence.generation() else {
            count_lookup(Lookup::Bypass);
            return load.await;
        };
        let now = self.clock.now();
        if let Some(entry) = lookups.get(key) {
            // A clock that went back does not make an entry live longer.
            let fresh = entry.made <= now && now < entry.made + self.ttl;
            if fresh && entry.generation == generation {
                count_lookup(Lookup::Hit);
                return Ok(Some(entry.value.clone()));
            }
        }
        count_lookup(Lookup::Miss);
        let found = load.await?;
        if let Some(value) = &found {
            // Filed under the generation read before the load: if a
            // revocation moved it on meanwhile, the entry is never used.
            let entry = Entry {
                made: now,
                generation,
                value: value.clone(),
            };
            lookups.insert(key.to_owned(), Arc::new(entry));
        }
        Ok(found)
    }

    /// Forgets every cached lookup, around a revocation through this
    /// process.
    fn forget_all(&self) {
        self.coherence.revoked();
        self.secrets.clear();
        self.temporary_huawei_key.clear();
        self.access_token.clear();
    }
}

/// Counts a lookup through the credential cache.
fn count_lookup(result: Lookup) {
    if let Some(metrics) = crate::metrics::recording() {
        metrics.cache.lookup(Cache::Credential, result);
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

    async fn sealed_values(&self) -> Result<Vec<crate::store::SealedValue>, StoreError> {
        self.inner.sealed_values().await
    }

    async fn reseal(
        &self,
        value: &crate::store::SealedValue,
        resealed: &[u8],
    ) -> Result<bool, StoreError> {
        self.inner.reseal(value, resealed).await
    }

    fn coherence(&self) -> Arc<Coherence> {
        self.coherence.clone()
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
        // Until the watcher's first poll the cache keeps nothing, which
        // the tests of what it keeps would take for a miss.
        inner.coherence().wait_until_sure();
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

    /// Renames the credential behind the store's back: a change no
    /// watcher hears of, so only the cache's lifetime ends its entry.
    fn rename_unheard(f: &Fixture, credential: &Credential, name: &str) {
        rusqlite::Connection::open(f._directory.path().join("s.db"))
            .unwrap()
            .execute(
                "UPDATE credentials SET name = ?1 WHERE id = ?2",
                [name, credential.id.as_str()],
            )
            .unwrap();
    }

    #[tokio::test]
    async fn a_revocation_by_another_process_is_refused_once_heard() {
        let f = fixture();
        let (credential, secrets) = conformance::credential_with_secrets("cached");
        f.cached
            .insert_credential(&credential, &secrets)
            .await
            .unwrap();
        let token = conformance::secret_of(&secrets, conformance::TOKEN);
        let by_token = || f.cached.credential_by_secret(token.kind, &token.lookup_key);
        assert_eq!(
            by_token().await.unwrap(),
            Some((credential.clone(), token.clone()))
        );

        // Another process: its own connections to the file.
        let path = f._directory.path().join("s.db");
        let other = SqliteStore::open(&path).unwrap();
        assert!(
            other
                .revoke_credential(&credential.id, conformance::now())
                .await
                .unwrap()
        );
        // Without the clock moving: the watcher, not the lifetime, ends it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while by_token().await.unwrap().is_some() {
            assert!(
                std::time::Instant::now() < deadline,
                "the revocation was never heard of"
            );
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }

    #[tokio::test]
    async fn an_entry_lasts_at_most_its_lifetime_on_the_domain_clock() {
        let f = fixture();
        let (credential, secrets) = conformance::credential_with_secrets("aging");
        f.cached
            .insert_credential(&credential, &secrets)
            .await
            .unwrap();
        let client = conformance::secret_of(&secrets, conformance::CLIENT);
        let name = || async {
            f.cached
                .credential_by_secret(client.kind, &client.lookup_key)
                .await
                .unwrap()
                .and_then(|(credential, _)| credential.name)
        };
        assert_eq!(name().await, credential.name);
        rename_unheard(&f, &credential, "renamed");
        f.clock
            .advance(DEFAULT_CREDENTIAL_CACHE_TTL - TimeDelta::milliseconds(1));
        assert_eq!(
            name().await,
            credential.name,
            "the entry, within its lifetime"
        );
        f.clock.advance(TimeDelta::milliseconds(1));
        assert_eq!(
            name().await.as_deref(),
            Some("renamed"),
            "read again after it"
        );
    }

    #[tokio::test]
    async fn an_unsure_cache_keeps_nothing() {
        let f = fixture();
        let unsure = Arc::new(Coherence::unsure());
        let store = conformance::Combined {
            sessions: f.other_process.clone(),
            credentials: f.other_process.clone(),
            coherence: Some(unsure.clone()),
        };
        let cached = CachedCredentials::wrap(
            Arc::new(store),
            f.clock.clone(),
            DEFAULT_CREDENTIAL_CACHE_TTL,
        );
        let (credential, secrets) = conformance::credential_with_secrets("unsure");
        cached
            .insert_credential(&credential, &secrets)
            .await
            .unwrap();
        let client = conformance::secret_of(&secrets, conformance::CLIENT);
        let name = || async {
            cached
                .credential_by_secret(client.kind, &client.lookup_key)
                .await
                .unwrap()
                .and_then(|(credential, _)| credential.name)
        };
        assert_eq!(name().await, credential.name);
        rename_unheard(&f, &credential, "read every time");
        assert_eq!(
            name().await.as_deref(),
            Some("read every time"),
            "nothing kept while unsure"
        );
        unsure.sure();
        assert_eq!(name().await.as_deref(), Some("read every time"));
        rename_unheard(&f, &credential, "after");
        assert_eq!(
            name().await.as_deref(),
            Some("read every time"),
            "kept once sure"
        );
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
                coherence: None,
            };
            (Arc::new(store) as SharedStore, f._directory)
        }
        crate::store_conformance_tests!(cached());
    }
}
