//! An example on every request and response body: values a reader can
//! copy, as the server really writes them (session ids are PFIDs, Looker
//! times are Looker's timestamps, Prefactor and Huawei times are Unix
//! seconds).
//!
//! Examples are set on each media type, from [`SCHEMA_EXAMPLES`] by the
//! body's schema (an array of a schema gets a one-item array), so every
//! operation shows its own. Error bodies get theirs from
//! [`super::responses`]. Every example is checked against its Rust type in
//! this module's tests, and against its schema by the linters the test
//! suite runs.

use serde_json::{Map, Value, json};

use super::responses::EXAMPLE_REQUEST_ID;
use super::{DocumentError, operation_id, operations};

/// A session id (a PFID) the examples share.
pub const SESSION_ID: &str = "01m978kvne12pcxd32wpte3r2dxdp6xr";
/// A second session id.
pub const OTHER_SESSION_ID: &str = "01m978kmdq12pcxdcn932t1vnxdcq97q";
/// A browser's user agent.
const USER_AGENT: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 \
    (KHTML, like Gecko) Version/17.4 Safari/605.1.15";

/// The example of each body schema, by schema name.
pub fn schema_example(name: &str) -> Option<Value> {
    SCHEMA_EXAMPLES
        .iter()
        .find(|(schema, _)| *schema == name)
        .map(|(_, example)| example())
}

