//! A cache of live sessions in front of any session store, coherent with
//! every write.
//!
//! Every page load or API call of every user asks "is this session live,
//! and whose is it?", and Looker and Huawei ask for a user's live sessions.
//! [`CachedSessions`] answers those from memory: the sessions it has read
//! (`session`), and each user's live sessions across identity stores
//! (listings and counts filtered to one user's live sessions: Looker's
//! `all_user_sessions`, Huawei's `ListSessions`). Anything else goes to the
//! store.
//!
//! # What it keeps
//!
//! Only what can be answered again without asking: a session that was
//! live when read, and a user's live sessions when there are at most
//! [`USER_LIST_LIMIT`] of them. A session that is not found, or not live,
//! is read from the store every time, so nothing unknown fills the cache.
//! Expiry is judged at read time, by the server's clock for a session and
//! by the query's time for a listing; an entry is never used at a time
//! before it was read (a clock that went back does not revive it).
//!
//! The entries live in [`quick_cache`]'s concurrent cache, bounded by an
//! estimate of their bytes (`serve --session-cache-mib`); when full, its
//! policy (S3-FIFO) decides what stays; the credential cache uses the
//! same. Not moka, which the caches that expire by time use: in a profile
//! of Looker `user_session` at 1,000,000 sessions,
//! moka's `get` took 8.9% of the server's CPU, 3.7% of it the housekeeping
//! of its read buffers and queues, which a hit runs inline; a quick_cache
//! hit only sets a bit. Each session is kept packed in one allocation
//! ([`packed`]): a `Session` with its dozen strings took three times the
//! memory, which at a million sessions decided how many fit.
//!
//! # Coherence
//!
//! Writes hold as [`super::coherence`] states:
//!
//! * Through this process: every write goes through this cache, which
//!   moves on the stripes of the sessions and users it touched once the
//!   store has answered, before the caller hears of it. An entry read
//!   from the store while the write was committed is filed under the
//!   older stamp and never used.
//! * Through another process sharing the database (a replica, a command
//!   of the CLI): once the store's watcher hears of it (within 50 ms).
//!   PostgreSQL names every session and user a transaction changed
//!   (`NOTIFY`); SQLite's watcher notices another process wrote sessions
//!   and forgets them all. While the watcher is not sure it would hear,
//!   the cache keeps nothing and asks the store every time.
//!
//! The janitor deletes only sessions that ended (or expired) before its
//! cutoff, in the past of its clock: a copy of one here is not live at any
//! later time, so it is never answered; deleting them needs no
//! invalidation.

mod packed;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use crate::clock::Clock;
use crate::domain::Timestamp;
use crate::domain::session::Session;
use crate::metrics::{Cache, Lookup};
use crate::pfid::Pfid;
use crate::store::coherence::{Coherence, Stamp};
use packed::PackedSession;

use crate::store::{
    JanitorLease, RevokeSessions, RevokeUserSessions, SessionOrder, SessionQuery, SessionStore,
    SharedSessions, StoreError,
};

/// The default bound of the cache's entries, in MiB
/// (`serve --session-cache-mib`): about 550,000 sessions, at about 700
/// bytes each. At 1,000,000 sessions the benchmark's lookups kept 150,000
/// entries (240 MiB by this estimate) in 297 MiB of resident memory.
pub const DEFAULT_SESSION_CACHE_MIB: u32 = 384;

/// A user with more live sessions than this has them listed by the store
/// every time (Looker's listing reads at most 1,000 at a time).
pub const USER_LIST_LIMIT: usize = 1_000;

/// A bulk insert of more sessions than this forgets every entry rather
/// than the entries of each.
const FORGET_ALL_ABOVE: usize = 256;

/// A session store whose live sessions are cached; see the module's
/// documentation.
pub struct CachedSessions {
    inner: SharedSessions,
    clock: Arc<dyn Clock>,
    coherence: Arc<Coherence>,
    entries: quick_cache::sync::Cache<Key, Arc<Entry>, EntryWeighter>,
    counts: Counts,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Session(Pfid),
    User(String),
}

