//! Issuing, listing and revoking credentials.
//!
//! A credential gets one secret from every dialect's scheme
//! ([`SECRET_SCHEMES`]), handed out once in [`IssuedCredential`] and kept
//! only as the scheme stores it: hashed, or sealed with the server key
//! where the server must be able to use it (a Huawei SK, to verify
//! signatures).

use std::sync::Arc;

use crate::clock::Clock;
use chrono::TimeDelta;

use crate::auth::scheme::{MintedSecret, SECRET_SCHEMES, SecretScheme, ShownField};
use crate::domain::Timestamp;
use crate::domain::credential::{
    Credential, CredentialShapeError, Role, SecretKind, StoredSecret, TemporaryHuaweiKey,
};
use crate::domain::ids::{IdError, validate_id, validate_label};
use crate::pfid::{Pfid, partition_for_identity_store};
use crate::secrets::{self, SecretHash, ServerKey};
use crate::store::{SealedPlace, SharedCredentials, StoreError};

/// What a new credential is for.
#[derive(Clone, Debug)]
pub struct CredentialRequest {
    pub role: Role,
    pub identity_store_id: Option<String>,
    pub user_id: Option<String>,
    pub name: Option<String>,
    pub rate_limit: Option<u32>,
}

/// A credential with its secrets in the clear, as issued. These secrets are
/// never shown again.
#[derive(Clone)]
pub struct IssuedCredential {
    pub credential: Credential,
    /// Every dialect's secret, in [`SECRET_SCHEMES`] order.
    pub secrets: Vec<IssuedSecret>,
}

/// One dialect's secret as issued: its scheme, and the values it shows
/// (in [`SecretScheme::fields`] order).
#[derive(Clone)]
pub struct IssuedSecret {
    pub scheme: &'static dyn SecretScheme,
    pub shown: Vec<String>,
}

impl IssuedSecret {
    /// Each shown value with its field.
    pub fn fields(&self) -> impl Iterator<Item = (&'static ShownField, &str)> {
        self.scheme
            .fields()
            .iter()
            .zip(self.shown.iter().map(String::as_str))
    }
}

impl IssuedCredential {
    /// The value the secret of `kind` shows as `field` (its `--json`
    /// name): `shown(native, "token")`, `shown(looker, "client_id")`.
    pub fn shown(&self, kind: SecretKind, field: &str) -> Option<&String> {
        let secret = self
            .secrets
            .iter()
            .find(|secret| secret.scheme.kind() == kind)?;
        let index = secret
            .scheme
            .fields()
            .iter()
            .position(|shown| shown.json == field)?;
        secret.shown.get(index)
    }
}

impl std::fmt::Debug for IssuedCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kinds: Vec<SecretKind> = self
            .secrets
            .iter()
            .map(|secret| secret.scheme.kind())
            .collect();
        f.debug_struct("IssuedCredential")
            .field("credential", &self.credential)
            .field("secrets", &kinds)
            .finish_non_exhaustive()
    }
}

/// Temporary Huawei credentials (an AK/SK and a security token) as issued,
/// in the clear. Shown once.
#[derive(Clone)]
pub struct IssuedTemporaryHuaweiKey {
    /// The parent credential, whose role and scope they carry.
    pub credential: Credential,
    pub access_key: String,
    pub secret_key: String,
    pub security_token: String,
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for IssuedTemporaryHuaweiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedTemporaryHuaweiKey")
            .field("credential", &self.credential.id)
            .field("access_key", &self.access_key)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The lifetime of temporary Huawei credentials when none is asked for.
pub const TEMPORARY_DEFAULT_TTL_SECONDS: u32 = 3_600;
/// The shortest lifetime of temporary Huawei credentials (as Huawei IAM's).
pub const TEMPORARY_MIN_TTL_SECONDS: u32 = 900;
/// The longest lifetime of temporary Huawei credentials (as Huawei IAM's).
pub const TEMPORARY_MAX_TTL_SECONDS: u32 = 86_400;

/// Why a credential could not be issued or revoked.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error(transparent)]
    Shape(#[from] CredentialShapeError),
    #[error(transparent)]
    Id(#[from] IdError),
    #[error("no credential {0}")]
    NotFound(String),
    #[error("credential {0} is revoked already")]
    AlreadyRevoked(String),
    #[error("credential {0} is revoked")]
    Revoked(String),
    #[error(
        "the lifetime of temporary credentials is {TEMPORARY_MIN_TTL_SECONDS} to \
         {TEMPORARY_MAX_TTL_SECONDS} seconds, not {0}"
    )]
    TemporaryTtl(u32),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not mint an id: {0}")]
    IdMint(String),
}

