//! The janitor: deletes sessions past their retention.
//!
//! A session that ended (logout, revocation) or expired stays readable —
//! Prefactor's Fetch session shows it with its final status — until the
//! retention period has passed since it ended; then the janitor deletes
//! it. `serve` starts one janitor per process; every interval it runs a
//! round:
//!
//! 1. it asks the store for the janitor's lease ([`SessionStore::janitor_lease`]):
//!    with PostgreSQL at most one replica holds it, the others skip the
//!    round without waiting;
//! 2. it deletes in batches of at most `batch_size` sessions
//!    ([`SessionStore::delete_ended_sessions`], which skips rows a request
//!    is writing) until a batch comes back short, yielding between
//!    batches so requests on the same process are never starved.
//!
//! A failed round is logged and retried at the next interval. Every round
//! is counted for the metrics by outcome, with the sessions it deleted and
//! the time of the last completed one (`janitor_*`, see `crate::metrics`).
//!
//! [`SessionStore::janitor_lease`]: crate::store::SessionStore::janitor_lease
//! [`SessionStore::delete_ended_sessions`]: crate::store::SessionStore::delete_ended_sessions

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use slog::{Logger, info, warn};

use crate::clock::Clock;
use crate::metrics::RoundOutcome;
use crate::store::{SharedSessions, StoreError};

/// What the janitor keeps and how often it runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JanitorSettings {
    /// How long an ended or expired session stays readable.
    pub retention: TimeDelta,
    /// Time between rounds.
    pub interval: Duration,
    /// The most sessions one batch deletes.
    pub batch_size: u32,
}

/// The default retention: 30 days.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

/// The default time between rounds: 5 minutes.
pub const DEFAULT_INTERVAL_SECONDS: u64 = 300;

/// The default batch: 1000 sessions.
pub const DEFAULT_BATCH_SIZE: u32 = 1000;

impl Default for JanitorSettings {
    fn default() -> Self {
        JanitorSettings {
            retention: TimeDelta::days(i64::from(DEFAULT_RETENTION_DAYS)),
            interval: Duration::from_secs(DEFAULT_INTERVAL_SECONDS),
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }
}

/// What one round did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// Another process holds the lease; nothing was done.
    Skipped,
    /// This many sessions were deleted, in this many batches.
    Deleted { sessions: u64, batches: u32 },
}

/// Deletes sessions past their retention.
pub struct Janitor {
    store: SharedSessions,
    clock: Arc<dyn Clock>,
    settings: JanitorSettings,
    log: Logger,
}

impl Janitor {
    pub fn new(
        store: SharedSessions,
        clock: Arc<dyn Clock>,
        settings: JanitorSettings,
        log: Logger,
    ) -> Janitor {
        Janitor {
            store,
            clock,
            settings,
            log,
        }
    }

    /// Runs one round now (see the module documentation).
    pub async fn run_round(&self) -> Result<Round, StoreError> {
        let Some(_lease) = self.store.janitor_lease().await? else {
            return Ok(Round::Skipped);
        };
        let cutoff = self.clock.now() - self.settings.retention;
        let batch_size = self.settings.batch_size.max(1);
        let mut sessions = 0;
        let mut batches = 0;
        loop {
            let deleted = self.store.delete_ended_sessions(cutoff, batch_size).await?;
            sessions += deleted;
            batches += 1;
            if deleted < u64::from(batch_size) {
                break;
            }
            tokio::task::yield_now().await;
        }
        Ok(Round::Deleted { sessions, batches })
    }

    /// Runs a round now and then every interval, until the task is
    /// aborted.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks =
                tokio::time::interval(self.settings.interval.max(Duration::from_millis(1)));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let round = self.run_round().await;
                if let Some(metrics) = crate::metrics::recording() {
                    metrics
                        .janitor
                        .round(outcome(&round), crate::metrics::unix_now());
                }
                match round {
                    Ok(Round::Skipped) => {}
                    Ok(Round::Deleted { sessions: 0, .. }) => {}
                    Ok(Round::Deleted { sessions, batches }) => info!(
                        self.log,
                        "janitor deleted sessions past their retention";
                        "sessions" => sessions,
                        "batches" => batches,
                    ),
                    Err(error) => warn!(
                        self.log,
                        "janitor round failed; retrying at the next interval";
                        "error" => %error,
                    ),
                }
            }
        })
    }
}

/// How a round ended, as the metrics count it.
fn outcome(round: &Result<Round, StoreError>) -> RoundOutcome {
    match round {
        Ok(Round::Deleted { sessions, .. }) => RoundOutcome::Completed { deleted: *sessions },
        Ok(Round::Skipped) => RoundOutcome::Skipped,
        Err(_) => RoundOutcome::Failed,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::domain::session::Status;
    use crate::store::conformance;
    use crate::store::sqlite::SqliteStore;

    #[tokio::test]
    async fn a_round_deletes_in_batches_until_one_comes_back_short() {
        let directory = tempfile::tempdir().unwrap();
        let store: crate::store::SharedStore =
            Arc::new(SqliteStore::open(&directory.path().join("s.db")).unwrap());
        let clock = Arc::new(ManualClock::new(conformance::now()));
        let mut sessions = Vec::new();
        for index in 0..25 {
            sessions.push(conformance::session(
                "s1",
                Some("u1"),
                Status::Authenticated,
                -3_600_000 + index,
                -60_000,
            ));
        }
        let live = conformance::live_session("s1", "u2");
        sessions.push(live.clone());
        store.insert_sessions(&sessions).await.unwrap();
        let log = Logger::root(slog::Discard, slog::o!());
        let settings = JanitorSettings {
            retention: TimeDelta::days(1),
            interval: Duration::from_secs(1),
            batch_size: 10,
        };
        let janitor = Janitor::new(store.clone(), clock.clone(), settings, log);
        assert_eq!(
            janitor.run_round().await.unwrap(),
            Round::Deleted {
                sessions: 0,
                batches: 1
            },
            "nothing is past a day's retention yet"
        );
        clock.advance(TimeDelta::days(1));
        assert_eq!(
            janitor.run_round().await.unwrap(),
            Round::Deleted {
                sessions: 25,
                batches: 3
            }
        );
        assert_eq!(store.session(&live.id).await.unwrap(), Some(live));
        assert_eq!(
            store
                .list_sessions(&conformance::query_all(100))
                .await
                .unwrap()
                .len(),
            1
        );
    }
}
