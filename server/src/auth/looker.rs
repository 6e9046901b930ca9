//! Looker's credentials: a credential's Looker client id and secret
//! ([`SECRETS`]), traded in Looker's login flow for a short-lived access
//! token, which is recognised on later requests and logged out.
//!
//! The token is `lsa_` + 43 base64url characters of CSPRNG output; only its
//! SHA-256 is stored. Whether a token works is decided here, with the
//! server's clock: not revoked, not expired, and its credential not revoked
//! (the store does not find the tokens of revoked credentials). A request
//! with a working token is admitted through its credential's rate limit.

use http::HeaderMap;

use super::scheme::{
    MintedSecret, SecretScheme, SecretShapeError, ShownField, drawn_from, one_value_per_field,
};
use super::{AuthError, Authenticator, bearer_token};
use crate::domain::access_token::{ACCESS_TOKEN_LIFETIME, AccessToken};
use crate::domain::credential::{Credential, SecretKind, StoredSecret};
use crate::pfid::Pfid;
use crate::secrets::{self, SecretHash, ServerKey};
use crate::store::StoreError;

/// Looker's credential secret: a client id, which finds the credential,
/// and a client secret, kept as its hash.
#[derive(Debug)]
pub struct LookerClient;

/// Looker's secret.
pub static SECRETS: LookerClient = LookerClient;

impl SecretScheme for LookerClient {
    fn kind(&self) -> SecretKind {
        SecretKind("looker")
    }

    fn fields(&self) -> &'static [ShownField] {
        &[
            ShownField {
                json: "client_id",
                label: "Looker client_id",
            },
            ShownField {
                json: "client_secret",
                label: "Looker client_secret",
            },
        ]
    }

    fn mint(&self, _credential: &Pfid, _key: &ServerKey) -> MintedSecret {
        let client_id = secrets::new_looker_client_id();
        let client_secret = secrets::new_looker_client_secret();
        MintedSecret {
            stored: StoredSecret {
                kind: self.kind(),
                lookup_key: client_id.clone(),
                hash: Some(SecretHash::of(&client_secret)),
                sealed: None,
            },
            shown: vec![client_id, client_secret],
        }
    }

    fn stored_from(
        &self,
        _credential: &Pfid,
        _key: &ServerKey,
        shown: &[String],
    ) -> Result<StoredSecret, SecretShapeError> {
        let shown = one_value_per_field(self.fields(), shown)?;
        let (client_id, client_secret) = match shown {
            [client_id, client_secret] => (client_id, client_secret),
            _ => {
                return Err(SecretShapeError::Count {
                    expected: 2,
                    found: shown.len(),
                    fields: "client_id, client_secret".into(),
                });
            }
        };
        if !drawn_from(
            client_id,
            |b| b.is_ascii_alphanumeric(),
            secrets::LOOKER_CLIENT_ID_LEN,
        ) {
            return Err(SecretShapeError::Shape {
                field: "client_id",
                shape: "20 characters from [A-Za-z0-9]",
            });
        }
        if !drawn_from(
            client_secret,
            |b| b.is_ascii_alphanumeric(),
            secrets::LOOKER_CLIENT_SECRET_LEN,
        ) {
            return Err(SecretShapeError::Shape {
                field: "client_secret",
                shape: "24 characters from [A-Za-z0-9]",
            });
        }
        Ok(StoredSecret {
            kind: self.kind(),
            lookup_key: client_id.clone(),
            hash: Some(SecretHash::of(client_secret)),
            sealed: None,
        })
    }
}

/// The prefix of access tokens, so a leaked one is recognisable.
pub const ACCESS_TOKEN_PREFIX: &str = "lsa_";

/// The `Authorization` schemes an access token may be sent with: Looker
/// documents `token`, most of its SDKs send `Bearer`.
pub const ACCESS_TOKEN_SCHEMES: &[&str] = &["token", "bearer"];

/// A freshly issued access token: the token itself (shown once) and what
/// is stored of it.
#[derive(Clone)]
pub struct IssuedAccessToken {
    pub token: String,
    pub record: AccessToken,
}

