//! Whether one version of the OpenAPI document can replace another without
//! a generated client noticing: a small structural diff of operations,
//! parameters, request bodies, schemas, required fields and types.
//!
//! [`breaking_changes`] lists what a client built against the old document
//! would notice in the new one. It is deliberately conservative: a
//! property that becomes required is breaking whether the schema is read
//! or written, and a changed type is breaking whichever way it widens.
//! Wording, examples and additions are not changes it reports.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The keys of an OpenAPI path item that hold operations.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// What a client built against `old` would notice in `new`, one line each.
pub fn breaking_changes(old: &Value, new: &Value) -> Vec<String> {
    let mut changes = Vec::new();
    compare_operations(old, new, &mut changes);
    compare_schemas(old, new, &mut changes);
    changes
}

/// One operation, as a client sees it.
struct Operation<'a> {
    method: &'a str,
    path: &'a str,
    operation: &'a Value,
}

/// The operations of a document by operation id.
fn operations(document: &Value) -> BTreeMap<&str, Operation<'_>> {
    let mut operations = BTreeMap::new();
    let Some(paths) = document.get("paths").and_then(Value::as_object) else {
        return operations;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, operation) in item {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            if let Some(id) = operation.get("operationId").and_then(Value::as_str) {
                operations.insert(
                    id,
                    Operation {
                        method,
                        path,
                        operation,
                    },
                );
            }
        }
    }
    operations
}

fn compare_operations(old: &Value, new: &Value, changes: &mut Vec<String>) {
    let new_operations = operations(new);
    for (id, before) in operations(old) {
        let Some(after) = new_operations.get(id) else {
            changes.push(format!("operation `{id}` was removed"));
            continue;
        };
        if before.method != after.method || before.path != after.path {
            changes.push(format!(
                "operation `{id}` moved from {} {} to {} {}",
                before.method.to_uppercase(),
                before.path,
                after.method.to_uppercase(),
                after.path
            ));
        }
        compare_parameters(id, before.operation, after.operation, changes);
        compare_request_body(id, before.operation, after.operation, changes);
    }
}

/// An operation's parameters by `(in, name)`.
fn parameters(operation: &Value) -> BTreeMap<(String, String), &Value> {
    operation
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|parameter| {
            let location = parameter.get("in")?.as_str()?.to_string();
            let name = parameter.get("name")?.as_str()?.to_string();
            Some(((location, name), parameter))
        })
        .collect()
}

fn compare_parameters(id: &str, old: &Value, new: &Value, changes: &mut Vec<String>) {
    let before = parameters(old);
    let after = parameters(new);
    for ((location, name), parameter) in &before {
        let Some(now) = after.get(&(location.clone(), name.clone())) else {
            changes.push(format!(
                "operation `{id}`: {location} parameter `{name}` was removed"
            ));
            continue;
        };
        if !is_required(parameter) && is_required(now) {
            changes.push(format!(
                "operation `{id}`: {location} parameter `{name}` became required"
            ));
        }
        let (was, is) = (type_of(parameter.get("schema")), type_of(now.get("schema")));
        if was != is {
            changes.push(format!(
                "operation `{id}`: {location} parameter `{name}` changed type from {was} to {is}"
            ));
        }
    }
    for ((location, name), parameter) in &after {
        if !before.contains_key(&(location.clone(), name.clone())) && is_required(parameter) {
            changes.push(format!(
                "operation `{id}`: required {location} parameter `{name}` was added"
            ));
        }
    }
}

fn compare_request_body(id: &str, old: &Value, new: &Value, changes: &mut Vec<String>) {
    let body_type = |operation: &Value| {
        operation
            .get("requestBody")
            .map(|body| (is_required(body), body_schema_type(body)))
    };
    match (body_type(old), body_type(new)) {
        (Some((_, was)), Some((required, is))) => {
            if was != is {
                changes.push(format!(
                    "operation `{id}`: the request body changed type from {was} to {is}"
                ));
            }
            let was_required = old.get("requestBody").is_some_and(is_required);
            if required && !was_required {
                changes.push(format!(
                    "operation `{id}`: the request body became required"
                ));
            }
        }
        (Some(_), None) => changes.push(format!("operation `{id}`: the request body was removed")),
        (None, Some((true, _))) => {
            changes.push(format!(
                "operation `{id}`: a required request body was added"
            ));
        }
        (None, _) => {}
    }
}

/// The type of a request body's first media type's schema.
fn body_schema_type(body: &Value) -> String {
    let schema = body
        .get("content")
        .and_then(Value::as_object)
        .and_then(|content| content.values().next())
        .and_then(|media| media.get("schema"));
    type_of(schema)
}

