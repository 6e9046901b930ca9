//! The store conformance suite: what every [`Store`] implementation must
//! do, written once against `Arc<dyn Store>` and run unchanged by each of
//! them (the SQLite store in its unit tests, the PostgreSQL store from the
//! tests crate's `postgres` test binary, through [`cases`]).
//!
//! Each case is a public async function taking a fresh, empty store and
//! panicking on a violation. [`store_conformance_tests!`](crate::store_conformance_tests)
//! turns the whole list into one `#[tokio::test]` per case, so a failure
//! names its case:
//!
//! ```ignore
//! mod store_conformance {
//!     // An expression evaluating to a future whose output implements
//!     // `StoreFixture`: an `Arc<dyn Store>`, or `(Arc<dyn Store>, guard)`
//!     // where the guard (a temporary directory, a scratch database) is
//!     // kept alive until the case ends.
//!     login_sessions_server::store_conformance_tests!(super::fresh_store());
//! }
//! ```
//!
//! The crate invoking the macro needs `tokio` (with the `macros` and
//! `rt-multi-thread` features) among its (dev-)dependencies. Invoke it in a
//! module of its own: it defines one function per case, named after it.
//!
//! A runner that is not libtest's takes the same list as functions from
//! [`cases`]; both come from the one list in the macro, so they cannot
//! drift apart. A new case is a `pub async fn` here plus its name in that
//! list.
//!
//! Expected results are computed with the domain's own rules
//! ([`Session::effective_status`], [`Session::is_live`], [`Session::revoke`])
//! wherever possible, so the suite checks the store against the domain,
//! not against a second reading of the documentation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::sync::Arc;

use chrono::DateTime;
use tokio::sync::Barrier;

use crate::domain::Timestamp;
use crate::domain::access_token::AccessToken;
use crate::domain::credential::{Credential, Role, StoredSecrets, TemporaryHuaweiKey};
use crate::domain::session::{Enrichment, Interaction, Session, SessionType, Status};
use crate::pfid::{Pfid, partition_for_identity_store};
use crate::secrets::SecretHash;
use crate::store::{
    BearerKind, RevocationMark, RevokeSessions, RevokeUserSessions, SessionOrder, SessionQuery,
    SharedStore, StoreError, apply_revocation_marks,
};

#[cfg(doc)]
use crate::store::Store;

/// What a conformance case runs on: the store, plus whatever must outlive
/// the case (a temporary directory, a scratch database).
pub trait StoreFixture {
    fn store(&self) -> SharedStore;
}

impl StoreFixture for SharedStore {
    fn store(&self) -> SharedStore {
        Arc::clone(self)
    }
}

impl<G> StoreFixture for (SharedStore, G) {
    fn store(&self) -> SharedStore {
        Arc::clone(&self.0)
    }
}

/// Expands to one `#[tokio::test]` per conformance case, each on a fresh
/// store from `$make_store` (an expression evaluating to a future whose
/// output implements [`StoreFixture`]). See the [module
/// documentation](crate::store::conformance).
///
/// The list of cases is written once, here; [`cases`] returns the same
/// list as functions, for runners that are not libtest (the PostgreSQL
/// suite in the tests crate).
#[macro_export]
macro_rules! store_conformance_tests {
    ($make_store:expr $(,)?) => {
        $crate::store_conformance_tests!(@list [@cases $make_store;]);
    };
    (@list [$($head:tt)*]) => {
        $crate::store_conformance_tests! {$($head)*
            session_round_trip_full,
            session_round_trip_minimal,
            missing_session_is_none,
            duplicate_session_is_refused,
            bulk_insert_of_a_thousand,
            bulk_insert_with_a_duplicate_inserts_none,
            bulk_load_answers_the_same_before_and_after_its_end,
            listing_filters_alone_and_combined,
            listing_status_is_effective_around_expiry,
            listing_is_newest_first,
            listing_oldest_first_with_offset_and_cursor,
            keyset_pagination_walks_every_session_once,
            keyset_pagination_is_stable_under_inserts,
            replace_applies_over_the_expected_version,
            replace_writes_every_column,
            replace_with_a_stale_version_writes_nothing,
            replace_of_a_missing_session_is_refused,
            concurrent_replaces_have_one_winner,
            revoke_user_sessions_revokes_only_live_sessions_of_the_user,
            revoke_user_sessions_in_one_store_and_but_one,
            replace_computed_before_a_revoke_fails,
            revoke_and_replace_racing_lose_nothing,
            revoke_sessions_revokes_only_listed_live_sessions_of_the_user,
            access_token_round_trip,
            duplicate_access_token_is_refused,
            access_token_revocation_happens_once,
            access_tokens_of_revoked_credentials_are_not_found,
            expired_access_tokens_are_deleted,
            revoke_sessions_and_replace_racing_lose_nothing,
            inserts_after_a_revocation_of_sessions_created_before_it_land_revoked,
            revocation_marks_follow_the_store_scope_and_keep_the_latest,
            bulk_inserts_after_a_revocation_land_revoked,
            inserts_racing_a_revocation_leave_nothing_live_from_before_it,
            delete_ended_sessions_in_bounded_batches,
            janitor_lease_is_granted_on_an_idle_store,
            credential_round_trip_and_list,
            credential_revoke,
            credential_lookups,
            revoked_credentials_are_not_found,
            duplicate_credential_secrets_are_refused,
            temporary_huawei_keys_round_trip,
            temporary_huawei_keys_die_with_their_credential,
            ping_answers,
        }
    };
    (@cases $make_store:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $make_store.await;
                let store = $crate::store::conformance::StoreFixture::store(&fixture);
                $crate::store::conformance::assert_empty(&store).await;
                $crate::store::conformance::$case(store).await;
                drop(fixture);
            }
        )*
    };
    (@functions; $($case:ident),* $(,)?) => {
        vec![
            $(
                (
                    stringify!($case),
                    (|store| ::std::boxed::Box::pin($crate::store::conformance::$case(store)))
                        as $crate::store::conformance::CaseFn,
                ),
            )*
        ]
    };
}

/// A conformance case as a function: takes a fresh, empty store.
pub type CaseFn = fn(SharedStore) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// Every conformance case, by name, in the order
/// [`store_conformance_tests!`](crate::store_conformance_tests) runs them.
/// Call [`assert_empty`] on the store before each (as the macro does).
pub fn cases() -> Vec<(&'static str, CaseFn)> {
    crate::store_conformance_tests!(@list [@functions;])
}

// ---------------------------------------------------------------------------
// Test data.

/// The fixed "now" of the suite: 2024-01-01T00:00:00Z.
pub const NOW_MS: i64 = 1_704_067_200_000;

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;

/// The suite's now.
pub fn now() -> Timestamp {
    at(0)
}

/// `offset_ms` milliseconds after the suite's now.
pub fn at(offset_ms: i64) -> Timestamp {
    DateTime::from_timestamp_millis(NOW_MS + offset_ms).expect("a representable time")
}

/// A new id for a session of `identity_store_id` created at `created`.
pub fn new_id(identity_store_id: &str, created: Timestamp) -> Pfid {
    let millis = u64::try_from(created.timestamp_millis()).expect("a time after 1970");
    Pfid::generate(partition_for_identity_store(identity_store_id), millis).expect("a valid PFID")
}

/// A session with every optional field set, odd characters in its text,
/// an IPv6 first interaction and millisecond timestamps.
pub fn full_session() -> Session {
    let store = "d-0123456789 ユーザー/+~";
    let created_at = at(-HOUR + 123);
    Session {
        id: new_id(store, created_at),
        identity_store_id: store.to_string(),
        user_id: Some("user 1+ü/x".to_string()),
        status: Status::Revoked,
        session_type: SessionType::Api,
        credentials_type: Some("saml".to_string()),
        created_at,
        expires_at: at(2 * HOUR + 456),
        extended_at: Some(at(-30 * MINUTE + 789)),
        extended_count: 4_000_000_000,
        first_seen: Some(Interaction {
            at: at(-HOUR + 1_001),
            ip: Some("2001:db8::8a2e:370:7334".parse().expect("an IPv6 address")),
            user_agent: Some(
                "Mozilla/5.0 (X11; Linux x86_64) \"quoted\" 'single' ünïcødé ✓".to_string(),
            ),
        }),
        last_seen: Some(Interaction {
            at: at(-MINUTE + 999),
            ip: Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9))),
            user_agent: Some("curl/8.5.0".to_string()),
        }),
        enrichment: Enrichment {
            browser: Some("Firefox 121".to_string()),
            operating_system: Some("Linux".to_string()),
            city: Some("São Paulo".to_string()),
            state: Some("SP".to_string()),
            country: Some("BR".to_string()),
        },
        sudo_user_id: Some("admin-7".to_string()),
        account_id: Some(new_id("accounts", at(-10 * HOUR + 1))),
        domain_id: Some(new_id("domains", at(-20 * HOUR + 2))),
        device_id: Some(new_id("devices", at(-30 * HOUR + 3))),
        title: Some("Work laptop — \u{1F4BB}".to_string()),
        ended_at: Some(at(-SECOND + 5)),
        version: 1 << 40,
    }
}

/// A session with every optional field empty.
pub fn minimal_session() -> Session {
    session("s1", None, Status::New, -MINUTE, HOUR)
}

/// A session of `user` in `identity_store_id`, created `created_ms` and
/// expiring `expires_ms` after the suite's now, in `status`, version 1.
pub fn session(
    identity_store_id: &str,
    user: Option<&str>,
    status: Status,
    created_ms: i64,
    expires_ms: i64,
) -> Session {
    let created_at = at(created_ms);
    Session {
        id: new_id(identity_store_id, created_at),
        identity_store_id: identity_store_id.to_string(),
        user_id: user.map(str::to_string),
        status,
        session_type: SessionType::Browser,
        credentials_type: None,
        created_at,
        expires_at: at(expires_ms),
        extended_at: None,
        extended_count: 0,
        first_seen: None,
        last_seen: None,
        enrichment: Enrichment::default(),
        sudo_user_id: None,
        account_id: None,
        domain_id: None,
        device_id: None,
        title: None,
        ended_at: (!status.is_open()).then(|| at(created_ms + 1)),
        version: 1,
    }
}

/// A live authenticated session of `user` in `identity_store_id`.
pub fn live_session(identity_store_id: &str, user: &str) -> Session {
    session(
        identity_store_id,
        Some(user),
        Status::Authenticated,
        -MINUTE,
        HOUR,
    )
}

/// An unrevoked admin credential created at the suite's now, with secrets
/// unique to it (`tag` only makes them easier to recognise).
pub fn credential_with_secrets(tag: &str) -> (Credential, StoredSecrets) {
    credential_created(tag, now())
}

