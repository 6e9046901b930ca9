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
//! drift apart. A new case is a `pub async fn` in its topic's module
//! (`sessions`, `listing`, `revocation`, `credentials`, `maintenance`;
//! shared test data in `fixtures`) plus its name in that list.
//!
//! Expected results are computed with the domain's own rules
//! ([`Session::effective_status`], [`Session::is_live`], [`Session::revoke`])
//! wherever possible, so the suite checks the store against the domain,
//! not against a second reading of the documentation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::store::SharedStore;

#[cfg(doc)]
use crate::domain::session::Session;
#[cfg(doc)]
use crate::store::Store;

mod combined;
mod credentials;
mod faulty;
mod fixtures;
mod listing;
mod maintenance;
pub mod migration;
mod revocation;
mod sessions;

pub use combined::Combined;
pub use credentials::*;
pub use faulty::{Faults, Faulty};
pub use fixtures::*;
pub use listing::*;
pub use maintenance::*;
pub use revocation::*;
pub use sessions::*;

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
            sealed_values_are_listed_and_resealed_in_place,
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
