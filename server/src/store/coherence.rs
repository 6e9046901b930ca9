//! Keeping in-memory caches coherent with revocations made anywhere.
//!
//! The rule, for every cache in front of a store: a revocation (a
//! credential revoked, a Looker token logged out) is refused at once by
//! the process that made it, and by every other process sharing the
//! database within 50 ms of being acknowledged. A process that cannot be
//! sure of that (its feed of other processes' revocations is down or
//! lags) does not trust its caches until it can be sure again.
//!
//! [`Coherence`] is what a cache consults. Its *generation* moves on
//! whenever a revocation may have happened (through this process: the
//! cache in front of the store moves it itself; through another: the
//! store's watcher does); an entry filled under an older generation is not
//! used. While the watcher is not sure, [`Coherence::generation`] is
//! `None` and caches go to the store every time, keeping nothing.
//!
//! Each store feeds its own [`Coherence`] (`CredentialStore::coherence`):
//! PostgreSQL through `LISTEN`/`NOTIFY`, the notification sent by the
//! revoking transaction itself; SQLite by watching a revision counter
//! that every revoking write bumps, read only when `PRAGMA data_version`
//! says another connection committed something.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// How often a watcher that polls (SQLite's) looks for changes, and how
/// late a watcher that is pushed to (PostgreSQL's) may hear of its own
/// heartbeat before it stops trusting the feed. Well inside the 50 ms the
/// rule allows.
pub const WATCH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(10);

/// The revocation generation caches check their entries against.
#[derive(Debug)]
pub struct Coherence {
    generation: AtomicU64,
    sure: AtomicBool,
}

impl Coherence {
    /// A coherence whose watcher has not yet said it is sure: caches
    /// bypass themselves until [`Coherence::sure`] is called.
    pub fn unsure() -> Coherence {
        Coherence {
            generation: AtomicU64::new(0),
            sure: AtomicBool::new(false),
        }
    }

    /// A coherence nobody else writes to (a store only this process
    /// uses): always sure.
    pub fn local() -> Coherence {
        Coherence {
            generation: AtomicU64::new(0),
            sure: AtomicBool::new(true),
        }
    }

    /// The current generation, or `None` when caches must not be trusted.
    pub fn generation(&self) -> Option<u64> {
        // The generation is read after `sure`: a watcher that becomes
        // sure moves the generation first, so nothing filled while it was
        // unsure can pass.
        if !self.sure.load(Ordering::Acquire) {
            return None;
        }
        Some(self.generation.load(Ordering::Acquire))
    }

    /// Something may have been revoked: every entry filled before now is
    /// stale.
    pub fn revoked(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The watcher can no longer be sure it hears of every revocation.
    pub fn unsure_now(&self) {
        self.sure.store(false, Ordering::Release);
        self.revoked();
    }

    /// The watcher hears of every revocation again. Whatever it may have
    /// missed meanwhile is forgotten.
    pub fn sure(&self) {
        self.revoked();
        self.sure.store(true, Ordering::Release);
    }

    /// Whether the watcher is sure.
    pub fn is_sure(&self) -> bool {
        self.sure.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unsure_coherence_trusts_nothing_until_sure() {
        let coherence = Coherence::unsure();
        assert_eq!(coherence.generation(), None);
        coherence.sure();
        let first = coherence.generation().unwrap_or(u64::MAX);
        coherence.revoked();
        assert_ne!(coherence.generation(), Some(first), "a revocation moves on");
        coherence.unsure_now();
        assert_eq!(coherence.generation(), None);
        coherence.sure();
        assert!(coherence.generation().is_some_and(|g| g > first));
    }
}
