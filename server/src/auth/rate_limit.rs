//! Per-credential rate limits: a token bucket per credential that has a
//! limit, refilled at the limit's rate, holding at most twice that (the
//! burst). Counted per server process: replicas each count their own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::clock::Clock;
use crate::domain::Timestamp;
use crate::domain::credential::Credential;
use crate::pfid::Pfid;

use super::AuthError;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled_at: Timestamp,
}

/// The buckets of every rate-limited credential seen.
#[derive(Debug)]
pub struct RateLimiter {
    clock: Arc<dyn Clock>,
    buckets: Mutex<HashMap<Pfid, Bucket>>,
}

impl RateLimiter {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        RateLimiter {
            clock,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request's token from the credential's bucket.
    /// Forgets every bucket: every credential starts full again (a test
    /// stand-in's reset).
    pub fn forget_all(&self) {
        self.buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    pub fn admit(&self, credential: &Credential) -> Result<(), AuthError> {
        let Some(per_second) = credential.rate_limit else {
            return Ok(());
        };
        let rate = f64::from(per_second);
        let burst = rate * 2.0;
        let now = self.clock.now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = buckets.entry(credential.id).or_insert(Bucket {
            tokens: burst,
            refilled_at: now,
        });
        let elapsed = (now - bucket.refilled_at).num_milliseconds().max(0) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let retry_after_seconds = ((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64;
            Err(AuthError::RateLimited {
                retry_after_seconds,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::domain::credential::Role;
    use chrono::{DateTime, TimeDelta};

    fn limited(per_second: Option<u32>) -> Credential {
        Credential {
            id: Pfid::ZERO,
            name: None,
            role: Role::Admin,
            identity_store_id: None,
            user_id: None,
            rate_limit: per_second,
            created_at: DateTime::UNIX_EPOCH,
            revoked_at: None,
        }
    }

    #[test]
    fn burst_then_refill() {
        let clock = Arc::new(ManualClock::new(DateTime::UNIX_EPOCH));
        let limiter = RateLimiter::new(clock.clone());
        let credential = limited(Some(2));
        for _ in 0..4 {
            assert_eq!(limiter.admit(&credential), Ok(()));
        }
        assert!(matches!(
            limiter.admit(&credential),
            Err(AuthError::RateLimited { .. })
        ));
        clock.advance(TimeDelta::milliseconds(500));
        assert_eq!(limiter.admit(&credential), Ok(()));
        assert!(limiter.admit(&credential).is_err());
    }

    #[test]
    fn no_limit_means_no_limit() {
        let clock = Arc::new(ManualClock::new(DateTime::UNIX_EPOCH));
        let limiter = RateLimiter::new(clock);
        for _ in 0..10_000 {
            assert_eq!(limiter.admit(&limited(None)), Ok(()));
        }
    }
}
