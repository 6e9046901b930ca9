//! Splitting the testing API off the published document.
//!
//! The trait declares the testing API (tag [`TESTING_TAG`], under
//! `/testing/v1`) beside every dialect, but it is published as a document
//! of its own, `openapi/login-sessions-testing.json`: the main document,
//! the clients generated from it and `/docs/` never show it. [`split`]
//! runs first, on dropshot's document: each half keeps its own paths and
//! tags, the `components` they reach (transitively, through `$ref`), and
//! nothing else, so the main half is exactly what it was before the
//! testing API existed. The transforms then run on each half.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::{DocumentError, METHODS, shape};

/// The testing API's tag.
pub const TESTING_TAG: &str = "testing";

/// The title of the testing API's document.
pub const TESTING_TITLE: &str = "login-sessions testing API";

/// The version of the testing API's document. It follows the rule written
/// on [`crate::API_VERSION`], separately: the testing API is not part of
/// the main contract.
pub const TESTING_API_VERSION: &str = "1.0.0";

/// The description of the testing API's document.
pub const TESTING_DESCRIPTION: &str = "The testing API of a login-sessions \
    stand-in (`serve --database memory --fixtures FILE --testing-api`): move \
    its clock, reset it to its fixtures, inject faults into any dialect's \
    operations and read the journal of requests. Off (404) unless the server \
    runs with --testing-api; authenticated with an admin credential's native \
    token.";

/// Dropshot's document, split into the main document and the testing one.
pub fn split(document: Value) -> Result<(Value, Value), DocumentError> {
    let paths = document
        .get("paths")
        .and_then(Value::as_object)
        .ok_or_else(|| shape("the document has no `paths` object"))?;
    let mut main_paths = Map::new();
    let mut testing_paths = Map::new();
    for (path, item) in paths {
        let tags = item_tags(path, item)?;
        match (tags.contains(TESTING_TAG), tags.len()) {
            (false, _) => main_paths.insert(path.clone(), item.clone()),
            (true, 1) => testing_paths.insert(path.clone(), item.clone()),
            (true, _) => {
                return Err(shape(format!(
                    "path {path} mixes testing and other operations: the testing API \
                     keeps paths of its own"
                )));
            }
        };
    }
    let main = half(&document, main_paths, |tag| tag != TESTING_TAG)?;
    let mut testing = half(&document, testing_paths, |tag| tag == TESTING_TAG)?;
    if let Some(info) = testing.get_mut("info").and_then(Value::as_object_mut) {
        info.insert("title".into(), json!(TESTING_TITLE));
        info.insert("version".into(), json!(TESTING_API_VERSION));
        info.insert("description".into(), json!(TESTING_DESCRIPTION));
    }
    Ok((main, testing))
}

