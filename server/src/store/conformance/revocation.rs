//! Revoking sessions: all of a user's, a set of a user's, races with
//! replaces, and the revocation marks that catch sessions created before a
//! revocation and inserted after it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::Barrier;

use crate::domain::Timestamp;
use crate::domain::session::{Session, Status};
use crate::pfid::Pfid;
use crate::store::{
    RevocationMark, RevokeSessions, RevokeUserSessions, SharedStore, apply_revocation_marks,
};

use super::fixtures::*;

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
