//! The domain service: every operation on sessions, as the dialects call
//! it, with the caller's credential.
//!
//! Handlers parse their wire format and map the result to their view; this
//! layer validates what is dialect-independent (ids, lifetimes, status
//! rules), decides visibility (a session the caller may not see is
//! `NotFound`, never `Forbidden`, so its existence does not leak), applies
//! the domain's transitions, and writes them with optimistic concurrency,
//! retrying when another writer got there first.
//!
//! Enrichment (browser, OS, city, state, country) follows the session's
//! FIRST interaction, as Looker defines it ("IP address of user when this
//! session was initiated"): it is derived once, when the first interaction
//! is recorded — at creation when the request carries an address or agent,
//! else by the first `interactions` call — and stored; later interactions
//! with another agent or address change `last_seen`, never the enrichment.
//!
//! Operations every dialect shares live here; a query only one dialect
//! needs lives beside it (`looker`, `huawei`), named for what it returns.

pub mod credentials;
mod huawei;
mod looker;

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use chrono::TimeDelta;

use crate::clock::Clock;
use crate::domain::Timestamp;
use crate::domain::credential::Credential;
use crate::domain::ids::{IdError, normalize_user_agent, validate_id, validate_label};
use crate::domain::session::{Interaction, Session, SessionType, Status, TransitionError};
use crate::enrich::Enricher;
use crate::pfid::{Pfid, partition_for_identity_store};
use crate::store::{RevokeUserSessions, SessionOrder, SessionQuery, SharedSessions, StoreError};

/// Lifetimes and precision the service applies.
#[derive(Clone, Debug)]
pub struct SessionSettings {
    /// The lifetime of a session created without `ttl_seconds` or
    /// `expires_at`.
    pub default_ttl: TimeDelta,
    /// The longest lifetime a session may be given, from now.
    pub max_ttl: TimeDelta,
    /// How precise `last_seen` is: an interaction from the session's last
    /// address and user agent less than this after the last one is not
    /// written (zero writes every interaction).
    pub last_seen_granularity: TimeDelta,
}

/// The default [`SessionSettings::last_seen_granularity`], in seconds
/// (`serve --last-seen-granularity`).
pub const DEFAULT_LAST_SEEN_GRANULARITY_SECONDS: u32 = 60;

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            default_ttl: TimeDelta::hours(24),
            max_ttl: TimeDelta::days(366),
            last_seen_granularity: TimeDelta::seconds(i64::from(
                DEFAULT_LAST_SEEN_GRANULARITY_SECONDS,
            )),
        }
    }
}

/// The shortest lifetime a session may be given.
pub const MIN_TTL: TimeDelta = TimeDelta::seconds(1);

/// How often an optimistic write is tried before the service gives up.
/// Each round of writers racing on one session has one winner; the
/// jittered pause between attempts ([`retry_pause`]) spreads the losers
/// out, so even dozens of writers on one session (several replicas
/// extending it at once) all get through well within this bound.
const MAX_WRITE_ATTEMPTS: u32 = 200;

/// The longest pause between two attempts of an optimistic write.
const MAX_RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);

/// Why an operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// The request is not acceptable; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// No such session visible to the caller.
    #[error("session not found")]
    NotFound,
    /// The caller may not do this at all.
    #[error("{0}")]
    Forbidden(String),
    /// The session's state does not allow it.
    #[error(transparent)]
    Conflict(TransitionError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<TransitionError> for ServiceError {
    /// A refused transition is a conflict with the session's state, except
    /// where the request itself asked for something impossible (an expiry
    /// in the past, an interaction dated outside the session's life).
    fn from(error: TransitionError) -> Self {
        match error {
            TransitionError::Ended(_) | TransitionError::AlreadyAuthenticated => {
                ServiceError::Conflict(error)
            }
            TransitionError::NotLater { .. }
            | TransitionError::ExpiryInPast
            | TransitionError::InteractionBeforeCreation
            | TransitionError::InteractionInFuture => ServiceError::Invalid(error.to_string()),
        }
    }
}

impl From<IdError> for ServiceError {
    fn from(error: IdError) -> Self {
        ServiceError::Invalid(error.to_string())
    }
}

/// When a session expires, as a request states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// This many seconds from now.
    Ttl(u32),
    /// At this time.
    At(Timestamp),
}

