//! Each operation's error statuses, in its dialect's error shape, and the
//! response headers every client can rely on.
//!
//! Dropshot declares every error as the ranges `4XX` and `5XX`, so no
//! consumer could see that Looker answers 404 or 429, or Prefactor 422.
//! This transform replaces the ranges with the statuses each operation
//! really answers: those every operation of its dialect can answer
//! ([`Dialect::every_operation`]) plus its own ([`OPERATION_ERRORS`]). Each
//! status is one response under `components.responses`
//! (`<ErrorSchema><status>`, e.g. `LookerError404`) with a description, the
//! dialect's error schema and a realistic example.
//!
//! Every response, success or error, carries `X-Request-Id` (32 lowercase
//! hex digits, the id the server logs the request under); a 429 and a 503
//! also carry `Retry-After`.
//!
//! When an operation answers a new status, add it to its line in
//! [`OPERATION_ERRORS`]: the contract tests fail on a status the document
//! does not declare.

use serde_json::{Map, Value, json};

use super::{DocumentError, components_section, operation_id, operation_tag, operations, shape};

/// How one dialect answers errors.
pub struct Dialect {
    /// The dialect's tag.
    pub tag: &'static str,
    /// The error schema under `components.schemas`.
    pub schema: &'static str,
    /// Statuses any operation of the dialect may answer.
    pub every_operation: &'static [u16],
    /// An example error body for a status.
    pub example: fn(u16) -> Value,
}

/// Every dialect. One line per dialect.
pub const DIALECTS: &[Dialect] = &[
    Dialect {
        tag: "testing",
        schema: "NativeError",
        every_operation: &[400, 401, 403, 404, 500, 503],
        example: native_example,
    },
    Dialect {
        tag: "native",
        schema: "NativeError",
        every_operation: &[400, 401, 403, 429, 500, 503],
        example: native_example,
    },
    Dialect {
        tag: "looker",
        schema: "LookerError",
        every_operation: &[400, 401, 429, 500, 503],
        example: looker_example,
    },
    Dialect {
        tag: "prefactor",
        schema: "PrefactorError",
        every_operation: &[400, 401, 403, 429, 500, 503],
        example: prefactor_example,
    },
    Dialect {
        tag: "huawei",
        schema: "HuaweiError",
        every_operation: &[400, 401, 403, 429, 500, 503],
        example: huawei_example,
    },
];

/// The statuses of each operation beyond its dialect's
/// [`Dialect::every_operation`]. Every published operation has a line.
pub const OPERATION_ERRORS: &[(&str, &[u16])] = &[
    ("session_create", &[413]),
    ("session_view", &[404]),
    ("session_list", &[]),
    ("session_interaction_create", &[404, 409, 413]),
    ("session_extend", &[404, 409, 413]),
    ("session_authenticate", &[404, 409, 413]),
    ("session_logout", &[404, 409]),
    ("session_revoke", &[404, 409]),
    ("user_sessions_revoke", &[404, 413]),
    ("fetch_session", &[404]),
    ("list_pool_sessions", &[422]),
    ("revoke_session", &[404, 409]),
    ("ListSessions", &[]),
    ("BatchDeleteSessions", &[413]),
    ("user_session", &[403, 404]),
    ("all_user_sessions", &[403, 404]),
    ("delete_user_session", &[403, 404]),
    ("login", &[404]),
    ("login_user", &[403, 404]),
    ("logout", &[404]),
    ("testing_clock_view", &[]),
    ("testing_clock_advance", &[413]),
    ("testing_reset", &[]),
    ("testing_fault_create", &[413]),
    ("testing_fault_list", &[]),
    ("testing_faults_clear", &[]),
    ("testing_journal_view", &[]),
    ("testing_journal_clear", &[]),
];

/// Operations whose dialect-wide statuses do not all apply: `login` takes
/// no authentication, so it is never 401.
const NOT_ANSWERED: &[(&str, &[u16])] = &[("login", &[401])];

