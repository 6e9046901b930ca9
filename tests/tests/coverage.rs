//! Every dialect of the published spec is covered by a contract test
//! binary.
//!
//! Coverage itself comes from what the validating proxies recorded: a
//! contract binary that declares the dialect it covers
//! (`contract_tests![...; covers: "native"]`) fails, after running all its
//! tests, unless every published operation of that dialect was answered
//! with a success by one of them (see `login_sessions_tests::coverage`).
//! This test checks that every dialect (tag) of the spec has such a
//! binary, so that no dialect goes unchecked.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;

fn published_tags() -> BTreeSet<String> {
    let spec = login_sessions_api::openapi_document().expect("the API description builds");
    let mut tags = BTreeSet::new();
    for item in spec["paths"].as_object().expect("paths").values() {
        for operation in item.as_object().expect("path item").values() {
            for tag in operation["tags"].as_array().into_iter().flatten() {
                tags.insert(tag.as_str().expect("a tag").to_string());
            }
        }
    }
    tags
}

/// The dialects the contract binaries declare they cover.
fn covered_tags() -> BTreeSet<String> {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut covered = BTreeSet::new();
    for entry in std::fs::read_dir(&tests).expect("tests/tests") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|extension| extension == "rs") {
            let source = std::fs::read_to_string(&path).expect("a test source");
            let declarations = source.split("covers: \"").skip(1);
            for rest in declarations {
                if let Some((tag, _)) = rest.split_once('"') {
                    covered.insert(tag.to_string());
                }
            }
        }
    }
    covered
}

#[test]
fn every_dialect_has_a_contract_binary_checking_its_coverage() {
    let published = published_tags();
    assert!(
        ["native", "looker", "prefactor", "huawei"]
            .iter()
            .all(|tag| published.contains(*tag)),
        "{published:?}"
    );
    let covered = covered_tags();
    let missing: Vec<_> = published.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "dialects no contract binary covers: {missing:?}"
    );
}

#[test]
fn every_published_operation_has_a_dialect() {
    for tag in published_tags() {
        assert!(
            !login_sessions_tests::coverage::published_operations(&tag).is_empty(),
            "{tag}"
        );
    }
}
