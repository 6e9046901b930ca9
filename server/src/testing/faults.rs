//! Injected faults: the next requests to an operation answer an error in
//! their dialect's shape instead of being served.

use std::sync::Mutex;
use std::time::Duration;

use login_sessions_api::testing::{Fault, FaultCreate, TestingDialect};

/// The operation name that matches every operation of a dialect.
pub const EVERY_OPERATION: &str = "*";

/// The most faults waiting at once.
const MAX_FAULTS: usize = 100;

/// The longest delay a fault may add.
const MAX_DELAY_MS: u32 = 30_000;

/// The most requests one fault answers.
const MAX_COUNT: u32 = 1000;

/// What an injected fault answers, in the dialect's own terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InjectedError {
    /// 401: the dialect's authentication failure.
    Unauthenticated,
    /// 429: the dialect's rate limit, with `Retry-After`.
    RateLimited,
    /// 500: the dialect's internal error.
    Internal,
    /// 503: the dialect's unavailable answer, with `Retry-After`.
    Unavailable,
}

impl InjectedError {
    fn from_status(status: u16) -> Option<InjectedError> {
        match status {
            401 => Some(InjectedError::Unauthenticated),
            429 => Some(InjectedError::RateLimited),
            500 => Some(InjectedError::Internal),
            503 => Some(InjectedError::Unavailable),
            _ => None,
        }
    }

    fn status(self) -> u16 {
        match self {
            InjectedError::Unauthenticated => 401,
            InjectedError::RateLimited => 429,
            InjectedError::Internal => 500,
            InjectedError::Unavailable => 503,
        }
    }
}

/// A fault due: what to answer, after how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DueFault {
    pub error: InjectedError,
    pub delay: Duration,
}

#[derive(Debug)]
struct Waiting {
    dialect: TestingDialect,
    operation: String,
    error: InjectedError,
    remaining: u32,
    delay_ms: u32,
}

impl Waiting {
    fn to_wire(&self) -> Fault {
        Fault {
            dialect: self.dialect,
            operation: self.operation.clone(),
            status: self.error.status(),
            remaining: self.remaining,
            delay_ms: self.delay_ms,
        }
    }
}

/// The faults waiting, in the order they were injected.
#[derive(Debug, Default)]
pub struct Faults {
    waiting: Mutex<Vec<Waiting>>,
}

impl Faults {
    /// Injects a fault; why not, if it is not one this server can answer.
    pub fn add(&self, fault: FaultCreate) -> Result<Fault, String> {
        let error = InjectedError::from_status(fault.status).ok_or_else(|| {
            format!(
                "status {} cannot be injected: give 401, 429, 500 or 503",
                fault.status
            )
        })?;
        if !(1..=MAX_COUNT).contains(&fault.count) {
            return Err(format!("count must be 1 to {MAX_COUNT}"));
        }
        if fault.delay_ms > MAX_DELAY_MS {
            return Err(format!("delay_ms must be at most {MAX_DELAY_MS}"));
        }
        let operation = fault.operation.trim();
        if operation.is_empty() || operation.len() > 100 {
            return Err("operation must be an operation id or `*`".into());
        }
        let waiting = Waiting {
            dialect: fault.dialect,
            operation: operation.to_string(),
            error,
            remaining: fault.count,
            delay_ms: fault.delay_ms,
        };
        let wire = waiting.to_wire();
        let mut faults = self.lock();
        if faults.len() >= MAX_FAULTS {
            return Err(format!(
                "{MAX_FAULTS} faults are waiting already: clear them first"
            ));
        }
        faults.push(waiting);
        Ok(wire)
    }

    /// The faults waiting.
    pub fn list(&self) -> Vec<Fault> {
        self.lock().iter().map(Waiting::to_wire).collect()
    }

    /// Clears every fault.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The first fault waiting for this operation of this dialect, counted
    /// as answered.
    pub fn take(&self, dialect: TestingDialect, operation_id: &str) -> Option<DueFault> {
        let mut faults = self.lock();
        let index = faults.iter().position(|fault| {
            fault.dialect == dialect
                && (fault.operation == operation_id || fault.operation == EVERY_OPERATION)
        })?;
        let fault = &mut faults[index];
        let due = DueFault {
            error: fault.error,
            delay: Duration::from_millis(u64::from(fault.delay_ms)),
        };
        fault.remaining = fault.remaining.saturating_sub(1);
        if fault.remaining == 0 {
            faults.remove(index);
        }
        Some(due)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fault(dialect: TestingDialect, operation: &str, status: u16, count: u32) -> FaultCreate {
        FaultCreate {
            dialect,
            operation: operation.into(),
            status,
            count,
            delay_ms: 0,
        }
    }

    #[test]
    fn a_fault_answers_its_count_of_requests_to_its_operation_then_is_gone() {
        let faults = Faults::default();
        faults
            .add(fault(TestingDialect::Looker, "all_user_sessions", 429, 2))
            .unwrap();
        assert_eq!(faults.take(TestingDialect::Looker, "login"), None);
        assert_eq!(
            faults.take(TestingDialect::Huawei, "all_user_sessions"),
            None
        );
        let due = faults
            .take(TestingDialect::Looker, "all_user_sessions")
            .unwrap();
        assert_eq!(due.error, InjectedError::RateLimited);
        assert_eq!(faults.list()[0].remaining, 1);
        assert!(
            faults
                .take(TestingDialect::Looker, "all_user_sessions")
                .is_some()
        );
        assert_eq!(
            faults.take(TestingDialect::Looker, "all_user_sessions"),
            None
        );
        assert!(faults.list().is_empty());
    }

    #[test]
    fn a_star_matches_every_operation_of_its_dialect_only() {
        let faults = Faults::default();
        faults
            .add(fault(TestingDialect::Huawei, "*", 503, 1))
            .unwrap();
        assert_eq!(faults.take(TestingDialect::Native, "session_view"), None);
        let due = faults.take(TestingDialect::Huawei, "ListSessions").unwrap();
        assert_eq!(due.error, InjectedError::Unavailable);
    }

    #[test]
    fn faults_this_server_cannot_answer_are_refused() {
        let faults = Faults::default();
        let refused = faults
            .add(fault(TestingDialect::Native, "*", 418, 1))
            .unwrap_err();
        assert!(refused.contains("401, 429, 500 or 503"), "{refused}");
        assert!(
            faults
                .add(fault(TestingDialect::Native, "*", 500, 0))
                .is_err()
        );
        assert!(
            faults
                .add(fault(TestingDialect::Native, " ", 500, 1))
                .is_err()
        );
        assert!(faults.list().is_empty());
    }
}