/// The request id of every example.
pub const EXAMPLE_REQUEST_ID: &str = "4f1a9c0e2b7d4e8fa3c6b5d2e1f09a87";

/// The documentation base of Looker examples.
const EXAMPLE_DOCS_URL: &str = "https://sessions.example.com/docs/";

/// Replaces every operation's error ranges with its statuses, and adds the
/// headers. Applying it twice changes nothing.
pub fn apply(document: &mut Value) -> Result<(), DocumentError> {
    let mut used = Vec::new();
    for operation in operations(document)? {
        let id = operation_id(operation)?.to_string();
        let dialect = dialect_of(operation_tag(operation)?)?;
        let statuses = statuses_of(&id, dialect)?;
        let responses = operation
            .get_mut("responses")
            .and_then(Value::as_object_mut)
            .ok_or_else(|| shape(format!("operation `{id}` has no responses")))?;
        responses.retain(|key, _| !key.ends_with("XX"));
        for response in responses.values_mut() {
            add_request_id_header(response);
        }
        for status in statuses {
            let name = format!("{}{status}", dialect.schema);
            responses.insert(
                status.to_string(),
                json!({ "$ref": format!("#/components/responses/{name}") }),
            );
            used.push((name, dialect, status));
        }
    }
    let components = components_section(document, "responses")?;
    components.clear();
    for (name, dialect, status) in used {
        components.insert(name, error_response(dialect, status));
    }
    let headers = components_section(document, "headers")?;
    headers.insert("X-Request-Id".to_string(), request_id_header());
    headers.insert("Retry-After".to_string(), retry_after_header());
    Ok(())
}

/// The dialect with `tag`.
fn dialect_of(tag: &str) -> Result<&'static Dialect, DocumentError> {
    DIALECTS
        .iter()
        .find(|dialect| dialect.tag == tag)
        .ok_or_else(|| {
            shape(format!(
                "tag `{tag}` has no line in DIALECTS (server/api/src/document/responses.rs)"
            ))
        })
}

/// The error statuses of operation `id`, in order.
fn statuses_of(id: &str, dialect: &Dialect) -> Result<Vec<u16>, DocumentError> {
    let own = OPERATION_ERRORS
        .iter()
        .find(|(operation, _)| *operation == id)
        .map(|(_, statuses)| *statuses)
        .ok_or_else(|| {
            shape(format!(
                "operation `{id}` has no line in OPERATION_ERRORS \
                 (server/api/src/document/responses.rs): say which errors it answers"
            ))
        })?;
    let excluded = NOT_ANSWERED
        .iter()
        .find(|(operation, _)| *operation == id)
        .map(|(_, statuses)| *statuses)
        .unwrap_or_default();
    let mut statuses: Vec<u16> = dialect
        .every_operation
        .iter()
        .chain(own)
        .copied()
        .filter(|status| !excluded.contains(status))
        .collect();
    statuses.sort_unstable();
    statuses.dedup();
    Ok(statuses)
}

/// Adds the `X-Request-Id` header to an inline response.
fn add_request_id_header(response: &mut Value) {
    let Some(response) = response.as_object_mut() else {
        return;
    };
    if response.contains_key("$ref") {
        return;
    }
    let headers = response
        .entry("headers")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(headers) = headers.as_object_mut() {
        headers.insert(
            "X-Request-Id".to_string(),
            json!({ "$ref": "#/components/headers/X-Request-Id" }),
        );
    }
}

/// The response a dialect answers `status` with.
fn error_response(dialect: &Dialect, status: u16) -> Value {
    let mut headers = Map::new();
    headers.insert(
        "X-Request-Id".to_string(),
        json!({ "$ref": "#/components/headers/X-Request-Id" }),
    );
    if status == 429 || status == 503 {
        headers.insert(
            "Retry-After".to_string(),
            json!({ "$ref": "#/components/headers/Retry-After" }),
        );
    }
    json!({
        "description": status_description(status),
        "headers": headers,
        "content": {
            "application/json": {
                "schema": { "$ref": format!("#/components/schemas/{}", dialect.schema) },
                "example": (dialect.example)(status),
            }
        }
    })
}