/// Like [`credential_with_secrets`], created at `created_at`.
pub fn credential_created(tag: &str, created_at: Timestamp) -> (Credential, StoredSecrets) {
    let id = new_id("credentials", created_at);
    let credential = Credential {
        id,
        name: Some(format!("{tag} credential")),
        role: Role::Admin,
        identity_store_id: None,
        user_id: None,
        rate_limit: None,
        created_at,
        revoked_at: None,
    };
    let unique = id.as_str().to_string();
    let secrets = StoredSecrets {
        native_token: SecretHash::of(&format!("ls_native_{tag}_{unique}")),
        prefactor_token: SecretHash::of(&format!("ls_prefactor_{tag}_{unique}")),
        looker_client_id: format!("looker{unique}"),
        looker_client_secret: SecretHash::of(&format!("looker-secret-{unique}")),
        huawei_access_key: format!("AK{}", unique.to_uppercase()),
        huawei_secret_key_sealed: [&[0u8, 1, 0, 255][..], unique.as_bytes(), &[0u8; 16]].concat(),
    };
    (credential, secrets)
}

/// A listing with no filter.
pub fn query_all(limit: u32) -> SessionQuery {
    SessionQuery {
        identity_store_id: None,
        user_id: None,
        status: None,
        live: None,
        now: now(),
        order: SessionOrder::NewestFirst,
        cursor: None,
        offset: 0,
        limit,
    }
}

/// Whether `session` belongs in the listing `query`, by the domain's rules.
pub fn query_matches(query: &SessionQuery, session: &Session) -> bool {
    query
        .identity_store_id
        .as_ref()
        .is_none_or(|store| *store == session.identity_store_id)
        && query
            .user_id
            .as_ref()
            .is_none_or(|user| session.user_id.as_ref() == Some(user))
        && query
            .status
            .is_none_or(|status| session.effective_status(query.now) == status)
        && query
            .live
            .is_none_or(|live| session.is_live(query.now) == live)
        && query.cursor.is_none_or(|cursor| match query.order {
            SessionOrder::NewestFirst => session.id < cursor,
            SessionOrder::OldestFirst => session.id > cursor,
        })
}

/// The ids `query` must list from `sessions`, in order.
pub fn expected_listing(sessions: &[Session], query: &SessionQuery) -> Vec<Pfid> {
    let mut ids: Vec<Pfid> = sessions
        .iter()
        .filter(|session| query_matches(query, session))
        .map(|session| session.id)
        .collect();
    match query.order {
        SessionOrder::NewestFirst => ids.sort_unstable_by(|a, b| b.cmp(a)),
        SessionOrder::OldestFirst => ids.sort_unstable(),
    }
    ids.into_iter()
        .skip(query.offset as usize)
        .take(query.limit as usize)
        .collect()
}

fn ids(sessions: &[Session]) -> Vec<Pfid> {
    sessions.iter().map(|session| session.id).collect()
}

async fn list_ids(store: &SharedStore, query: &SessionQuery) -> Vec<Pfid> {
    ids(&store.list_sessions(query).await.expect("listing"))
}

async fn stored(store: &SharedStore, id: &Pfid) -> Session {
    store
        .session(id)
        .await
        .expect("reading a session")
        .unwrap_or_else(|| panic!("session {id} is missing"))
}

fn assert_duplicate<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::Duplicate(_)) => {}
        other => panic!("{what}: expected Duplicate, got {other:?}"),
    }
}

/// Checks that the store a case receives is empty (cases need a fresh
/// store; a fixture sharing one would make them fail in confusing ways).
pub async fn assert_empty(store: &SharedStore) {
    assert_eq!(
        store.list_sessions(&query_all(1)).await.expect("listing"),
        Vec::new(),
        "the conformance suite needs a fresh, empty store for each case"
    );
    assert_eq!(
        store.list_credentials().await.expect("listing credentials"),
        Vec::new(),
        "the conformance suite needs a fresh, empty store for each case"
    );
}

// ---------------------------------------------------------------------------
// Sessions: insert and get.

pub async fn session_round_trip_full(store: SharedStore) {
    let full = full_session();
    let mut mapped = full_session();
    mapped.first_seen = Some(Interaction {
        at: at(-HOUR + 2_000),
        ip: Some("::ffff:192.0.2.1".parse().expect("an IPv4-mapped address")),
        user_agent: None,
    });
    mapped.last_seen = Some(Interaction {
        at: at(-HOUR + 3_000),
        ip: None,
        user_agent: Some("agent without an address".to_string()),
    });
    for session in [&full, &mapped] {
        store.insert_session(session).await.expect("insert");
        assert_eq!(stored(&store, &session.id).await, *session);
    }
    let mut listed = store.list_sessions(&query_all(10)).await.expect("listing");
    listed.sort_by_key(|session| session.id);
    let mut expected = vec![full, mapped];
    expected.sort_by_key(|session| session.id);
    assert_eq!(listed, expected, "a listing returns whole sessions too");
}

pub async fn session_round_trip_minimal(store: SharedStore) {
    let minimal = minimal_session();
    store.insert_session(&minimal).await.expect("insert");
    assert_eq!(stored(&store, &minimal.id).await, minimal);
    assert_eq!(
        store.list_sessions(&query_all(10)).await.expect("listing"),
        vec![minimal]
    );
}

pub async fn missing_session_is_none(store: SharedStore) {
    assert_eq!(store.session(&Pfid::ZERO).await.expect("get"), None);
    let present = minimal_session();
    store.insert_session(&present).await.expect("insert");
    let absent = new_id("s1", at(0));
    assert_eq!(store.session(&absent).await.expect("get"), None);
    assert_eq!(store.session(&Pfid::ZERO).await.expect("get"), None);
}

pub async fn duplicate_session_is_refused(store: SharedStore) {
    let first = minimal_session();
    store.insert_session(&first).await.expect("insert");
    let mut second = full_session();
    second.id = first.id;
    assert_duplicate(store.insert_session(&second).await, "same id again");
    assert_duplicate(
        store.insert_sessions(std::slice::from_ref(&second)).await,
        "same id again, in bulk",
    );
    assert_eq!(
        stored(&store, &first.id).await,
        first,
        "the first one stays"
    );
}

pub async fn bulk_insert_of_a_thousand(store: SharedStore) {
    let sessions: Vec<Session> = (0..1000)
        .map(|index| {
            let store_id = format!("store-{}", index % 3);
            let user = format!("user-{}", index % 5);
            session(
                &store_id,
                Some(&user),
                Status::Authenticated,
                -HOUR + index,
                HOUR,
            )
        })
        .collect();
    store.insert_sessions(&sessions).await.expect("bulk insert");
    for limit in [1000, 5000] {
        assert_eq!(
            list_ids(&store, &query_all(limit)).await,
            expected_listing(&sessions, &query_all(limit)),
        );
    }
    for session in &sessions {
        assert_eq!(stored(&store, &session.id).await, *session);
    }
    store.insert_sessions(&[]).await.expect("an empty batch");
}

pub async fn bulk_insert_with_a_duplicate_inserts_none(store: SharedStore) {
    let existing = minimal_session();
    store.insert_session(&existing).await.expect("insert");

    let fresh: Vec<Session> = (0..10)
        .map(|index| live_session("s1", &format!("u{index}")))
        .collect();
    let mut batch = fresh.clone();
    let mut clash = live_session("s2", "other");
    clash.id = existing.id;
    batch.insert(5, clash);
    assert_duplicate(
        store.insert_sessions(&batch).await,
        "a batch with a stored id",
    );

    let mut batch = fresh.clone();
    batch.push(fresh[3].clone());
    assert_duplicate(
        store.insert_sessions(&batch).await,
        "a batch with an id twice",
    );

    for session in &fresh {
        assert_eq!(
            store.session(&session.id).await.expect("get"),
            None,
            "nothing of a refused batch is stored"
        );
    }
    assert_eq!(list_ids(&store, &query_all(100)).await, vec![existing.id]);
    assert_eq!(stored(&store, &existing.id).await, existing);

    store
        .insert_sessions(&fresh)
        .await
        .expect("the batch alone");
    assert_eq!(list_ids(&store, &query_all(100)).await.len(), 11);
}

// ---------------------------------------------------------------------------
// Sessions: listing.

/// Every combination of store, user, status and expiry, two of each
/// (so a limit matters).
fn listing_fixture() -> Vec<Session> {
    let statuses = [
        Status::New,
        Status::Unauthenticated,
        Status::Authenticated,
        Status::Complete,
        Status::Revoked,
    ];
    let mut sessions = Vec::new();
    let mut created = -10 * HOUR;
    for store in ["s1", "s2"] {
        for user in [Some("u1"), Some("u2"), None] {
            for status in statuses {
                for expires in [-MINUTE, HOUR] {
                    created += SECOND;
                    sessions.push(session(store, user, status, created, expires));
                }
            }
        }
    }
    sessions
}

/// Every listing filter and the retention scan, as they must answer for
/// `sessions`.
async fn assert_every_listing(store: &SharedStore, sessions: &[Session], when: &str) {
    let mut queries = vec![query_all(1000)];
    for identity_store in [None, Some("s1"), Some("s2")] {
        for user in [None, Some("u1"), Some("u2")] {
            let mut query = query_all(1000);
            query.identity_store_id = identity_store.map(str::to_string);
            query.user_id = user.map(str::to_string);
            queries.push(query.clone());
            query.live = Some(true);
            queries.push(query);
        }
    }
    for query in &queries {
        assert_eq!(
            list_ids(store, query).await,
            expected_listing(sessions, query),
            "{when}: {query:?}"
        );
    }
}

pub async fn bulk_load_answers_the_same_before_and_after_its_end(store: SharedStore) {
    // An end without a beginning is nothing to do.
    store.end_bulk_load().await.expect("ending no bulk load");
    let mut sessions = listing_fixture();
    store
        .begin_bulk_load(10 * sessions.len() as u64)
        .await
        .expect("beginning a bulk load into an empty store");
    store.insert_sessions(&sessions).await.expect("bulk insert");
    assert_every_listing(&store, &sessions, "during the load").await;

    // Writes other than the load's go on meanwhile.
    let revoked = store
        .revoke_user_sessions(&RevokeUserSessions {
            user_id: "u1".into(),
            identity_store_id: Some("s2".into()),
            except_session_id: None,
            now: now(),
        })
        .await
        .expect("revoking during the load");
    assert!(!revoked.is_empty(), "u1 has live sessions in s2");
    for session in &mut sessions {
        if revoked.contains(&session.id) {
            *session = stored(&store, &session.id).await;
            assert_eq!(session.status, Status::Revoked);
        }
    }
    let late = live_session("s1", "u2");
    store
        .insert_session(&late)
        .await
        .expect("insert during the load");
    sessions.push(late);

    store.end_bulk_load().await.expect("ending the bulk load");
    assert_every_listing(&store, &sessions, "after the load").await;
    store.end_bulk_load().await.expect("ending it again");

    // A load smaller than what the store holds, and its end.
    store.begin_bulk_load(1).await.expect("a small bulk load");
    let small = live_session("s2", "u2");
    store
        .insert_sessions(std::slice::from_ref(&small))
        .await
        .expect("bulk insert");
    sessions.push(small);
    store.end_bulk_load().await.expect("ending the small load");
    assert_every_listing(&store, &sessions, "after the small load").await;
}

