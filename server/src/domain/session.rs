//! The canonical session and its status machine.
//!
//! ```text
//!   new ──interaction──▶ unauthenticated ──authenticate──▶ authenticated
//!    └──────────────────authenticate───────────────────────────▲
//!   any live status ──logout──▶ complete
//!   any live status ──revoke──▶ revoked
//! ```
//!
//! Expiry is never a stored transition: a session whose `expires_at` has
//! passed reads as `complete` (ended by expiry) the moment it passes, in
//! every replica, with no background job that could be late or missed.
//! Every transition is a method here that checks it is legal; the store
//! only persists what these methods produce.

use std::net::IpAddr;

use chrono::TimeDelta;

use crate::domain::Timestamp;
use crate::pfid::Pfid;

/// The status a session was put in. What a reader sees is
/// [`Session::effective_status`], which also accounts for expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    New,
    Unauthenticated,
    Authenticated,
    Complete,
    Revoked,
}

impl Status {
    /// The statuses of a session that has not ended (it may still have
    /// expired).
    pub const OPEN: [Status; 3] = [Status::New, Status::Unauthenticated, Status::Authenticated];

    /// The name the store and every dialect use.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Unauthenticated => "unauthenticated",
            Status::Authenticated => "authenticated",
            Status::Complete => "complete",
            Status::Revoked => "revoked",
        }
    }

    /// The inverse of [`Status::as_str`].
    pub fn parse(text: &str) -> Option<Status> {
        match text {
            "new" => Some(Status::New),
            "unauthenticated" => Some(Status::Unauthenticated),
            "authenticated" => Some(Status::Authenticated),
            "complete" => Some(Status::Complete),
            "revoked" => Some(Status::Revoked),
            _ => None,
        }
    }

    /// Whether the session was not ended by a logout or a revocation.
    pub fn is_open(self) -> bool {
        Status::OPEN.contains(&self)
    }
}

/// Browser or API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SessionType {
    Browser,
    Api,
}

impl SessionType {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionType::Browser => "browser",
            SessionType::Api => "api",
        }
    }

    pub fn parse(text: &str) -> Option<SessionType> {
        match text {
            "browser" => Some(SessionType::Browser),
            "api" => Some(SessionType::Api),
            _ => None,
        }
    }
}

/// Why a session is not live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    LoggedOut,
    Revoked,
    Expired,
}

/// One moment the session's client was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interaction {
    pub at: Timestamp,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

/// What the server derived from the first interaction: browser and OS from
/// the user agent, location from the IP address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Enrichment {
    pub browser: Option<String>,
    pub operating_system: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
}

/// The canonical session: the union of what the dialects show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: Pfid,
    pub identity_store_id: String,
    pub user_id: Option<String>,
    pub status: Status,
    pub session_type: SessionType,
    pub credentials_type: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub extended_at: Option<Timestamp>,
    pub extended_count: u32,
    pub first_seen: Option<Interaction>,
    pub last_seen: Option<Interaction>,
    pub enrichment: Enrichment,
    pub sudo_user_id: Option<String>,
    pub account_id: Option<Pfid>,
    pub domain_id: Option<Pfid>,
    pub device_id: Option<Pfid>,
    pub title: Option<String>,
    /// When a logout or revocation ended the session.
    pub ended_at: Option<Timestamp>,
    /// Bumped by every change; the store writes a change only over the
    /// version it was computed from (optimistic concurrency).
    pub version: u64,
}

/// A transition the session's state does not allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("the session has ended ({})", describe_end(*.0))]
    Ended(EndReason),
    #[error("the session is already authenticated")]
    AlreadyAuthenticated,
    #[error("the new expiry must not be earlier than the current one ({current})")]
    NotLater { current: Timestamp },
    #[error("the new expiry must be in the future")]
    ExpiryInPast,
    #[error("the interaction time is before the session was created")]
    InteractionBeforeCreation,
    #[error("the interaction time is more than five minutes in the future")]
    InteractionInFuture,
}