fn compare_schemas(old: &Value, new: &Value, changes: &mut Vec<String>) {
    let empty = Map::new();
    let schemas = |document: &'_ Value| -> Map<String, Value> {
        document
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .unwrap_or(&empty)
            .clone()
    };
    let after = schemas(new);
    for (name, before) in &schemas(old) {
        let Some(now) = after.get(name) else {
            changes.push(format!("schema `{name}` was removed"));
            continue;
        };
        let (was, is) = (type_of(Some(before)), type_of(Some(now)));
        if was != is {
            changes.push(format!("schema `{name}` changed type from {was} to {is}"));
        }
        compare_enum(name, before, now, changes);
        compare_properties(name, before, now, changes);
    }
}

fn compare_enum(name: &str, before: &Value, now: &Value, changes: &mut Vec<String>) {
    let (Some(was), Some(is)) = (enum_values(before), enum_values(now)) else {
        return;
    };
    for value in was {
        if !is.contains(&value) {
            changes.push(format!("schema `{name}`: enum value {value} was removed"));
        }
    }
}

/// The values of an enumeration, written as one `enum` or as a `oneOf` of
/// enums.
fn enum_values(schema: &Value) -> Option<Vec<Value>> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return Some(values.clone());
    }
    let members = schema.get("oneOf")?.as_array()?;
    let mut values = Vec::new();
    for member in members {
        values.extend(member.get("enum")?.as_array()?.iter().cloned());
    }
    Some(values)
}

