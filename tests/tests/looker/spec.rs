//! The published spec's Looker section against Looker's own: the extract
//! of `spec/Looker.4.0.oas.json` (looker-open-source/sdk-codegen, API
//! 4.0.26.12, MIT) in `tests/upstream/looker-4.0-sessions.json`.
//!
//! Field by field: operation ids, paths and methods, parameters (name,
//! location, required, type, description), request bodies, success
//! responses, and every property of every schema (type, format,
//! nullability, `readOnly`, description, items, additional properties,
//! `required`). Every difference is listed; the test fails unless the list
//! is exactly [`KNOWN_DIFFERENCES`], the ones dropshot forces or this
//! server chooses, each explained in the compatibility notes of `docs/dialects/looker.md`.

use std::collections::BTreeSet;

use login_sessions_tests::python::workspace_root;
use serde_json::Value;

/// Where Looker's paths sit in our spec.
const PREFIX: &str = "/api/4.0";

/// Every accepted difference, as [`differences`] words it.
const KNOWN_DIFFERENCES: &[&str] = &[
    // Schema names: `Session` is the native API's; one dialect prefix for all.
    "schema AccessToken is named LookerAccessToken",
    "schema Error is named LookerError",
    "schema Session is named LookerSession",
    "schema ValidationError is named LookerError",
    "schema ValidationErrorDetail is named LookerValidationErrorDetail",
    // One error schema per operation (dropshot): Error and ValidationError
    // are one, with ValidationError's `errors`.
    "schema Error: extra property errors",
    // Statuses Looker answers but does not declare: 401 for a missing or
    // expired token, 500 and 503 when the server or its store fails.
    "all_user_sessions: also declares 401/500/503",
    "delete_user_session: also declares 401/500/503",
    "login: also declares 500/503",
    "login_user: also declares 401/500/503",
    "logout: also declares 401/500/503",
    "user_session: also declares 401/500/503",
    // Looker's login body is a bare object; ours names its two fields, so
    // that typed clients can send them.
    "login: the request body declares client_id, client_secret",
    // A 204 has no body: Looker's spec declares a JSON string it never sends.
    "delete_user_session: 204 is declared without content",
    "logout: 204 is declared without content",
    // Dropshot marks every request body required (the server accepts none).
    "login: the request body is required",
    // One tag per dialect.
    "all_user_sessions: tag looker, not User",
    "delete_user_session: tag looker, not User",
    "login: tag looker, not ApiAuth",
    "login_user: tag looker, not ApiAuth",
    "logout: tag looker, not ApiAuth",
    "user_session: tag looker, not User",
];

fn load(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("parsing {}: {error}", path.display()))
}

/// Our name for one of Looker's schemas.
fn our_schema_name(looker: &str) -> String {
    match looker {
        "Error" | "ValidationError" => "LookerError".to_string(),
        other => format!("Looker{other}"),
    }
}

fn schema_ref_name(schema: &Value) -> Option<&str> {
    schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
}

/// A schema without what does not describe values (titles, examples,
/// `nullable: false`), with Looker's `$ref`s renamed to ours when `looker`
/// is set.
fn normalized(schema: &Value, looker: bool) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| *key != "title" && *key != "example")
                .filter(|(key, value)| !(*key == "nullable" && **value == Value::Bool(false)))
                .map(|(key, value)| {
                    let value = match (key.as_str(), schema_ref_name(schema)) {
                        ("$ref", Some(name)) if looker => {
                            Value::String(format!("#/components/schemas/{}", our_schema_name(name)))
                        }
                        _ => normalized(value, looker),
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| normalized(v, looker)).collect()),
        other => other.clone(),
    }
}

fn operations(spec: &Value, prefix: &str) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if operation.get("operationId").is_some() {
                found.push((format!("{prefix}{path}"), method.clone(), operation.clone()));
            }
        }
    }
    found
}