struct Entry {
    stamp: Stamp,
    read_at: Timestamp,
    /// About how many bytes `value` holds that no other entry counts.
    bytes: usize,
    value: Value,
}

enum Value {
    /// A session, live when read.
    Session(PackedSession),
    /// A user's live sessions, newest first.
    UserSessions(Vec<PackedSession>),
    /// A user with more live sessions than [`USER_LIST_LIMIT`].
    TooMany,
}

/// How the cache answered so far (for the benchmark; the metrics count
/// the same when they are served).
#[derive(Default)]
struct Counts {
    hits: AtomicU64,
    misses: AtomicU64,
    bypasses: AtomicU64,
}

/// Lookups through the session cache since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SessionCacheCounts {
    /// Answered from memory.
    pub hits: u64,
    /// Answered by the store (and kept, where the answer can be).
    pub misses: u64,
    /// Answered by the store while the cache could not be trusted.
    pub bypasses: u64,
    /// Entries held: sessions, and users' lists.
    pub entries: u64,
    /// About how many bytes they take (what `--session-cache-mib` bounds).
    pub bytes: u64,
}

impl CachedSessions {
    /// `inner` with live sessions cached in at most `mib` MiB, coherent
    /// through `coherence` (the store's: `CredentialStore::coherence`).
    pub fn new(
        inner: SharedSessions,
        coherence: Arc<Coherence>,
        clock: Arc<dyn Clock>,
        mib: u32,
    ) -> CachedSessions {
        let bytes = u64::from(mib) << 20;
        let entries = quick_cache::sync::Cache::with_weighter(
            usize::try_from(bytes / ESTIMATED_ENTRY_BYTES).unwrap_or(usize::MAX),
            bytes,
            EntryWeighter,
        );
        CachedSessions {
            inner,
            clock,
            coherence,
            entries,
            counts: Counts::default(),
        }
    }

    /// How the cache has answered so far, and what it holds.
    pub fn counts(&self) -> SessionCacheCounts {
        SessionCacheCounts {
            hits: self.counts.hits.load(Ordering::Relaxed),
            misses: self.counts.misses.load(Ordering::Relaxed),
            bypasses: self.counts.bypasses.load(Ordering::Relaxed),
            entries: self.entries.len() as u64,
            bytes: self.entries.weight(),
        }
    }