fn compare_properties(name: &str, before: &Value, now: &Value, changes: &mut Vec<String>) {
    let empty = Map::new();
    let properties = |schema: &'_ Value| -> Map<String, Value> {
        schema
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty)
            .clone()
    };
    let required = |schema: &Value| -> Vec<String> {
        schema
            .get("required")
            .and_then(Value::as_array)
            .map(|names| {
                names
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let after = properties(now);
    for (property, schema) in &properties(before) {
        let Some(now_schema) = after.get(property) else {
            changes.push(format!(
                "schema `{name}`: property `{property}` was removed"
            ));
            continue;
        };
        let (was, is) = (type_of(Some(schema)), type_of(Some(now_schema)));
        if was != is {
            changes.push(format!(
                "schema `{name}`: property `{property}` changed type from {was} to {is}"
            ));
        }
    }
    let was_required = required(before);
    for property in required(now) {
        if !was_required.contains(&property) {
            changes.push(format!(
                "schema `{name}`: property `{property}` became required"
            ));
        }
    }
}

/// Whether a parameter or request body is required.
fn is_required(value: &Value) -> bool {
    value.get("required") == Some(&Value::Bool(true))
}

/// A schema's type as a generated client sees it: a reference by name, an
/// array of a type, or `type`/`format`, with `?` when it admits `null`. The
/// spelling of nullability (`nullable`, or a `oneOf` with `{"enum":
/// [null]}`) does not matter; a `oneOf` of one-value string enums is a
/// string.
fn type_of(schema: Option<&Value>) -> String {
    let Some(schema) = schema else {
        return "nothing".to_string();
    };
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return reference
            .rsplit('/')
            .next()
            .unwrap_or(reference)
            .to_string();
    }
    let nullable = schema.get("nullable") == Some(&Value::Bool(true));
    let mark = |text: String| if nullable { format!("{text}?") } else { text };
    for composition in ["allOf", "oneOf", "anyOf"] {
        let Some(members) = schema.get(composition).and_then(Value::as_array) else {
            continue;
        };
        let (nulls, others): (Vec<&Value>, Vec<&Value>) =
            members.iter().partition(|member| is_null_only(member));
        if others.iter().all(|member| {
            member.get("enum").is_some()
                && member.get("type").and_then(Value::as_str) == Some("string")
        }) && !others.is_empty()
        {
            return mark("string".to_string());
        }
        let inner: Vec<String> = others.iter().map(|member| type_of(Some(member))).collect();
        let text = match inner.as_slice() {
            [one] => one.clone(),
            _ => format!("{composition}({})", inner.join(", ")),
        };
        return if nulls.is_empty() {
            mark(text)
        } else {
            format!("{text}?")
        };
    }
    let kind = schema.get("type").and_then(Value::as_str).unwrap_or("any");
    let text = match kind {
        "array" => format!("array of {}", type_of(schema.get("items"))),
        _ => match schema.get("format").and_then(Value::as_str) {
            Some(format) => format!("{kind} ({format})"),
            None => kind.to_string(),
        },
    };
    mark(text)
}

/// Whether a schema admits only `null` (`{"enum": [null]}`).
fn is_null_only(schema: &Value) -> bool {
    schema
        .get("enum")
        .and_then(Value::as_array)
        .is_some_and(|values| values == &[Value::Null])
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn document() -> Value {
        json!({
            "openapi": "3.0.3",
            "info": { "title": "t", "version": "1.0.0" },
            "paths": {
                "/sessions/{id}": {
                    "get": {
                        "operationId": "session_view",
                        "parameters": [
                            { "in": "path", "name": "id", "required": true, "schema": { "type": "string" } },
                            { "in": "query", "name": "fields", "schema": { "type": "string" } },
                        ],
                        "responses": {},
                    },
                    "post": {
                        "operationId": "session_extend",
                        "requestBody": {
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Extend" } } },
                            "required": true,
                        },
                        "responses": {},
                    },
                },
            },
            "components": {
                "schemas": {
                    "Session": {
                        "type": "object",
                        "properties": {
                            "id": { "type": "string" },
                            "end_reason": { "nullable": true, "allOf": [{ "$ref": "#/components/schemas/EndReason" }] },
                            "count": { "type": "integer", "format": "int64" },
                        },
                        "required": ["id"],
                    },
                    "EndReason": {
                        "oneOf": [
                            { "type": "string", "enum": ["logged_out"] },
                            { "type": "string", "enum": ["revoked"] },
                        ],
                    },
                    "Extend": { "type": "object", "properties": { "ttl_seconds": { "type": "integer" } } },
                },
            },
        })
    }

    #[test]
    fn the_same_document_has_no_breaking_change() {
        assert!(breaking_changes(&document(), &document()).is_empty());
    }

    #[test]
    fn additions_and_respellings_are_not_breaking() {
        let mut new = document();
        new["paths"]["/other"] = json!({ "get": { "operationId": "other", "responses": {} } });
        new["paths"]["/sessions/{id}"]["get"]["parameters"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "in": "query", "name": "limit", "schema": { "type": "integer" } }));
        new["components"]["schemas"]["Session"]["properties"]["title"] =
            json!({ "type": "string" });
        new["components"]["schemas"]["Session"]["properties"]["end_reason"] =
            json!({ "oneOf": [{ "$ref": "#/components/schemas/EndReason" }, { "enum": [null] }] });
        new["components"]["schemas"]["EndReason"] =
            json!({ "type": "string", "enum": ["logged_out", "revoked", "expired"] });
        new["info"]["description"] = json!("reworded");
        assert_eq!(breaking_changes(&document(), &new), Vec::<String>::new());
    }

    #[test]
    fn removals_are_breaking() {
        let mut new = document();
        new["paths"]["/sessions/{id}"]
            .as_object_mut()
            .unwrap()
            .remove("post");
        new["paths"]["/sessions/{id}"]["get"]["parameters"]
            .as_array_mut()
            .unwrap()
            .pop();
        new["components"]["schemas"]["Session"]["properties"]
            .as_object_mut()
            .unwrap()
            .remove("count");
        new["components"]["schemas"]["EndReason"] =
            json!({ "type": "string", "enum": ["revoked"] });
        let changes = breaking_changes(&document(), &new);
        assert_eq!(
            changes,
            [
                "operation `session_extend` was removed",
                "operation `session_view`: query parameter `fields` was removed",
                "schema `EndReason`: enum value \"logged_out\" was removed",
                "schema `Session`: property `count` was removed",
            ]
        );
    }

    #[test]
    fn type_and_requirement_changes_are_breaking() {
        let mut new = document();
        new["paths"]["/sessions/{id}"]["get"]["parameters"][1]["required"] = json!(true);
        new["paths"]["/sessions/{id}"]["get"]["parameters"][0]["schema"] =
            json!({ "type": "integer" });
        new["components"]["schemas"]["Session"]["properties"]["count"] =
            json!({ "type": "string" });
        new["components"]["schemas"]["Session"]["required"] = json!(["id", "count"]);
        new["paths"]["/sessions/{id}"]["post"]["requestBody"]["content"]["application/json"]["schema"] =
            json!({ "type": "object" });
        let changes = breaking_changes(&document(), &new);
        assert_eq!(
            changes,
            [
                "operation `session_extend`: the request body changed type from Extend to object",
                "operation `session_view`: path parameter `id` changed type from string to integer",
                "operation `session_view`: query parameter `fields` became required",
                "schema `Session`: property `count` changed type from integer (int64) to string",
                "schema `Session`: property `count` became required",
            ]
        );
    }

    #[test]
    fn a_nullable_that_stops_admitting_null_is_breaking() {
        let mut new = document();
        new["components"]["schemas"]["Session"]["properties"]["end_reason"] =
            json!({ "$ref": "#/components/schemas/EndReason" });
        let changes = breaking_changes(&document(), &new);
        assert_eq!(
            changes,
            ["schema `Session`: property `end_reason` changed type from EndReason? to EndReason"]
        );
    }

    #[test]
    fn a_moved_operation_is_breaking() {
        let mut new = document();
        let item = new["paths"]
            .as_object_mut()
            .unwrap()
            .remove("/sessions/{id}")
            .unwrap();
        new["paths"]["/v2/sessions/{id}"] = item;
        let changes = breaking_changes(&document(), &new);
        assert!(
            changes
                .iter()
                .any(|change| change
                    .contains("moved from GET /sessions/{id} to GET /v2/sessions/{id}")),
            "{changes:?}"
        );
    }
}
