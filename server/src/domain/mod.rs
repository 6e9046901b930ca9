//! The domain: the canonical session every dialect is a view of, the
//! credentials that call the API, and the rules both obey. Pure data and
//! functions; no I/O.

pub mod access_token;
pub mod credential;
pub mod ids;
pub mod session;

use chrono::{DateTime, SubsecRound, Utc};

/// A point in time as the store keeps it: UTC, millisecond precision.
pub type Timestamp = DateTime<Utc>;

/// `at` without its sub-millisecond part.
pub fn truncate_to_millis(at: DateTime<Utc>) -> Timestamp {
    at.trunc_subsecs(3)
}

/// Milliseconds since the Unix epoch, as the store's columns hold time.
pub fn to_unix_millis(at: Timestamp) -> i64 {
    at.timestamp_millis()
}

/// The inverse of [`to_unix_millis`]; `None` for values chrono cannot
/// represent (only a corrupt row holds those).
pub fn from_unix_millis(millis: i64) -> Option<Timestamp> {
    DateTime::from_timestamp_millis(millis)
}
