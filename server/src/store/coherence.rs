//! Keeping in-memory caches coherent with writes made anywhere.
//!
//! The rule, for every cache in front of a store: a write (a credential
//! revoked, a Looker token logged out, a session created, changed or
//! revoked) is seen at once by the process that made it, and by every
//! other process sharing the database within 50 ms of being acknowledged.
//! A process that cannot be sure of that (its feed of other processes'
//! writes is down or lags) does not trust its caches until it can be sure
//! again.
//!
//! [`Coherence`] is what a cache consults. Its *generation* moves on
//! whenever a revocation may have happened (through this process: the
//! cache in front of the store moves it itself; through another: the
//! store's watcher does); an entry filled under an older generation is not
//! used. While the watcher is not sure, [`Coherence::generation`] is
//! `None` and caches go to the store every time, keeping nothing.
//!
//! Sessions change all the time, so they are tracked finer: every
//! session id and user id falls in one of [`SESSION_STRIPES`] *stripes*,
//! each with its own counter. A change to a session moves on its id's
//! stripe and its user's ([`Coherence::session_changed`]); an entry of the
//! session cache remembers the [`Stamp`] of its key's stripe when it was
//! read from the store, and is used only while the stamp is unchanged. A
//! change nobody can attribute (another process's, on SQLite) moves on
//! every stripe at once through one epoch ([`Coherence::sessions_changed`]).
//! Two keys sharing a stripe only cost each other a cache miss.
//!
//! Each store feeds its own [`Coherence`] (`CredentialStore::coherence`):
//! PostgreSQL through `LISTEN`/`NOTIFY`, the notification sent by the
//! writing transaction itself (naming the sessions and users it
//! changed); SQLite by watching revision counters that revoking writes
//! and session writes bump, read only when `PRAGMA data_version` says
//! another connection committed something.

use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::pfid::Pfid;

/// How often a watcher that polls (SQLite's) looks for changes, and how
/// late a watcher that is pushed to (PostgreSQL's) may hear of its own
/// heartbeat before it stops trusting the feed. Well inside the 50 ms the
/// rule allows.
pub const WATCH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(10);

/// How many stripes session changes are tracked in (a power of two):
/// 512 KiB of counters, so that a steady stream of writes rarely touches
/// the stripe of a session being read.
pub const SESSION_STRIPES: usize = 1 << 16;

/// The revocation generation credential caches check their entries
/// against, and the session stripes the session cache checks its entries
/// against.
pub struct Coherence {
    generation: AtomicU64,
    sure: AtomicBool,
    /// Moves on when every session may have changed.
    session_epoch: AtomicU64,
    session_stripes: Box<[AtomicU64]>,
    /// Picks a key's stripe; seeded per process, so nobody can aim writes
    /// at another key's stripe.
    hasher: std::collections::hash_map::RandomState,
}

impl std::fmt::Debug for Coherence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coherence")
            .field("generation", &self.generation)
            .field("sure", &self.sure)
            .field("session_epoch", &self.session_epoch)
            .finish_non_exhaustive()
    }
}

/// Which stripe of a session key: sessions and users never share a
/// stripe by construction of their keys.
#[derive(Hash)]
enum SessionKey<'a> {
    Session(&'a Pfid),
    User(&'a str),
}

/// What a session cache entry was read under: valid while its key's
/// stripe and the epoch have not moved on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    epoch: u64,
    stripe: u64,
}