    fn count(&self, lookup: Lookup) {
        let counter = match lookup {
            Lookup::Hit => &self.counts.hits,
            Lookup::Miss => &self.counts.misses,
            Lookup::Bypass => &self.counts.bypasses,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(metrics) = crate::metrics::recording() {
            metrics.cache.lookup(Cache::Session, lookup);
        }
    }

    /// The entry for `key` if it is still valid under `stamp` at `now`.
    fn valid(&self, key: &Key, stamp: Stamp, now: Timestamp) -> Option<Arc<Entry>> {
        self.entries
            .get(key)
            .filter(|entry| entry.stamp == stamp && entry.read_at <= now)
    }

    /// A user's live sessions at `now`, newest first (and maybe some no
    /// longer live), from memory or read (and kept) now; `None` when the
    /// store must be asked instead (the cache is not trusted, or the user
    /// has too many).
    async fn user_sessions(
        &self,
        user_id: &str,
        now: Timestamp,
    ) -> Result<Option<UserSessions>, StoreError> {
        let Some(stamp) = self.coherence.user_stamp(user_id) else {
            self.count(Lookup::Bypass);
            return Ok(None);
        };
        let key = Key::User(user_id.to_string());
        if let Some(entry) = self.valid(&key, stamp, now) {
            match &entry.value {
                Value::UserSessions(_) => {
                    self.count(Lookup::Hit);
                    return Ok(Some(UserSessions::Kept(entry)));
                }
                // The store lists them; known without asking it twice.
                Value::TooMany => {
                    self.count(Lookup::Miss);
                    return Ok(None);
                }
                Value::Session(_) => {}
            }
        }
        self.count(Lookup::Miss);
        let read = SessionQuery {
            identity_store_id: None,
            user_id: Some(user_id.to_string()),
            status: None,
            live: Some(true),
            now,
            order: SessionOrder::NewestFirst,
            cursor: None,
            offset: 0,
            limit: USER_LIST_LIMIT as u32 + 1,
        };
        let sessions = self.inner.list_sessions(&read).await?;
        let too_many = sessions.len() > USER_LIST_LIMIT;
        let (value, bytes) = if too_many {
            (Value::TooMany, 0)
        } else {
            let packed = sessions
                .iter()
                .map(PackedSession::pack)
                .collect::<Result<Vec<_>, _>>()?;
            let bytes = allocated(packed.len() * std::mem::size_of::<PackedSession>())
                + packed.iter().map(|p| allocated(p.len())).sum::<usize>();
            (Value::UserSessions(packed), bytes)
        };
        let entry = Entry {
            stamp,
            read_at: now,
            bytes,
            value,
        };
        self.entries.insert(key, Arc::new(entry));
        Ok((!too_many).then_some(UserSessions::Read(sessions)))
    }

    /// After a write to `id` (of `user_id`): entries read before it are
    /// stale, and the memory of the old one can go.
    fn changed(&self, id: &Pfid, user_id: Option<&str>) {
        // The user the cached copy names too, should a write ever move a
        // session to another user.
        // `peek`: a write is no reason to keep the entry.
        if let Some(entry) = self.entries.peek(&Key::Session(*id))
            && let Value::Session(cached) = &entry.value
            && let Ok(cached) = cached.unpack()
            && cached.user_id.as_deref() != user_id
            && let Some(previous) = cached.user_id.as_deref()
        {
            self.coherence.user_changed(previous);
        }
        self.coherence.session_changed(id, user_id);
        self.entries.remove(&Key::Session(*id));
    }

    fn user_changed(&self, user_id: &str) {
        self.coherence.user_changed(user_id);
        self.entries.remove(&Key::User(user_id.to_string()));
    }

    fn forget_all(&self) {
        self.coherence.sessions_changed();
        self.entries.clear();
    }
}

/// The user whose live sessions answer `query`, if the cache can answer
/// it: one user's live sessions, any store, order, page.
fn answerable(query: &SessionQuery) -> Option<&str> {
    match query {
        SessionQuery {
            user_id: Some(user_id),
            live: Some(true),
            status: None,
            ..
        } => Some(user_id),
        _ => None,
    }
}

/// Whether `query` matches `session`, one of its user's, ignoring its
/// page (cursor, offset, limit).
fn matches(session: &Session, query: &SessionQuery) -> bool {
    session.is_live(query.now)
        && query
            .identity_store_id
            .as_ref()
            .is_none_or(|store| *store == session.identity_store_id)
}

/// A user's live sessions, newest first, as
/// [`CachedSessions::user_sessions`] found them.
enum UserSessions {
    /// Kept in memory: an entry holding [`Value::UserSessions`], unpacked
    /// only as far as a page needs.
    Kept(Arc<Entry>),
    /// Just read from the store.
    Read(Vec<Session>),
}

impl UserSessions {
    /// `query`'s page of them; an error if a kept session does not unpack
    /// (the store is then asked instead).
    fn page(self, query: &SessionQuery) -> Result<Vec<Session>, StoreError> {
        let order = query.order;
        match self {
            UserSessions::Kept(entry) => {
                let unpacked = entry
                    .user_sessions()
                    .iter()
                    .filter(|packed| may_match(packed, query))
                    .map(PackedSession::unpack);
                match order {
                    SessionOrder::NewestFirst => take_page(unpacked, query),
                    SessionOrder::OldestFirst => take_page(unpacked.rev(), query),
                }
            }
            UserSessions::Read(sessions) => {
                let read = sessions.into_iter().map(Ok);
                match order {
                    SessionOrder::NewestFirst => take_page(read, query),
                    SessionOrder::OldestFirst => take_page(read.rev(), query),
                }
            }
        }
    }