pub async fn listing_filters_alone_and_combined(store: SharedStore) {
    let sessions = listing_fixture();
    assert_eq!(sessions.len(), 60);
    store.insert_sessions(&sessions).await.expect("insert");

    let count = |query: SessionQuery| {
        let store = Arc::clone(&store);
        async move { store.list_sessions(&query).await.expect("listing").len() }
    };
    let with = |edit: &dyn Fn(&mut SessionQuery)| {
        let mut query = query_all(1000);
        edit(&mut query);
        query
    };
    // Each filter alone, counted by hand.
    assert_eq!(count(query_all(1000)).await, 60);
    assert_eq!(
        count(with(&|q| q.identity_store_id = Some("s1".into()))).await,
        30
    );
    assert_eq!(count(with(&|q| q.user_id = Some("u1".into()))).await, 20);
    assert_eq!(count(with(&|q| q.user_id = Some("nobody".into()))).await, 0);
    assert_eq!(
        count(with(&|q| q.status = Some(Status::Authenticated))).await,
        6,
        "authenticated and unexpired"
    );
    assert_eq!(
        count(with(&|q| q.status = Some(Status::Complete))).await,
        12 + 18,
        "logged out, or open and expired"
    );
    assert_eq!(count(with(&|q| q.status = Some(Status::Revoked))).await, 12);
    assert_eq!(count(with(&|q| q.live = Some(true))).await, 18);
    assert_eq!(count(with(&|q| q.live = Some(false))).await, 42);
    assert_eq!(
        count(with(&|q| {
            q.identity_store_id = Some("s2".into());
            q.user_id = Some("u2".into());
            q.live = Some(true);
        }))
        .await,
        3
    );
    assert_eq!(count(with(&|q| q.limit = 7)).await, 7);
    assert_eq!(count(with(&|q| q.limit = 0)).await, 0);

    // Every combination, against the domain's rules.
    let stores = [None, Some("s1"), Some("s2"), Some("nowhere")];
    let users = [None, Some("u1"), Some("u2"), Some("nobody")];
    let statuses = [
        None,
        Some(Status::New),
        Some(Status::Unauthenticated),
        Some(Status::Authenticated),
        Some(Status::Complete),
        Some(Status::Revoked),
    ];
    for identity_store in stores {
        for user in users {
            for status in statuses {
                for live in [None, Some(true), Some(false)] {
                    let query = SessionQuery {
                        identity_store_id: identity_store.map(str::to_string),
                        user_id: user.map(str::to_string),
                        status,
                        live,
                        now: now(),
                        order: SessionOrder::NewestFirst,
                        cursor: None,
                        offset: 0,
                        limit: 1000,
                    };
                    assert_eq!(
                        list_ids(&store, &query).await,
                        expected_listing(&sessions, &query),
                        "{query:?}"
                    );
                    let matching = sessions.iter().filter(|s| query_matches(&query, s)).count();
                    assert_eq!(
                        store.count_sessions(&query).await.expect("count"),
                        matching as u64,
                        "count of {query:?}"
                    );
                }
            }
        }
    }
}

pub async fn listing_oldest_first_with_offset_and_cursor(store: SharedStore) {
    let sessions: Vec<Session> = (0..12)
        .map(|index| {
            session(
                if index % 2 == 0 { "s1" } else { "s2" },
                Some("u1"),
                Status::Authenticated,
                -HOUR + index * SECOND,
                HOUR,
            )
        })
        .collect();
    store.insert_sessions(&sessions).await.expect("insert");
    let mut sorted = ids(&sessions);
    sorted.sort_unstable();

    let mut query = query_all(5);
    query.order = SessionOrder::OldestFirst;
    assert_eq!(list_ids(&store, &query).await, sorted[..5].to_vec());
    query.offset = 5;
    assert_eq!(list_ids(&store, &query).await, sorted[5..10].to_vec());
    query.offset = 10;
    assert_eq!(list_ids(&store, &query).await, sorted[10..].to_vec());
    query.offset = 12;
    assert!(list_ids(&store, &query).await.is_empty(), "past the end");

    query.offset = 1;
    query.cursor = Some(sorted[3]);
    assert_eq!(
        list_ids(&store, &query).await,
        sorted[5..10].to_vec(),
        "cursor, then offset"
    );
    assert_eq!(
        store.count_sessions(&query).await.expect("count"),
        12,
        "count ignores paging"
    );

    let mut newest = query_all(3);
    newest.offset = 2;
    let mut descending = sorted.clone();
    descending.reverse();
    assert_eq!(list_ids(&store, &newest).await, descending[2..5].to_vec());
    newest.identity_store_id = Some("s2".into());
    assert_eq!(store.count_sessions(&newest).await.expect("count"), 6);
}

pub async fn listing_status_is_effective_around_expiry(store: SharedStore) {
    let auth_expired = session("s1", Some("u1"), Status::Authenticated, -HOUR, -1);
    let auth_at_now = session("s1", Some("u1"), Status::Authenticated, -HOUR + 1, 0);
    let auth_live = session("s1", Some("u1"), Status::Authenticated, -HOUR + 2, 1);
    let new_expired = session("s1", None, Status::New, -HOUR + 3, -HOUR / 2);
    let unauth_live = session("s1", None, Status::Unauthenticated, -HOUR + 4, HOUR);
    let logged_out = session("s1", Some("u1"), Status::Complete, -HOUR + 5, HOUR);
    let revoked_expired = session("s1", Some("u1"), Status::Revoked, -HOUR + 6, -HOUR / 2);
    let all = vec![
        auth_expired.clone(),
        auth_at_now.clone(),
        auth_live.clone(),
        new_expired.clone(),
        unauth_live.clone(),
        logged_out.clone(),
        revoked_expired.clone(),
    ];
    store.insert_sessions(&all).await.expect("insert");

    let listing = |status: Option<Status>, live: Option<bool>, now: Timestamp| {
        let store = Arc::clone(&store);
        async move {
            let mut query = query_all(100);
            query.status = status;
            query.live = live;
            query.now = now;
            let found: BTreeSet<Pfid> = list_ids(&store, &query).await.into_iter().collect();
            found
        }
    };
    let set = |sessions: &[&Session]| -> BTreeSet<Pfid> {
        sessions.iter().map(|session| session.id).collect()
    };

    // The example of the documentation: authenticated but expired is
    // complete and not live.
    for expired in [&auth_expired, &auth_at_now] {
        let complete = listing(Some(Status::Complete), None, now()).await;
        assert!(complete.contains(&expired.id), "expired is complete");
        let not_live = listing(None, Some(false), now()).await;
        assert!(not_live.contains(&expired.id), "expired is not live");
        let authenticated = listing(Some(Status::Authenticated), None, now()).await;
        assert!(
            !authenticated.contains(&expired.id),
            "expired is not authenticated"
        );
    }
    assert_eq!(
        listing(Some(Status::Authenticated), None, now()).await,
        set(&[&auth_live])
    );
    assert_eq!(
        listing(Some(Status::Complete), None, now()).await,
        set(&[&auth_expired, &auth_at_now, &new_expired, &logged_out])
    );
    assert_eq!(listing(Some(Status::New), None, now()).await, set(&[]));
    assert_eq!(
        listing(Some(Status::Unauthenticated), None, now()).await,
        set(&[&unauth_live])
    );
    assert_eq!(
        listing(Some(Status::Revoked), None, now()).await,
        set(&[&revoked_expired]),
        "revoked stays revoked after its expiry"
    );
    assert_eq!(
        listing(None, Some(true), now()).await,
        set(&[&auth_live, &unauth_live])
    );
    assert_eq!(
        listing(None, Some(false), now()).await,
        set(&[
            &auth_expired,
            &auth_at_now,
            &new_expired,
            &logged_out,
            &revoked_expired
        ])
    );
    assert_eq!(
        listing(Some(Status::Authenticated), Some(false), now()).await,
        set(&[])
    );
    assert_eq!(
        listing(Some(Status::Complete), Some(true), now()).await,
        set(&[])
    );

    // Judged at the query's now, not the wall clock's: two hours earlier,
    // nothing had expired yet.
    let earlier = at(-2 * HOUR);
    assert_eq!(
        listing(Some(Status::Authenticated), None, earlier).await,
        set(&[&auth_expired, &auth_at_now, &auth_live])
    );
    assert_eq!(
        listing(Some(Status::New), None, earlier).await,
        set(&[&new_expired])
    );
    assert_eq!(
        listing(Some(Status::Complete), None, earlier).await,
        set(&[&logged_out])
    );
    // One millisecond either side of an expiry.
    assert!(
        listing(None, Some(true), at(-2))
            .await
            .contains(&auth_expired.id)
    );
    assert!(
        !listing(None, Some(true), at(-1))
            .await
            .contains(&auth_expired.id)
    );

    // And everything agrees with the domain.
    for now in [at(-2 * HOUR), at(-1), now(), at(1), at(2 * HOUR)] {
        for status in [
            None,
            Some(Status::New),
            Some(Status::Unauthenticated),
            Some(Status::Authenticated),
            Some(Status::Complete),
            Some(Status::Revoked),
        ] {
            for live in [None, Some(true), Some(false)] {
                let mut query = query_all(100);
                query.status = status;
                query.live = live;
                query.now = now;
                assert_eq!(
                    list_ids(&store, &query).await,
                    expected_listing(&all, &query),
                    "{query:?}"
                );
            }
        }
    }
}

pub async fn listing_is_newest_first(store: SharedStore) {
    // Distinct creation times, inserted out of order.
    let sessions: Vec<Session> = (0..20)
        .map(|index| {
            session(
                "s1",
                Some(if index % 2 == 0 { "u0" } else { "u1" }),
                Status::Authenticated,
                -HOUR + ((index * 7) % 20) * SECOND,
                HOUR,
            )
        })
        .collect();
    for session in &sessions {
        store.insert_session(session).await.expect("insert");
    }
    let listed = list_ids(&store, &query_all(100)).await;
    assert_eq!(listed.len(), 20);
    assert!(
        listed.windows(2).all(|pair| pair[0] > pair[1]),
        "newest (greatest id) first: {listed:?}"
    );
    let mut expected = ids(&sessions);
    expected.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(listed, expected);

    let mut query = query_all(100);
    query.user_id = Some("u1".to_string());
    let listed = list_ids(&store, &query).await;
    assert_eq!(listed.len(), 10);
    assert!(listed.windows(2).all(|pair| pair[0] > pair[1]));
}

