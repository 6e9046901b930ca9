//! Listing sessions: every filter alone and combined, both orders, offsets
//! and keyset cursors, effective status around expiry, and bulk loads.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::domain::Timestamp;
use crate::domain::session::{Session, Status};
use crate::pfid::Pfid;
use crate::store::{RevokeUserSessions, SessionOrder, SessionQuery, SharedStore};

use super::fixtures::*;

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
