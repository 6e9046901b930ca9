//! Which published operations a contract test binary exercised, from what
//! its validating proxies recorded.
//!
//! Every test server's proxy records each exchange with the operation it
//! matched in the spec and the status it answered; [`TestServer::finish`]
//! adds them here. A contract binary that declares the dialect it covers
//! (`contract_tests![...; covers: "native"]`) ends, when it ran every one
//! of its tests, by checking that each published operation of that
//! dialect was answered successfully (2xx) at least once, and prints the
//! statuses each operation answered. An operation that no test exercises
//! fails the binary, whatever the test sources call.
//!
//! [`TestServer::finish`]: crate::TestServer::finish

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};

use crate::proxy::Exchange;

/// Statuses answered, by operation id, in this process.
static RECORDED: Mutex<BTreeMap<String, BTreeSet<u16>>> = Mutex::new(BTreeMap::new());

/// Adds what a proxy recorded.
pub fn record(exchanges: &[Exchange]) {
    let mut recorded = RECORDED.lock().unwrap_or_else(PoisonError::into_inner);
    for exchange in exchanges {
        if let Some(operation) = &exchange.operation_id {
            recorded
                .entry(operation.clone())
                .or_default()
                .insert(exchange.status);
        }
    }
}

/// The published operations tagged `tag`.
pub fn published_operations(tag: &str) -> BTreeSet<String> {
    let Ok(spec) = login_sessions_api::openapi_document() else {
        return BTreeSet::new();
    };
    let mut operations = BTreeSet::new();
    let paths = spec["paths"].as_object().into_iter().flatten();
    for (_, item) in paths {
        for (_, operation) in item.as_object().into_iter().flatten() {
            let tagged = operation["tags"]
                .as_array()
                .is_some_and(|tags| tags.iter().any(|t| t == tag));
            if let (true, Some(id)) = (tagged, operation["operationId"].as_str()) {
                operations.insert(id.to_string());
            }
        }
    }
    operations
}

/// Checks that every published operation of `tag` was answered 2xx in
/// this process: the report of what each answered, and the operations
/// that never succeeded.
pub fn check(tag: &str) -> (String, Vec<String>) {
    let recorded = RECORDED.lock().unwrap_or_else(PoisonError::into_inner);
    let operations = published_operations(tag);
    let mut report = format!("operations of `{tag}` and the statuses they answered:\n");
    let mut missing = Vec::new();
    for operation in &operations {
        let statuses = recorded.get(operation).cloned().unwrap_or_default();
        let listed: Vec<String> = statuses.iter().map(u16::to_string).collect();
        report += &format!("  {operation:<28} {}\n", listed.join(" "));
        if !statuses.iter().any(|status| (200..300).contains(status)) {
            missing.push(operation.clone());
        }
    }
    if operations.is_empty() {
        missing.push(format!("(the spec has no operation tagged `{tag}`)"));
    }
    (report, missing)
}