/// Walks a listing page by page; returns the pages.
async fn walk(store: &SharedStore, first: SessionQuery) -> Vec<Vec<Pfid>> {
    let mut pages = Vec::new();
    let mut query = first;
    loop {
        let page = list_ids(store, &query).await;
        assert!(
            page.len() <= query.limit as usize,
            "a page holds at most the limit"
        );
        let Some(last) = page.last() else {
            return pages;
        };
        query.cursor = Some(*last);
        pages.push(page);
        assert!(pages.len() <= 1_000, "pagination does not end");
    }
}

pub async fn keyset_pagination_walks_every_session_once(store: SharedStore) {
    let sessions: Vec<Session> = (0..37)
        .map(|index| {
            session(
                if index % 3 == 0 { "s1" } else { "s2" },
                Some(if index % 2 == 0 { "u1" } else { "u2" }),
                Status::Authenticated,
                -HOUR + index * SECOND,
                HOUR,
            )
        })
        .collect();
    store.insert_sessions(&sessions).await.expect("insert");

    for (limit, filter_user) in [
        (5, None),
        (1, None),
        (37, None),
        (100, None),
        (3, Some("u1")),
    ] {
        let mut query = query_all(limit);
        query.user_id = filter_user.map(str::to_string);
        let mut everything = query.clone();
        everything.limit = 1000;
        let expected = expected_listing(&sessions, &everything);
        let pages = walk(&store, query).await;
        let walked: Vec<Pfid> = pages.iter().flatten().copied().collect();
        assert_eq!(
            walked, expected,
            "limit {limit}: every session once, newest first"
        );
        let full_pages = expected.len() / limit as usize;
        for page in pages.iter().take(full_pages) {
            assert_eq!(
                page.len(),
                limit as usize,
                "every page but the last is full"
            );
        }
        assert_eq!(pages.len(), expected.len().div_ceil(limit as usize));
    }

    // The cursor need not be a stored id.
    let mut query = query_all(1000);
    query.cursor = Some(new_id("s1", at(-HOUR + 10 * SECOND + 500)));
    let page = list_ids(&store, &query).await;
    assert_eq!(page, expected_listing(&sessions, &query));
    assert_eq!(page.len(), 11);
    query.cursor = Some(Pfid::ZERO);
    assert_eq!(list_ids(&store, &query).await, Vec::new());
}

pub async fn keyset_pagination_is_stable_under_inserts(store: SharedStore) {
    let originals: Vec<Session> = (0..20)
        .map(|index| {
            session(
                "s1",
                Some("u1"),
                Status::Authenticated,
                -HOUR + index * SECOND,
                HOUR,
            )
        })
        .collect();
    store.insert_sessions(&originals).await.expect("insert");
    let expected_pages: Vec<Vec<Pfid>> = expected_listing(&originals, &query_all(1000))
        .chunks(6)
        .map(<[Pfid]>::to_vec)
        .collect();

    let mut query = query_all(6);
    let mut pages = Vec::new();
    let mut newcomers = Vec::new();
    loop {
        let page = list_ids(&store, &query).await;
        let Some(last) = page.last().copied() else {
            break;
        };
        pages.push(page);
        assert!(
            pages.len() <= expected_pages.len(),
            "pagination does not end: {pages:?}"
        );
        // Sessions created meanwhile are newer: they get greater ids.
        let newcomer = session(
            "s1",
            Some("u1"),
            Status::Authenticated,
            newcomers.len() as i64 * SECOND,
            HOUR,
        );
        store.insert_session(&newcomer).await.expect("insert");
        newcomers.push(newcomer);
        query.cursor = Some(last);
    }
    assert_eq!(
        pages, expected_pages,
        "later pages neither show the newcomers nor shift"
    );

    let first = list_ids(&store, &query_all(newcomers.len() as u32)).await;
    let mut expected = ids(&newcomers);
    expected.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(first, expected, "a new walk starts with the newcomers");
}

// ---------------------------------------------------------------------------
// Sessions: optimistic replace.

fn seen(offset_ms: i64) -> Interaction {
    Interaction {
        at: at(offset_ms),
        ip: Some("2001:db8::1".parse().expect("an IPv6 address")),
        user_agent: Some("agent".to_string()),
    }
}

pub async fn replace_applies_over_the_expected_version(store: SharedStore) {
    let original = session("s1", None, Status::New, -MINUTE, HOUR);
    store.insert_session(&original).await.expect("insert");

    let mut seen_once = original.clone();
    seen_once
        .record_interaction(seen(-10), now())
        .expect("live");
    assert_eq!(seen_once.version, 2);
    assert!(store.replace_session(1, &seen_once).await.expect("replace"));
    assert_eq!(stored(&store, &original.id).await, seen_once);

    let mut authenticated = seen_once.clone();
    authenticated
        .authenticate("u1".to_string(), Some("oidc".to_string()), now())
        .expect("live");
    assert!(
        store
            .replace_session(2, &authenticated)
            .await
            .expect("replace")
    );
    assert_eq!(stored(&store, &original.id).await, authenticated);

    let mut query = query_all(10);
    query.user_id = Some("u1".to_string());
    query.status = Some(Status::Authenticated);
    assert_eq!(
        list_ids(&store, &query).await,
        vec![original.id],
        "a replaced session is listed by its new values"
    );
}

pub async fn replace_writes_every_column(store: SharedStore) {
    let original = minimal_session();
    store.insert_session(&original).await.expect("insert");
    let mut changed = full_session();
    changed.id = original.id;
    changed.version = 2;
    assert!(store.replace_session(1, &changed).await.expect("replace"));
    assert_eq!(stored(&store, &original.id).await, changed);

    // And back to all-empty optionals.
    let mut emptied = original.clone();
    emptied.version = 3;
    assert!(store.replace_session(2, &emptied).await.expect("replace"));
    assert_eq!(stored(&store, &original.id).await, emptied);
}

pub async fn replace_with_a_stale_version_writes_nothing(store: SharedStore) {
    let original = session("s1", Some("u1"), Status::Unauthenticated, -MINUTE, HOUR);
    store.insert_session(&original).await.expect("insert");
    let mut winner = original.clone();
    winner
        .authenticate("u1".to_string(), None, now())
        .expect("live");
    assert!(store.replace_session(1, &winner).await.expect("replace"));

    let mut stale = original.clone();
    stale.revoke(now()).expect("live");
    assert!(
        !store.replace_session(1, &stale).await.expect("replace"),
        "version 1 is gone"
    );
    let mut future = winner.clone();
    future.version = 9;
    assert!(
        !store.replace_session(5, &future).await.expect("replace"),
        "version 5 never was"
    );
    assert_eq!(stored(&store, &original.id).await, winner);
}

pub async fn replace_of_a_missing_session_is_refused(store: SharedStore) {
    let other = minimal_session();
    store.insert_session(&other).await.expect("insert");
    let mut missing = live_session("s1", "u1");
    missing.version = 2;
    assert!(!store.replace_session(1, &missing).await.expect("replace"));
    assert_eq!(
        store.session(&missing.id).await.expect("get"),
        None,
        "no upsert"
    );
    assert_eq!(stored(&store, &other.id).await, other);
}

pub async fn concurrent_replaces_have_one_winner(store: SharedStore) {
    for round in 0..16 {
        let original = session("s1", None, Status::Unauthenticated, -MINUTE, HOUR);
        store.insert_session(&original).await.expect("insert");
        let mut authenticated = original.clone();
        authenticated
            .authenticate(format!("u{round}"), None, now())
            .expect("live");
        let mut revoked = original.clone();
        revoked.revoke(now()).expect("live");

        let barrier = Arc::new(Barrier::new(2));
        let tasks: Vec<_> = [authenticated.clone(), revoked.clone()]
            .into_iter()
            .map(|change| {
                let store = Arc::clone(&store);
                let barrier = Arc::clone(&barrier);
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.replace_session(1, &change).await.expect("replace")
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.expect("task"));
        }
        assert_eq!(
            outcomes.iter().filter(|won| **won).count(),
            1,
            "round {round}: exactly one writer wins: {outcomes:?}"
        );
        let expected = if outcomes[0] { authenticated } else { revoked };
        assert_eq!(
            stored(&store, &original.id).await,
            expected,
            "round {round}"
        );
    }
}

// ---------------------------------------------------------------------------
// Sessions: revoke all of a user's.

fn revoke_request(
    user: &str,
    identity_store_id: Option<&str>,
    except: Option<Pfid>,
) -> RevokeUserSessions {
    RevokeUserSessions {
        user_id: user.to_string(),
        identity_store_id: identity_store_id.map(str::to_string),
        except_session_id: except,
        now: now(),
    }
}

fn revoked_at_now(session: &Session) -> Session {
    let mut revoked = session.clone();
    revoked.revoke(now()).expect("the session is live");
    revoked
}

fn sorted(mut ids: Vec<Pfid>) -> Vec<Pfid> {
    ids.sort_unstable();
    ids
}

pub async fn revoke_user_sessions_revokes_only_live_sessions_of_the_user(store: SharedStore) {
    let live_authenticated = session("s1", Some("u1"), Status::Authenticated, -HOUR, HOUR);
    let live_new = session("s1", Some("u1"), Status::New, -HOUR + 1, HOUR);
    let live_unauthenticated = session("s1", Some("u1"), Status::Unauthenticated, -HOUR + 2, 1);
    let live_elsewhere = session("s2", Some("u1"), Status::Authenticated, -HOUR + 3, HOUR);
    let revocable = [
        &live_authenticated,
        &live_new,
        &live_unauthenticated,
        &live_elsewhere,
    ];

    let expired = session("s1", Some("u1"), Status::Authenticated, -HOUR + 4, -1);
    let expiring_now = session("s1", Some("u1"), Status::Authenticated, -HOUR + 5, 0);
    let logged_out = session("s1", Some("u1"), Status::Complete, -HOUR + 6, HOUR);
    let already_revoked = session("s1", Some("u1"), Status::Revoked, -HOUR + 7, HOUR);
    let other_user = session("s1", Some("u2"), Status::Authenticated, -HOUR + 8, HOUR);
    let other_case = session("s1", Some("U1"), Status::Authenticated, -HOUR + 9, HOUR);
    let anonymous = session("s1", None, Status::New, -HOUR + 10, HOUR);
    let untouched = [
        &expired,
        &expiring_now,
        &logged_out,
        &already_revoked,
        &other_user,
        &other_case,
        &anonymous,
    ];

    let all: Vec<Session> = revocable
        .iter()
        .chain(untouched.iter())
        .map(|session| (*session).clone())
        .collect();
    store.insert_sessions(&all).await.expect("insert");

    let revoked = store
        .revoke_user_sessions(&revoke_request("u1", None, None))
        .await
        .expect("revoke");
    assert_eq!(
        revoked,
        sorted(revocable.iter().map(|session| session.id).collect()),
        "exactly the live sessions of u1, sorted"
    );
    for session in revocable {
        let after = stored(&store, &session.id).await;
        assert_eq!(
            after,
            revoked_at_now(session),
            "revoked, ended now, version bumped, nothing else changed"
        );
        assert_eq!(after.version, session.version + 1);
        assert_eq!(after.ended_at, Some(now()));
    }
    for session in untouched {
        assert_eq!(stored(&store, &session.id).await, *session, "untouched");
    }

    assert_eq!(
        store
            .revoke_user_sessions(&revoke_request("u1", None, None))
            .await
            .expect("revoke"),
        Vec::new(),
        "nothing live is left"
    );
    assert_eq!(
        store
            .revoke_user_sessions(&revoke_request("nobody", None, None))
            .await
            .expect("revoke"),
        Vec::new()
    );
}

