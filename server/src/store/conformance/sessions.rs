//! Sessions one at a time: insert and get, duplicates, bulk inserts, and the
//! optimistic replace.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use tokio::sync::Barrier;

use crate::domain::session::{Interaction, Session, Status};
use crate::pfid::Pfid;
use crate::store::SharedStore;

use super::fixtures::*;

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
