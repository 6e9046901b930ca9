//! The journal: every request a dialect answered, for tests to assert on.
//! It holds what a request was (method, path without the query, operation,
//! status, the credential that made it), never what it carried.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use login_sessions_api::testing::{JournalEntry, JournalFilter, TestingDialect};

use crate::domain::Timestamp;

/// The most entries kept; older ones are dropped first.
pub const MAX_ENTRIES: usize = 10_000;

/// The requests answered, oldest first, and the credentials of requests
/// still being answered.
#[derive(Debug, Default)]
pub struct Journal {
    entries: Mutex<VecDeque<JournalEntry>>,
    /// Credential ids by request id, noted when a request authenticates
    /// and taken when it is recorded.
    credentials: Mutex<HashMap<String, String>>,
}

/// A request, as it is recorded once answered.
#[derive(Clone, Debug)]
pub struct Answered {
    pub at: Timestamp,
    pub method: String,
    pub path: String,
    pub dialect: TestingDialect,
    pub operation_id: String,
    pub status: u16,
    pub request_id: String,
}

impl Journal {
    /// Notes that request `request_id` authenticated as `credential_id`.
    pub fn note_credential(&self, request_id: &str, credential_id: &str) {
        lock(&self.credentials).insert(request_id.to_string(), credential_id.to_string());
    }

    /// Records an answered request.
    pub fn record(&self, answered: Answered) {
        let credential_id = lock(&self.credentials).remove(&answered.request_id);
        let mut entries = lock(&self.entries);
        if entries.len() >= MAX_ENTRIES {
            entries.pop_front();
        }
        entries.push_back(JournalEntry {
            at: answered.at,
            method: answered.method,
            path: answered.path,
            dialect: answered.dialect,
            operation_id: answered.operation_id,
            status: answered.status,
            credential_id,
            request_id: answered.request_id,
        });
    }

    /// The entries the filter selects, oldest first.
    pub fn list(&self, filter: &JournalFilter) -> Vec<JournalEntry> {
        lock(&self.entries)
            .iter()
            .filter(|entry| {
                filter
                    .dialect
                    .is_none_or(|dialect| entry.dialect == dialect)
            })
            .filter(|entry| {
                filter
                    .operation
                    .as_deref()
                    .is_none_or(|operation| entry.operation_id == operation)
            })
            .cloned()
            .collect()
    }

    /// Forgets every entry.
    pub fn clear(&self) {
        lock(&self.entries).clear();
        lock(&self.credentials).clear();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn answered(dialect: TestingDialect, operation: &str, request_id: &str) -> Answered {
        Answered {
            at: Timestamp::UNIX_EPOCH,
            method: "GET".into(),
            path: "/x".into(),
            dialect,
            operation_id: operation.into(),
            status: 200,
            request_id: request_id.into(),
        }
    }

    #[test]
    fn entries_carry_their_credential_and_filter_by_dialect_and_operation() {
        let journal = Journal::default();
        journal.note_credential("r1", "c1");
        journal.record(answered(TestingDialect::Looker, "login", "r1"));
        journal.record(answered(TestingDialect::Huawei, "ListSessions", "r2"));
        let all = journal.list(&JournalFilter::default());
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].credential_id.as_deref(), Some("c1"));
        assert_eq!(all[1].credential_id, None);
        let looker = journal.list(&JournalFilter {
            dialect: Some(TestingDialect::Looker),
            operation: None,
        });
        assert_eq!(looker.len(), 1);
        let listed = journal.list(&JournalFilter {
            dialect: None,
            operation: Some("ListSessions".into()),
        });
        assert_eq!(listed[0].request_id, "r2");
        journal.clear();
        assert!(journal.list(&JournalFilter::default()).is_empty());
    }

    #[test]
    fn the_oldest_entries_go_first_when_it_is_full() {
        let journal = Journal::default();
        for index in 0..=MAX_ENTRIES {
            journal.record(answered(
                TestingDialect::Native,
                "session_view",
                &index.to_string(),
            ));
        }
        let all = journal.list(&JournalFilter::default());
        assert_eq!(all.len(), MAX_ENTRIES);
        assert_eq!(all[0].request_id, "1");
    }
}
