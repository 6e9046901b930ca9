//! The test stand-in's controls (`serve --database memory --testing-api`):
//! its clock, a reset to its fixtures, injected faults ([`faults`]) and the
//! journal of requests ([`journal`]).
//!
//! Dropshot has no hook before or after handlers, so both meet requests in
//! the dialects' common path: every dialect handler authenticates through
//! its module's `authenticate` (Looker's `login` through its own), which
//! asks [`StandIn::intercept`] first (a fault due answers instead, in the
//! dialect's error shape) and notes the credential it found; and the
//! trait's implementation in `http/mod.rs` records each dialect
//! operation's answer with [`Observation`]. What that does not reach:
//! requests dropshot answers itself (unknown paths, 405), the unpublished
//! endpoints (`/healthz`, `/docs/`, `/openapi.json`), and faults on a
//! request refused before it authenticates (a malformed path or body is
//! answered 400 as usual, and journaled).

pub mod faults;
pub mod journal;

use std::sync::Arc;

use dropshot::{HttpCodedResponse, HttpResponseError, RequestContext};
use login_sessions_api::testing::TestingDialect;

use crate::clock::{Clock, OffsetClock};
use crate::domain::credential::Credential;
use crate::fixtures::Fixtures;
use crate::http::ApiContext;
use crate::store::sqlite::SqliteStore;
use crate::store::{SharedStore, StoreError};

use faults::{DueFault, Faults};
use journal::{Answered, Journal};

/// A running stand-in: what the testing API moves and reads.
pub struct StandIn {
    pub clock: Arc<OffsetClock>,
    /// The fixtures a reset stores again (none: a reset empties the store).
    pub fixtures: Option<Arc<Fixtures>>,
    /// The in-memory store, to empty on reset.
    pub store: Arc<SqliteStore>,
    pub faults: Faults,
    pub journal: Journal,
}

impl std::fmt::Debug for StandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandIn").finish_non_exhaustive()
    }
}

impl StandIn {
    /// Back to the start: the store emptied and the fixtures stored again,
    /// the clock where the fixtures start it (or wall time), no fault, an
    /// empty journal. (Rate limits and Huawei lockouts live in the
    /// authenticators; the reset handler clears them.)
    pub async fn reset(&self) -> Result<(), StoreError> {
        self.faults.clear();
        self.store.delete_everything().await?;
        match self.fixtures.as_deref().and_then(|fixtures| fixtures.clock) {
            Some(start) => self.clock.set(start),
            None => self.clock.reset(),
        }
        if let Some(fixtures) = &self.fixtures {
            let store: SharedStore = self.store.clone();
            fixtures.apply(&store).await?;
        }
        self.journal.clear();
        Ok(())
    }

    /// A fault due for this request's operation, waited for: the caller
    /// answers it instead of serving the request.
    pub async fn intercept(
        rqctx: &RequestContext<ApiContext>,
        dialect: TestingDialect,
    ) -> Option<DueFault> {
        let stand_in = rqctx.context().testing.as_ref()?;
        let due = stand_in
            .faults
            .take(dialect, &rqctx.endpoint.operation_id)?;
        if !due.delay.is_zero() {
            tokio::time::sleep(due.delay).await;
        }
        Some(due)
    }

    /// Notes, for the journal, the credential this request authenticated as.
    pub fn authenticated(rqctx: &RequestContext<ApiContext>, credential: &Credential) {
        if let Some(stand_in) = &rqctx.context().testing {
            stand_in
                .journal
                .note_credential(&rqctx.request_id, credential.id.as_str());
        }
    }
}

/// A dialect request being answered, to be journaled with its status.
pub struct Observation {
    stand_in: Option<Arc<StandIn>>,
    request: Option<Answered>,
}

impl Observation {
    /// Starts observing a request to a dialect operation (a no-op unless
    /// the testing API is on).
    pub fn start(rqctx: &RequestContext<ApiContext>, dialect: TestingDialect) -> Observation {
        let stand_in = rqctx.context().testing.clone();
        let request = stand_in.as_ref().map(|_| Answered {
            at: chrono::DateTime::UNIX_EPOCH,
            method: rqctx.request.method().to_string(),
            path: rqctx.request.uri().path().to_string(),
            dialect,
            operation_id: rqctx.endpoint.operation_id.clone(),
            status: 0,
            request_id: rqctx.request_id.clone(),
        });
        Observation { stand_in, request }
    }

    /// Records the answer and passes it on.
    pub fn finish<T: HttpCodedResponse, E: HttpResponseError>(
        self,
        answer: Result<T, E>,
    ) -> Result<T, E> {
        if let (Some(stand_in), Some(mut request)) = (self.stand_in, self.request) {
            request.status = match &answer {
                Ok(_) => T::STATUS_CODE.as_u16(),
                Err(error) => error.status_code().as_u16(),
            };
            request.at = stand_in.clock.now();
            stand_in.journal.record(request);
        }
        answer
    }
}
