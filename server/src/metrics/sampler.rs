//! The live sessions gauge, sampled: a task counts the store's live
//! sessions every interval (`serve --live-sessions-sample-seconds`) and
//! keeps the figure for scrapes. A scrape never queries the store, so
//! scraping more often costs the database nothing, and the figure is at
//! most one interval old (`live_sessions_sampled_timestamp_seconds` says
//! when it was taken).

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::store::{SessionOrder, SessionQuery, SharedSessions};

/// The default time between two counts of live sessions.
pub const DEFAULT_SAMPLE_SECONDS: u32 = 60;

/// Counts live sessions now, and then every `interval`, until the task is
/// aborted. A failed count is logged and leaves the last figure (and its
/// time) in place.
pub fn spawn(
    store: SharedSessions,
    clock: Arc<dyn Clock>,
    interval: Duration,
    log: slog::Logger,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval.max(Duration::from_millis(1)));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match store.count_sessions(&live_sessions(clock.now())).await {
                Ok(live) => super::global()
                    .live_sessions
                    .sampled(live, super::unix_now()),
                Err(error) => slog::warn!(
                    log,
                    "could not count live sessions for the metrics; retrying at the next interval";
                    "error" => %error,
                ),
            }
        }
    })
}

/// The query counting every session live at `now`, in every store.
fn live_sessions(now: crate::domain::Timestamp) -> SessionQuery {
    SessionQuery {
        identity_store_id: None,
        user_id: None,
        status: None,
        live: Some(true),
        now,
        order: SessionOrder::default(),
        cursor: None,
        offset: 0,
        limit: 0,
    }
}
