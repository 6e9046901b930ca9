//! Every published operation has a contract test.
//!
//! The operations come from the API description itself; a contract test
//! "covers" an operation when a test file under `tests/tests/` calls the
//! generated client's method for it (`.session_view(`), or a vendor SDK
//! script under `tests/sdk/` names its operation id. The allowlist of
//! operations without a test may only shrink: an allowlisted operation that
//! gained a test fails this test until it is removed from the list.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Operations that have no contract test yet. Only ever remove names.
const NOT_YET_COVERED: &[&str] = &[];

fn published_operations() -> BTreeSet<String> {
    let spec = login_sessions_api::openapi_document().expect("the API description builds");
    let mut operations = BTreeSet::new();
    for item in spec["paths"].as_object().expect("paths").values() {
        for operation in item.as_object().expect("path item").values() {
            if let Some(id) = operation["operationId"].as_str() {
                operations.insert(id.to_string());
            }
        }
    }
    operations
}

fn files_under(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, found);
        } else {
            found.push(path);
        }
    }
}

fn test_sources() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    files_under(&root.join("tests"), &mut files);
    files_under(&root.join("sdk"), &mut files);
    files
        .iter()
        .filter(|path| !path.ends_with("coverage.rs"))
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The generated client's method name for an operation id (progenitor
/// turns `ListSessions` into `list_sessions`).
fn client_method(operation_id: &str) -> String {
    let mut method = String::new();
    for (i, c) in operation_id.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 && !method.ends_with('_') {
                method.push('_');
            }
            method.extend(c.to_lowercase());
        } else {
            method.push(c);
        }
    }
    method
}

#[test]
fn every_operation_has_a_contract_test() {
    let sources = test_sources();
    let operations = published_operations();
    assert!(
        operations.len() >= 9,
        "the spec lists the native operations at least"
    );
    let covered = |op: &str| {
        sources.contains(&format!(".{}(", client_method(op)))
            || sources.contains(&format!("\"{op}\""))
    };

    let missing: Vec<_> = operations
        .iter()
        .filter(|op| !covered(op) && !NOT_YET_COVERED.contains(&op.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "operations without a contract test: {missing:?}"
    );

    let stale: Vec<_> = NOT_YET_COVERED.iter().filter(|op| covered(op)).collect();
    assert!(
        stale.is_empty(),
        "remove these from NOT_YET_COVERED, they have tests now: {stale:?}"
    );

    let unknown: Vec<_> = NOT_YET_COVERED
        .iter()
        .filter(|op| !operations.contains(**op))
        .collect();
    assert!(
        unknown.is_empty(),
        "NOT_YET_COVERED names operations that do not exist: {unknown:?}"
    );
}

#[test]
fn client_method_names_follow_progenitor() {
    assert_eq!(client_method("ListSessions"), "list_sessions");
    assert_eq!(
        client_method("BatchDeleteSessions"),
        "batch_delete_sessions"
    );
    assert_eq!(client_method("user_session"), "user_session");
}
