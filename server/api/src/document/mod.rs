//! The published OpenAPI document: what dropshot generates from the API
//! trait, then the transforms below, in this order. `openapi/login-sessions.json`
//! is exactly [`openapi_document`]'s output (`cargo xtask openapi generate`),
//! and the server serves it at `/openapi.json`.
//!
//! Dropshot (through schemars 0.8) cannot express everything the document
//! must say, and writes a few things strict OpenAPI 3.0 tooling rejects.
//! Each transform fixes one such thing, is small, runs on the JSON value
//! and is tested on its own:
//!
//! * [`split`] (first): the testing API goes into a document of its own,
//!   [`testing_openapi_document`], the same transforms applied.
//! * [`info`]: `servers`, `license` and `contact`.
//! * [`schemas`]: nullable references, one-value enumerations and
//!   `default: null`, rewritten into forms every validator and generator
//!   reads the same way.
//! * [`security`]: each operation's authentication, from its tag.
//! * [`responses`]: each operation's real error statuses in its dialect's
//!   error shape, and the `X-Request-Id` and `Retry-After` headers.
//! * [`examples`]: an example on every request and response body.

pub mod examples;
pub mod info;
pub mod responses;
pub mod schemas;
pub mod security;
pub mod split;

use serde_json::{Map, Value};

use crate::{API_DESCRIPTION, API_TITLE, API_VERSION, stub_api_description};

/// Why the document could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The API trait does not describe a valid API (dropshot's checks).
    #[error("the API description does not build: {0}")]
    Description(String),
    /// Dropshot's document could not be serialized.
    #[error("serializing the OpenAPI document: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The document does not have the shape a transform expects.
    #[error("{0}")]
    Shape(String),
}

/// The published OpenAPI document: dropshot's without the testing API,
/// transformed.
pub fn openapi_document() -> Result<Value, DocumentError> {
    let (main, _testing) = split::split(generated_document()?)?;
    transformed(main)
}

/// The testing API's document (`openapi/login-sessions-testing.json`):
/// dropshot's testing operations, transformed like the main document.
pub fn testing_openapi_document() -> Result<Value, DocumentError> {
    let (_main, testing) = split::split(generated_document()?)?;
    transformed(testing)
}

fn transformed(mut document: Value) -> Result<Value, DocumentError> {
    info::apply(&mut document)?;
    schemas::apply(&mut document)?;
    security::apply(&mut document)?;
    responses::apply(&mut document)?;
    examples::apply(&mut document)?;
    Ok(document)
}

/// The document as dropshot generates it from the trait, before any
/// transform.
pub fn generated_document() -> Result<Value, DocumentError> {
    let description =
        stub_api_description().map_err(|e| DocumentError::Description(e.to_string()))?;
    let mut definition = description.openapi(API_TITLE, API_VERSION);
    definition.description(API_DESCRIPTION);
    Ok(definition.json()?)
}

/// The keys of an OpenAPI path item that hold operations.
pub(crate) const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// A shape error: `what` was not as expected.
pub(crate) fn shape(what: impl Into<String>) -> DocumentError {
    DocumentError::Shape(what.into())
}

/// The document's top-level object.
pub(crate) fn root(document: &mut Value) -> Result<&mut Map<String, Value>, DocumentError> {
    document
        .as_object_mut()
        .ok_or_else(|| shape("the document is not an object"))
}

/// Every operation of the document, as JSON objects.
pub(crate) fn operations(
    document: &mut Value,
) -> Result<Vec<&mut Map<String, Value>>, DocumentError> {
    let paths = document
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| shape("the document has no `paths` object"))?;
    let mut operations = Vec::new();
    for (path, item) in paths.iter_mut() {
        let item = item
            .as_object_mut()
            .ok_or_else(|| shape(format!("path {path} is not an object")))?;
        for (method, operation) in item.iter_mut() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let operation = operation
                .as_object_mut()
                .ok_or_else(|| shape(format!("operation {method} {path} is not an object")))?;
            operations.push(operation);
        }
    }
    Ok(operations)
}

/// An operation's id.
pub(crate) fn operation_id(operation: &Map<String, Value>) -> Result<&str, DocumentError> {
    operation
        .get("operationId")
        .and_then(Value::as_str)
        .ok_or_else(|| shape("an operation has no operationId"))
}

/// An operation's one tag: its dialect.
pub(crate) fn operation_tag(operation: &Map<String, Value>) -> Result<&str, DocumentError> {
    let id = operation_id(operation)?;
    let tags: Vec<&str> = operation
        .get("tags")
        .and_then(Value::as_array)
        .map(|tags| tags.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match tags.as_slice() {
        [tag] => Ok(tag),
        _ => Err(shape(format!(
            "operation `{id}` has {} tags; every operation needs exactly one, its dialect",
            tags.len()
        ))),
    }
}

/// `components.<section>` of the document, created when missing.
pub(crate) fn components_section<'a>(
    document: &'a mut Value,
    section: &str,
) -> Result<&'a mut Map<String, Value>, DocumentError> {
    root(document)?
        .entry("components")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| shape("`components` is not an object"))?
        .entry(section)
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| shape(format!("`components.{section}` is not an object")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_builds_and_is_idempotent_under_its_transforms() {
        let document = openapi_document().unwrap();
        let mut again = document.clone();
        info::apply(&mut again).unwrap();
        schemas::apply(&mut again).unwrap();
        security::apply(&mut again).unwrap();
        responses::apply(&mut again).unwrap();
        examples::apply(&mut again).unwrap();
        assert_eq!(document, again);
    }
}