/// Every difference between Looker's operations and schemas and ours.
fn differences(looker: &Value, ours: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ours_ops = operations(ours, "");
    for (path, method, theirs) in operations(looker, PREFIX) {
        let id = theirs["operationId"].as_str().unwrap().to_string();
        let Some((_, _, mine)) = ours_ops.iter().find(|(p, m, _)| *p == path && *m == method)
        else {
            found.insert(format!("{id}: no {method} {path}"));
            continue;
        };
        if mine["operationId"] != theirs["operationId"] {
            found.insert(format!("{id}: operation id {}", mine["operationId"]));
        }
        if mine["summary"] != theirs["summary"] {
            found.insert(format!("{id}: summary {}", mine["summary"]));
        }
        let their_tag = theirs["tags"][0].as_str().unwrap_or_default();
        let my_tag = mine["tags"][0].as_str().unwrap_or_default();
        if their_tag != my_tag {
            found.insert(format!("{id}: tag {my_tag}, not {their_tag}"));
        }
        compare_parameters(&id, &theirs, mine, &mut found);
        compare_request_body(&id, &theirs, mine, &mut found);
        compare_responses(&id, &theirs, mine, &mut found);
    }
    for (name, theirs) in looker["components"]["schemas"].as_object().unwrap() {
        let our_name = our_schema_name(name);
        if our_name != *name {
            found.insert(format!("schema {name} is named {our_name}"));
        }
        let Some(mine) = ours["components"]["schemas"].get(&our_name) else {
            found.insert(format!("schema {name}: missing"));
            continue;
        };
        compare_schema(name, theirs, mine, &mut found);
    }
    found
}

fn compare_parameters(id: &str, theirs: &Value, mine: &Value, found: &mut BTreeSet<String>) {
    let empty = Vec::new();
    let key = |p: &Value| {
        (
            p["name"].as_str().unwrap().to_string(),
            p["in"].as_str().unwrap().to_string(),
        )
    };
    let their_params = theirs["parameters"].as_array().unwrap_or(&empty);
    let my_params = mine["parameters"].as_array().unwrap_or(&empty);
    for theirs in their_params {
        let (name, location) = key(theirs);
        let Some(mine) = my_params
            .iter()
            .find(|p| key(p) == (name.clone(), location.clone()))
        else {
            found.insert(format!("{id}: no {location} parameter {name}"));
            continue;
        };
        for field in ["required", "description"] {
            let their_value = theirs.get(field).cloned().unwrap_or(Value::Bool(false));
            let my_value = mine.get(field).cloned().unwrap_or(Value::Bool(false));
            if their_value != my_value {
                found.insert(format!(
                    "{id}: parameter {name} {field} is {my_value}, not {their_value}"
                ));
            }
        }
        if normalized(&theirs["schema"], true) != normalized(&mine["schema"], false) {
            found.insert(format!(
                "{id}: parameter {name} schema is {}",
                mine["schema"]
            ));
        }
    }
    for mine in my_params {
        let (name, location) = key(mine);
        if !their_params
            .iter()
            .any(|p| key(p) == (name.clone(), location.clone()))
        {
            found.insert(format!("{id}: extra {location} parameter {name}"));
        }
    }
}

fn compare_request_body(id: &str, theirs: &Value, mine: &Value, found: &mut BTreeSet<String>) {
    match (theirs.get("requestBody"), mine.get("requestBody")) {
        (None, None) => {}
        (Some(_), None) => {
            found.insert(format!("{id}: no request body"));
        }
        (None, Some(_)) => {
            found.insert(format!("{id}: an extra request body"));
        }
        (Some(theirs), Some(mine)) => {
            if theirs
                .get("required")
                .cloned()
                .unwrap_or(Value::Bool(false))
                != mine.get("required").cloned().unwrap_or(Value::Bool(false))
            {
                found.insert(format!("{id}: the request body is required"));
            }
            let mut mine_content = normalized(&mine["content"], false);
            for media in mine_content
                .as_object_mut()
                .into_iter()
                .flat_map(|c| c.values_mut())
            {
                let schema = &mut media["schema"];
                let declared = schema.as_object_mut().and_then(|s| s.remove("properties"));
                if let Some(Value::Object(properties)) = declared {
                    let names: Vec<&str> = properties.keys().map(String::as_str).collect();
                    found.insert(format!(
                        "{id}: the request body declares {}",
                        names.join(", ")
                    ));
                }
            }
            if normalized(&theirs["content"], true) != mine_content {
                found.insert(format!("{id}: request body content is {}", mine["content"]));
            }
        }
    }
}