    /// How many of them match `query`, whatever its page.
    fn count(&self, query: &SessionQuery) -> Result<u64, StoreError> {
        let mut count = 0;
        match self {
            UserSessions::Kept(entry) => {
                for packed in entry.user_sessions() {
                    if may_match(packed, query) {
                        count += u64::from(matches(&packed.unpack()?, query));
                    }
                }
            }
            UserSessions::Read(sessions) => {
                count = sessions.iter().filter(|s| matches(s, query)).count() as u64;
            }
        }
        Ok(count)
    }
}

impl Entry {
    /// The sessions of a [`Value::UserSessions`] entry; none for another.
    fn user_sessions(&self) -> &[PackedSession] {
        match &self.value {
            Value::UserSessions(packed) => packed,
            Value::Session(_) | Value::TooMany => &[],
        }
    }
}

/// Whether `packed` may match `query`: `false` only for a session of
/// another identity store than the query's, known without unpacking it
/// (one that does not read is left to `unpack` to report).
fn may_match(packed: &PackedSession, query: &SessionQuery) -> bool {
    match (&query.identity_store_id, packed.identity_store_id()) {
        (Some(wanted), Ok(store)) => wanted == store,
        _ => true,
    }
}

/// `query`'s page of `sessions`, given in the query's order: each is
/// moved onto the page, or dropped, as it comes.
fn take_page(
    sessions: impl Iterator<Item = Result<Session, StoreError>>,
    query: &SessionQuery,
) -> Result<Vec<Session>, StoreError> {
    let limit = query.limit as usize;
    let mut skip = query.offset as usize;
    let mut page = Vec::new();
    for session in sessions {
        if page.len() >= limit {
            break;
        }
        let session = session?;
        let after_cursor = match (query.cursor, query.order) {
            (None, _) => true,
            (Some(cursor), SessionOrder::NewestFirst) => session.id < cursor,
            (Some(cursor), SessionOrder::OldestFirst) => session.id > cursor,
        };
        if !(after_cursor && matches(&session, query)) {
            continue;
        }
        if skip > 0 {
            skip -= 1;
        } else {
            page.push(session);
        }
    }
    Ok(page)
}

/// What the cache keeps for each entry besides the key and value (its
/// hash table slot and its place in the policy's queues), about.
const CACHE_ENTRY_BYTES: usize = 64;

/// About what an entry takes, for sizing the table up front.
const ESTIMATED_ENTRY_BYTES: u64 = 1024;

/// Weighs entries by [`key_bytes`] and [`entry_bytes`].
#[derive(Clone)]
struct EntryWeighter;

impl quick_cache::Weighter<Key, Arc<Entry>> for EntryWeighter {
    fn weight(&self, key: &Key, entry: &Arc<Entry>) -> u64 {
        (key_bytes(key) + entry_bytes(entry)) as u64
    }
}

/// About how many bytes an entry holds, for the cache's bound: its `Arc`,
/// the cache's bookkeeping, and what its value alone holds.
fn entry_bytes(entry: &Entry) -> usize {
    allocated(ARC_COUNTS + std::mem::size_of::<Entry>()) + CACHE_ENTRY_BYTES + entry.bytes
}

/// The two counts in front of every `Arc`'s value.
const ARC_COUNTS: usize = 2 * std::mem::size_of::<usize>();

/// What the allocator takes for `bytes` asked for: glibc hands out
/// 16-byte-aligned chunks with an 8-byte header, 32 bytes at least.
fn allocated(bytes: usize) -> usize {
    if bytes == 0 {
        0
    } else {
        (bytes + 8).div_ceil(16).max(2) * 16
    }
}

fn key_bytes(key: &Key) -> usize {
    std::mem::size_of::<Key>()
        + match key {
            Key::Session(_) => 0,
            Key::User(user_id) => allocated(user_id.len()),
        }
}

#[async_trait]
impl SessionStore for CachedSessions {
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        let inserted = self.inner.insert_session(session).await;
        self.changed(&session.id, session.user_id.as_deref());
        inserted
    }