pub async fn revoke_user_sessions_in_one_store_and_but_one(store: SharedStore) {
    let current = session("s1", Some("u1"), Status::Authenticated, -HOUR, HOUR);
    let other_device = session("s1", Some("u1"), Status::Authenticated, -HOUR + 1, HOUR);
    let third = session("s1", Some("u1"), Status::Unauthenticated, -HOUR + 2, HOUR);
    let other_store = session("s2", Some("u1"), Status::Authenticated, -HOUR + 3, HOUR);
    store
        .insert_sessions(&[
            current.clone(),
            other_device.clone(),
            third.clone(),
            other_store.clone(),
        ])
        .await
        .expect("insert");

    let revoked = store
        .revoke_user_sessions(&revoke_request("u1", Some("s1"), Some(current.id)))
        .await
        .expect("revoke");
    assert_eq!(revoked, sorted(vec![other_device.id, third.id]));
    assert_eq!(
        stored(&store, &current.id).await,
        current,
        "the excepted one"
    );
    assert_eq!(
        stored(&store, &other_store.id).await,
        other_store,
        "another store"
    );
    assert_eq!(
        stored(&store, &other_device.id).await,
        revoked_at_now(&other_device)
    );
    assert_eq!(stored(&store, &third.id).await, revoked_at_now(&third));

    let revoked = store
        .revoke_user_sessions(&revoke_request("u1", Some("s1"), None))
        .await
        .expect("revoke");
    assert_eq!(revoked, vec![current.id]);
    assert_eq!(
        stored(&store, &other_store.id).await,
        other_store,
        "still another store"
    );

    let revoked = store
        .revoke_user_sessions(&revoke_request("u1", Some("nowhere"), None))
        .await
        .expect("revoke");
    assert_eq!(revoked, Vec::new());

    let revoked = store
        .revoke_user_sessions(&revoke_request("u1", None, Some(current.id)))
        .await
        .expect("revoke");
    assert_eq!(revoked, vec![other_store.id], "every store");
    assert_eq!(
        stored(&store, &other_store.id).await,
        revoked_at_now(&other_store)
    );
}

pub async fn replace_computed_before_a_revoke_fails(store: SharedStore) {
    let original = live_session("s1", "u1");
    store.insert_session(&original).await.expect("insert");
    let read_before = stored(&store, &original.id).await;

    let revoked = store
        .revoke_user_sessions(&revoke_request("u1", None, None))
        .await
        .expect("revoke");
    assert_eq!(revoked, vec![original.id]);

    let mut extended = read_before.clone();
    extended
        .extend(at(2 * HOUR), now())
        .expect("live when read");
    assert!(
        !store
            .replace_session(read_before.version, &extended)
            .await
            .expect("replace"),
        "the revocation changed the version"
    );
    assert_eq!(
        stored(&store, &original.id).await,
        revoked_at_now(&original)
    );
}

pub async fn revoke_and_replace_racing_lose_nothing(store: SharedStore) {
    for round in 0..16 {
        let original = live_session("s1", &format!("u{round}"));
        store.insert_session(&original).await.expect("insert");
        let mut extended = original.clone();
        extended.extend(at(2 * HOUR), now()).expect("live");

        let barrier = Arc::new(Barrier::new(2));
        let replace = {
            let store = Arc::clone(&store);
            let barrier = Arc::clone(&barrier);
            let extended = extended.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store.replace_session(1, &extended).await.expect("replace")
            })
        };
        let revoke = {
            let store = Arc::clone(&store);
            let barrier = Arc::clone(&barrier);
            let request = revoke_request(&format!("u{round}"), None, None);
            tokio::spawn(async move {
                barrier.wait().await;
                store.revoke_user_sessions(&request).await.expect("revoke")
            })
        };
        let replaced = replace.await.expect("task");
        let revoked = revoke.await.expect("task");
        assert_eq!(revoked, vec![original.id], "round {round}: live either way");
        let expected = if replaced {
            revoked_at_now(&extended)
        } else {
            revoked_at_now(&original)
        };
        assert_eq!(
            stored(&store, &original.id).await,
            expected,
            "round {round}: replaced = {replaced}"
        );
    }
}

// ---------------------------------------------------------------------------
// Sessions: revoke a set of a user's.

fn revoke_set(store: &str, user: &str, ids: &[Pfid]) -> RevokeSessions {
    RevokeSessions {
        identity_store_id: store.to_string(),
        user_id: user.to_string(),
        ids: ids.to_vec(),
        now: now(),
    }
}

pub async fn revoke_sessions_revokes_only_listed_live_sessions_of_the_user(store: SharedStore) {
    let first = session("s1", Some("u1"), Status::Authenticated, -HOUR, HOUR);
    let second = session("s1", Some("u1"), Status::Unauthenticated, -HOUR + 1, 1);
    let not_listed = session("s1", Some("u1"), Status::Authenticated, -HOUR + 2, HOUR);
    let expired = session("s1", Some("u1"), Status::Authenticated, -HOUR + 3, 0);
    let logged_out = session("s1", Some("u1"), Status::Complete, -HOUR + 4, HOUR);
    let already_revoked = session("s1", Some("u1"), Status::Revoked, -HOUR + 5, HOUR);
    let other_user = session("s1", Some("u2"), Status::Authenticated, -HOUR + 6, HOUR);
    let other_case = session("s1", Some("U1"), Status::Authenticated, -HOUR + 7, HOUR);
    let other_store = session("s2", Some("u1"), Status::Authenticated, -HOUR + 8, HOUR);
    let anonymous = session("s1", None, Status::New, -HOUR + 9, HOUR);
    let untouched = [
        &not_listed,
        &expired,
        &logged_out,
        &already_revoked,
        &other_user,
        &other_case,
        &other_store,
        &anonymous,
    ];
    let all: Vec<Session> = [&first, &second]
        .into_iter()
        .chain(untouched)
        .map(|session| (*session).clone())
        .collect();
    store.insert_sessions(&all).await.expect("insert");

    let never_stored = new_id("s1", now());
    let listed: Vec<Pfid> = [
        &second,
        &expired,
        &logged_out,
        &already_revoked,
        &other_user,
        &other_case,
        &other_store,
        &anonymous,
        &first,
        &second,
    ]
    .iter()
    .map(|session| session.id)
    .chain([never_stored])
    .collect();
    let revoked = store
        .revoke_sessions(&revoke_set("s1", "u1", &listed))
        .await
        .expect("revoke");
    assert_eq!(
        revoked,
        sorted(vec![first.id, second.id]),
        "exactly the listed live sessions of u1 in s1, once each, sorted"
    );
    for session in [&first, &second] {
        assert_eq!(stored(&store, &session.id).await, revoked_at_now(session));
    }
    for session in untouched {
        assert_eq!(stored(&store, &session.id).await, *session, "untouched");
    }

    assert_eq!(
        store
            .revoke_sessions(&revoke_set("s1", "u1", &listed))
            .await
            .expect("revoke"),
        Vec::new(),
        "nothing listed is live any more"
    );
    assert_eq!(
        store
            .revoke_sessions(&revoke_set("s1", "u1", &[]))
            .await
            .expect("revoke"),
        Vec::new(),
        "no ids"
    );
    assert_eq!(
        store
            .revoke_sessions(&revoke_set("s2", "u1", &[other_store.id]))
            .await
            .expect("revoke"),
        vec![other_store.id],
        "the other store's session, asked for in its store"
    );
}

pub async fn revoke_sessions_and_replace_racing_lose_nothing(store: SharedStore) {
    for round in 0..16 {
        let original = live_session("s1", &format!("u{round}"));
        store.insert_session(&original).await.expect("insert");
        let mut extended = original.clone();
        extended.extend(at(2 * HOUR), now()).expect("live");

        let barrier = Arc::new(Barrier::new(2));
        let replace = {
            let store = Arc::clone(&store);
            let barrier = Arc::clone(&barrier);
            let extended = extended.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store.replace_session(1, &extended).await.expect("replace")
            })
        };
        let revoke = {
            let store = Arc::clone(&store);
            let barrier = Arc::clone(&barrier);
            let request = revoke_set("s1", &format!("u{round}"), &[original.id]);
            tokio::spawn(async move {
                barrier.wait().await;
                store.revoke_sessions(&request).await.expect("revoke")
            })
        };
        let replaced = replace.await.expect("task");
        let revoked = revoke.await.expect("task");
        assert_eq!(revoked, vec![original.id], "round {round}: live either way");
        let expected = if replaced {
            revoked_at_now(&extended)
        } else {
            revoked_at_now(&original)
        };
        assert_eq!(
            stored(&store, &original.id).await,
            expected,
            "round {round}: replaced = {replaced}"
        );
    }
}

// ---------------------------------------------------------------------------
// Revocation marks: sessions created before a revocation that land after it.

/// A live session of `user` in `identity_store_id` created `created_ms`
/// after the suite's now.
fn live_created(identity_store_id: &str, user: &str, created_ms: i64) -> Session {
    session(
        identity_store_id,
        Some(user),
        Status::Authenticated,
        created_ms,
        HOUR,
    )
}

/// `session` as a revocation at `revoked_at` leaves it.
fn revoked_at(session: &Session, revoked_at: Timestamp) -> Session {
    let mut revoked = session.clone();
    revoked.revoke(revoked_at).expect("live at the revocation");
    revoked
}

