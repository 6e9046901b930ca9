//! The suite's test data and the helpers every topic shares: the fixed now,
//! sessions and credentials of every shape, and the listing the domain's
//! rules expect.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};

use chrono::DateTime;

use crate::domain::Timestamp;
use crate::domain::credential::{Credential, Role, SecretKind, StoredSecret};
use crate::domain::session::{Enrichment, Interaction, Session, SessionType, Status};
use crate::pfid::{Pfid, partition_for_identity_store};
use crate::secrets::SecretHash;
use crate::store::{SessionOrder, SessionQuery, SharedStore, StoreError};

// ---------------------------------------------------------------------------
// Test data.

/// The fixed "now" of the suite: 2024-01-01T00:00:00Z.
pub const NOW_MS: i64 = 1_704_067_200_000;

pub(super) const SECOND: i64 = 1_000;
pub(super) const MINUTE: i64 = 60 * SECOND;
pub(super) const HOUR: i64 = 60 * MINUTE;

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
pub fn credential_with_secrets(tag: &str) -> (Credential, Vec<StoredSecret>) {
    credential_created(tag, now())
}

/// A secret kind found by its lookup key alone (a bearer token's hash).
pub const TOKEN: SecretKind = SecretKind("token");
/// A secret kind with a hash to check once found (a client secret).
pub const CLIENT: SecretKind = SecretKind("client");
/// A secret kind with a sealed value (a signing key).
pub const KEY_PAIR: SecretKind = SecretKind("key-pair");

/// Like [`credential_with_secrets`], created at `created_at`: one secret
/// of each of [`TOKEN`], [`CLIENT`] and [`KEY_PAIR`]. The store knows no
/// dialect: these kinds stand for any.
pub fn credential_created(tag: &str, created_at: Timestamp) -> (Credential, Vec<StoredSecret>) {
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
    let secrets = vec![
        StoredSecret {
            kind: TOKEN,
            lookup_key: SecretHash::of(&format!("ls_token_{tag}_{unique}")).to_hex(),
            hash: None,
            sealed: None,
        },
        StoredSecret {
            kind: CLIENT,
            lookup_key: format!("client{unique}"),
            hash: Some(SecretHash::of(&format!("client-secret-{unique}"))),
            sealed: None,
        },
        StoredSecret {
            kind: KEY_PAIR,
            lookup_key: format!("AK{}", unique.to_uppercase()),
            hash: None,
            sealed: Some([&[0u8, 1, 0, 255][..], unique.as_bytes(), &[0u8; 16]].concat()),
        },
    ];
    (credential, secrets)
}

/// The secret of `kind` among `secrets`.
pub fn secret_of(secrets: &[StoredSecret], kind: SecretKind) -> &StoredSecret {
    secrets
        .iter()
        .find(|secret| secret.kind == kind)
        .expect("every test credential has a secret of each kind")
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

pub(super) fn ids(sessions: &[Session]) -> Vec<Pfid> {
    sessions.iter().map(|session| session.id).collect()
}

pub(super) async fn list_ids(store: &SharedStore, query: &SessionQuery) -> Vec<Pfid> {
    ids(&store.list_sessions(query).await.expect("listing"))
}

pub(super) async fn stored(store: &SharedStore, id: &Pfid) -> Session {
    store
        .session(id)
        .await
        .expect("reading a session")
        .unwrap_or_else(|| panic!("session {id} is missing"))
}

pub(super) fn assert_duplicate<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
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

/// `ids` in ascending order.
pub(super) fn sorted(mut ids: Vec<Pfid>) -> Vec<Pfid> {
    ids.sort_unstable();
    ids
}