impl Coherence {
    fn new(sure: bool) -> Coherence {
        Coherence {
            generation: AtomicU64::new(0),
            sure: AtomicBool::new(sure),
            session_epoch: AtomicU64::new(0),
            session_stripes: (0..SESSION_STRIPES).map(|_| AtomicU64::new(0)).collect(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// A coherence whose watcher has not yet said it is sure: caches
    /// bypass themselves until [`Coherence::sure`] is called.
    pub fn unsure() -> Coherence {
        Coherence::new(false)
    }

    /// A coherence nobody else writes to (a store only this process
    /// uses): always sure.
    pub fn local() -> Coherence {
        Coherence::new(true)
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

    /// The watcher can no longer be sure it hears of every write.
    pub fn unsure_now(&self) {
        self.sure.store(false, Ordering::Release);
        self.revoked();
        self.sessions_changed();
    }

    /// The watcher hears of every write again. Whatever it may have
    /// missed meanwhile is forgotten.
    pub fn sure(&self) {
        self.revoked();
        self.sessions_changed();
        self.sure.store(true, Ordering::Release);
    }

    fn stripe(&self, key: SessionKey<'_>) -> &AtomicU64 {
        let hash = self.hasher.hash_one(key) as usize;
        &self.session_stripes[hash & (SESSION_STRIPES - 1)]
    }

    fn stamp(&self, key: SessionKey<'_>) -> Option<Stamp> {
        // As in `generation`: `sure` first, then the counters.
        if !self.sure.load(Ordering::Acquire) {
            return None;
        }
        Some(Stamp {
            epoch: self.session_epoch.load(Ordering::Acquire),
            stripe: self.stripe(key).load(Ordering::Acquire),
        })
    }

    /// What an entry for the session `id` read from the store now is
    /// valid under, or `None` when caches must not be trusted. Taken
    /// before the read: a change committed meanwhile moves it on.
    pub fn session_stamp(&self, id: &Pfid) -> Option<Stamp> {
        self.stamp(SessionKey::Session(id))
    }

    /// Like [`Coherence::session_stamp`], for the sessions of a user.
    pub fn user_stamp(&self, user_id: &str) -> Option<Stamp> {
        self.stamp(SessionKey::User(user_id))
    }

    /// The session `id` (of `user_id`, if it has one) has changed: entries
    /// read before now for it, or for the user's sessions, are stale.
    pub fn session_changed(&self, id: &Pfid, user_id: Option<&str>) {
        // The user first: whoever sees the session's change sees the
        // user's too.
        if let Some(user_id) = user_id {
            self.user_changed(user_id);
        }
        self.stripe(SessionKey::Session(id))
            .fetch_add(1, Ordering::AcqRel);
    }

    /// Some sessions of `user_id` have changed (which, the caller may not
    /// know: every entry for one of them is moved on by
    /// [`Coherence::session_changed`] too).
    pub fn user_changed(&self, user_id: &str) {
        self.stripe(SessionKey::User(user_id))
            .fetch_add(1, Ordering::AcqRel);
    }

    /// Any session may have changed: every session entry read before now
    /// is stale.
    pub fn sessions_changed(&self) {
        self.session_epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Whether the watcher is sure.
    pub fn is_sure(&self) -> bool {
        self.sure.load(Ordering::Acquire)
    }

    /// Waits (up to 10 s, then panics) for the watcher's first poll: until
    /// then every cache goes to the store, so a test of what a cache keeps
    /// starts here.
    #[cfg(test)]
    pub fn wait_until_sure(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !self.is_sure() {
            assert!(
                std::time::Instant::now() < deadline,
                "the watcher never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
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

    #[test]
    fn a_session_change_moves_on_its_stripes_and_only_those() {
        let coherence = Coherence::local();
        let id = Pfid::generate(0, 1).unwrap();
        let others: Vec<String> = (0..100).map(|n| format!("user-{n}")).collect();
        let before: Vec<_> = others.iter().map(|u| coherence.user_stamp(u)).collect();
        let session = coherence.session_stamp(&id);
        let user = coherence.user_stamp("alice");
        assert!(session.is_some() && user.is_some());
        coherence.session_changed(&id, Some("alice"));
        assert_ne!(coherence.session_stamp(&id), session);
        assert_ne!(coherence.user_stamp("alice"), user);
        // Another key moves on only if it shares a stripe: one in 65,536.
        let after: Vec<_> = others.iter().map(|u| coherence.user_stamp(u)).collect();
        let moved = before.iter().zip(&after).filter(|(b, a)| b != a).count();
        assert!(moved <= 1, "{moved} other users moved on");

        let before = coherence.user_stamp("user-1");
        coherence.sessions_changed();
        assert_ne!(coherence.user_stamp("user-1"), before, "every key");

        coherence.unsure_now();
        assert_eq!(coherence.session_stamp(&id), None);
        assert_eq!(coherence.user_stamp("alice"), None);
        coherence.sure();
        assert!(coherence.session_stamp(&id).is_some());
    }
}
