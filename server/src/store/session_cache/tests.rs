//! The session cache against a real SQLite file: answers, coherence
//! with writes here and in another process, and the conformance suite
//! through it.

use std::sync::Mutex;

use tokio::sync::oneshot;

use super::*;
use crate::clock::ManualClock;
use crate::domain::session::Status;
use crate::store::SharedStore;
use crate::store::conformance::{self, expected_listing, live_session, session};
use crate::store::sqlite::SqliteStore;

/// A cache over a SQLite file, the store under it, and the file.
struct Fixture {
    cached: Arc<CachedSessions>,
    store: SharedStore,
    clock: Arc<ManualClock>,
    directory: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let directory = tempfile::tempdir().unwrap();
    let store: SharedStore = Arc::new(SqliteStore::open(&directory.path().join("s.db")).unwrap());
    cached_over(store, directory)
}

fn cached_over(store: SharedStore, directory: tempfile::TempDir) -> Fixture {
    store.coherence().wait_until_sure();
    let clock = Arc::new(ManualClock::new(conformance::now()));
    let cached = Arc::new(CachedSessions::new(
        store.clone(),
        store.coherence(),
        clock.clone(),
        DEFAULT_SESSION_CACHE_MIB,
    ));
    Fixture {
        cached,
        store,
        clock,
        directory,
    }
}

/// Another process: its own store over the same file.
fn other_process(f: &Fixture) -> SqliteStore {
    SqliteStore::open(&f.directory.path().join("s.db")).unwrap()
}

fn live_of(user: &str) -> SessionQuery {
    SessionQuery {
        user_id: Some(user.to_string()),
        live: Some(true),
        ..conformance::query_all(100)
    }
}

fn revoke_all(user: &str) -> RevokeUserSessions {
    RevokeUserSessions {
        user_id: user.to_string(),
        identity_store_id: None,
        except_session_id: None,
        now: conformance::at(1),
    }
}

/// Waits until the cache reports `expected` for `id`; panics after a
/// long deadline (a change that is never heard of).
async fn until_status(cached: &CachedSessions, id: &Pfid, expected: Status) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let status = cached.session(id).await.unwrap().map(|s| s.status);
        if status == Some(expected) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {status:?}: the change was never heard of"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn lookups_of_live_sessions_are_answered_from_memory() {
    let f = fixture();
    let live = live_session("s1", "alice");
    let ended = session("s1", Some("alice"), Status::Revoked, -1_000, 60_000);
    f.cached
        .insert_sessions(&[live.clone(), ended.clone()])
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(
            f.cached.session(&live.id).await.unwrap(),
            Some(live.clone())
        );
        assert_eq!(
            f.cached.session(&ended.id).await.unwrap(),
            Some(ended.clone())
        );
        assert_eq!(
            f.cached.list_sessions(&live_of("alice")).await.unwrap(),
            vec![live.clone()]
        );
    }
    let counts = f.cached.counts();
    // The live session and the user's list were read once each; the
    // ended session every time.
    assert_eq!((counts.hits, counts.misses, counts.bypasses), (4, 5, 0));
}

#[tokio::test]
async fn a_write_through_the_cache_is_seen_at_once() {
    let f = fixture();
    let live = live_session("s1", "alice");
    f.cached.insert_session(&live).await.unwrap();
    assert!(
        f.cached
            .session(&live.id)
            .await
            .unwrap()
            .is_some_and(|s| s.is_live(conformance::now()))
    );
    assert_eq!(f.cached.count_sessions(&live_of("alice")).await.unwrap(), 1);

    let second = session("s2", Some("alice"), Status::Authenticated, -500, 60_000);
    f.cached.insert_session(&second).await.unwrap();
    assert_eq!(
        f.cached.count_sessions(&live_of("alice")).await.unwrap(),
        2,
        "a new session"
    );

    let revoked = f
        .cached
        .revoke_user_sessions(&revoke_all("alice"))
        .await
        .unwrap();
    assert_eq!(revoked.len(), 2);
    assert_eq!(
        f.cached.session(&live.id).await.unwrap().map(|s| s.status),
        Some(Status::Revoked)
    );
    assert_eq!(
        f.cached.list_sessions(&live_of("alice")).await.unwrap(),
        Vec::new()
    );
}