/// What re-sealing every stored secret did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Sealed anew with the current key.
    pub resealed: usize,
    /// Sealed with the current key already.
    pub already: usize,
    /// Changed meanwhile (revoked and deleted, say): left alone.
    pub changed: usize,
    /// Opened by no key the server has: left alone.
    pub unopened: Vec<SealedPlace>,
}

/// Issues, lists and revokes credentials.
#[derive(Clone)]
pub struct CredentialService {
    store: SharedCredentials,
    clock: Arc<dyn Clock>,
    key: Arc<ServerKey>,
}

impl CredentialService {
    pub fn new(store: SharedCredentials, clock: Arc<dyn Clock>, key: Arc<ServerKey>) -> Self {
        CredentialService { store, clock, key }
    }

    /// Issues a credential with fresh secrets for every dialect.
    pub async fn issue(
        &self,
        request: CredentialRequest,
    ) -> Result<IssuedCredential, CredentialError> {
        if let Some(store_id) = &request.identity_store_id {
            validate_id("identity store", store_id)?;
        }
        if let Some(user_id) = &request.user_id {
            validate_id("user id", user_id)?;
        }
        if let Some(name) = &request.name {
            validate_label("name", name)?;
        }
        let now = self.clock.now();
        let partition =
            partition_for_identity_store(request.identity_store_id.as_deref().unwrap_or(""));
        let id = Pfid::generate(
            partition,
            now.timestamp_millis().try_into().unwrap_or_default(),
        )
        .map_err(|e| CredentialError::IdMint(e.to_string()))?;
        let credential = Credential {
            id,
            name: request.name,
            role: request.role,
            identity_store_id: request.identity_store_id,
            user_id: request.user_id,
            rate_limit: request.rate_limit,
            created_at: now,
            revoked_at: None,
        };
        credential.check_shape()?;

        let minted: Vec<(IssuedSecret, StoredSecret)> = SECRET_SCHEMES
            .iter()
            .map(|&scheme| {
                let MintedSecret { shown, stored } = scheme.mint(&credential.id, &self.key);
                (IssuedSecret { scheme, shown }, stored)
            })
            .collect();
        let (secrets, stored): (Vec<IssuedSecret>, Vec<StoredSecret>) = minted.into_iter().unzip();
        self.store.insert_credential(&credential, &stored).await?;
        Ok(IssuedCredential {
            credential,
            secrets,
        })
    }

    /// Issues temporary Huawei credentials for the unrevoked credential
    /// `parent_id`: a fresh AK/SK and security token that carry the
    /// parent's role and scope for `ttl_seconds` (default
    /// [`TEMPORARY_DEFAULT_TTL_SECONDS`]), or until the parent is revoked.
    pub async fn issue_temporary_huawei(
        &self,
        parent_id: &str,
        ttl_seconds: Option<u32>,
    ) -> Result<IssuedTemporaryHuaweiKey, CredentialError> {
        let ttl = ttl_seconds.unwrap_or(TEMPORARY_DEFAULT_TTL_SECONDS);
        if !(TEMPORARY_MIN_TTL_SECONDS..=TEMPORARY_MAX_TTL_SECONDS).contains(&ttl) {
            return Err(CredentialError::TemporaryTtl(ttl));
        }
        let id =
            Pfid::parse(parent_id).map_err(|_| CredentialError::NotFound(parent_id.to_string()))?;
        let Some(credential) = self.store.credential(&id).await? else {
            return Err(CredentialError::NotFound(id.to_string()));
        };
        if credential.revoked_at.is_some() {
            return Err(CredentialError::Revoked(id.to_string()));
        }
        let now = self.clock.now();
        let access_key = secrets::new_huawei_access_key();
        let secret_key = secrets::new_huawei_secret_key();
        let security_token = secrets::new_security_token();
        let key = TemporaryHuaweiKey {
            secret_key_sealed: self.key.encrypt(
                secret_key.as_bytes(),
                &TemporaryHuaweiKey::seal_context(&access_key),
            ),
            security_token: SecretHash::of(&security_token),
            access_key: access_key.clone(),
            credential_id: id,
            created_at: now,
            expires_at: now + TimeDelta::seconds(i64::from(ttl)),
        };
        self.store.insert_temporary_huawei_key(&key).await?;
        Ok(IssuedTemporaryHuaweiKey {
            credential,
            access_key,
            secret_key,
            security_token,
            expires_at: key.expires_at,
        })
    }