/// A session to record.
#[derive(Clone, Debug, Default)]
pub struct NewSession {
    pub identity_store_id: String,
    pub user_id: Option<String>,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub credentials_type: Option<String>,
    pub session_type: Option<SessionType>,
    pub status: Option<Status>,
    pub expiry: Option<Expiry>,
    pub sudo_user_id: Option<String>,
    pub account_id: Option<Pfid>,
    pub domain_id: Option<Pfid>,
    pub device_id: Option<Pfid>,
    pub title: Option<String>,
}

/// A listing request: filters, the page's start and size.
#[derive(Clone, Debug, Default)]
pub struct ListSessions {
    pub identity_store_id: Option<String>,
    pub user_id: Option<String>,
    pub status: Option<Status>,
    pub live: Option<bool>,
    pub order: SessionOrder,
    /// Keyset pagination: start strictly past this id.
    pub cursor: Option<Pfid>,
    /// Offset pagination: skip this many first.
    pub offset: u32,
    pub limit: u32,
}

/// The session operations.
#[derive(Clone)]
pub struct SessionService {
    store: SharedSessions,
    clock: Arc<dyn Clock>,
    settings: SessionSettings,
    enricher: Arc<Enricher>,
}

impl SessionService {
    /// The service with the default enrichment ([`Enricher::builtin`]:
    /// user agents parsed, no GeoIP database).
    pub fn new(store: SharedSessions, clock: Arc<dyn Clock>, settings: SessionSettings) -> Self {
        SessionService {
            store,
            clock,
            settings,
            enricher: Enricher::builtin(),
        }
    }

    /// The same service, enriching sessions with `enricher`.
    pub fn with_enricher(mut self, enricher: Arc<Enricher>) -> Self {
        self.enricher = enricher;
        self
    }

    /// What enriches new sessions.
    pub fn enricher(&self) -> &Arc<Enricher> {
        &self.enricher
    }

    /// Now, by the service's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The store, for readiness checks.
    pub fn store(&self) -> &SharedSessions {
        &self.store
    }

    /// Records a session.
    pub async fn create(
        &self,
        caller: &Credential,
        request: NewSession,
    ) -> Result<Session, ServiceError> {
        require_administrator(caller)?;
        let session = self.new_session(caller, request)?;
        self.store.insert_session(&session).await?;
        Ok(session)
    }

    /// Builds (without storing) the session a request describes: the
    /// validation every creation path shares, bulk loads included.
    pub fn new_session(
        &self,
        caller: &Credential,
        request: NewSession,
    ) -> Result<Session, ServiceError> {
        validate_id("identity_store_id", &request.identity_store_id)?;
        if !caller.can_see_store(&request.identity_store_id) {
            return Err(ServiceError::Forbidden(
                "this credential manages another identity store".into(),
            ));
        }
        validate_optional_id("user_id", request.user_id.as_deref())?;
        validate_optional_id("sudo_user_id", request.sudo_user_id.as_deref())?;
        validate_optional_label("credentials_type", request.credentials_type.as_deref())?;
        validate_optional_label("title", request.title.as_deref())?;
        let status = initial_status(request.status, request.user_id.is_some())?;

        let now = self.now();
        let expires_at = self.expiry_time(request.expiry, now)?;
        let id = Pfid::generate(
            partition_for_identity_store(&request.identity_store_id),
            now.timestamp_millis().try_into().unwrap_or_default(),
        )
        .map_err(|e| ServiceError::Invalid(e.to_string()))?;

        let user_agent = request.user_agent.as_deref().and_then(normalize_user_agent);
        let first_seen = (request.ip.is_some() || user_agent.is_some()).then_some(Interaction {
            at: now,
            ip: request.ip,
            user_agent,
        });
        let status = match (status, &first_seen) {
            (Status::New, Some(_)) => Status::Unauthenticated,
            (status, _) => status,
        };
        let enrichment = first_seen
            .as_ref()
            .map(|first| self.enricher.enrich(first.ip, first.user_agent.as_deref()))
            .unwrap_or_default();

        Ok(Session {
            id,
            identity_store_id: request.identity_store_id,
            user_id: request.user_id,
            status,
            session_type: request.session_type.unwrap_or(SessionType::Browser),
            credentials_type: request.credentials_type,
            created_at: now,
            expires_at,
            extended_at: None,
            extended_count: 0,
            last_seen: first_seen.clone(),
            first_seen,
            enrichment,
            sudo_user_id: request.sudo_user_id,
            account_id: request.account_id,
            domain_id: request.domain_id,
            device_id: request.device_id,
            title: request.title,
            ended_at: None,
            version: 1,
        })
    }

