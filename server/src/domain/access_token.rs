//! Access tokens: short-lived bearer tokens a credential obtains by logging
//! in with its client id and secret (Looker's `POST /api/4.0/login`), and
//! that an administrator can mint to act as a user (Looker's "sudo",
//! `POST /api/4.0/login/{user_id}`).
//!
//! Only the SHA-256 of a token is kept. A token works while it is not
//! revoked, not expired, and its credential is not revoked; what it may do
//! is its credential's (scope and rate limit), narrowed to one user when it
//! acts as that user.

use chrono::TimeDelta;

use crate::domain::Timestamp;
use crate::domain::credential::{Credential, Role};
use crate::pfid::Pfid;
use crate::secrets::SecretHash;

/// How long an access token works: Looker's default, one hour.
pub const ACCESS_TOKEN_LIFETIME: TimeDelta = TimeDelta::seconds(3600);

/// An access token as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessToken {
    /// SHA-256 of the token; the token itself is never stored.
    pub token_hash: SecretHash,
    /// The credential that logged in (or, for a sudo token, the
    /// administrator's credential that minted it).
    pub credential_id: Pfid,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// When the token was logged out.
    pub revoked_at: Option<Timestamp>,
    /// The user the token acts as (a sudo token); `None` for a plain login.
    pub acting_user_id: Option<String>,
    /// The session recorded for a sudo token, ended when the token is
    /// logged out.
    pub session_id: Option<Pfid>,
}

impl AccessToken {
    /// Whether the token works at `now` (its credential aside).
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }

    /// Whole seconds until the token expires at `now` (0 once expired).
    pub fn expires_in(&self, now: Timestamp) -> i64 {
        (self.expires_at - now).num_seconds().max(0)
    }

    /// The credential requests with this token act as: the token's own
    /// credential, or for a sudo token that credential narrowed to the user
    /// it acts as (role `user`, same identity store scope, same id and
    /// therefore the same rate limit).
    pub fn effective_credential(&self, credential: &Credential) -> Credential {
        match &self.acting_user_id {
            None => credential.clone(),
            Some(user_id) => Credential {
                role: Role::User,
                user_id: Some(user_id.clone()),
                ..credential.clone()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn token(acting: Option<&str>) -> AccessToken {
        AccessToken {
            token_hash: SecretHash::of("t"),
            credential_id: Pfid::ZERO,
            created_at: DateTime::UNIX_EPOCH,
            expires_at: DateTime::UNIX_EPOCH + ACCESS_TOKEN_LIFETIME,
            revoked_at: None,
            acting_user_id: acting.map(str::to_string),
            session_id: None,
        }
    }

    fn admin(store: Option<&str>) -> Credential {
        Credential {
            id: Pfid::ZERO,
            name: None,
            role: if store.is_some() {
                Role::StoreAdmin
            } else {
                Role::Admin
            },
            identity_store_id: store.map(str::to_string),
            user_id: None,
            rate_limit: Some(7),
            created_at: DateTime::UNIX_EPOCH,
            revoked_at: None,
        }
    }

    #[test]
    fn liveness_and_expires_in() {
        let mut t = token(None);
        let start = DateTime::UNIX_EPOCH;
        assert!(t.is_live(start));
        assert_eq!(t.expires_in(start), 3600);
        assert_eq!(t.expires_in(start + TimeDelta::milliseconds(1500)), 3598);
        assert!(!t.is_live(t.expires_at));
        assert_eq!(t.expires_in(t.expires_at + TimeDelta::seconds(5)), 0);
        t.revoked_at = Some(start);
        assert!(!t.is_live(start));
    }

    #[test]
    fn a_sudo_token_acts_as_its_user_within_the_scope_of_its_credential() {
        let credential = admin(Some("acme"));
        assert_eq!(token(None).effective_credential(&credential), credential);
        let acting = token(Some("42")).effective_credential(&credential);
        assert_eq!(acting.role, Role::User);
        assert_eq!(acting.user_id.as_deref(), Some("42"));
        assert_eq!(acting.identity_store_id.as_deref(), Some("acme"));
        assert_eq!(acting.rate_limit, Some(7));
        assert_eq!(acting.id, credential.id);
        let anywhere = token(Some("42")).effective_credential(&admin(None));
        assert_eq!(anywhere.identity_store_id, None);
    }
}