#[tokio::test]
async fn expiry_is_judged_at_read_time_and_a_clock_gone_back_revives_nothing() {
    let f = fixture();
    let live = session("s1", Some("alice"), Status::Authenticated, -1_000, 10_000);
    f.cached.insert_session(&live).await.unwrap();
    assert!(f.cached.session(&live.id).await.unwrap().is_some());
    assert_eq!(f.cached.count_sessions(&live_of("alice")).await.unwrap(), 1);
    f.clock.advance(chrono::TimeDelta::seconds(10));
    let later = SessionQuery {
        now: conformance::at(10_000),
        ..live_of("alice")
    };
    assert_eq!(f.cached.count_sessions(&later).await.unwrap(), 0, "expired");
    let earlier = SessionQuery {
        now: conformance::at(-2_000),
        ..live_of("alice")
    };
    assert_eq!(
        f.cached.count_sessions(&earlier).await.unwrap(),
        f.store.count_sessions(&earlier).await.unwrap(),
        "a listing at a time before the entry was read asks the store"
    );
}

#[tokio::test]
async fn a_write_by_another_process_is_heard_without_the_clock_moving() {
    let f = fixture();
    let live = live_session("s1", "alice");
    f.cached.insert_session(&live).await.unwrap();
    until_status(&f.cached, &live.id, Status::Authenticated).await;
    assert_eq!(f.cached.count_sessions(&live_of("alice")).await.unwrap(), 1);

    let other = other_process(&f);
    assert_eq!(
        other
            .revoke_user_sessions(&revoke_all("alice"))
            .await
            .unwrap(),
        vec![live.id]
    );
    until_status(&f.cached, &live.id, Status::Revoked).await;
    assert_eq!(f.cached.count_sessions(&live_of("alice")).await.unwrap(), 0);
}

#[tokio::test]
async fn an_unsure_cache_keeps_nothing() {
    let f = fixture();
    let unsure = Arc::new(Coherence::unsure());
    let cached = CachedSessions::new(f.store.clone(), unsure.clone(), f.clock.clone(), 16);
    let live = live_session("s1", "alice");
    cached.insert_session(&live).await.unwrap();
    assert!(cached.session(&live.id).await.unwrap().is_some());
    // Behind the cache's back: only a cache that kept nothing sees it.
    other_process(&f)
        .revoke_user_sessions(&revoke_all("alice"))
        .await
        .unwrap();
    assert_eq!(
        cached.session(&live.id).await.unwrap().map(|s| s.status),
        Some(Status::Revoked)
    );
    assert_eq!(cached.counts().bypasses, 2);
    unsure.sure();
    assert_eq!(
        cached.session(&live.id).await.unwrap().map(|s| s.status),
        Some(Status::Revoked)
    );
    assert_eq!(cached.counts().misses, 1);
}

/// A session store whose `session` read can be held between reading
/// and answering, to race a write against a lookup.
struct Held {
    inner: SharedStore,
    hold: Mutex<Option<(oneshot::Sender<()>, oneshot::Receiver<()>)>>,
}

