//! Credentials: who calls the API, and which sessions they may see and
//! change.
//!
//! A credential is a principal with a role. `admin` may do everything;
//! `store-admin` everything within one identity store (Huawei's management
//! account or delegated administrator); `user` only reads and ends its own
//! user's sessions. One credential carries a secret for every dialect
//! ([`StoredSecret`]), so the same principal is recognised whichever API it
//! uses.

use crate::domain::Timestamp;
use crate::domain::session::Session;
use crate::pfid::Pfid;
use crate::secrets::SecretHash;

/// What a credential may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    StoreAdmin,
    User,
}

impl Role {
    /// The name used on the command line and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::StoreAdmin => "store-admin",
            Role::User => "user",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "admin" => Some(Role::Admin),
            "store-admin" => Some(Role::StoreAdmin),
            "user" => Some(Role::User),
            _ => None,
        }
    }
}

/// A credential, without its secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    pub id: Pfid,
    pub name: Option<String>,
    pub role: Role,
    /// The identity store a `store-admin` manages, or a `user` belongs to.
    pub identity_store_id: Option<String>,
    /// The user a `user` credential is.
    pub user_id: Option<String>,
    /// Requests per second allowed (burst of twice that); `None` for no
    /// limit.
    pub rate_limit: Option<u32>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// Which dialect a stored secret belongs to: the name it is stored and
/// looked up under (`native`, `looker`, ...). Each dialect declares its own
/// kind beside its authentication code; the stores, the credential cache
/// and the command line treat every kind alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretKind(pub &'static str);

impl SecretKind {
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl std::fmt::Display for SecretKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// One of a credential's secrets at rest: the key a request presents to
/// find it (the hash of a bearer token, in hex; a Looker client id; a
/// Huawei access key), unique within its kind, and what proves the
/// request holds the secret once it is found: the hash of a second secret
/// (a Looker client secret), or a secret sealed with the server key (a
/// Huawei secret key, which the server needs to verify signatures). A
/// bearer token needs neither: finding its hash is the proof. A sealed
/// value is bound to its credential's id (the sealing context), so it
/// cannot be moved to another credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSecret {
    pub kind: SecretKind,
    pub lookup_key: String,
    pub hash: Option<SecretHash>,
    pub sealed: Option<Vec<u8>>,
}

/// A temporary Huawei AK/SK with a security token, at rest: issued for a
/// parent credential, whose role and scope it carries, until it expires
/// or the parent is revoked. The SK is sealed with the server key, the
/// security token kept only as a hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemporaryHuaweiKey {
    pub access_key: String,
    pub secret_key_sealed: Vec<u8>,
    pub security_token: SecretHash,
    /// The parent credential.
    pub credential_id: Pfid,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl TemporaryHuaweiKey {
    /// The context the SK is sealed for (binding the sealed bytes to this
    /// access key).
    pub fn seal_context(access_key: &str) -> Vec<u8> {
        format!("huawei-temporary-sk:{access_key}").into_bytes()
    }
}

/// Why a well-formed credential request is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CredentialShapeError {
    #[error("a store-admin credential needs --identity-store")]
    StoreAdminWithoutStore,
    #[error("a user credential needs --user-id")]
    UserWithoutUserId,
    #[error("an admin credential is not limited to an identity store or user")]
    AdminWithScope,
    #[error("a store-admin credential does not name a user")]
    StoreAdminWithUser,
    #[error("the rate limit must be at least 1 request per second")]
    ZeroRateLimit,
}

impl Credential {
    /// Checks that the role and the scope fit together.
    pub fn check_shape(&self) -> Result<(), CredentialShapeError> {
        match self.role {
            Role::Admin if self.identity_store_id.is_some() || self.user_id.is_some() => {
                return Err(CredentialShapeError::AdminWithScope);
            }
            Role::StoreAdmin if self.identity_store_id.is_none() => {
                return Err(CredentialShapeError::StoreAdminWithoutStore);
            }
            Role::StoreAdmin if self.user_id.is_some() => {
                return Err(CredentialShapeError::StoreAdminWithUser);
            }
            Role::User if self.user_id.is_none() => {
                return Err(CredentialShapeError::UserWithoutUserId);
            }
            _ => {}
        }
        if self.rate_limit == Some(0) {
            return Err(CredentialShapeError::ZeroRateLimit);
        }
        Ok(())
    }

