//! What the janitor and the health checks need: bounded deletion of ended
//! sessions, the janitor lease, and ping.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::domain::session::Status;
use crate::store::SharedStore;

use super::fixtures::*;

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
    // A lease held by a connection (PostgreSQL's) is released when the
    // database notices the connection closed: soon, not necessarily
    // before the next call.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.janitor_lease().await.expect("lease").is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "a dropped lease is free again"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
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