/// The tags of a path item's operations.
fn item_tags(path: &str, item: &Value) -> Result<BTreeSet<String>, DocumentError> {
    let item = item
        .as_object()
        .ok_or_else(|| shape(format!("path {path} is not an object")))?;
    Ok(item
        .iter()
        .filter(|(method, _)| METHODS.contains(&method.as_str()))
        .flat_map(|(_, operation)| {
            operation
                .get("tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
        })
        .collect())
}

/// The document with only `paths`, the tags `keep_tag` keeps, and the
/// components those paths reach.
fn half(
    document: &Value,
    paths: Map<String, Value>,
    keep_tag: impl Fn(&str) -> bool,
) -> Result<Value, DocumentError> {
    let mut half = document.clone();
    let root = half
        .as_object_mut()
        .ok_or_else(|| shape("the document is not an object"))?;
    let reached = reached_components(document, &Value::Object(paths.clone()));
    root.insert("paths".into(), Value::Object(paths));
    if let Some(Value::Array(tags)) = root.get_mut("tags") {
        tags.retain(|tag| {
            tag.get("name")
                .and_then(Value::as_str)
                .is_some_and(&keep_tag)
        });
    }
    if let Some(Value::Object(components)) = root.get_mut("components") {
        for (section, entries) in components.iter_mut() {
            if let Value::Object(entries) = entries {
                entries.retain(|name, _| reached.contains(&(section.clone(), name.clone())));
            }
        }
        components.retain(|_, entries| entries.as_object().is_none_or(|e| !e.is_empty()));
    }
    Ok(half)
}

/// Every `(section, name)` of `components` that `start` refers to, directly
/// or through other components.
fn reached_components(document: &Value, start: &Value) -> BTreeSet<(String, String)> {
    let mut reached = BTreeSet::new();
    let mut pending = Vec::new();
    references(start, &mut pending);
    while let Some((section, name)) = pending.pop() {
        if !reached.insert((section.clone(), name.clone())) {
            continue;
        }
        if let Some(target) = document
            .get("components")
            .and_then(|components| components.get(&section))
            .and_then(|entries| entries.get(&name))
        {
            references(target, &mut pending);
        }
    }
    reached
}

/// Collects the `#/components/<section>/<name>` references in `value`.
fn references(value: &Value, found: &mut Vec<(String, String)>) {
    match value {
        Value::Object(object) => {
            for (key, value) in object {
                if key == "$ref"
                    && let Some(target) =
                        value.as_str().and_then(|r| r.strip_prefix("#/components/"))
                    && let Some((section, name)) = target.split_once('/')
                {
                    found.push((section.to_string(), name.to_string()));
                }
                references(value, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operation_ids(document: &Value) -> Vec<String> {
        document["paths"]
            .as_object()
            .expect("paths")
            .values()
            .flat_map(|item| item.as_object().expect("item").values())
            .filter_map(|operation| operation["operationId"].as_str().map(str::to_string))
            .collect()
    }

    #[test]
    fn the_main_document_holds_nothing_of_the_testing_api() {
        let main = crate::openapi_document().expect("main document");
        let text = main.to_string();
        assert!(!text.contains("/testing/"), "no testing path");
        assert!(
            !operation_ids(&main)
                .iter()
                .any(|id| id.starts_with("testing_"))
        );
        for schema in ["ClockNow", "FaultCreate", "JournalPage", "TestingDialect"] {
            assert!(
                !text.contains(schema),
                "{schema} is not in the main document"
            );
        }
        let tags = main["tags"].as_array().expect("tags");
        assert!(tags.iter().all(|tag| tag["name"] != TESTING_TAG));
    }

    #[test]
    fn the_testing_document_holds_only_the_testing_api_and_what_it_uses() {
        let testing = crate::testing_openapi_document().expect("testing document");
        let ids = operation_ids(&testing);
        assert!(
            ids.contains(&"testing_clock_advance".to_string()),
            "{ids:?}"
        );
        assert!(ids.iter().all(|id| id.starts_with("testing_")), "{ids:?}");
        assert_eq!(testing["info"]["title"], TESTING_TITLE);
        let schemas = testing["components"]["schemas"]
            .as_object()
            .expect("schemas");
        assert!(
            schemas.contains_key("NativeError"),
            "its errors are native errors"
        );
        for other in ["Session", "LookerError", "HuaweiError", "PrefactorError"] {
            assert!(
                !schemas.contains_key(other),
                "{other} is not used by the testing API"
            );
        }
        let security = testing["components"]["securitySchemes"]
            .as_object()
            .expect("security");
        assert_eq!(security.keys().collect::<Vec<_>>(), ["testing_admin_token"]);
    }

    #[test]
    fn a_path_mixing_testing_and_other_operations_is_refused() {
        let document = json!({
            "paths": {"/x": {
                "get": {"operationId": "a", "tags": ["native"]},
                "post": {"operationId": "b", "tags": ["testing"]},
            }},
        });
        assert!(split(document).is_err());
    }
}
