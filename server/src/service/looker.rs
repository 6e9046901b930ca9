//! What only Looker's dialect asks of sessions: sessions addressed
//! through their user (`/users/{user_id}/sessions[/{session_id}]`), across
//! identity stores, and the newest session of a user (the one `login_user`
//! ties its token to).

use super::{
    ListSessions, ServiceError, SessionService, require_acting_for_user, scoped_store, validate_id,
};
use crate::domain::credential::Credential;
use crate::domain::session::{Session, TransitionError};
use crate::pfid::Pfid;
use crate::store::{SessionOrder, SessionQuery};

/// How many sessions a listing of all of a user's sessions reads at a time.
const LISTING_BATCH: u32 = 1000;

impl SessionService {
    /// Every live session of `user_id` the caller may see, newest first,
    /// across identity stores (within the caller's own, if it has one). A
    /// `user` credential may list only its own user's: `Forbidden`
    /// otherwise. A user id that no session could have is `Invalid`.
    pub async fn live_sessions_in_every_store(
        &self,
        caller: &Credential,
        user_id: &str,
    ) -> Result<Vec<Session>, ServiceError> {
        validate_id("user_id", user_id)?;
        require_acting_for_user(caller, user_id)?;
        let now = self.now();
        let mut sessions: Vec<Session> = Vec::new();
        let mut cursor = None;
        loop {
            let query = SessionQuery {
                identity_store_id: scoped_store(caller, None)?,
                user_id: Some(user_id.to_string()),
                status: None,
                live: Some(true),
                now,
                order: SessionOrder::NewestFirst,
                cursor,
                offset: 0,
                limit: LISTING_BATCH,
            };
            let mut batch = self.store.list_sessions(&query).await?;
            let done = batch.len() < LISTING_BATCH as usize;
            cursor = batch.last().map(|session| session.id);
            // In place: the first batch, most often the only one, becomes
            // the answer without moving its sessions again.
            batch.retain(|s| caller.can_see(s));
            if sessions.is_empty() {
                sessions = batch;
            } else {
                sessions.append(&mut batch);
            }
            if done {
                return Ok(sessions);
            }
        }
    }

    /// One live session of `user_id`, addressed through its user (as
    /// Looker's `/users/{user_id}/sessions/{session_id}` does): `NotFound`
    /// unless it exists, is visible to the caller, belongs to that user and
    /// is live. A `user` credential may address only its own user's
    /// sessions: `Forbidden` otherwise.
    pub async fn live_session_of_user(
        &self,
        caller: &Credential,
        user_id: &str,
        id: &Pfid,
    ) -> Result<Session, ServiceError> {
        validate_id("user_id", user_id)?;
        require_acting_for_user(caller, user_id)?;
        let session = self.view(caller, id).await?;
        if session.user_id.as_deref() != Some(user_id) || !session.is_live(self.now()) {
            return Err(ServiceError::NotFound);
        }
        Ok(session)
    }

    /// Ends one live session of `user_id`: an administrator revokes it, the
    /// user (a `user` credential acting for itself) logs out of it. A
    /// session that is not live (or stops being live meanwhile) is
    /// `NotFound`.
    pub async fn end_live_session_of_user(
        &self,
        caller: &Credential,
        user_id: &str,
        id: &Pfid,
    ) -> Result<Session, ServiceError> {
        self.live_session_of_user(caller, user_id, id).await?;
        let ended = if caller.administers() {
            self.revoke(caller, id).await
        } else {
            self.logout(caller, id).await
        };
        match ended {
            Err(ServiceError::Conflict(TransitionError::Ended(_))) => Err(ServiceError::NotFound),
            other => other,
        }
    }

    /// The newest session of `user_id` the caller may see, in any status.
    pub async fn newest_session_of_user(
        &self,
        caller: &Credential,
        user_id: &str,
    ) -> Result<Option<Session>, ServiceError> {
        let mut found = self
            .list(
                caller,
                ListSessions {
                    user_id: Some(user_id.to_string()),
                    limit: 1,
                    ..ListSessions::default()
                },
            )
            .await?;
        Ok(found.pop())
    }
}