    async fn insert_sessions(&self, sessions: &[Session]) -> Result<(), StoreError> {
        let inserted = self.inner.insert_sessions(sessions).await;
        if sessions.len() > FORGET_ALL_ABOVE {
            self.forget_all();
        } else {
            for session in sessions {
                self.changed(&session.id, session.user_id.as_deref());
            }
        }
        inserted
    }

    async fn begin_bulk_load(&self, incoming: u64) -> Result<(), StoreError> {
        self.inner.begin_bulk_load(incoming).await
    }

    async fn end_bulk_load(&self) -> Result<(), StoreError> {
        self.inner.end_bulk_load().await
    }

    async fn session(&self, id: &Pfid) -> Result<Option<Session>, StoreError> {
        let Some(stamp) = self.coherence.session_stamp(id) else {
            self.count(Lookup::Bypass);
            return self.inner.session(id).await;
        };
        let now = self.clock.now();
        let key = Key::Session(*id);
        if let Some(entry) = self.valid(&key, stamp, now)
            && let Value::Session(packed) = &entry.value
            && let Ok(session) = packed.unpack()
            && session.is_live(now)
        {
            self.count(Lookup::Hit);
            return Ok(Some(session));
        }
        self.count(Lookup::Miss);
        let found = self.inner.session(id).await?;
        if let Some(session) = &found
            && session.is_live(now)
        {
            let packed = PackedSession::pack(session)?;
            let entry = Entry {
                stamp,
                read_at: now,
                bytes: allocated(packed.len()),
                value: Value::Session(packed),
            };
            self.entries.insert(key, Arc::new(entry));
        }
        Ok(found)
    }

    async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<Session>, StoreError> {
        if let Some(user_id) = answerable(query)
            && let Some(sessions) = self.user_sessions(user_id, query.now).await?
            && let Ok(page) = sessions.page(query)
        {
            return Ok(page);
        }
        self.inner.list_sessions(query).await
    }

    async fn count_sessions(&self, query: &SessionQuery) -> Result<u64, StoreError> {
        if let Some(user_id) = answerable(query)
            && let Some(sessions) = self.user_sessions(user_id, query.now).await?
            && let Ok(count) = sessions.count(query)
        {
            return Ok(count);
        }
        self.inner.count_sessions(query).await
    }

    async fn replace_session(
        &self,
        expected_version: u64,
        session: &Session,
    ) -> Result<bool, StoreError> {
        let replaced = self.inner.replace_session(expected_version, session).await;
        self.changed(&session.id, session.user_id.as_deref());
        replaced
    }

    async fn revoke_user_sessions(
        &self,
        request: &RevokeUserSessions,
    ) -> Result<Vec<Pfid>, StoreError> {
        let revoked = self.inner.revoke_user_sessions(request).await;
        match &revoked {
            Ok(ids) => {
                for id in ids {
                    self.changed(id, Some(&request.user_id));
                }
                self.user_changed(&request.user_id);
            }
            // Which sessions it reached is unknown: forget them all.
            Err(_) => self.forget_all(),
        }
        revoked
    }

    async fn revoke_sessions(&self, request: &RevokeSessions) -> Result<Vec<Pfid>, StoreError> {
        let revoked = self.inner.revoke_sessions(request).await;
        for id in &request.ids {
            self.changed(id, Some(&request.user_id));
        }
        self.user_changed(&request.user_id);
        revoked
    }

    async fn delete_ended_sessions(
        &self,
        cutoff: Timestamp,
        limit: u32,
    ) -> Result<u64, StoreError> {
        // Nothing it deletes is live; see the module's documentation.
        self.inner.delete_ended_sessions(cutoff, limit).await
    }

    async fn janitor_lease(&self) -> Result<Option<JanitorLease>, StoreError> {
        self.inner.janitor_lease().await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }

    async fn probe_write(&self) -> Result<(), StoreError> {
        self.inner.probe_write().await
    }
}