    /// Seals every stored sealed value (Huawei secret keys, permanent and
    /// temporary) with the current key, the key file's first, opening each
    /// with whichever of its keys opens it. Each value is replaced only if
    /// it is still the one read, so servers issuing and revoking meanwhile
    /// lose nothing. Values no key opens are left as they are, and listed.
    pub async fn reseal_all(&self) -> Result<Resealed, CredentialError> {
        let mut outcome = Resealed::default();
        for value in self.store.sealed_values().await? {
            if self.key.seals_with_current(&value.sealed, &value.context) {
                outcome.already += 1;
                continue;
            }
            let Ok(secret) = self.key.decrypt(&value.sealed, &value.context) else {
                outcome.unopened.push(value.place.clone());
                continue;
            };
            let resealed = self.key.encrypt(&secret, &value.context);
            if self.store.reseal(&value, &resealed).await? {
                outcome.resealed += 1;
            } else {
                outcome.changed += 1;
            }
        }
        Ok(outcome)
    }

    /// Every credential, oldest first.
    pub async fn list(&self) -> Result<Vec<Credential>, CredentialError> {
        Ok(self.store.list_credentials().await?)
    }

    /// Revokes a credential: none of its secrets work from now on.
    pub async fn revoke(&self, id: &str) -> Result<Credential, CredentialError> {
        let id = Pfid::parse(id).map_err(|_| CredentialError::NotFound(id.to_string()))?;
        let Some(credential) = self.store.credential(&id).await? else {
            return Err(CredentialError::NotFound(id.to_string()));
        };
        if !self.store.revoke_credential(&id, self.clock.now()).await? {
            return Err(CredentialError::AlreadyRevoked(id.to_string()));
        }
        Ok(credential)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::auth::huawei::SECRETS as HUAWEI;
    use crate::clock::SystemClock;
    use crate::store::sqlite::SqliteStore;

    /// A rotation seals every Huawei secret key, permanent and temporary,
    /// with the new key, so that the new key alone opens them all; a
    /// second rotation finds nothing to do.
    #[tokio::test]
    async fn rotating_the_key_reseals_every_secret_key() {
        let directory = tempfile::tempdir().unwrap();
        let store: SharedCredentials =
            Arc::new(SqliteStore::open(&directory.path().join("s.db")).unwrap());
        let (old, new) = (ServerKey::generate(), ServerKey::generate());
        let service = |key: &ServerKey| {
            CredentialService::new(store.clone(), Arc::new(SystemClock), Arc::new(key.clone()))
        };
        let issued = service(&old)
            .issue(CredentialRequest {
                role: Role::Admin,
                identity_store_id: None,
                user_id: None,
                name: None,
                rate_limit: None,
            })
            .await
            .unwrap();
        let temporary = service(&old)
            .issue_temporary_huawei(issued.credential.id.as_str(), None)
            .await
            .unwrap();

        let ring = ServerKey::from_hex(&format!("{}\n{}\n", new.to_hex(), old.to_hex())).unwrap();
        let outcome = service(&ring).reseal_all().await.unwrap();
        assert_eq!(
            (outcome.resealed, outcome.already, outcome.changed),
            (2, 0, 0),
            "{outcome:?}"
        );
        assert!(outcome.unopened.is_empty());
        let again = service(&ring).reseal_all().await.unwrap();
        assert_eq!((again.resealed, again.already), (0, 2));

        // The new key alone opens both; the old one no longer does.
        let access_key = issued.shown(HUAWEI.kind(), "access_key").unwrap();
        let secret_key = issued.shown(HUAWEI.kind(), "secret_key").unwrap();
        let (credential, secret) = store
            .credential_by_secret(HUAWEI.kind(), access_key)
            .await
            .unwrap()
            .unwrap();
        let sealed = secret.sealed.unwrap();
        let context = credential.id.as_str().as_bytes();
        assert_eq!(
            new.decrypt(&sealed, context).unwrap(),
            secret_key.as_bytes()
        );
        assert!(old.decrypt(&sealed, context).is_err());
        let (_, key) = store
            .temporary_huawei_key(&temporary.access_key)
            .await
            .unwrap()
            .unwrap();
        let context = TemporaryHuaweiKey::seal_context(&temporary.access_key);
        assert_eq!(
            new.decrypt(&key.secret_key_sealed, &context).unwrap(),
            temporary.secret_key.as_bytes()
        );

        // A key file without the key a value was sealed with opens none.
        let stranger = ServerKey::generate();
        let lost =
            ServerKey::from_hex(&format!("{}\n{}\n", stranger.to_hex(), old.to_hex())).unwrap();
        let outcome = service(&lost).reseal_all().await.unwrap();
        assert_eq!(outcome.unopened.len(), 2, "{outcome:?}");
        assert_eq!(outcome.resealed, 0);
    }
}