pub async fn inserts_after_a_revocation_of_sessions_created_before_it_land_revoked(
    store: SharedStore,
) {
    let revoked = store
        .revoke_user_sessions(&revoke_request("u1", None, None))
        .await
        .expect("revoke with nothing to revoke");
    assert_eq!(revoked, Vec::new());

    // Created before the revocation, inserted after it: stored as the
    // revocation would have left it.
    let late = live_created("s1", "u1", -MINUTE);
    store.insert_session(&late).await.expect("insert");
    assert_eq!(stored(&store, &late.id).await, revoked_at(&late, now()));
    assert!(!stored(&store, &late.id).await.is_live(now()));

    // An unauthenticated session created before it (no user yet) and a
    // session created at or after it are untouched, as are other users'.
    let mut anonymous = session("s1", None, Status::Unauthenticated, -MINUTE, HOUR);
    anonymous.id = new_id("s1", at(-MINUTE + 1));
    let at_the_revocation = live_created("s1", "u1", 0);
    let after = live_created("s1", "u1", SECOND);
    let other_user = live_created("s1", "u2", -MINUTE + 2);
    // Expired before the revocation: the revocation would not have
    // touched it either.
    let expired = session("s1", Some("u1"), Status::Authenticated, -HOUR, -MINUTE);
    // Ended before: stays as it ended.
    let logged_out = session("s1", Some("u1"), Status::Complete, -HOUR + 5, HOUR);
    for untouched in [
        &anonymous,
        &at_the_revocation,
        &after,
        &other_user,
        &expired,
        &logged_out,
    ] {
        store.insert_session(untouched).await.expect("insert");
        assert_eq!(stored(&store, &untouched.id).await, *untouched);
    }

    // The anonymous session authenticated as the user after the
    // revocation is a login after it: it stays live.
    let mut authenticated = anonymous.clone();
    authenticated
        .authenticate("u1".to_string(), None, at(2 * SECOND))
        .expect("authenticate");
    assert!(
        store
            .replace_session(anonymous.version, &authenticated)
            .await
            .expect("replace")
    );
    assert_eq!(stored(&store, &anonymous.id).await, authenticated);

    // A later revocation revokes what is live now, and marks again.
    let revoked = store
        .revoke_user_sessions(&RevokeUserSessions {
            now: at(10 * SECOND),
            ..revoke_request("u1", None, None)
        })
        .await
        .expect("revoke");
    assert_eq!(
        revoked,
        sorted(vec![anonymous.id, at_the_revocation.id, after.id])
    );
    let between = live_created("s1", "u1", 5 * SECOND);
    store.insert_session(&between).await.expect("insert");
    assert_eq!(
        stored(&store, &between.id).await,
        revoked_at(&between, at(10 * SECOND))
    );
    assert_eq!(stored(&store, &other_user.id).await, other_user);
}

pub async fn revocation_marks_follow_the_store_scope_and_keep_the_latest(store: SharedStore) {
    // A revocation in store s1 only.
    store
        .revoke_user_sessions(&RevokeUserSessions {
            now: at(-10 * SECOND),
            ..revoke_request("u1", Some("s1"), None)
        })
        .await
        .expect("revoke in s1");
    let in_s1 = live_created("s1", "u1", -MINUTE);
    let in_s2 = live_created("s2", "u1", -MINUTE + 1);
    store.insert_session(&in_s1).await.expect("insert");
    store.insert_session(&in_s2).await.expect("insert");
    assert_eq!(
        stored(&store, &in_s1.id).await,
        revoked_at(&in_s1, at(-10 * SECOND))
    );
    assert_eq!(stored(&store, &in_s2.id).await, in_s2, "another store");

    // A revocation in every store, then an earlier one (a replica with a
    // slower clock): the later mark holds.
    store
        .revoke_user_sessions(&RevokeUserSessions {
            now: at(20 * SECOND),
            ..revoke_request("u1", None, None)
        })
        .await
        .expect("revoke everywhere");
    store
        .revoke_user_sessions(&RevokeUserSessions {
            now: at(5 * SECOND),
            ..revoke_request("u1", None, None)
        })
        .await
        .expect("revoke everywhere, earlier");
    let in_s2_late = live_created("s2", "u1", 10 * SECOND);
    store.insert_session(&in_s2_late).await.expect("insert");
    assert_eq!(
        stored(&store, &in_s2_late.id).await,
        revoked_at(&in_s2_late, at(20 * SECOND))
    );
    // Both marks cover s1: the earliest that would have found the session
    // live revokes it.
    let in_s1_early = live_created("s1", "u1", -MINUTE + 2);
    store.insert_session(&in_s1_early).await.expect("insert");
    assert_eq!(
        stored(&store, &in_s1_early.id).await,
        revoked_at(&in_s1_early, at(-10 * SECOND))
    );
    let in_s1_between = live_created("s1", "u1", 0);
    store.insert_session(&in_s1_between).await.expect("insert");
    assert_eq!(
        stored(&store, &in_s1_between.id).await,
        revoked_at(&in_s1_between, at(20 * SECOND))
    );
    let after_all = live_created("s1", "u1", 20 * SECOND);
    store.insert_session(&after_all).await.expect("insert");
    assert_eq!(stored(&store, &after_all.id).await, after_all);

    // The rule the stores apply is the domain's helper.
    let marks = [
        RevocationMark {
            identity_store_id: Some("s1".to_string()),
            revoked_at: at(-10 * SECOND),
        },
        RevocationMark {
            identity_store_id: None,
            revoked_at: at(20 * SECOND),
        },
    ];
    for session in [
        &in_s1,
        &in_s2,
        &in_s2_late,
        &in_s1_early,
        &in_s1_between,
        &after_all,
    ] {
        let expected = apply_revocation_marks(session, &marks).unwrap_or_else(|| session.clone());
        assert_eq!(stored(&store, &session.id).await, expected);
    }
}

pub async fn bulk_inserts_after_a_revocation_land_revoked(store: SharedStore) {
    store
        .revoke_user_sessions(&revoke_request("u1", Some("s1"), None))
        .await
        .expect("revoke");
    // More than a thousand: as large as the loads stores may treat
    // differently (SQLite's bulk path).
    let sessions: Vec<Session> = (0..1_200)
        .map(|index| {
            let user = format!("u{}", index % 3);
            let identity_store = format!("s{}", index % 2);
            live_created(&identity_store, &user, -MINUTE + index * 100)
        })
        .collect();
    store.insert_sessions(&sessions).await.expect("bulk insert");
    let mut revoked = 0;
    for session in &sessions {
        let hit = session.user_id.as_deref() == Some("u1")
            && session.identity_store_id == "s1"
            && session.created_at < now();
        let expected = if hit {
            revoked += 1;
            revoked_at(session, now())
        } else {
            session.clone()
        };
        assert_eq!(stored(&store, &session.id).await, expected);
    }
    assert!(revoked > 0, "the fixture has sessions the mark covers");
}

