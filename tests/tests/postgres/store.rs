//! The store conformance suite, unchanged, on PostgreSQL; and what only the
//! PostgreSQL store has to prove.

use login_sessions_server::store::conformance;
use login_sessions_tests::StoreKind;
use login_sessions_tests::runner::Test;

/// Every conformance case on a fresh PostgreSQL database, named
/// `conformance::<case>`.
pub fn conformance_trials() -> Vec<Test> {
    conformance::cases()
        .into_iter()
        .map(|(name, case)| {
            Test::postgres(format!("conformance::{name}"), move || async move {
                let (store, _url, guard) =
                    login_sessions_tests::fresh_store(StoreKind::Postgres).await;
                conformance::assert_empty(&store).await;
                case(store).await;
                drop(guard);
            })
        })
        .collect()
}

pub fn trials() -> Vec<Test> {
    Vec::new()
}