#[async_trait]
impl SessionStore for Held {
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        self.inner.insert_session(session).await
    }
    async fn insert_sessions(&self, sessions: &[Session]) -> Result<(), StoreError> {
        self.inner.insert_sessions(sessions).await
    }
    async fn begin_bulk_load(&self, incoming: u64) -> Result<(), StoreError> {
        self.inner.begin_bulk_load(incoming).await
    }
    async fn end_bulk_load(&self) -> Result<(), StoreError> {
        self.inner.end_bulk_load().await
    }
    async fn session(&self, id: &Pfid) -> Result<Option<Session>, StoreError> {
        let read = self.inner.session(id).await;
        let hold = self.hold.lock().unwrap().take();
        if let Some((read_done, release)) = hold {
            read_done.send(()).unwrap();
            release.await.unwrap();
        }
        read
    }
    async fn list_sessions(&self, query: &SessionQuery) -> Result<Vec<Session>, StoreError> {
        self.inner.list_sessions(query).await
    }
    async fn count_sessions(&self, query: &SessionQuery) -> Result<u64, StoreError> {
        self.inner.count_sessions(query).await
    }
    async fn replace_session(&self, expected: u64, session: &Session) -> Result<bool, StoreError> {
        self.inner.replace_session(expected, session).await
    }
    async fn revoke_user_sessions(&self, r: &RevokeUserSessions) -> Result<Vec<Pfid>, StoreError> {
        self.inner.revoke_user_sessions(r).await
    }
    async fn revoke_sessions(&self, r: &RevokeSessions) -> Result<Vec<Pfid>, StoreError> {
        self.inner.revoke_sessions(r).await
    }
    async fn delete_ended_sessions(
        &self,
        cutoff: Timestamp,
        limit: u32,
    ) -> Result<u64, StoreError> {
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

#[tokio::test]
async fn a_lookup_that_read_before_a_write_never_answers_after_it() {
    let f = fixture();
    let held = Arc::new(Held {
        inner: f.store.clone(),
        hold: Mutex::new(None),
    });
    let cached = Arc::new(CachedSessions::new(
        held.clone(),
        f.store.coherence(),
        f.clock.clone(),
        16,
    ));
    let live = live_session("s1", "alice");
    cached.insert_session(&live).await.unwrap();
    until_status(&cached, &live.id, Status::Authenticated).await;
    cached.entries.clear();

    // A lookup reads the live session from the store and is held there.
    let (read_done, read) = oneshot::channel();
    let (release, released) = oneshot::channel();
    *held.hold.lock().unwrap() = Some((read_done, released));
    let lookup = tokio::spawn({
        let cached = cached.clone();
        async move { cached.session(&live.id).await }
    });
    read.await.unwrap();
    // The revocation is committed and acknowledged meanwhile.
    let revoked = cached
        .revoke_user_sessions(&revoke_all("alice"))
        .await
        .unwrap();
    assert_eq!(revoked, vec![live.id]);
    // The held lookup answers what it read (it began before the write)
    // and keeps it, but under a stamp the write has moved past.
    release.send(()).unwrap();
    let raced = lookup.await.unwrap().unwrap();
    assert_eq!(raced.map(|s| s.status), Some(Status::Authenticated));
    for _ in 0..3 {
        assert_eq!(
            cached.session(&live.id).await.unwrap().map(|s| s.status),
            Some(Status::Revoked),
            "the writing process never sees it live after its acknowledgement"
        );
    }
}

#[tokio::test]
async fn listings_from_memory_match_the_store_for_every_page() {
    let f = fixture();
    let mut sessions = Vec::new();
    for n in 0..24_i64 {
        let store = ["s1", "s2", "s3"][(n % 3) as usize];
        let status = [
            Status::Authenticated,
            Status::New,
            Status::Revoked,
            Status::Complete,
        ][(n % 4) as usize];
        let expires = if n % 5 == 0 { 30_000 } else { 3_600_000 };
        sessions.push(session(
            store,
            Some("alice"),
            status,
            -60_000 + n * 10,
            expires,
        ));
    }
    sessions.push(live_session("s1", "bob"));
    f.cached.insert_sessions(&sessions).await.unwrap();
    for order in [SessionOrder::NewestFirst, SessionOrder::OldestFirst] {
        for identity_store_id in [None, Some("s2".to_string())] {
            for (offset, limit) in [(0, 100), (2, 3), (0, 1), (7, 100)] {
                for cursor in [None, Some(sessions[9].id)] {
                    for now in [conformance::now(), conformance::at(40_000)] {
                        let query = SessionQuery {
                            identity_store_id: identity_store_id.clone(),
                            order,
                            offset,
                            limit,
                            cursor,
                            now,
                            ..live_of("alice")
                        };
                        let listed: Vec<Pfid> = f
                            .cached
                            .list_sessions(&query)
                            .await
                            .unwrap()
                            .iter()
                            .map(|s| s.id)
                            .collect();
                        assert_eq!(listed, expected_listing(&sessions, &query), "{query:?}");
                        let counted = f.cached.count_sessions(&query).await.unwrap();
                        assert_eq!(
                            counted,
                            f.store.count_sessions(&query).await.unwrap(),
                            "{query:?}"
                        );
                    }
                }
            }
        }
    }
    assert!(f.cached.counts().hits >= 100, "answered from memory");
}

#[tokio::test]
async fn a_user_with_more_live_sessions_than_the_limit_is_listed_by_the_store() {
    let f = fixture();
    let sessions: Vec<Session> = (0..=USER_LIST_LIMIT as i64)
        .map(|n| {
            session(
                "s1",
                Some("busy"),
                Status::Authenticated,
                -60_000 + n,
                3_600_000,
            )
        })
        .collect();
    f.cached.insert_sessions(&sessions).await.unwrap();
    let query = SessionQuery {
        limit: 2_000,
        ..live_of("busy")
    };
    for _ in 0..2 {
        assert_eq!(
            f.cached.list_sessions(&query).await.unwrap().len(),
            USER_LIST_LIMIT + 1
        );
        assert_eq!(
            f.cached.count_sessions(&query).await.unwrap(),
            USER_LIST_LIMIT as u64 + 1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_racing_reads_in_another_process_wins_in_both() {
    let f = fixture();
    // The other process: its own store over the file, its own cache.
    let other: SharedStore = Arc::new(other_process(&f));
    let reader = Arc::new(cached_over(other, tempfile::tempdir().unwrap()).cached);
    for round in 0..40 {
        let user = format!("racer-{round}");
        let live = live_session("s1", &user);
        f.cached.insert_session(&live).await.unwrap();
        until_status(&reader, &live.id, Status::Authenticated).await;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader_task = tokio::spawn({
            let (reader, stop) = (reader.clone(), stop.clone());
            async move {
                let mut seen_revoked = false;
                let mut reads = 0_u32;
                while !stop.load(Ordering::Acquire) || !seen_revoked {
                    let status = reader.session(&live.id).await.unwrap().map(|s| s.status);
                    let revoked = status == Some(Status::Revoked);
                    assert!(
                        !seen_revoked || revoked,
                        "live again after it was seen revoked"
                    );
                    seen_revoked |= revoked;
                    reads += 1;
                    assert!(reads < 1_000_000, "the revocation was never heard of");
                    tokio::task::yield_now().await;
                }
            }
        });
        tokio::task::yield_now().await;
        let revoked = f
            .cached
            .revoke_user_sessions(&revoke_all(&user))
            .await
            .unwrap();
        assert_eq!(revoked, vec![live.id]);
        assert_eq!(
            f.cached.session(&live.id).await.unwrap().map(|s| s.status),
            Some(Status::Revoked),
            "round {round}: the writing process, at once"
        );
        stop.store(true, Ordering::Release);
        // The reader's own assertions fail the round.
        reader_task.await.unwrap();
        assert_eq!(
            reader.count_sessions(&live_of(&user)).await.unwrap(),
            0,
            "round {round}"
        );
    }
}

mod suite {
    use std::sync::Arc;

    use crate::store::SharedStore;
    use crate::store::conformance::Combined;

    /// The suite, with every session call through the cache.
    async fn cached() -> (SharedStore, tempfile::TempDir) {
        let f = super::fixture();
        let store = Combined {
            sessions: f.cached,
            credentials: f.store,
            coherence: None,
        };
        (Arc::new(store) as SharedStore, f.directory)
    }
    crate::store_conformance_tests!(cached());
}