pub async fn inserts_racing_a_revocation_leave_nothing_live_from_before_it(store: SharedStore) {
    for round in 0..8 {
        let user = format!("racer{round}");
        let barrier = Arc::new(Barrier::new(9));
        let inserts: Vec<_> = (0..8)
            .map(|index| {
                let store = Arc::clone(&store);
                let barrier = Arc::clone(&barrier);
                let session = live_created("s1", &user, -MINUTE + index);
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.insert_session(&session).await.expect("insert");
                    session
                })
            })
            .collect();
        let revoke = {
            let store = Arc::clone(&store);
            let barrier = Arc::clone(&barrier);
            let request = revoke_request(&user, None, None);
            tokio::spawn(async move {
                barrier.wait().await;
                store.revoke_user_sessions(&request).await.expect("revoke")
            })
        };
        let mut sessions = Vec::new();
        for insert in inserts {
            sessions.push(insert.await.expect("task"));
        }
        let revoked: BTreeSet<Pfid> = revoke.await.expect("task").into_iter().collect();
        for session in &sessions {
            let now_stored = stored(&store, &session.id).await;
            assert_eq!(
                now_stored,
                revoked_at(session, now()),
                "round {round}: created before the revocation, revoked whenever it landed \
                 (found by the revocation: {})",
                revoked.contains(&session.id)
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Retention.

pub async fn delete_ended_sessions_in_bounded_batches(store: SharedStore) {
    let cutoff = at(-HOUR);
    // Past retention: ended (logged out, revoked) or expired before the
    // cutoff.
    let mut doomed = Vec::new();
    for index in 0..7 {
        let status = [Status::Complete, Status::Revoked][index % 2];
        let mut ended = session("s1", Some("u1"), status, -3 * HOUR + index as i64, HOUR);
        ended.ended_at = Some(at(-2 * HOUR + index as i64));
        doomed.push(ended);
    }
    for index in 0..6 {
        doomed.push(session(
            "s2",
            Some("u2"),
            Status::Authenticated,
            -5 * HOUR + index,
            -HOUR - 1 - index,
        ));
    }
    // Kept: live, expired or ended after the cutoff, or exactly at it.
    let mut kept = vec![
        live_session("s1", "u1"),
        session("s1", None, Status::New, -3 * HOUR, -HOUR),
        session(
            "s1",
            Some("u3"),
            Status::Authenticated,
            -3 * HOUR + 1,
            -HOUR + 1,
        ),
    ];
    let mut ended_at_cutoff = session("s1", Some("u1"), Status::Revoked, -4 * HOUR, HOUR);
    ended_at_cutoff.ended_at = Some(cutoff);
    let mut ended_after = session("s2", Some("u1"), Status::Complete, -4 * HOUR + 1, HOUR);
    ended_after.ended_at = Some(at(-HOUR + 1));
    kept.extend([ended_at_cutoff, ended_after]);
    let mut all = doomed.clone();
    all.extend(kept.iter().cloned());
    store.insert_sessions(&all).await.expect("insert");

    // Batches of 5: full, full, short.
    assert_eq!(
        store.delete_ended_sessions(cutoff, 5).await.expect("batch"),
        5
    );
    assert_eq!(
        store.delete_ended_sessions(cutoff, 5).await.expect("batch"),
        5
    );
    assert_eq!(
        store.delete_ended_sessions(cutoff, 5).await.expect("batch"),
        3
    );
    assert_eq!(
        store.delete_ended_sessions(cutoff, 5).await.expect("batch"),
        0
    );
    for session in &doomed {
        assert_eq!(
            store.session(&session.id).await.expect("get"),
            None,
            "{:?} ended at {:?}, expired at {}",
            session.status,
            session.ended_at,
            session.expires_at
        );
    }
    for session in &kept {
        assert_eq!(stored(&store, &session.id).await, *session);
    }
    let mut remaining = list_ids(&store, &query_all(100)).await;
    remaining.sort_unstable();
    assert_eq!(remaining, sorted(ids(&kept)));
    assert_eq!(
        store
            .delete_ended_sessions(at(100 * HOUR), 0)
            .await
            .expect("an empty batch"),
        0
    );
}

pub async fn janitor_lease_is_granted_on_an_idle_store(store: SharedStore) {
    let lease = store
        .janitor_lease()
        .await
        .expect("lease")
        .expect("nobody else holds the lease");
    drop(lease);
    let again = store.janitor_lease().await.expect("lease");
    assert!(again.is_some(), "a dropped lease is free again");
}

// ---------------------------------------------------------------------------
// Credentials.

pub async fn credential_round_trip_and_list(store: SharedStore) {
    let (admin, admin_secrets) = credential_created("admin", at(-3 * HOUR));
    let (mut store_admin, store_admin_secrets) = credential_created("store", at(-2 * HOUR + 7));
    store_admin.name = None;
    store_admin.role = Role::StoreAdmin;
    store_admin.identity_store_id = Some("d-0123 ユーザー".to_string());
    store_admin.rate_limit = Some(5);
    let (mut user, user_secrets) = credential_created("user", at(-HOUR + 3));
    user.name = Some("Ünïcødé \"name\"".to_string());
    user.role = Role::User;
    user.identity_store_id = Some("s1".to_string());
    user.user_id = Some("user 1+ü".to_string());
    user.rate_limit = Some(u32::MAX);
    let (mut retired, retired_secrets) = credential_created("retired", at(-4 * HOUR));
    retired.revoked_at = Some(at(-MINUTE + 1));

    for (credential, secrets) in [
        (&user, &user_secrets),
        (&admin, &admin_secrets),
        (&retired, &retired_secrets),
        (&store_admin, &store_admin_secrets),
    ] {
        store
            .insert_credential(credential, secrets)
            .await
            .expect("insert");
    }
    assert_eq!(
        store.list_credentials().await.expect("list"),
        vec![
            retired.clone(),
            admin.clone(),
            store_admin.clone(),
            user.clone()
        ],
        "every credential, revoked ones included, oldest first"
    );
    for credential in [&admin, &store_admin, &user, &retired] {
        assert_eq!(
            store
                .credential(&credential.id)
                .await
                .expect("get")
                .as_ref(),
            Some(credential)
        );
    }
    assert_eq!(
        store
            .credential(&new_id("credentials", now()))
            .await
            .expect("get"),
        None
    );
    assert_eq!(
        store
            .credential_by_bearer(BearerKind::Native, &retired_secrets.native_token)
            .await
            .expect("lookup"),
        None,
        "inserted revoked, never found"
    );
}

pub async fn credential_revoke(store: SharedStore) {
    let (credential, secrets) = credential_with_secrets("revoke");
    let (other, other_secrets) = credential_created("other", at(1));
    store
        .insert_credential(&credential, &secrets)
        .await
        .expect("insert");
    store
        .insert_credential(&other, &other_secrets)
        .await
        .expect("insert");

    assert!(
        store
            .revoke_credential(&credential.id, at(5 * SECOND + 1))
            .await
            .expect("revoke")
    );
    let mut revoked = credential.clone();
    revoked.revoked_at = Some(at(5 * SECOND + 1));
    assert_eq!(
        store.credential(&credential.id).await.expect("get"),
        Some(revoked.clone())
    );
    assert!(
        !store
            .revoke_credential(&credential.id, at(9 * SECOND))
            .await
            .expect("revoke"),
        "a second revocation"
    );
    assert_eq!(
        store.credential(&credential.id).await.expect("get"),
        Some(revoked.clone()),
        "the first revocation time stays"
    );
    assert!(
        !store
            .revoke_credential(&new_id("credentials", now()), now())
            .await
            .expect("revoke"),
        "no such credential"
    );
    assert_eq!(
        store.list_credentials().await.expect("list"),
        vec![revoked, other.clone()]
    );
    assert_eq!(
        store.credential(&other.id).await.expect("get"),
        Some(other),
        "others stay"
    );
}

pub async fn credential_lookups(store: SharedStore) {
    let (first, first_secrets) = credential_created("first", at(-2));
    let (second, second_secrets) = credential_created("second", at(-1));
    for (credential, secrets) in [(&first, &first_secrets), (&second, &second_secrets)] {
        store
            .insert_credential(credential, secrets)
            .await
            .expect("insert");
    }
    for (credential, secrets) in [(&first, &first_secrets), (&second, &second_secrets)] {
        assert_eq!(
            store
                .credential_by_bearer(BearerKind::Native, &secrets.native_token)
                .await
                .expect("lookup")
                .as_ref(),
            Some(credential)
        );
        assert_eq!(
            store
                .credential_by_bearer(BearerKind::Prefactor, &secrets.prefactor_token)
                .await
                .expect("lookup")
                .as_ref(),
            Some(credential)
        );
        assert_eq!(
            store
                .credential_by_bearer(BearerKind::Native, &secrets.prefactor_token)
                .await
                .expect("lookup"),
            None,
            "a Prefactor token is not a native token"
        );
        assert_eq!(
            store
                .credential_by_bearer(BearerKind::Prefactor, &secrets.native_token)
                .await
                .expect("lookup"),
            None,
            "a native token is not a Prefactor token"
        );
        assert_eq!(
            store
                .credential_by_looker_client_id(&secrets.looker_client_id)
                .await
                .expect("lookup"),
            Some((credential.clone(), secrets.looker_client_secret))
        );
        assert_eq!(
            store
                .credential_by_huawei_access_key(&secrets.huawei_access_key)
                .await
                .expect("lookup"),
            Some((credential.clone(), secrets.huawei_secret_key_sealed.clone()))
        );
        assert_eq!(
            store
                .credential_by_huawei_access_key(&secrets.huawei_access_key.to_lowercase())
                .await
                .expect("lookup"),
            None,
            "access keys match exactly"
        );
    }
    let unknown = SecretHash::of("never issued");
    for kind in [BearerKind::Native, BearerKind::Prefactor] {
        assert_eq!(
            store
                .credential_by_bearer(kind, &unknown)
                .await
                .expect("lookup"),
            None
        );
    }
    assert_eq!(
        store
            .credential_by_looker_client_id("unknown")
            .await
            .expect("lookup"),
        None
    );
    assert_eq!(
        store
            .credential_by_looker_client_id(&first_secrets.looker_client_secret.to_hex())
            .await
            .expect("lookup"),
        None
    );
    assert_eq!(
        store
            .credential_by_huawei_access_key("UNKNOWN")
            .await
            .expect("lookup"),
        None
    );
}

pub async fn revoked_credentials_are_not_found(store: SharedStore) {
    let (revoked, revoked_secrets) = credential_created("revoked", at(-2));
    let (kept, kept_secrets) = credential_created("kept", at(-1));
    for (credential, secrets) in [(&revoked, &revoked_secrets), (&kept, &kept_secrets)] {
        store
            .insert_credential(credential, secrets)
            .await
            .expect("insert");
    }
    assert!(
        store
            .revoke_credential(&revoked.id, now())
            .await
            .expect("revoke")
    );

    assert_eq!(
        store
            .credential_by_bearer(BearerKind::Native, &revoked_secrets.native_token)
            .await
            .expect("lookup"),
        None
    );
    assert_eq!(
        store
            .credential_by_bearer(BearerKind::Prefactor, &revoked_secrets.prefactor_token)
            .await
            .expect("lookup"),
        None
    );
    assert_eq!(
        store
            .credential_by_looker_client_id(&revoked_secrets.looker_client_id)
            .await
            .expect("lookup"),
        None
    );
    assert_eq!(
        store
            .credential_by_huawei_access_key(&revoked_secrets.huawei_access_key)
            .await
            .expect("lookup"),
        None
    );
    assert!(
        store
            .credential(&revoked.id)
            .await
            .expect("get")
            .is_some_and(|credential| credential.revoked_at == Some(now())),
        "still there by id"
    );

    assert_eq!(
        store
            .credential_by_bearer(BearerKind::Native, &kept_secrets.native_token)
            .await
            .expect("lookup"),
        Some(kept.clone())
    );
    assert_eq!(
        store
            .credential_by_huawei_access_key(&kept_secrets.huawei_access_key)
            .await
            .expect("lookup"),
        Some((kept, kept_secrets.huawei_secret_key_sealed))
    );
}

pub async fn duplicate_credential_secrets_are_refused(store: SharedStore) {
    let (original, secrets) = credential_created("original", at(-1));
    store
        .insert_credential(&original, &secrets)
        .await
        .expect("insert");

    type Clash = fn(&mut Credential, &mut StoredSecrets, &Credential, &StoredSecrets);
    let clashes: [(&str, Clash); 5] = [
        ("id", |credential, _, original, _| {
            credential.id = original.id;
        }),
        ("native token hash", |_, secrets, _, original| {
            secrets.native_token = original.native_token;
        }),
        ("Prefactor token hash", |_, secrets, _, original| {
            secrets.prefactor_token = original.prefactor_token;
        }),
        ("Looker client id", |_, secrets, _, original| {
            secrets.looker_client_id = original.looker_client_id.clone();
        }),
        ("Huawei access key", |_, secrets, _, original| {
            secrets.huawei_access_key = original.huawei_access_key.clone();
        }),
    ];
    for (what, clash) in clashes {
        let (mut credential, mut clashing) = credential_with_secrets("clash");
        clash(&mut credential, &mut clashing, &original, &secrets);
        assert_duplicate(
            store.insert_credential(&credential, &clashing).await,
            &format!("the same {what}"),
        );
        assert_eq!(
            store.list_credentials().await.expect("list"),
            vec![original.clone()],
            "nothing stored after a clash on the {what}"
        );
    }
    let (fresh, fresh_secrets) = credential_with_secrets("fresh");
    store
        .insert_credential(&fresh, &fresh_secrets)
        .await
        .expect("no clash");
    assert_eq!(
        store.list_credentials().await.expect("list"),
        vec![original, fresh]
    );
}

// ---------------------------------------------------------------------------
// Temporary Huawei keys.

/// A temporary key of `credential` expiring `expires_ms` after the suite's
/// now, with secrets unique to `access_key`.
pub fn temporary_key(
    credential: &Credential,
    access_key: &str,
    expires_ms: i64,
) -> TemporaryHuaweiKey {
    TemporaryHuaweiKey {
        access_key: access_key.to_string(),
        secret_key_sealed: [&[7u8, 0, 255][..], access_key.as_bytes()].concat(),
        security_token: SecretHash::of(&format!("token-{access_key}")),
        credential_id: credential.id,
        created_at: at(-MINUTE + 3),
        expires_at: at(expires_ms),
    }
}

pub async fn temporary_huawei_keys_round_trip(store: SharedStore) {
    let (mut parent, parent_secrets) = credential_with_secrets("parent");
    parent.role = Role::StoreAdmin;
    parent.identity_store_id = Some("s1".to_string());
    let (other, other_secrets) = credential_created("other", at(1));
    for (credential, secrets) in [(&parent, &parent_secrets), (&other, &other_secrets)] {
        store
            .insert_credential(credential, secrets)
            .await
            .expect("insert");
    }
    let live = temporary_key(&parent, "TEMPAK0000000000LIVE", HOUR + 7);
    let expired = temporary_key(&parent, "TEMPAK000000000EXPIR", -1);
    let others = temporary_key(&other, "TEMPAK00000000OTHERS", HOUR);
    for key in [&live, &expired, &others] {
        store
            .insert_temporary_huawei_key(key)
            .await
            .expect("insert temporary key");
    }
    assert_eq!(
        store
            .temporary_huawei_key(&live.access_key)
            .await
            .expect("lookup"),
        Some((parent.clone(), live.clone()))
    );
    assert_eq!(
        store
            .temporary_huawei_key(&expired.access_key)
            .await
            .expect("lookup"),
        Some((parent.clone(), expired.clone())),
        "expired keys are found; the caller judges expiry"
    );
    assert_eq!(
        store
            .temporary_huawei_key(&others.access_key)
            .await
            .expect("lookup"),
        Some((other.clone(), others.clone()))
    );
    for missing in ["UNKNOWN", "tempak0000000000live", ""] {
        assert_eq!(
            store.temporary_huawei_key(missing).await.expect("lookup"),
            None,
            "{missing:?}"
        );
    }
    assert_eq!(
        store
            .credential_by_huawei_access_key(&live.access_key)
            .await
            .expect("lookup"),
        None,
        "a temporary key is not a permanent one"
    );
    assert_eq!(
        store
            .temporary_huawei_key(&parent_secrets.huawei_access_key)
            .await
            .expect("lookup"),
        None,
        "a permanent key is not a temporary one"
    );

    let mut clash = temporary_key(&other, &live.access_key, 2 * HOUR);
    clash.security_token = SecretHash::of("another token");
    assert_duplicate(
        store.insert_temporary_huawei_key(&clash).await,
        "the same temporary access key",
    );
    assert_eq!(
        store
            .temporary_huawei_key(&live.access_key)
            .await
            .expect("lookup"),
        Some((parent.clone(), live.clone())),
        "the clash changed nothing"
    );

    let (orphan_parent, _) = credential_created("never stored", at(2));
    assert!(
        store
            .insert_temporary_huawei_key(&temporary_key(
                &orphan_parent,
                "TEMPAK0000000ORPHAN",
                HOUR
            ))
            .await
            .is_err(),
        "a temporary key needs an existing credential"
    );
    assert_eq!(
        store
            .temporary_huawei_key("TEMPAK0000000ORPHAN")
            .await
            .expect("lookup"),
        None
    );
}

pub async fn temporary_huawei_keys_die_with_their_credential(store: SharedStore) {
    let (parent, parent_secrets) = credential_with_secrets("parent");
    let (kept, kept_secrets) = credential_created("kept", at(1));
    for (credential, secrets) in [(&parent, &parent_secrets), (&kept, &kept_secrets)] {
        store
            .insert_credential(credential, secrets)
            .await
            .expect("insert");
    }
    let first = temporary_key(&parent, "TEMPAK00000000FIRST1", HOUR);
    let second = temporary_key(&parent, "TEMPAK0000000SECOND2", HOUR);
    let kept_key = temporary_key(&kept, "TEMPAK000000000KEPT3", HOUR);
    for key in [&first, &second, &kept_key] {
        store
            .insert_temporary_huawei_key(key)
            .await
            .expect("insert temporary key");
    }
    assert!(
        store
            .revoke_credential(&parent.id, now())
            .await
            .expect("revoke")
    );
    for key in [&first, &second] {
        assert_eq!(
            store
                .temporary_huawei_key(&key.access_key)
                .await
                .expect("lookup"),
            None,
            "revoking the parent kills its temporary keys"
        );
    }
    assert_eq!(
        store
            .temporary_huawei_key(&kept_key.access_key)
            .await
            .expect("lookup"),
        Some((kept, kept_key)),
        "others stay"
    );
}

// ---------------------------------------------------------------------------
// Access tokens.

/// An access token of `credential`, created at the suite's now and
/// expiring `expires_ms` after it; `tag` makes its hash unique.
pub fn access_token(credential: &Credential, tag: &str, expires_ms: i64) -> AccessToken {
    AccessToken {
        token_hash: SecretHash::of(&format!("access-token-{tag}-{}", credential.id)),
        credential_id: credential.id,
        created_at: now(),
        expires_at: at(expires_ms),
        revoked_at: None,
        acting_user_id: None,
        session_id: None,
    }
}

async fn insert_credential(store: &SharedStore, tag: &str, created_ms: i64) -> Credential {
    let (credential, secrets) = credential_created(tag, at(created_ms));
    store
        .insert_credential(&credential, &secrets)
        .await
        .expect("insert credential");
    credential
}

pub async fn access_token_round_trip(store: SharedStore) {
    let credential = insert_credential(&store, "tokens", -2).await;
    let other = insert_credential(&store, "other", -1).await;
    let plain = access_token(&credential, "plain", HOUR);
    let mut sudo = access_token(&credential, "sudo", 2 * HOUR + 7);
    sudo.acting_user_id = Some("user 1+ü/x".to_string());
    sudo.session_id = Some(new_id("s1", now()));
    let mut revoked = access_token(&other, "revoked", MINUTE);
    revoked.created_at = at(-MINUTE);
    revoked.revoked_at = Some(at(-SECOND));
    let mut expired = access_token(&other, "expired", -1);
    expired.created_at = at(-HOUR);
    for token in [&plain, &sudo, &revoked, &expired] {
        store.insert_access_token(token).await.expect("insert");
    }
    assert_eq!(
        store.access_token(&plain.token_hash).await.expect("get"),
        Some((plain.clone(), credential.clone()))
    );
    assert_eq!(
        store.access_token(&sudo.token_hash).await.expect("get"),
        Some((sudo.clone(), credential.clone())),
        "every column round-trips"
    );
    assert_eq!(
        store.access_token(&revoked.token_hash).await.expect("get"),
        Some((revoked.clone(), other.clone())),
        "a revoked token is found as it is: the caller judges it"
    );
    assert_eq!(
        store.access_token(&expired.token_hash).await.expect("get"),
        Some((expired.clone(), other.clone())),
        "so is an expired one"
    );
    assert_eq!(
        store
            .access_token(&SecretHash::of("never issued"))
            .await
            .expect("get"),
        None
    );
    assert_eq!(
        store
            .credential_by_bearer(BearerKind::Native, &plain.token_hash)
            .await
            .expect("lookup"),
        None,
        "an access token is not a native token"
    );
}

pub async fn duplicate_access_token_is_refused(store: SharedStore) {
    let credential = insert_credential(&store, "dup", -1).await;
    let first = access_token(&credential, "dup", HOUR);
    store.insert_access_token(&first).await.expect("insert");
    let mut again = access_token(&credential, "dup", 2 * HOUR);
    again.acting_user_id = Some("u1".to_string());
    assert_duplicate(store.insert_access_token(&again).await, "the same hash");
    assert_eq!(
        store
            .access_token(&first.token_hash)
            .await
            .expect("get")
            .map(|(token, _)| token),
        Some(first),
        "the first one stays"
    );
}

pub async fn access_token_revocation_happens_once(store: SharedStore) {
    let credential = insert_credential(&store, "revoke", -1).await;
    let token = access_token(&credential, "revoke", HOUR);
    let untouched = access_token(&credential, "untouched", HOUR);
    let mut expired = access_token(&credential, "expired", SECOND);
    expired.created_at = at(-HOUR);
    for t in [&token, &untouched, &expired] {
        store.insert_access_token(t).await.expect("insert");
    }
    assert!(
        store
            .revoke_access_token(&token.token_hash, at(5 * SECOND + 3))
            .await
            .expect("revoke")
    );
    assert!(
        !store
            .revoke_access_token(&token.token_hash, at(6 * SECOND))
            .await
            .expect("revoke"),
        "a second logout finds nothing to revoke"
    );
    let mut revoked = token.clone();
    revoked.revoked_at = Some(at(5 * SECOND + 3));
    assert_eq!(
        store
            .access_token(&token.token_hash)
            .await
            .expect("get")
            .map(|(token, _)| token),
        Some(revoked),
        "the first revocation time stays"
    );
    assert!(
        !store
            .revoke_access_token(&expired.token_hash, at(SECOND))
            .await
            .expect("revoke"),
        "an expired token is not revoked"
    );
    assert!(
        !store
            .revoke_access_token(&SecretHash::of("never issued"), now())
            .await
            .expect("revoke")
    );
    assert_eq!(
        store
            .access_token(&untouched.token_hash)
            .await
            .expect("get")
            .map(|(token, _)| token),
        Some(untouched),
        "others stay"
    );

    let racing = access_token(&credential, "racing", HOUR);
    store.insert_access_token(&racing).await.expect("insert");
    let barrier = Arc::new(Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            let barrier = Arc::clone(&barrier);
            let hash = racing.token_hash;
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .revoke_access_token(&hash, now())
                    .await
                    .expect("revoke")
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        if task.await.expect("task") {
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "concurrent logouts: exactly one revokes");
}

pub async fn access_tokens_of_revoked_credentials_are_not_found(store: SharedStore) {
    let revoked = insert_credential(&store, "revoked", -2).await;
    let kept = insert_credential(&store, "kept", -1).await;
    let gone = access_token(&revoked, "gone", HOUR);
    let stays = access_token(&kept, "stays", HOUR);
    for token in [&gone, &stays] {
        store.insert_access_token(token).await.expect("insert");
    }
    assert!(
        store
            .revoke_credential(&revoked.id, now())
            .await
            .expect("revoke credential")
    );
    assert_eq!(
        store.access_token(&gone.token_hash).await.expect("get"),
        None,
        "the token of a revoked credential stops at once"
    );
    assert!(
        store
            .access_token(&stays.token_hash)
            .await
            .expect("get")
            .is_some()
    );
}

pub async fn expired_access_tokens_are_deleted(store: SharedStore) {
    let credential = insert_credential(&store, "expiry", -1).await;
    let mut long_gone = access_token(&credential, "long-gone", -HOUR);
    long_gone.created_at = at(-2 * HOUR);
    let mut just_now = access_token(&credential, "just-now", 0);
    just_now.created_at = at(-HOUR);
    let mut revoked_live = access_token(&credential, "revoked-live", HOUR);
    revoked_live.revoked_at = Some(now());
    let live = access_token(&credential, "live", 1);
    for token in [&long_gone, &just_now, &revoked_live, &live] {
        store.insert_access_token(token).await.expect("insert");
    }
    assert_eq!(
        store
            .delete_expired_access_tokens(now())
            .await
            .expect("delete"),
        2,
        "expired at or before now"
    );
    for token in [&long_gone, &just_now] {
        assert_eq!(
            store.access_token(&token.token_hash).await.expect("get"),
            None
        );
    }
    for token in [&revoked_live, &live] {
        assert!(
            store
                .access_token(&token.token_hash)
                .await
                .expect("get")
                .is_some(),
            "unexpired tokens stay, revoked or not"
        );
    }
    assert_eq!(
        store
            .delete_expired_access_tokens(now())
            .await
            .expect("delete"),
        0
    );
}

// ---------------------------------------------------------------------------
// Health.

pub async fn ping_answers(store: SharedStore) {
    store.ping().await.expect("ping on an empty store");
    store
        .insert_session(&minimal_session())
        .await
        .expect("insert");
    store.ping().await.expect("ping");
}