/// A named example: a schema's or an operation's, and how to make it.
pub type NamedExample = (&'static str, fn() -> Value);

/// Every body schema with an example.
pub const SCHEMA_EXAMPLES: &[NamedExample] = &[
    ("Session", session),
    ("SessionResultsPage", session_results_page),
    ("SessionCreate", session_create),
    ("InteractionCreate", interaction_create),
    ("SessionExtend", session_extend),
    ("SessionAuthenticate", session_authenticate),
    ("UserSessionsRevoke", user_sessions_revoke),
    ("UserSessionsRevoked", user_sessions_revoked),
    ("Session_FetchResponse", prefactor_fetch_response),
    ("Session_ListResponse", prefactor_list_response),
    ("ListSessionsResponse", huawei_list_sessions),
    ("BatchDeleteSessionsReqBody", huawei_batch_delete),
    ("BatchDeleteSessionsResponse", || json!({})),
    ("LookerSession", looker_session),
    ("LookerAccessToken", looker_access_token),
    ("ClockNow", || json!({"now": "2030-01-15T10:00:01.250Z"})),
    ("ClockAdvance", || json!({"seconds": 3600})),
    (
        "FaultCreate",
        || json!({"dialect": "looker", "operation": "all_user_sessions", "status": 429, "count": 1, "delay_ms": 0}),
    ),
    (
        "Fault",
        || json!({"dialect": "looker", "operation": "all_user_sessions", "status": 429, "remaining": 1, "delay_ms": 0}),
    ),
    (
        "FaultList",
        || json!({"items": [{"dialect": "huawei", "operation": "*", "status": 503, "remaining": 2, "delay_ms": 100}]}),
    ),
    ("JournalPage", || {
        json!({"items": [{
            "at": "2030-01-15T09:00:02.118Z",
            "method": "GET",
            "path": "/api/4.0/users/42/sessions",
            "dialect": "looker",
            "operation_id": "all_user_sessions",
            "status": 200,
            "credential_id": "01q3dcbd00hv1h228fftgr2fjca6q40t",
            "request_id": EXAMPLE_REQUEST_ID,
        }]})
    }),
];

/// Operations whose body schema is inline rather than named: their
/// request body's example, by operation id.
const INLINE_REQUEST_EXAMPLES: &[NamedExample] = &[("login", looker_login)];

/// Sets the example of every request and response body that has one.
/// Applying it twice changes nothing.
pub fn apply(document: &mut Value) -> Result<(), DocumentError> {
    for operation in operations(document)? {
        let id = operation_id(operation)?.to_string();
        let inline = INLINE_REQUEST_EXAMPLES
            .iter()
            .find(|(operation, _)| *operation == id)
            .map(|(_, example)| example());
        if let Some(body) = operation.get_mut("requestBody") {
            for media in media_types(body) {
                if let Some(example) = inline.clone().or_else(|| example_for(media)) {
                    media.insert("example".to_string(), example);
                }
            }
        }
        if let Some(Value::Object(responses)) = operation.get_mut("responses") {
            for response in responses.values_mut() {
                for media in media_types(response) {
                    if let Some(example) = example_for(media) {
                        media.insert("example".to_string(), example);
                    }
                }
            }
        }
    }
    Ok(())
}

/// The media type objects of an inline request body or response.
fn media_types(body: &mut Value) -> Vec<&mut Map<String, Value>> {
    match body.get_mut("content") {
        Some(Value::Object(content)) => content
            .values_mut()
            .filter_map(Value::as_object_mut)
            .collect(),
        _ => Vec::new(),
    }
}

/// The example of a media type, from its schema.
fn example_for(media: &Map<String, Value>) -> Option<Value> {
    let schema = media.get("schema")?;
    if let Some(name) = referenced_schema(schema) {
        return schema_example(name);
    }
    if schema.get("type").and_then(Value::as_str) == Some("array") {
        let item = referenced_schema(schema.get("items")?)?;
        return schema_example(item).map(|example| json!([example]));
    }
    None
}

/// The name of the schema `schema` refers to.
fn referenced_schema(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")?
        .as_str()?
        .strip_prefix("#/components/schemas/")
}

fn session() -> Value {
    json!({
        "id": SESSION_ID,
        "identity_store_id": "acme",
        "user_id": "42",
        "status": "authenticated",
        "live": true,
        "end_reason": null,
        "ended_at": null,
        "session_type": "browser",
        "credentials_type": "email",
        "created_at": "2026-12-07T09:26:32.110Z",
        "expires_at": "2026-12-08T09:26:32.110Z",
        "extended_at": null,
        "extended_count": 0,
        "first_seen": { "at": "2026-12-07T09:26:32.110Z", "ip_address": "203.0.113.9", "user_agent": USER_AGENT },
        "last_seen": { "at": "2026-12-07T09:41:05.870Z", "ip_address": "203.0.113.9", "user_agent": USER_AGENT },
        "browser": "Safari",
        "operating_system": "Mac OS X 10.15.7",
        "city": "Amsterdam",
        "state": "North Holland",
        "country": "Netherlands",
        "sudo_user_id": null,
        "account_id": null,
        "domain_id": null,
        "device_id": null,
        "title": "Acme console",
    })
}

fn session_results_page() -> Value {
    json!({
        "items": [session()],
        "next_page": "eyJ2IjoidjEiLCJwYWdlX3N0YXJ0Ijp7Imxhc3RfaWQiOiIwMW05Nzhrdm5lMTJwY3hkMzJ3cHRlM3IyZHhkcDZ4ciJ9fQ",
    })
}

fn session_create() -> Value {
    json!({
        "identity_store_id": "acme",
        "user_id": "42",
        "ip_address": "203.0.113.9",
        "user_agent": USER_AGENT,
        "credentials_type": "email",
        "title": "Acme console",
        "ttl_seconds": 86400,
    })
}

fn interaction_create() -> Value {
    json!({ "ip_address": "203.0.113.9", "user_agent": USER_AGENT })
}

fn session_extend() -> Value {
    json!({ "ttl_seconds": 86400 })
}

fn session_authenticate() -> Value {
    json!({ "user_id": "42", "credentials_type": "saml" })
}

fn user_sessions_revoke() -> Value {
    json!({ "identity_store_id": "acme", "except_session_id": SESSION_ID })
}

fn user_sessions_revoked() -> Value {
    json!({ "revoked_session_ids": [OTHER_SESSION_ID] })
}

fn prefactor_summary() -> Value {
    json!({
        "type": "session",
        "id": SESSION_ID,
        "pool_id": "acme",
        "authenticated_identity_id": "42",
        "status": "authenticated",
        "session_type": "browser",
        "title": "Acme console",
        "account_id": null,
        "domain_id": null,
        "device_id": null,
        "first_seen": { "at": 1796635592, "remote_ip": "203.0.113.9", "user_agent": USER_AGENT },
        "last_seen": { "at": 1796636465, "remote_ip": "203.0.113.9", "user_agent": USER_AGENT },
    })
}

fn prefactor_fetch_response() -> Value {
    json!({ "status": "success", "actions": { "revoke": true }, "summary": prefactor_summary() })
}

fn prefactor_list_response() -> Value {
    json!({
        "status": "success",
        "summaries": [prefactor_summary()],
        "pagination": {
            "item_count": 11,
            "item_start": 1,
            "item_end": 1,
            "page_count": 11,
            "page_index": 1,
            "page_offset": 0,
            "page_size": 1,
            "next_page_offset": 1,
            "previous_page_offset": null,
        },
        "sorting": { "field": "id", "direction": "desc" },
    })
}

fn huawei_list_sessions() -> Value {
    json!({
        "session_list": [{
            "session_id": SESSION_ID,
            "user_id": "42",
            "creation_time": 1796635592,
            "session_not_valid_after": 1796721992,
            "ip_address": "203.0.113.9",
            "user_agent": format!("[{USER_AGENT}]"),
        }],
    })
}

fn huawei_batch_delete() -> Value {
    json!({ "session_ids": [SESSION_ID, OTHER_SESSION_ID] })
}

fn looker_session() -> Value {
    json!({
        "id": SESSION_ID,
        "ip_address": "203.0.113.9",
        "browser": "Safari",
        "operating_system": "Mac OS X 10.15.7",
        "city": "Amsterdam",
        "state": "North Holland",
        "country": "Netherlands",
        "credentials_type": "email",
        "extended_at": null,
        "extended_count": 0,
        "sudo_user_id": null,
        "created_at": "2026-12-07T09:26:32.110+00:00",
        "expires_at": "2026-12-08T09:26:32.110+00:00",
        "url": format!("https://sessions.example.com/api/4.0/users/42/sessions/{SESSION_ID}"),
        "can": {},
    })
}

fn looker_access_token() -> Value {
    json!({
        "access_token": "lsa_MRLvNwI4btJX9srEUeoqAzTGZJHpIxF84mWOWJMWa4k",
        "token_type": "Bearer",
        "expires_in": 3600,
    })
}

fn looker_login() -> Value {
    json!({ "client_id": "1FIZRKaUcM5402MEiZVf", "client_secret": "bZ0H3PCQrCHdN1aK904nmBAl" })
}

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    use super::*;
    use crate::{huawei, native, prefactor};

    /// The example reads as `T` and writes back unchanged: it has every
    /// field `T` writes, under the names `T` writes, and no other.
    fn round_trips<T: DeserializeOwned + Serialize>(name: &str) {
        let example = schema_example(name).unwrap();
        let value: T = serde_json::from_value(example.clone())
            .unwrap_or_else(|e| panic!("the {name} example does not read as its type: {e}"));
        assert_eq!(serde_json::to_value(value).unwrap(), example, "{name}");
    }

    #[test]
    fn response_examples_are_what_the_types_write() {
        round_trips::<native::Session>("Session");
        round_trips::<native::UserSessionsRevoked>("UserSessionsRevoked");
        round_trips::<prefactor::SessionFetchResponse>("Session_FetchResponse");
        round_trips::<prefactor::SessionListResponse>("Session_ListResponse");
        round_trips::<huawei::ListSessionsResponse>("ListSessionsResponse");
        round_trips::<huawei::BatchDeleteSessionsResponse>("BatchDeleteSessionsResponse");
        round_trips::<crate::testing::ClockNow>("ClockNow");
        round_trips::<crate::testing::Fault>("Fault");
        round_trips::<crate::testing::FaultList>("FaultList");
        round_trips::<crate::testing::JournalPage>("JournalPage");
    }

    /// Looker's types are written, never read: their examples hold only
    /// properties their schemas declare (the server leaves out an access
    /// token's `refresh_token`).
    #[test]
    fn looker_examples_hold_every_declared_property() {
        let document = crate::document::openapi_document().unwrap();
        for name in ["LookerSession", "LookerAccessToken"] {
            let declared: Vec<&String> = document["components"]["schemas"][name]["properties"]
                .as_object()
                .unwrap()
                .keys()
                .collect();
            let example = schema_example(name).unwrap();
            let given: Vec<&String> = example.as_object().unwrap().keys().collect();
            let undeclared: Vec<_> = given.iter().filter(|key| !declared.contains(key)).collect();
            assert!(undeclared.is_empty(), "{name}: {undeclared:?}");
            assert!(given.len() + 1 >= declared.len(), "{name}: {given:?}");
        }
    }

    /// A request example reads as its type (requests may leave optional
    /// fields out, so they need not write back the same).
    fn reads_as<T: DeserializeOwned>(name: &str) {
        let example = schema_example(name).unwrap();
        if let Err(e) = serde_json::from_value::<T>(example) {
            panic!("the {name} example does not read as its type: {e}");
        }
    }

    #[test]
    fn request_examples_read_as_their_types() {
        reads_as::<native::SessionCreate>("SessionCreate");
        reads_as::<crate::testing::ClockAdvance>("ClockAdvance");
        reads_as::<crate::testing::FaultCreate>("FaultCreate");
        reads_as::<native::InteractionCreate>("InteractionCreate");
        reads_as::<native::SessionExtend>("SessionExtend");
        reads_as::<native::SessionAuthenticate>("SessionAuthenticate");
        reads_as::<native::UserSessionsRevoke>("UserSessionsRevoke");
        reads_as::<huawei::BatchDeleteSessionsReqBody>("BatchDeleteSessionsReqBody");
    }

    #[test]
    fn every_body_of_the_document_has_an_example() {
        let documents = [
            crate::document::openapi_document().unwrap(),
            crate::document::testing_openapi_document().unwrap(),
        ];
        let mut missing = Vec::new();
        for (path, item) in documents
            .iter()
            .flat_map(|d| d["paths"].as_object().unwrap())
        {
            for (method, operation) in item.as_object().unwrap() {
                let bodies = operation
                    .get("requestBody")
                    .into_iter()
                    .chain(operation["responses"].as_object().unwrap().values());
                for body in bodies {
                    let Some(content) = body.get("content").and_then(Value::as_object) else {
                        continue;
                    };
                    for (media_type, media) in content {
                        if media.get("example").is_none() {
                            missing.push(format!("{method} {path} {media_type}"));
                        }
                    }
                }
            }
        }
        assert!(missing.is_empty(), "bodies without an example: {missing:?}");
    }

    #[test]
    fn an_array_of_a_schema_gets_a_one_item_array() {
        let media = json!({ "schema": { "type": "array", "items": { "$ref": "#/components/schemas/LookerSession" } } });
        let example = example_for(media.as_object().unwrap()).unwrap();
        assert_eq!(example, json!([looker_session()]));
    }
}