/// The `X-Request-Id` header object.
fn request_id_header() -> Value {
    json!({
        "description": "The id of the request: 32 lowercase hexadecimal digits, as the server \
            logs it. An error body's `request_id` (native, Huawei) is the same value.",
        "required": true,
        "schema": { "type": "string", "pattern": "^[0-9a-f]{32}$" },
        "example": EXAMPLE_REQUEST_ID,
    })
}

/// The `Retry-After` header object.
fn retry_after_header() -> Value {
    json!({
        "description": "Seconds to wait before trying again: until the credential's rate limit \
            admits another request (429), or before the store is likely to answer again (503).",
        "required": true,
        "schema": { "type": "integer", "minimum": 1 },
        "example": 2,
    })
}

/// What a status means, whatever the dialect.
fn status_description(status: u16) -> &'static str {
    match status {
        400 => "Bad request: the request is malformed or a value is out of bounds.",
        401 => {
            "Unauthenticated: no credentials, or credentials that are not valid \
            (unknown, expired or revoked)."
        }
        403 => "Forbidden: the credential may not do this.",
        404 => "Not found: no such resource visible to this credential.",
        409 => "Conflict: the session's state does not allow this.",
        413 => "Payload too large: the request body is over the limit.",
        415 => "Unsupported media type: the body is not JSON.",
        422 => "Unprocessable: well-formed values the operation does not accept.",
        429 => {
            "Too many requests: the credential's rate limit is exhausted; retry after \
            `Retry-After` seconds."
        }
        500 => "Internal error: the server failed; the request id identifies it in the logs.",
        503 => {
            "Unavailable: the store cannot answer or write now (unreachable, busy, out of \
            space, read-only); retry after `Retry-After` seconds."
        }
        _ => "Error.",
    }
}

/// A native error body.
fn native_example(status: u16) -> Value {
    let (code, message) = match status {
        400 => (
            "InvalidRequest",
            "session_id must be a session id: 32 lowercase Crockford base32 characters",
        ),
        401 => ("Unauthenticated", "missing or invalid credentials"),
        403 => (
            "Forbidden",
            "this credential may not act in identity store globex",
        ),
        404 => ("NotFound", "no such session"),
        409 => ("Conflict", "the session has already ended"),
        413 => (
            "PayloadTooLarge",
            "request body exceeded maximum size of 1024 bytes",
        ),
        415 => (
            "UnsupportedMediaType",
            "expected content type \"application/json\"",
        ),
        429 => ("TooManyRequests", "rate limit exceeded: retry in 2 s"),
        503 => ("Unavailable", "the store is unavailable"),
        _ => ("Internal", "internal error"),
    };
    json!({ "error_code": code, "message": message, "request_id": EXAMPLE_REQUEST_ID })
}

/// A Looker error body.
fn looker_example(status: u16) -> Value {
    let message = match status {
        400 => "Bad Request",
        401 => "Requires authentication.",
        403 => "Permission Denied",
        404 => "Not found",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Internal server error",
    };
    json!({
        "message": message,
        "documentation_url": format!("{EXAMPLE_DOCS_URL}looker/errors#{status}"),
    })
}

/// A Prefactor error body.
fn prefactor_example(status: u16) -> Value {
    let (code, message) = match status {
        400 => ("invalid_value", "session_id is not a valid PFID"),
        401 => ("bad_authtoken", "the API token is not valid"),
        403 => ("not_permitted", "not permitted"),
        404 => ("not_found", "no such session"),
        409 => ("invalid_action", "the session has already ended"),
        422 => (
            "validation_errors",
            "pagination[page_size] must be between 1 and 100",
        ),
        429 => ("unknown", "rate limit exceeded: retry in 2 s"),
        503 => ("unknown", "the store is unavailable"),
        _ => ("unknown", "internal error"),
    };
    json!({ "status": "error", "code": code, "message": message })
}

