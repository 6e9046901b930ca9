//! How many connections the server keeps open, for how long, and how large
//! a request head may be: the limits the vendored dropshot enforces
//! (`vendor/README.md`).
//!
//! A client that opens thousands of sockets and sends nothing on them (or
//! sends a request a byte at a time) must not take the service down. Each
//! socket is a file descriptor, and a process out of them accepts nobody.
//! So the server:
//!
//! * keeps at most `--max-connections` open, by default what fits under the
//!   process's open-file limit (`ulimit -n`) once [`RESERVED_FILES`] and
//!   the database's connections are set aside, and at most
//!   [`DEFAULT_MAX_CONNECTIONS_CAP`]. To admit a connection over the bound
//!   it closes one that has not sent a complete request, oldest first:
//!   without a complete head, else idle between requests, else with its
//!   body still arriving; never one whose complete request is being
//!   answered;
//! * closes a connection that sends no complete request head within
//!   `--first-request-timeout-seconds`, or stays idle between requests for
//!   `--keep-alive-timeout-seconds`;
//! * refuses a URI over 8 KiB (414) and header fields over 16 KiB in all or
//!   more than 100 of them (431), in the dialect's error shape
//!   ([`REQUEST_HEAD_LIMITS`]; hyper's own, empty-bodied answers are set
//!   above these).

use std::time::Duration;

use dropshot::{ConnectionLimits, RequestHeadLimits};

/// How long a new connection has to send a complete request head, by
/// default, in seconds.
pub const DEFAULT_FIRST_REQUEST_TIMEOUT_SECONDS: u32 = 10;

/// How long a connection may stay idle between requests, by default, in
/// seconds (hyper's header timeout, which closed idle connections before,
/// was 30 s too).
pub const DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS: u32 = 30;

/// Open files kept back from connections for everything else the process
/// opens: the SQLite database and its journal files, GeoIP databases, the
/// runtime's own descriptors, standard streams, with room to spare.
pub const RESERVED_FILES: u64 = 128;

/// The most connections kept open by default, however high the open-file
/// limit.
pub const DEFAULT_MAX_CONNECTIONS_CAP: u64 = 10_000;

/// The largest request head answered normally.
pub const REQUEST_HEAD_LIMITS: RequestHeadLimits = RequestHeadLimits {
    max_uri_bytes: 8 * 1024,
    max_header_bytes: 16 * 1024,
    max_headers: 100,
};

/// What `serve` was told about connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// `--max-connections`; `None` derives it from the open-file limit.
    pub max_connections: Option<u64>,
    pub first_request_timeout: Duration,
    pub keep_alive_timeout: Duration,
    /// The most connections the store keeps open to its database (each a
    /// file descriptor).
    pub database_connections: u64,
}

impl ConnectionSettings {
    /// The defaults, for a store with `database_connections` connections.
    pub fn defaults(database_connections: u64) -> ConnectionSettings {
        ConnectionSettings {
            max_connections: None,
            first_request_timeout: Duration::from_secs(u64::from(
                DEFAULT_FIRST_REQUEST_TIMEOUT_SECONDS,
            )),
            keep_alive_timeout: Duration::from_secs(u64::from(DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS)),
            database_connections,
        }
    }

    /// The limits for a process whose open-file limit is `open_files`
    /// (`None`: unlimited).
    pub fn limits(&self, open_files: Option<u64>) -> Result<ConnectionLimits, LimitsError> {
        let reserved = RESERVED_FILES.saturating_add(self.database_connections);
        let fit = open_files.map_or(u64::MAX, |limit| limit.saturating_sub(reserved));
        let max_connections = match self.max_connections {
            Some(requested) if requested > fit => {
                return Err(LimitsError::OverTheFileLimit {
                    requested,
                    open_files: open_files.unwrap_or(u64::MAX),
                    reserved,
                });
            }
            Some(requested) => requested,
            None if fit == 0 => {
                return Err(LimitsError::NoRoom {
                    open_files: open_files.unwrap_or(u64::MAX),
                    reserved,
                });
            }
            None => fit.min(DEFAULT_MAX_CONNECTIONS_CAP),
        };
        Ok(ConnectionLimits {
            max_connections: usize::try_from(max_connections).unwrap_or(usize::MAX),
            first_request_timeout: self.first_request_timeout,
            idle_timeout: self.keep_alive_timeout,
        })
    }
}

/// Limits that cannot hold.
#[derive(Debug, thiserror::Error)]
pub enum LimitsError {
    #[error(
        "--max-connections {requested} does not fit under the open-file limit of {open_files} \
         ({reserved} are kept for the database and the rest of the process): raise the \
         limit (ulimit -n) to at least {} or lower --max-connections",
        requested.saturating_add(*reserved)
    )]
    OverTheFileLimit {
        requested: u64,
        open_files: u64,
        reserved: u64,
    },
    #[error(
        "the open-file limit of {open_files} leaves no room for connections ({reserved} are \
         kept for the database and the rest of the process): raise it (ulimit -n)"
    )]
    NoRoom { open_files: u64, reserved: u64 },
}

/// The process's (soft) limit on open files; `None` when unlimited.
pub fn open_files_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn the_default_bound_leaves_room_below_the_file_limit() {
        let settings = ConnectionSettings::defaults(16);
        assert_eq!(
            settings.limits(Some(1024)).unwrap().max_connections,
            1024 - 128 - 16
        );
        assert_eq!(
            settings.limits(Some(1_048_576)).unwrap().max_connections,
            10_000
        );
        assert_eq!(settings.limits(None).unwrap().max_connections, 10_000);
        assert!(matches!(
            settings.limits(Some(100)),
            Err(LimitsError::NoRoom { .. })
        ));
        let limits = settings.limits(Some(1024)).unwrap();
        assert_eq!(limits.first_request_timeout, Duration::from_secs(10));
        assert_eq!(limits.idle_timeout, Duration::from_secs(30));
    }

    #[test]
    fn an_explicit_bound_must_fit_too() {
        let settings = ConnectionSettings {
            max_connections: Some(500),
            ..ConnectionSettings::defaults(16)
        };
        assert_eq!(settings.limits(Some(1024)).unwrap().max_connections, 500);
        let error = settings.limits(Some(600)).unwrap_err().to_string();
        assert!(error.contains("at least 644"), "{error}");
        assert_eq!(settings.limits(None).unwrap().max_connections, 500);
    }

    #[test]
    fn the_file_limit_is_read() {
        assert!(open_files_limit().is_none_or(|limit| limit > 0));
    }
}
