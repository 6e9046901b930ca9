//! What only Huawei's dialect asks of sessions: one user's live sessions
//! in one identity store (`ListSessions`), and revoking a listed set of
//! them at once (`batch-delete`). Both are administrative: an `admin` or
//! the store's `store-admin` only.

use super::{ServiceError, SessionService, require_store_administrator, validate_id};
use crate::domain::credential::Credential;
use crate::domain::session::Session;
use crate::pfid::Pfid;
use crate::store::{RevokeSessions, SessionOrder, SessionQuery};

impl SessionService {
    /// The live sessions of one user in one identity store, newest first,
    /// at most `limit` of them: an administrative view, for an `admin` or
    /// the store's `store-admin` only. A `user` credential is refused even
    /// for its own sessions (Huawei lets only management and delegated
    /// administrator accounts list them).
    pub async fn live_sessions_in_store(
        &self,
        caller: &Credential,
        identity_store_id: &str,
        user_id: &str,
        limit: u32,
    ) -> Result<Vec<Session>, ServiceError> {
        validate_id("identity_store_id", identity_store_id)?;
        validate_id("user_id", user_id)?;
        require_store_administrator(caller, identity_store_id)?;
        let query = SessionQuery {
            identity_store_id: Some(identity_store_id.to_string()),
            user_id: Some(user_id.to_string()),
            status: None,
            live: Some(true),
            now: self.now(),
            order: SessionOrder::NewestFirst,
            cursor: None,
            offset: 0,
            limit,
        };
        Ok(self.store.list_sessions(&query).await?)
    }

    /// Revokes, atomically, those of `ids` that are live sessions of the
    /// user in the identity store, and returns the ids revoked; others are
    /// ignored. Same authorization as [`Self::live_sessions_in_store`].
    pub async fn revoke_listed_sessions_in_store(
        &self,
        caller: &Credential,
        identity_store_id: &str,
        user_id: &str,
        ids: Vec<Pfid>,
    ) -> Result<Vec<Pfid>, ServiceError> {
        validate_id("identity_store_id", identity_store_id)?;
        validate_id("user_id", user_id)?;
        require_store_administrator(caller, identity_store_id)?;
        let request = RevokeSessions {
            identity_store_id: identity_store_id.to_string(),
            user_id: user_id.to_string(),
            ids,
            now: self.now(),
        };
        Ok(self.store.revoke_sessions(&request).await?)
    }
}