/// A Huawei error body.
fn huawei_example(status: u16) -> Value {
    let (code, message) = match status {
        400 => ("IIC.400", "Bad request: session_ids must hold 1 to 100 IDs"),
        401 => (
            "APIGW.0301",
            "Incorrect IAM authentication information: verify aksk signature fail",
        ),
        403 => ("IIC.1000", "No permission to perform this operation"),
        413 => ("APIGW.0201", "Request body too large"),
        429 => ("APIGW.0308", "The throttling threshold has been reached"),
        503 => ("IIC.503", "The service is unavailable"),
        _ => ("IIC.500", "Internal error"),
    };
    json!({ "error_code": code, "error_msg": message, "request_id": EXAMPLE_REQUEST_ID })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> Value {
        json!({
            "openapi": "3.0.3",
            "info": { "title": "t", "version": "1.0.0" },
            "paths": {
                "/x": {
                    "get": {
                        "operationId": "user_session",
                        "tags": ["looker"],
                        "responses": {
                            "200": { "description": "ok" },
                            "4XX": { "$ref": "#/components/responses/LookerError" },
                            "5XX": { "$ref": "#/components/responses/LookerError" },
                        },
                    },
                    "post": {
                        "operationId": "login",
                        "tags": ["looker"],
                        "responses": { "200": { "description": "ok" } },
                    },
                },
            },
            "components": { "responses": { "LookerError": { "description": "LookerError" } } },
        })
    }

    #[test]
    fn ranges_become_the_operations_statuses() {
        let mut doc = document();
        apply(&mut doc).unwrap();
        let responses = doc["paths"]["/x"]["get"]["responses"].as_object().unwrap();
        let keys: Vec<&str> = responses.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["200", "400", "401", "403", "404", "429", "500", "503"]
        );
        assert_eq!(
            responses["404"],
            json!({ "$ref": "#/components/responses/LookerError404" })
        );
    }

    #[test]
    fn an_unauthenticated_operation_is_never_401() {
        let mut doc = document();
        apply(&mut doc).unwrap();
        let responses = doc["paths"]["/x"]["post"]["responses"].as_object().unwrap();
        assert!(!responses.contains_key("401"));
        assert!(responses.contains_key("404"));
    }

    #[test]
    fn each_status_is_a_component_with_the_dialects_schema_and_example() {
        let mut doc = document();
        apply(&mut doc).unwrap();
        let responses = doc["components"]["responses"].as_object().unwrap();
        assert!(
            !responses.contains_key("LookerError"),
            "the unused range response stays"
        );
        let not_found = &responses["LookerError404"];
        let content = &not_found["content"]["application/json"];
        assert_eq!(
            content["schema"]["$ref"],
            "#/components/schemas/LookerError"
        );
        assert_eq!(content["example"]["message"], "Not found");
        assert!(not_found["headers"]["X-Request-Id"].is_object());
        assert!(not_found["headers"].get("Retry-After").is_none());
        assert!(responses["LookerError429"]["headers"]["Retry-After"].is_object());
    }

    #[test]
    fn success_responses_carry_the_request_id() {
        let mut doc = document();
        apply(&mut doc).unwrap();
        assert_eq!(
            doc["paths"]["/x"]["get"]["responses"]["200"]["headers"]["X-Request-Id"]["$ref"],
            "#/components/headers/X-Request-Id"
        );
        assert_eq!(
            doc["components"]["headers"]["X-Request-Id"]["required"],
            true
        );
    }

    #[test]
    fn an_operation_without_a_line_is_an_error() {
        let mut doc = document();
        doc["paths"]["/x"]["get"]["operationId"] = json!("whoami");
        let error = apply(&mut doc).unwrap_err().to_string();
        assert!(error.contains("`whoami`"), "{error}");
    }

    #[test]
    fn applying_twice_changes_nothing() {
        let mut once = document();
        apply(&mut once).unwrap();
        let mut twice = once.clone();
        apply(&mut twice).unwrap();
        assert_eq!(once, twice);
    }
}