    /// Whether the credential may see this session at all. Everything the
    /// credential may not see is answered as if it did not exist.
    pub fn can_see(&self, session: &Session) -> bool {
        self.can_see_store(&session.identity_store_id)
            && match self.role {
                Role::User => session.user_id.is_some() && session.user_id == self.user_id,
                Role::Admin | Role::StoreAdmin => true,
            }
    }

    /// Whether the credential may see sessions in this identity store.
    pub fn can_see_store(&self, identity_store_id: &str) -> bool {
        match (&self.role, &self.identity_store_id) {
            (Role::Admin, _) => true,
            (_, Some(own)) => own == identity_store_id,
            (Role::User, None) => true,
            (Role::StoreAdmin, None) => false,
        }
    }

    /// Whether the credential administers sessions (records them, records
    /// interactions, authenticates, extends, revokes): `admin` and
    /// `store-admin`. A `user` may only read and log out its own.
    pub fn administers(&self) -> bool {
        matches!(self.role, Role::Admin | Role::StoreAdmin)
    }

    /// Whether the credential may act on all sessions of `user_id`.
    pub fn may_act_for_user(&self, user_id: &str) -> bool {
        match self.role {
            Role::Admin | Role::StoreAdmin => true,
            Role::User => self.user_id.as_deref() == Some(user_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::session::{Enrichment, SessionType, Status};
    use chrono::DateTime;

    fn credential(role: Role, store: Option<&str>, user: Option<&str>) -> Credential {
        Credential {
            id: Pfid::ZERO,
            name: None,
            role,
            identity_store_id: store.map(str::to_string),
            user_id: user.map(str::to_string),
            rate_limit: None,
            created_at: DateTime::UNIX_EPOCH,
            revoked_at: None,
        }
    }

    fn session(store: &str, user: Option<&str>) -> Session {
        Session {
            id: Pfid::ZERO,
            identity_store_id: store.into(),
            user_id: user.map(str::to_string),
            status: Status::Authenticated,
            session_type: SessionType::Browser,
            credentials_type: None,
            created_at: DateTime::UNIX_EPOCH,
            expires_at: DateTime::UNIX_EPOCH,
            extended_at: None,
            extended_count: 0,
            first_seen: None,
            last_seen: None,
            enrichment: Enrichment::default(),
            sudo_user_id: None,
            account_id: None,
            domain_id: None,
            device_id: None,
            title: None,
            ended_at: None,
            version: 1,
        }
    }

    #[test]
    fn scopes() {
        let admin = credential(Role::Admin, None, None);
        let store_a = credential(Role::StoreAdmin, Some("a"), None);
        let user_1 = credential(Role::User, None, Some("1"));
        let user_1_in_b = credential(Role::User, Some("b"), Some("1"));

        assert!(admin.can_see(&session("a", Some("1"))));
        assert!(store_a.can_see(&session("a", Some("1"))));
        assert!(!store_a.can_see(&session("b", Some("1"))));
        assert!(user_1.can_see(&session("a", Some("1"))));
        assert!(!user_1.can_see(&session("a", Some("2"))));
        assert!(!user_1.can_see(&session("a", None)));
        assert!(!user_1_in_b.can_see(&session("a", Some("1"))));
        assert!(user_1_in_b.can_see(&session("b", Some("1"))));
        assert!(!user_1.administers() && store_a.administers());
        assert!(user_1.may_act_for_user("1") && !user_1.may_act_for_user("2"));
    }

    #[test]
    fn shapes() {
        assert_eq!(credential(Role::Admin, None, None).check_shape(), Ok(()));
        assert_eq!(
            credential(Role::Admin, Some("a"), None).check_shape(),
            Err(CredentialShapeError::AdminWithScope)
        );
        assert_eq!(
            credential(Role::StoreAdmin, None, None).check_shape(),
            Err(CredentialShapeError::StoreAdminWithoutStore)
        );
        assert_eq!(
            credential(Role::User, Some("a"), None).check_shape(),
            Err(CredentialShapeError::UserWithoutUserId)
        );
        let mut limited = credential(Role::Admin, None, None);
        limited.rate_limit = Some(0);
        assert_eq!(
            limited.check_shape(),
            Err(CredentialShapeError::ZeroRateLimit)
        );
    }
}