fn describe_end(reason: EndReason) -> &'static str {
    match reason {
        EndReason::LoggedOut => "the user logged out",
        EndReason::Revoked => "it was revoked",
        EndReason::Expired => "it expired",
    }
}

/// How far ahead of the server's clock an interaction may be dated (client
/// clocks drift).
pub const INTERACTION_CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);

impl Session {
    /// Whether the session is usable at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.end_reason(now).is_none()
    }

    /// Why the session is not live at `now`, if it is not.
    pub fn end_reason(&self, now: Timestamp) -> Option<EndReason> {
        match self.status {
            Status::Complete => Some(EndReason::LoggedOut),
            Status::Revoked => Some(EndReason::Revoked),
            _ if self.expires_at <= now => Some(EndReason::Expired),
            _ => None,
        }
    }

    /// The status a reader sees at `now`: an expired session is `complete`.
    pub fn effective_status(&self, now: Timestamp) -> Status {
        match self.end_reason(now) {
            Some(EndReason::Expired) => Status::Complete,
            _ => self.status,
        }
    }

    fn ensure_live(&self, now: Timestamp) -> Result<(), TransitionError> {
        match self.end_reason(now) {
            Some(reason) => Err(TransitionError::Ended(reason)),
            None => Ok(()),
        }
    }

    fn bump(&mut self) {
        self.version += 1;
    }

    /// The client was seen. The first interaction also becomes
    /// `first_seen`; a `new` session becomes `unauthenticated`. An
    /// interaction older than the last one recorded does not move
    /// `last_seen` back.
    pub fn record_interaction(
        &mut self,
        interaction: Interaction,
        now: Timestamp,
    ) -> Result<(), TransitionError> {
        self.ensure_live(now)?;
        if interaction.at < self.created_at {
            return Err(TransitionError::InteractionBeforeCreation);
        }
        if interaction.at > now + INTERACTION_CLOCK_SKEW {
            return Err(TransitionError::InteractionInFuture);
        }
        if self.first_seen.is_none() {
            self.first_seen = Some(interaction.clone());
        }
        let is_latest = self
            .last_seen
            .as_ref()
            .is_none_or(|last| interaction.at >= last.at);
        if is_latest {
            self.last_seen = Some(interaction);
        }
        if self.status == Status::New {
            self.status = Status::Unauthenticated;
        }
        self.bump();
        Ok(())
    }

    /// Whether recording `interaction` at `now` would change nothing a
    /// reader can see at `granularity`: the session is live and was last
    /// seen from the same address and agent less than `granularity` before.
    /// Such interactions are coalesced into the last one instead of
    /// written. One that [`Self::record_interaction`] would refuse (an
    /// ended session, a time in the future) is never redundant, so it is
    /// refused as usual.
    pub fn interaction_is_redundant(
        &self,
        interaction: &Interaction,
        granularity: TimeDelta,
        now: Timestamp,
    ) -> bool {
        let Some(last) = &self.last_seen else {
            return false;
        };
        self.status != Status::New
            && self.first_seen.is_some()
            && self.is_live(now)
            && interaction.at >= self.created_at
            && interaction.at <= now + INTERACTION_CLOCK_SKEW
            && last.ip == interaction.ip
            && last.user_agent == interaction.user_agent
            && interaction.at >= last.at
            && interaction.at - last.at < granularity
    }

    /// A new expiry: it must be in the future and later than the current.
    pub fn extend(&mut self, expires_at: Timestamp, now: Timestamp) -> Result<(), TransitionError> {
        self.ensure_live(now)?;
        if expires_at <= now {
            return Err(TransitionError::ExpiryInPast);
        }
        if expires_at == self.expires_at {
            // Already extended to exactly that time (two clients extending
            // to the same time at once, or a retry): nothing to change,
            // and not an error. The version stays, so nothing is written.
            return Ok(());
        }
        if expires_at < self.expires_at {
            return Err(TransitionError::NotLater {
                current: self.expires_at,
            });
        }
        self.expires_at = expires_at;
        self.extended_at = Some(now);
        self.extended_count = self.extended_count.saturating_add(1);
        self.bump();
        Ok(())
    }

    /// A user logged in to a session nobody had logged in to.
    pub fn authenticate(
        &mut self,
        user_id: String,
        credentials_type: Option<String>,
        now: Timestamp,
    ) -> Result<(), TransitionError> {
        self.ensure_live(now)?;
        if self.status == Status::Authenticated {
            return Err(TransitionError::AlreadyAuthenticated);
        }
        self.user_id = Some(user_id);
        if credentials_type.is_some() {
            self.credentials_type = credentials_type;
        }
        self.status = Status::Authenticated;
        self.bump();
        Ok(())
    }

    /// The user logged out.
    pub fn logout(&mut self, now: Timestamp) -> Result<(), TransitionError> {
        self.end(Status::Complete, now)
    }

    /// An administrator cut the session short.
    pub fn revoke(&mut self, now: Timestamp) -> Result<(), TransitionError> {
        self.end(Status::Revoked, now)
    }

    fn end(&mut self, status: Status, now: Timestamp) -> Result<(), TransitionError> {
        self.ensure_live(now)?;
        self.status = status;
        self.ended_at = Some(now);
        self.bump();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn at(seconds: i64) -> Timestamp {
        DateTime::<Utc>::from_timestamp(1_700_000_000 + seconds, 0).expect("valid time")
    }

    fn session(status: Status) -> Session {
        Session {
            id: Pfid::ZERO,
            identity_store_id: "store".into(),
            user_id: (status == Status::Authenticated).then(|| "u1".to_string()),
            status,
            session_type: SessionType::Browser,
            credentials_type: None,
            created_at: at(0),
            expires_at: at(3600),
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

    fn seen(seconds: i64, ip: &str) -> Interaction {
        Interaction {
            at: at(seconds),
            ip: ip.parse().ok(),
            user_agent: Some("ua".into()),
        }
    }

    #[test]
    fn expiry_is_derived_not_stored() {
        let s = session(Status::Authenticated);
        assert!(s.is_live(at(3599)));
        assert_eq!(s.effective_status(at(3599)), Status::Authenticated);
        assert!(!s.is_live(at(3600)));
        assert_eq!(s.effective_status(at(3600)), Status::Complete);
        assert_eq!(s.end_reason(at(3600)), Some(EndReason::Expired));
        assert_eq!(s.status, Status::Authenticated);
    }

    #[test]
    fn first_interaction_makes_a_new_session_unauthenticated() {
        let mut s = session(Status::New);
        s.record_interaction(seen(10, "10.0.0.1"), at(10))
            .expect("live");
        assert_eq!(s.status, Status::Unauthenticated);
        assert_eq!(s.first_seen, Some(seen(10, "10.0.0.1")));
        s.record_interaction(seen(20, "10.0.0.2"), at(20))
            .expect("live");
        assert_eq!(s.first_seen, Some(seen(10, "10.0.0.1")));
        assert_eq!(s.last_seen, Some(seen(20, "10.0.0.2")));
        assert_eq!(s.version, 3);
    }

    #[test]
    fn a_late_interaction_does_not_move_last_seen_back() {
        let mut s = session(Status::Authenticated);
        s.record_interaction(seen(20, "10.0.0.2"), at(20))
            .expect("live");
        s.record_interaction(seen(15, "10.0.0.1"), at(21))
            .expect("live");
        assert_eq!(s.last_seen, Some(seen(20, "10.0.0.2")));
    }

    #[test]
    fn interactions_outside_the_session_life_are_refused() {
        let mut s = session(Status::Authenticated);
        assert_eq!(
            s.record_interaction(seen(-1, "10.0.0.1"), at(10)),
            Err(TransitionError::InteractionBeforeCreation)
        );
        assert_eq!(
            s.record_interaction(seen(10 + 301, "10.0.0.1"), at(10)),
            Err(TransitionError::InteractionInFuture)
        );
        assert_eq!(
            s.record_interaction(seen(3600, "10.0.0.1"), at(3600)),
            Err(TransitionError::Ended(EndReason::Expired))
        );
        assert_eq!(s.version, 1);
    }

    #[test]
    fn authenticate_only_once() {
        let mut s = session(Status::Unauthenticated);
        s.authenticate("u9".into(), Some("saml".into()), at(5))
            .expect("allowed");
        assert_eq!(
            (s.status, s.user_id.as_deref()),
            (Status::Authenticated, Some("u9"))
        );
        assert_eq!(
            s.authenticate("u10".into(), None, at(6)),
            Err(TransitionError::AlreadyAuthenticated)
        );
        assert_eq!(s.user_id.as_deref(), Some("u9"));
    }

    #[test]
    fn extend_moves_expiry_forward_only() {
        let mut s = session(Status::Authenticated);
        assert_eq!(
            s.extend(at(100), at(200)),
            Err(TransitionError::ExpiryInPast)
        );
        assert_eq!(
            s.extend(at(1000), at(10)),
            Err(TransitionError::NotLater { current: at(3600) })
        );
        s.extend(at(7200), at(10)).expect("allowed");
        s.extend(at(9000), at(20)).expect("allowed");
        assert_eq!(
            (s.expires_at, s.extended_at, s.extended_count),
            (at(9000), Some(at(20)), 2)
        );
        let before = s.clone();
        s.extend(at(9000), at(30))
            .expect("to the same time again: nothing to do");
        assert_eq!(s, before, "changed nothing, version included");
        assert_eq!(
            s.extend(at(8999), at(30)),
            Err(TransitionError::NotLater { current: at(9000) })
        );
    }

    #[test]
    fn ended_sessions_refuse_every_transition() {
        for end in [Session::logout, Session::revoke] {
            let mut s = session(Status::Authenticated);
            end(&mut s, at(10)).expect("first end");
            let reason = s.end_reason(at(11)).expect("ended");
            assert_eq!(s.ended_at, Some(at(10)));
            assert_eq!(s.logout(at(11)), Err(TransitionError::Ended(reason)));
            assert_eq!(s.revoke(at(11)), Err(TransitionError::Ended(reason)));
            assert_eq!(
                s.extend(at(9000), at(11)),
                Err(TransitionError::Ended(reason))
            );
            assert_eq!(
                s.authenticate("x".into(), None, at(11)),
                Err(TransitionError::Ended(reason))
            );
        }
    }

    #[test]
    fn redundant_interactions_are_recognised() {
        let five = TimeDelta::seconds(5);
        let mut s = session(Status::Authenticated);
        assert!(!s.interaction_is_redundant(&seen(1, "10.0.0.1"), five, at(1)));
        s.record_interaction(seen(1, "10.0.0.1"), at(1))
            .expect("live");
        assert!(s.interaction_is_redundant(&seen(3, "10.0.0.1"), five, at(3)));
        assert!(!s.interaction_is_redundant(&seen(6, "10.0.0.1"), five, at(6)));
        assert!(!s.interaction_is_redundant(&seen(3, "10.0.0.9"), five, at(3)));
        // What recording would refuse is never coalesced.
        let mut ended = s.clone();
        ended.revoke(at(2)).expect("live");
        assert!(!ended.interaction_is_redundant(&seen(3, "10.0.0.1"), five, at(3)));
        let huge = TimeDelta::days(1);
        let far = at(1) + INTERACTION_CLOCK_SKEW + TimeDelta::seconds(10);
        let future = Interaction {
            at: far,
            ..seen(1, "10.0.0.1")
        };
        assert!(!s.interaction_is_redundant(&future, huge, at(1)));
        // A row that breaks the invariants the write path keeps (a last
        // interaction without a first, or one before creation) is written,
        // so the usual checks and enrichment apply.
        let mut odd = s.clone();
        odd.first_seen = None;
        assert!(!odd.interaction_is_redundant(&seen(3, "10.0.0.1"), five, at(3)));
        let mut early = s.clone();
        early.created_at = at(2);
        assert!(!early.interaction_is_redundant(&seen(1, "10.0.0.1"), five, at(3)));
    }
}