impl std::fmt::Debug for IssuedAccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedAccessToken")
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

/// Who a request with a working access token comes from.
#[derive(Clone, Debug)]
pub struct TokenCaller {
    /// What the request may do: the token's credential, narrowed to one
    /// user for a sudo token.
    pub credential: Credential,
    /// The credential the token belongs to.
    pub owner: Credential,
    /// The token as stored.
    pub token: AccessToken,
}

impl Authenticator {
    /// The unrevoked credential with this Looker client id and secret,
    /// after its rate limit. Unknown ids and wrong secrets are both
    /// `Invalid`; the secret is compared in constant time.
    pub async fn looker_client(
        &self,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Credential, AuthError> {
        let (credential, secret) = self
            .store
            .credential_by_secret(SECRETS.kind(), client_id)
            .await?
            .ok_or(AuthError::Invalid)?;
        if !secret.hash.is_some_and(|hash| hash.matches(client_secret)) {
            return Err(AuthError::Invalid);
        }
        self.admit(&credential)?;
        Ok(credential)
    }

    /// Issues an access token for `credential`, valid for
    /// [`ACCESS_TOKEN_LIFETIME`]; a sudo token acts as `acting_user_id` and
    /// ends `session_id` when logged out. Expired tokens are purged on the
    /// way (they can never work again).
    pub async fn issue_access_token(
        &self,
        credential: &Credential,
        acting_user_id: Option<String>,
        session_id: Option<Pfid>,
    ) -> Result<IssuedAccessToken, StoreError> {
        let now = self.clock.now();
        self.store.delete_expired_access_tokens(now).await?;
        let token = secrets::new_token(ACCESS_TOKEN_PREFIX);
        let record = AccessToken {
            token_hash: SecretHash::of(&token),
            credential_id: credential.id,
            created_at: now,
            expires_at: now + ACCESS_TOKEN_LIFETIME,
            revoked_at: None,
            acting_user_id,
            session_id,
        };
        self.store.insert_access_token(&record).await?;
        Ok(IssuedAccessToken { token, record })
    }

    /// The caller whose working access token the request carries
    /// (`Authorization: token <t>` or `Bearer <t>`), after its rate limit.
    /// `Missing` without an `Authorization` header; `Invalid` for a
    /// malformed header or a token that is unknown, expired, logged out, or
    /// whose credential is revoked.
    pub async fn access_token(&self, headers: &HeaderMap) -> Result<TokenCaller, AuthError> {
        let token = bearer_token(headers, ACCESS_TOKEN_SCHEMES)?;
        let (record, owner) = self
            .store
            .access_token(&SecretHash::of(token))
            .await?
            .ok_or(AuthError::Invalid)?;
        if !record.is_live(self.clock.now()) {
            return Err(AuthError::Invalid);
        }
        self.admit(&owner)?;
        Ok(TokenCaller {
            credential: record.effective_credential(&owner),
            owner,
            token: record,
        })
    }

    /// Whether `token` is an access token this service issued, in
    /// whatever state (expired, logged out), as long as its credential is
    /// not revoked.
    pub async fn issued_access_token(&self, token: &str) -> Result<bool, StoreError> {
        Ok(self
            .store
            .access_token(&SecretHash::of(token))
            .await?
            .is_some())
    }

    /// Logs the token out. False if it stopped being live meanwhile (a
    /// concurrent logout won).
    pub async fn revoke_access_token(&self, token: &AccessToken) -> Result<bool, StoreError> {
        self.store
            .revoke_access_token(&token.token_hash, self.clock.now())
            .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::Arc;

    use chrono::{DateTime, TimeDelta};
    use http::HeaderValue;

    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::domain::credential::Role;
    use crate::store::SharedStore;
    use crate::store::conformance::credential_with_secrets;
    use crate::store::sqlite::SqliteStore;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[tokio::test]
    async fn login_use_expiry_logout_and_credential_revocation() {
        let directory = tempfile::tempdir().unwrap();
        let store: SharedStore =
            Arc::new(SqliteStore::open(&directory.path().join("s.db")).unwrap());
        let clock = Arc::new(ManualClock::new(
            DateTime::from_timestamp_millis(1_704_067_200_000).unwrap(),
        ));
        let auth = Authenticator::new(store.clone(), clock.clone());
        let (mut credential, _) = credential_with_secrets("tokens");
        credential.rate_limit = Some(1000);
        let minted = SECRETS.mint(&credential.id, &ServerKey::generate());
        let [client_id, secret] = minted.shown.try_into().unwrap();
        store
            .insert_credential(&credential, &[minted.stored])
            .await
            .unwrap();

        // The client secret is only stored hashed, yet recognised.
        assert_eq!(
            auth.looker_client(&client_id, &secret).await.unwrap(),
            credential
        );
        for (id, secret) in [(client_id.as_str(), "wrong"), ("unknown", secret.as_str())] {
            assert_eq!(
                auth.looker_client(id, secret).await.unwrap_err(),
                AuthError::Invalid
            );
        }

        let issued = auth
            .issue_access_token(&credential, None, None)
            .await
            .unwrap();
        assert!(issued.token.starts_with(ACCESS_TOKEN_PREFIX));
        assert_eq!(issued.token.len(), ACCESS_TOKEN_PREFIX.len() + 43);
        assert!(!format!("{issued:?}").contains(&issued.token));
        for scheme in ["token", "Bearer", "TOKEN"] {
            let caller = auth
                .access_token(&headers(&format!("{scheme} {}", issued.token)))
                .await
                .unwrap();
            assert_eq!(caller.credential, credential);
            assert_eq!(caller.token, issued.record);
        }
        assert_eq!(
            auth.access_token(&HeaderMap::new()).await.unwrap_err(),
            AuthError::Missing
        );
        assert_eq!(
            auth.access_token(&headers(&format!("Basic {}", issued.token)))
                .await
                .unwrap_err(),
            AuthError::Invalid
        );

        let sudo = auth
            .issue_access_token(&credential, Some("42".into()), None)
            .await
            .unwrap();
        let caller = auth
            .access_token(&headers(&format!("token {}", sudo.token)))
            .await
            .unwrap();
        assert_eq!(caller.credential.role, Role::User);
        assert_eq!(caller.credential.user_id.as_deref(), Some("42"));
        assert_eq!(caller.owner, credential);

        // Expiry: live until one hour has passed, not a millisecond more.
        clock.advance(ACCESS_TOKEN_LIFETIME - TimeDelta::milliseconds(1));
        assert!(
            auth.access_token(&headers(&format!("token {}", issued.token)))
                .await
                .is_ok()
        );
        clock.advance(TimeDelta::milliseconds(1));
        assert_eq!(
            auth.access_token(&headers(&format!("token {}", issued.token)))
                .await
                .unwrap_err(),
            AuthError::Invalid
        );
        // A new login purges it.
        let fresh = auth
            .issue_access_token(&credential, None, None)
            .await
            .unwrap();
        assert_eq!(
            store.access_token(&issued.record.token_hash).await.unwrap(),
            None
        );

        // Logout works once.
        assert!(auth.revoke_access_token(&fresh.record).await.unwrap());
        assert!(!auth.revoke_access_token(&fresh.record).await.unwrap());
        assert_eq!(
            auth.access_token(&headers(&format!("token {}", fresh.token)))
                .await
                .unwrap_err(),
            AuthError::Invalid
        );

        // Revoking the credential stops its tokens at once.
        let last = auth
            .issue_access_token(&credential, None, None)
            .await
            .unwrap();
        store
            .revoke_credential(&credential.id, clock.now())
            .await
            .unwrap();
        assert_eq!(
            auth.access_token(&headers(&format!("token {}", last.token)))
                .await
                .unwrap_err(),
            AuthError::Invalid
        );
        assert_eq!(
            auth.looker_client(&client_id, &secret).await.unwrap_err(),
            AuthError::Invalid
        );
    }
}
