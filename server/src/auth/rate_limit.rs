//! Per-credential rate limits: each credential with a limit of N requests
//! per second gets its own [`governor`] limiter (GCRA, the token bucket's
//! arithmetic without a refill timer): a request every 1/N second on
//! average, bursts of up to 2N. Counted per server process: replicas each
//! count their own.
//!
//! The limiters run on the server's clock ([`DomainClock`]), so tests
//! move time for them as for everything else. They are kept in a bounded
//! [`moka`] cache: a credential not seen for long enough to be evicted
//! starts again with a full burst, which only ever errs towards admitting.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter as Limiter};

use crate::clock::Clock;
use crate::domain::credential::Credential;
use crate::pfid::Pfid;

use super::AuthError;

/// The most credentials whose limiters are kept.
const CAPACITY: u64 = 100_000;

/// The server's clock, as governor reads time: the time since the Unix
/// epoch (the domain clock has millisecond precision).
#[derive(Clone, Debug)]
struct DomainClock(Arc<dyn Clock>);

impl GovernorClock for DomainClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        let millis = self.0.now().timestamp_millis();
        Duration::from_millis(u64::try_from(millis).unwrap_or(0))
    }
}

/// One credential's limiter, with the limit it was made for.
struct CredentialLimiter {
    per_second: NonZeroU32,
    limiter: Limiter<NotKeyed, InMemoryState, DomainClock, NoOpMiddleware<Duration>>,
}

/// The limiters of every rate-limited credential seen lately.
pub struct RateLimiter {
    clock: DomainClock,
    limiters: moka::sync::Cache<Pfid, Arc<CredentialLimiter>>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("credentials", &self.limiters.entry_count())
            .finish()
    }
}

impl RateLimiter {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        RateLimiter {
            clock: DomainClock(clock),
            limiters: moka::sync::Cache::new(CAPACITY),
        }
    }

    /// Forgets every limiter: every credential starts full again (a test
    /// stand-in's reset).
    pub fn forget_all(&self) {
        self.limiters.invalidate_all();
    }

    /// Admits one request of `credential`, or says how long to wait.
    pub fn admit(&self, credential: &Credential) -> Result<(), AuthError> {
        let Some(per_second) = credential.rate_limit.and_then(NonZeroU32::new) else {
            return Ok(());
        };
        let make = || {
            let burst = per_second.saturating_mul(NonZeroU32::MIN.saturating_add(1));
            Arc::new(CredentialLimiter {
                per_second,
                limiter: Limiter::direct_with_clock(
                    Quota::per_second(per_second).allow_burst(burst),
                    self.clock.clone(),
                ),
            })
        };
        let mut entry = self.limiters.get_with(credential.id, make);
        if entry.per_second != per_second {
            // The credential's limit is not what the limiter was made for
            // (a credential can only be reissued, but be safe): start over.
            entry = make();
            self.limiters.insert(credential.id, entry.clone());
        }
        entry.limiter.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            AuthError::RateLimited {
                retry_after_seconds: wait.as_secs_f64().ceil().max(1.0) as u64,
            }
        })
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
    fn the_wait_follows_the_servers_clock() {
        let clock = Arc::new(ManualClock::new(DateTime::UNIX_EPOCH));
        let limiter = RateLimiter::new(clock.clone());
        let credential = limited(Some(1));
        assert_eq!(limiter.admit(&credential), Ok(()));
        assert_eq!(limiter.admit(&credential), Ok(()), "a burst of two");
        assert_eq!(
            limiter.admit(&credential),
            Err(AuthError::RateLimited {
                retry_after_seconds: 1
            })
        );
        clock.advance(TimeDelta::milliseconds(999));
        assert!(limiter.admit(&credential).is_err(), "not yet");
        clock.advance(TimeDelta::milliseconds(1));
        assert_eq!(limiter.admit(&credential), Ok(()), "a second later");
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