fn compare_responses(id: &str, theirs: &Value, mine: &Value, found: &mut BTreeSet<String>) {
    let mine = mine["responses"].as_object().unwrap();
    let theirs = theirs["responses"].as_object().unwrap();
    for (status, response) in theirs {
        let Some(my_response) = mine.get(status) else {
            found.insert(format!("{id}: no {status} response"));
            continue;
        };
        if status.starts_with('2') {
            match (response.get("content"), my_response.get("content")) {
                (Some(_), None) => {
                    found.insert(format!("{id}: {status} is declared without content"));
                }
                (theirs, mine)
                    if theirs.map(|c| normalized(c, true))
                        != mine.map(|c| normalized(c, false)) =>
                {
                    found.insert(format!("{id}: {status} content differs: {mine:?}"));
                }
                _ => {}
            }
            continue;
        }
        // Looker's error responses are `Error` (or `ValidationError`): ours
        // are the `LookerError` schema, one response per status.
        let expected = format!("#/components/responses/LookerError{status}");
        if my_response["$ref"].as_str() != Some(expected.as_str()) {
            found.insert(format!(
                "{id}: {status} is not a LookerError: {my_response}"
            ));
        }
    }
    let extra: Vec<&str> = mine
        .keys()
        .filter(|status| !theirs.contains_key(*status))
        .map(String::as_str)
        .collect();
    if !extra.is_empty() {
        found.insert(format!("{id}: also declares {}", extra.join("/")));
    }
}

fn compare_schema(name: &str, theirs: &Value, mine: &Value, found: &mut BTreeSet<String>) {
    let required = |schema: &Value| -> BTreeSet<String> {
        schema["required"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    if required(theirs) != required(mine) {
        found.insert(format!(
            "schema {name}: required {:?}, not {:?}",
            required(mine),
            required(theirs)
        ));
    }
    let their_props = theirs["properties"].as_object().unwrap();
    let my_props = mine["properties"].as_object().unwrap();
    for (property, their_schema) in their_props {
        let Some(my_schema) = my_props.get(property) else {
            found.insert(format!("schema {name}: no property {property}"));
            continue;
        };
        let theirs = normalized(their_schema, true);
        let mine = normalized(my_schema, false);
        let keys: BTreeSet<&String> = theirs
            .as_object()
            .unwrap()
            .keys()
            .chain(mine.as_object().unwrap().keys())
            .collect();
        for key in keys {
            if theirs.get(key) != mine.get(key) {
                found.insert(format!(
                    "schema {name}: property {property} {key} is {:?}, not {:?}",
                    mine.get(key),
                    theirs.get(key)
                ));
            }
        }
    }
    // ValidationError's properties are a superset of Error's: compare
    // LookerError's extras against Error only.
    for property in my_props.keys() {
        if !their_props.contains_key(property) {
            found.insert(format!("schema {name}: extra property {property}"));
        }
    }
}

pub(super) fn the_published_looker_section_matches_lookers_spec() {
    let root = workspace_root();
    let looker = load(
        &root
            .join("tests")
            .join("upstream")
            .join("looker-4.0-sessions.json"),
    );
    let ours = load(&root.join("openapi").join("login-sessions.json"));
    let found = differences(&looker, &ours);
    let known: BTreeSet<String> = KNOWN_DIFFERENCES.iter().map(|d| d.to_string()).collect();
    let unexpected: Vec<&String> = found.difference(&known).collect();
    let gone: Vec<&String> = known.difference(&found).collect();
    assert!(
        unexpected.is_empty() && gone.is_empty(),
        "the Looker section of the spec differs from Looker's:\n  new differences: {unexpected:#?}\n  \
         known differences no longer found (remove them here and in docs/dialects/looker.md): {gone:#?}"
    );
}

pub(super) fn the_comparison_notices_a_changed_field() {
    let root = workspace_root();
    let looker = load(
        &root
            .join("tests")
            .join("upstream")
            .join("looker-4.0-sessions.json"),
    );
    let mut ours = load(&root.join("openapi").join("login-sessions.json"));
    let baseline = differences(&looker, &ours);
    ours["components"]["schemas"]["LookerSession"]["properties"]["extended_count"]["format"] =
        Value::String("int32".into());
    ours["components"]["schemas"]["LookerSession"]["properties"]["id"]["nullable"] =
        Value::Bool(true);
    let params = ours["paths"]["/api/4.0/users/{user_id}/sessions"]["get"]["parameters"]
        .as_array_mut()
        .unwrap();
    params.retain(|p| p["name"] != "fields");
    ours["paths"]["/api/4.0/users/{user_id}/sessions/{session_id}"]["get"]["responses"]
        .as_object_mut()
        .unwrap()
        .remove("404");
    let changed = differences(&looker, &ours);
    let new: Vec<&String> = changed.difference(&baseline).collect();
    assert_eq!(
        new,
        [
            "all_user_sessions: no query parameter fields",
            "schema Session: property extended_count format is Some(String(\"int32\")), not Some(String(\"int64\"))",
            "schema Session: property id nullable is Some(Bool(true)), not None",
            "user_session: no 404 response",
        ]
    );
}
