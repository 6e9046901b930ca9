//! Credentials as a release before credential secrets became rows wrote
//! them (SQLite schema 5, PostgreSQL schema 3: every dialect's secret in a
//! column of `credentials`), and the check that each still works, through
//! the dialects' own schemes, once the store has migrated. Each backend's
//! tests write the old rows with their own SQL and run the check.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::auth::scheme::{BearerToken, SecretScheme};
use crate::auth::{huawei, looker, native, prefactor};
use crate::domain::credential::Credential;
use crate::secrets::{self, SecretHash, ServerKey};
use crate::store::SharedStore;

/// The columns an old release wrote a credential with, in order; its
/// values are [`OldCredential::values`].
pub const OLD_CREDENTIAL_COLUMNS: &str = "id, name, role, identity_store_id, user_id, \
     rate_limit, created_at, revoked_at, native_token_hash, prefactor_token_hash, \
     looker_client_id, looker_client_secret_hash, huawei_access_key, huawei_secret_key_sealed";

/// A credential an old release issued, with its secrets in the clear.
pub struct OldCredential {
    pub credential: Credential,
    pub native_token: String,
    pub prefactor_token: String,
    pub looker_client_id: String,
    pub looker_client_secret: String,
    pub huawei_access_key: String,
    pub huawei_secret_key: String,
    /// The server key its Huawei SK is sealed with.
    pub key: ServerKey,
}

/// What the old column of a value held.
pub enum OldValue {
    Text(String),
    OptionalText(Option<String>),
    Integer(i64),
    OptionalInteger(Option<i64>),
    Bytes(Vec<u8>),
}

impl OldCredential {
    /// A fresh credential with secrets minted as the old release did.
    pub fn issue(tag: &str) -> OldCredential {
        let (credential, _) = super::credential_with_secrets(tag);
        OldCredential {
            credential,
            native_token: secrets::new_token("lsn_"),
            prefactor_token: secrets::new_token("lsp_"),
            looker_client_id: secrets::new_looker_client_id(),
            looker_client_secret: secrets::new_looker_client_secret(),
            huawei_access_key: secrets::new_huawei_access_key(),
            huawei_secret_key: secrets::new_huawei_secret_key(),
            key: ServerKey::generate(),
        }
    }

    /// The row, in [`OLD_CREDENTIAL_COLUMNS`] order.
    pub fn values(&self) -> Vec<OldValue> {
        let credential = &self.credential;
        let hash = |secret: &str| OldValue::Bytes(SecretHash::of(secret).as_bytes().to_vec());
        vec![
            OldValue::Text(credential.id.as_str().to_string()),
            OldValue::OptionalText(credential.name.clone()),
            OldValue::Text(credential.role.as_str().to_string()),
            OldValue::OptionalText(credential.identity_store_id.clone()),
            OldValue::OptionalText(credential.user_id.clone()),
            OldValue::OptionalInteger(credential.rate_limit.map(i64::from)),
            OldValue::Integer(credential.created_at.timestamp_millis()),
            OldValue::OptionalInteger(credential.revoked_at.map(|at| at.timestamp_millis())),
            hash(&self.native_token),
            hash(&self.prefactor_token),
            OldValue::Text(self.looker_client_id.clone()),
            hash(&self.looker_client_secret),
            OldValue::Text(self.huawei_access_key.clone()),
            OldValue::Bytes(self.key.encrypt(
                self.huawei_secret_key.as_bytes(),
                credential.id.as_str().as_bytes(),
            )),
        ]
    }

    /// Asserts that every secret the old release issued finds the
    /// credential through its dialect's scheme, as a request would: each
    /// bearer token by its hash, the Looker client id with its secret
    /// matching, the Huawei AK with an SK that unseals to the one issued.
    pub async fn assert_every_secret_works(&self, store: &SharedStore) {
        for (scheme, token) in [
            (&native::SECRETS, &self.native_token),
            (&prefactor::SECRETS, &self.prefactor_token),
        ] {
            let found = store
                .credential_by_secret(scheme.kind(), &BearerToken::lookup_key(token))
                .await
                .expect("lookup");
            assert_eq!(
                found.map(|(credential, _)| credential).as_ref(),
                Some(&self.credential),
                "the {} token still works",
                scheme.kind()
            );
        }
        let (credential, secret) = store
            .credential_by_secret(looker::SECRETS.kind(), &self.looker_client_id)
            .await
            .expect("lookup")
            .expect("the Looker client id still finds the credential");
        assert_eq!(credential, self.credential);
        assert!(
            secret
                .hash
                .is_some_and(|hash| hash.matches(&self.looker_client_secret)),
            "the Looker client secret still matches"
        );
        let (credential, secret) = store
            .credential_by_secret(huawei::SECRETS.kind(), &self.huawei_access_key)
            .await
            .expect("lookup")
            .expect("the Huawei AK still finds the credential");
        assert_eq!(credential, self.credential);
        let unsealed = self
            .key
            .decrypt(
                &secret.sealed.expect("a sealed SK"),
                credential.id.as_str().as_bytes(),
            )
            .expect("the SK unseals with the server key");
        assert_eq!(unsealed, self.huawei_secret_key.as_bytes());
    }
}