    /// The session, if the caller may see it.
    pub async fn view(&self, caller: &Credential, id: &Pfid) -> Result<Session, ServiceError> {
        match self.store.session(id).await? {
            Some(session) if caller.can_see(&session) => Ok(session),
            _ => Err(ServiceError::NotFound),
        }
    }

    /// Sessions the caller may see, matching the filters, in the
    /// requested order and page.
    pub async fn list(
        &self,
        caller: &Credential,
        request: ListSessions,
    ) -> Result<Vec<Session>, ServiceError> {
        let query = self.scoped_query(caller, request)?;
        Ok(self.store.list_sessions(&query).await?)
    }

    /// How many sessions the caller may see match the filters.
    pub async fn count(
        &self,
        caller: &Credential,
        request: ListSessions,
    ) -> Result<u64, ServiceError> {
        let query = self.scoped_query(caller, request)?;
        Ok(self.store.count_sessions(&query).await?)
    }

    /// The store query for a listing, confined to what the caller may see.
    fn scoped_query(
        &self,
        caller: &Credential,
        request: ListSessions,
    ) -> Result<SessionQuery, ServiceError> {
        validate_optional_id("identity_store_id", request.identity_store_id.as_deref())?;
        validate_optional_id("user_id", request.user_id.as_deref())?;
        Ok(SessionQuery {
            identity_store_id: scoped_store(caller, request.identity_store_id)?,
            user_id: scoped_user(caller, request.user_id)?,
            status: request.status,
            live: request.live,
            now: self.now(),
            order: request.order,
            cursor: request.cursor,
            offset: request.offset,
            limit: request.limit,
        })
    }

    /// The client was seen. The interaction that becomes the session's
    /// first is enriched (once, however often a concurrent write makes the
    /// change start over). One that changes nothing at the configured
    /// [`SessionSettings::last_seen_granularity`] (same address and agent,
    /// soon after the last) is coalesced: the session is answered as it
    /// is, and nothing is written.
    pub async fn record_interaction(
        &self,
        caller: &Credential,
        id: &Pfid,
        ip: Option<IpAddr>,
        user_agent: Option<String>,
        at: Option<Timestamp>,
    ) -> Result<Session, ServiceError> {
        require_administrator(caller)?;
        let user_agent = user_agent.as_deref().and_then(normalize_user_agent);
        let at = at.map(crate::domain::truncate_to_millis);
        let current = self.view(caller, id).await?;
        let now = self.now();
        let seen = Interaction {
            at: at.unwrap_or(now),
            ip,
            user_agent: user_agent.clone(),
        };
        if current.interaction_is_redundant(&seen, self.settings.last_seen_granularity, now) {
            return Ok(current);
        }
        let enrichment = OnceLock::new();
        self.modify_from(caller, id, Some(current), |session, now| {
            let interaction = Interaction {
                at: at.unwrap_or(now),
                ip,
                user_agent: user_agent.clone(),
            };
            let is_first = session.first_seen.is_none();
            session.record_interaction(interaction, now)?;
            if is_first {
                session.enrichment = enrichment
                    .get_or_init(|| self.enricher.enrich(ip, user_agent.as_deref()))
                    .clone();
            }
            Ok(())
        })
        .await
    }

    /// A new expiry. A lifetime (`Expiry::Ttl`) counts from when the
    /// extension is written: an attempt that lost a race to another writer
    /// computes it again from the later time.
    pub async fn extend(
        &self,
        caller: &Credential,
        id: &Pfid,
        expiry: Expiry,
    ) -> Result<Session, ServiceError> {
        require_administrator(caller)?;
        // Checks the lifetime's bounds before anything is read.
        let fixed = self.expiry_time(Some(expiry), self.now())?;
        self.modify(caller, id, |session, now| {
            let expires_at = match expiry {
                Expiry::Ttl(seconds) => now + TimeDelta::seconds(i64::from(seconds)),
                Expiry::At(_) => fixed,
            };
            session.extend(expires_at, now)
        })
        .await
    }

    /// A user logged in.
    pub async fn authenticate(
        &self,
        caller: &Credential,
        id: &Pfid,
        user_id: String,
        credentials_type: Option<String>,
    ) -> Result<Session, ServiceError> {
        require_administrator(caller)?;
        validate_id("user_id", &user_id)?;
        validate_optional_label("credentials_type", credentials_type.as_deref())?;
        self.modify(caller, id, |session, now| {
            session.authenticate(user_id.clone(), credentials_type.clone(), now)
        })
        .await
    }

