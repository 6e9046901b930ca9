//! Credentials, temporary Huawei keys and Looker access tokens: round trips,
//! lookups by secret, revocation, duplicates and expiry.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use tokio::sync::Barrier;

use crate::domain::access_token::AccessToken;
use crate::domain::credential::{Credential, Role, StoredSecret, TemporaryHuaweiKey};
use crate::secrets::SecretHash;
use crate::store::{SealedPlace, SealedValue, SharedStore};

use super::fixtures::*;

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
    for secret in &retired_secrets {
        assert_eq!(
            find(&store, secret).await,
            None,
            "inserted revoked, never found by its {} secret",
            secret.kind
        );
    }
    for (credential, secrets) in [(&admin, &admin_secrets), (&user, &user_secrets)] {
        for secret in secrets {
            assert_eq!(
                find(&store, secret).await,
                Some((credential.clone(), secret.clone())),
                "every secret round-trips: {}",
                secret.kind
            );
        }
    }
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
        for secret in secrets {
            assert_eq!(
                find(&store, secret).await,
                Some((credential.clone(), secret.clone())),
                "found by its {} secret",
                secret.kind
            );
            for other in [TOKEN, CLIENT, KEY_PAIR] {
                if other != secret.kind {
                    assert_eq!(
                        store
                            .credential_by_secret(other, &secret.lookup_key)
                            .await
                            .expect("lookup"),
                        None,
                        "a {} key is not a {other} key",
                        secret.kind
                    );
                }
            }
        }
    }
    let key_pair = secret_of(&first_secrets, KEY_PAIR);
    assert_eq!(
        store
            .credential_by_secret(KEY_PAIR, &key_pair.lookup_key.to_lowercase())
            .await
            .expect("lookup"),
        None,
        "lookup keys match exactly"
    );
    let unknown = SecretHash::of("never issued").to_hex();
    for kind in [TOKEN, CLIENT, KEY_PAIR] {
        assert_eq!(
            store
                .credential_by_secret(kind, &unknown)
                .await
                .expect("lookup"),
            None
        );
        assert_eq!(
            store.credential_by_secret(kind, "").await.expect("lookup"),
            None
        );
    }
    let client = secret_of(&first_secrets, CLIENT);
    assert_eq!(
        store
            .credential_by_secret(CLIENT, &client.hash.expect("a hash").to_hex())
            .await
            .expect("lookup"),
        None,
        "a client secret's hash does not find its credential"
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
    for secret in &revoked_secrets {
        assert_eq!(
            find(&store, secret).await,
            None,
            "{} secret of a revoked credential",
            secret.kind
        );
    }
    assert!(
        store
            .credential(&revoked.id)
            .await
            .expect("get")
            .is_some_and(|credential| credential.revoked_at == Some(now())),
        "still there by id"
    );
    for secret in &kept_secrets {
        assert_eq!(
            find(&store, secret).await,
            Some((kept.clone(), secret.clone())),
            "{} secret of another credential",
            secret.kind
        );
    }
}

pub async fn duplicate_credential_secrets_are_refused(store: SharedStore) {
    let (original, secrets) = credential_created("original", at(-1));
    store
        .insert_credential(&original, &secrets)
        .await
        .expect("insert");

    type Clash = fn(&mut Credential, &mut [StoredSecret], &Credential, &[StoredSecret]);
    let clashes: [(&str, Clash); 4] = [
        ("id", |credential, _, original, _| {
            credential.id = original.id;
        }),
        ("token", |_, secrets, _, original| {
            secrets[0].lookup_key = secret_of(original, TOKEN).lookup_key.clone();
        }),
        ("client id", |_, secrets, _, original| {
            secrets[1].lookup_key = secret_of(original, CLIENT).lookup_key.clone();
        }),
        ("access key", |_, secrets, _, original| {
            secrets[2].lookup_key = secret_of(original, KEY_PAIR).lookup_key.clone();
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
    let (fresh, mut fresh_secrets) = credential_with_secrets("fresh");
    // The same lookup key under another kind is no clash.
    fresh_secrets[1].lookup_key = secret_of(&secrets, KEY_PAIR).lookup_key.clone();
    store
        .insert_credential(&fresh, &fresh_secrets)
        .await
        .expect("no clash");
    assert_eq!(
        store.list_credentials().await.expect("list"),
        vec![original, fresh.clone()]
    );
    assert_eq!(
        find(&store, &fresh_secrets[1]).await,
        Some((fresh, fresh_secrets[1].clone()))
    );
}

/// The credential `secret`'s kind and lookup key find.
async fn find(store: &SharedStore, secret: &StoredSecret) -> Option<(Credential, StoredSecret)> {
    store
        .credential_by_secret(secret.kind, &secret.lookup_key)
        .await
        .expect("lookup")
}

pub async fn sealed_values_are_listed_and_resealed_in_place(store: SharedStore) {
    let (credential, secrets) = credential_with_secrets("sealed");
    store
        .insert_credential(&credential, &secrets)
        .await
        .expect("insert");
    let temporary = temporary_key(&credential, "TEMPAKSEALED00000000", HOUR);
    store
        .insert_temporary_huawei_key(&temporary)
        .await
        .expect("insert temporary key");
    let key_pair = secret_of(&secrets, KEY_PAIR);
    let mut values = store.sealed_values().await.expect("list");
    values.sort_by_key(|value| matches!(value.place, SealedPlace::Secret { .. }));
    assert_eq!(
        values,
        vec![
            SealedValue {
                place: SealedPlace::TemporaryHuaweiKey {
                    access_key: temporary.access_key.clone()
                },
                context: TemporaryHuaweiKey::seal_context(&temporary.access_key),
                sealed: temporary.secret_key_sealed.clone(),
            },
            SealedValue {
                place: SealedPlace::Secret {
                    kind: KEY_PAIR.as_str().to_string(),
                    lookup_key: key_pair.lookup_key.clone(),
                },
                context: credential.id.as_str().as_bytes().to_vec(),
                sealed: key_pair.sealed.clone().expect("a sealed value"),
            },
        ],
        "only sealed values, each with its context"
    );
    for value in &values {
        let stale = SealedValue {
            sealed: b"not what is stored".to_vec(),
            ..value.clone()
        };
        assert!(
            !store.reseal(&stale, b"new").await.expect("reseal"),
            "a value changed meanwhile is left alone"
        );
        assert!(store.reseal(value, b"resealed").await.expect("reseal"));
    }
    let (_, found) = store
        .credential_by_secret(KEY_PAIR, &key_pair.lookup_key)
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(found.sealed.as_deref(), Some(&b"resealed"[..]));
    let (_, found) = store
        .temporary_huawei_key(&temporary.access_key)
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(found.secret_key_sealed, b"resealed");
    assert_eq!(
        find(&store, secret_of(&secrets, CLIENT))
            .await
            .map(|(_, s)| s.hash),
        Some(secret_of(&secrets, CLIENT).hash),
        "what is not sealed is untouched"
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
            .credential_by_secret(KEY_PAIR, &live.access_key)
            .await
            .expect("lookup"),
        None,
        "a temporary key is not a permanent one"
    );
    assert_eq!(
        store
            .temporary_huawei_key(&secret_of(&parent_secrets, KEY_PAIR).lookup_key)
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
            .credential_by_secret(TOKEN, &plain.token_hash.to_hex())
            .await
            .expect("lookup"),
        None,
        "an access token is not a credential's token"
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