    /// The user logged out. A `user` credential may log out its own
    /// sessions.
    pub async fn logout(&self, caller: &Credential, id: &Pfid) -> Result<Session, ServiceError> {
        self.modify(caller, id, |session, now| session.logout(now))
            .await
    }

    /// An administrator revoked the session.
    pub async fn revoke(&self, caller: &Credential, id: &Pfid) -> Result<Session, ServiceError> {
        require_administrator(caller)?;
        self.modify(caller, id, |session, now| session.revoke(now))
            .await
    }

    /// Revokes every live session of a user the caller may see; a `user`
    /// credential may do it for itself ("log out other devices").
    pub async fn revoke_user_sessions(
        &self,
        caller: &Credential,
        user_id: &str,
        identity_store_id: Option<String>,
        except_session_id: Option<Pfid>,
    ) -> Result<Vec<Pfid>, ServiceError> {
        validate_id("user_id", user_id)?;
        validate_optional_id("identity_store_id", identity_store_id.as_deref())?;
        if !caller.may_act_for_user(user_id) {
            return Err(ServiceError::Forbidden(
                "a user credential may only end its own user's sessions".into(),
            ));
        }
        let request = RevokeUserSessions {
            user_id: user_id.to_string(),
            identity_store_id: scoped_store(caller, identity_store_id)?,
            except_session_id,
            now: self.now(),
        };
        Ok(self.store.revoke_user_sessions(&request).await?)
    }

    /// Reads the session, applies `change` to it, and writes it over the
    /// version it was read at; when another writer got there first, pauses
    /// a random moment ([`retry_pause`]) and starts over from the new
    /// version. Every successful write is exactly one application of
    /// `change` to the version it replaced: no update is lost.
    async fn modify(
        &self,
        caller: &Credential,
        id: &Pfid,
        change: impl Fn(&mut Session, Timestamp) -> Result<(), TransitionError>,
    ) -> Result<Session, ServiceError> {
        self.modify_from(caller, id, None, change).await
    }

    /// [`Self::modify`], starting from `read` when the caller has just read
    /// the session (through [`Self::view`]).
    async fn modify_from(
        &self,
        caller: &Credential,
        id: &Pfid,
        mut read: Option<Session>,
        change: impl Fn(&mut Session, Timestamp) -> Result<(), TransitionError>,
    ) -> Result<Session, ServiceError> {
        for attempt in 0..MAX_WRITE_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(retry_pause(attempt)).await;
            }
            let mut session = match read.take() {
                Some(session) => session,
                None => self.view(caller, id).await?,
            };
            let read_version = session.version;
            change(&mut session, self.now())?;
            if session.version == read_version {
                // The change found nothing to change (an idempotent
                // repeat): answered as read, written nowhere.
                return Ok(session);
            }
            if self.store.replace_session(read_version, &session).await? {
                return Ok(session);
            }
        }
        Err(ServiceError::Store(StoreError::Unavailable(
            "the session kept changing while it was being written; try again".into(),
        )))
    }

    fn expiry_time(
        &self,
        expiry: Option<Expiry>,
        now: Timestamp,
    ) -> Result<Timestamp, ServiceError> {
        let max = now + self.settings.max_ttl;
        let expires_at = match expiry {
            None => now + self.settings.default_ttl,
            Some(Expiry::Ttl(seconds)) => now + TimeDelta::seconds(i64::from(seconds)),
            Some(Expiry::At(at)) => crate::domain::truncate_to_millis(at),
        };
        if expires_at < now + MIN_TTL {
            return Err(ServiceError::Invalid(
                "the session must expire at least one second from now".into(),
            ));
        }
        if expires_at > max {
            return Err(ServiceError::Invalid(format!(
                "the session may live at most {} seconds from now",
                self.settings.max_ttl.num_seconds()
            )));
        }
        Ok(expires_at)
    }
}

fn require_acting_for_user(caller: &Credential, user_id: &str) -> Result<(), ServiceError> {
    if caller.may_act_for_user(user_id) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(
            "a user credential may only see its own user's sessions".into(),
        ))
    }
}

/// The pause before attempt `attempt` (1-based retries) of an optimistic
/// write: uniformly random up to a ceiling that doubles from 1 ms per
/// attempt to [`MAX_RETRY_PAUSE`] ("full jitter"), so writers that
/// collided do not collide again in lockstep.
fn retry_pause(attempt: u32) -> std::time::Duration {
    use rand::Rng;
    let ceiling = std::time::Duration::from_millis(1)
        .saturating_mul(1 << attempt.min(16))
        .min(MAX_RETRY_PAUSE);
    let micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
    std::time::Duration::from_micros(rand::rng().random_range(0..=micros))
}

fn require_administrator(caller: &Credential) -> Result<(), ServiceError> {
    if caller.administers() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(
            "a user credential may read and log out its own sessions only".into(),
        ))
    }
}

/// An `admin`, or the `store-admin` of this identity store.
fn require_store_administrator(
    caller: &Credential,
    identity_store_id: &str,
) -> Result<(), ServiceError> {
    if caller.administers() && caller.can_see_store(identity_store_id) {
        Ok(())
    } else if caller.administers() {
        Err(ServiceError::Forbidden(
            "this credential administers another identity store".into(),
        ))
    } else {
        Err(ServiceError::Forbidden(
            "only an administrator of the identity store may do this".into(),
        ))
    }
}

fn validate_optional_id(field: &'static str, value: Option<&str>) -> Result<(), ServiceError> {
    value
        .map_or(Ok(()), |v| validate_id(field, v))
        .map_err(ServiceError::from)
}

fn validate_optional_label(field: &'static str, value: Option<&str>) -> Result<(), ServiceError> {
    value
        .map_or(Ok(()), |v| validate_label(field, v))
        .map_err(ServiceError::from)
}

/// The status a new session starts in: given, or implied by whether a user
/// logged in. An ended status cannot be recorded, and `authenticated` goes
/// with a user (and only it).
fn initial_status(requested: Option<Status>, has_user: bool) -> Result<Status, ServiceError> {
    match (requested, has_user) {
        (None, true) => Ok(Status::Authenticated),
        (None, false) => Ok(Status::New),
        (Some(Status::Authenticated), true) => Ok(Status::Authenticated),
        (Some(Status::Authenticated), false) => Err(ServiceError::Invalid(
            "an authenticated session needs user_id".into(),
        )),
        (Some(status @ (Status::New | Status::Unauthenticated)), false) => Ok(status),
        (Some(Status::New | Status::Unauthenticated), true) => Err(ServiceError::Invalid(
            "user_id is the authenticated user: a new or unauthenticated session has none".into(),
        )),
        (Some(Status::Complete | Status::Revoked), _) => Err(ServiceError::Invalid(
            "a session is recorded live; end it with logout or revoke".into(),
        )),
    }
}

/// The identity store a listing is confined to: the caller's own, if it
/// has one.
fn scoped_store(
    caller: &Credential,
    requested: Option<String>,
) -> Result<Option<String>, ServiceError> {
    match (&caller.identity_store_id, requested) {
        (Some(own), Some(requested)) if *own != requested => Err(ServiceError::Forbidden(
            "this credential is limited to another identity store".into(),
        )),
        (Some(own), _) => Ok(Some(own.clone())),
        (None, requested) => Ok(requested),
    }
}

/// The user a listing is confined to: a `user` credential's own.
fn scoped_user(
    caller: &Credential,
    requested: Option<String>,
) -> Result<Option<String>, ServiceError> {
    match (&caller.user_id, requested) {
        (Some(own), Some(requested)) if *own != requested => Err(ServiceError::Forbidden(
            "a user credential may only list its own user's sessions".into(),
        )),
        (Some(own), _) => Ok(Some(own.clone())),
        (None, requested) => Ok(requested),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_pauses_are_jittered_and_bounded() {
        for attempt in 1..300 {
            let pause = retry_pause(attempt);
            assert!(pause <= MAX_RETRY_PAUSE, "{attempt}: {pause:?}");
            let ceiling = std::time::Duration::from_millis(1 << attempt.min(16));
            assert!(pause <= ceiling, "{attempt}: {pause:?}");
        }
        let pauses: std::collections::BTreeSet<_> = (0..50).map(|_| retry_pause(10)).collect();
        assert!(pauses.len() > 10, "random, not fixed: {pauses:?}");
    }

    #[test]
    fn initial_status_rules() {
        assert_eq!(initial_status(None, true), Ok(Status::Authenticated));
        assert_eq!(initial_status(None, false), Ok(Status::New));
        assert_eq!(
            initial_status(Some(Status::Unauthenticated), false),
            Ok(Status::Unauthenticated)
        );
        assert!(initial_status(Some(Status::Authenticated), false).is_err());
        assert!(initial_status(Some(Status::New), true).is_err());
        assert!(initial_status(Some(Status::Revoked), true).is_err());
        assert!(initial_status(Some(Status::Complete), false).is_err());
    }
}
