//! Validation of HTTP responses against the published OpenAPI document.
//!
//! [`SpecValidator`] reads `openapi/login-sessions.json` (OpenAPI 3.0.3), finds
//! the operation a concrete request was routed to, and checks a response
//! against what that operation declares: the status code, whether there is a
//! body, its media type, and (for JSON) the body against the schema.
//!
//! OpenAPI 3.0 schemas are not quite JSON Schema, so each one is translated
//! into a JSON Schema 2020-12 document first:
//!
//! - every `components.schemas` entry goes under `$defs`, and
//!   `#/components/schemas/X` refs are rewritten to `#/$defs/X`;
//! - `nullable: true` is read with OpenAPI 3.0.3's strict semantics, as
//!   strict validators (`openapi-schema-validator`'s `OAS30Validator`) read
//!   it: it adds `"null"` to the schema's `type` when there is one, and
//!   nothing else — an `enum` without `null` and every composition member
//!   still refuse `null`, and `nullable` without a sibling `type` has no
//!   effect. A nullable reference is therefore written `oneOf: [{"$ref":
//!   ...}, {"enum": [null]}]`;
//! - the validation is strict about undocumented fields: an object schema with
//!   `properties` and no `additionalProperties` is closed with
//!   `additionalProperties: false`. A schema whose properties are spread over a
//!   composition (`allOf` with several members, or `properties` next to
//!   `allOf`/`oneOf`/`anyOf`) is closed with `unevaluatedProperties: false`
//!   instead, and its members are translated *open* (refs to `#/$defs/X:open`,
//!   an unclosed copy of `X`), so that each member does not reject the others'
//!   properties;
//! - the OpenAPI-only keywords `nullable`, `example`, `discriminator`, `xml`,
//!   `externalDocs` and `x-*` extensions are dropped; boolean
//!   `exclusiveMinimum`/`exclusiveMaximum` become the numeric form;
//! - integer formats (`int8` .. `int64`, `uint8` .. `uint64`, `int`, `uint`)
//!   become `minimum`/`maximum` bounds; the string formats `date-time`, `date`,
//!   `uri`, `uri-reference`, `email`, `ipv4`, `ipv6`, `uuid` are checked by the
//!   `jsonschema` crate, and `ip` (either family) is checked here; other formats
//!   are not checked.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use jsonschema::Validator;
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};

/// Where OpenAPI schema refs point.
const SCHEMA_REF_PREFIX: &str = "#/components/schemas/";
/// Where OpenAPI response refs point.
const RESPONSE_REF_PREFIX: &str = "#/components/responses/";
/// Where OpenAPI header refs point.
const HEADER_REF_PREFIX: &str = "#/components/headers/";
/// Suffix of the `$defs` entry holding the unclosed copy of a schema.
const OPEN_SUFFIX: &str = ":open";
/// The HTTP methods a path item may hold operations for.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
/// How much of an offending value or body an error message shows.
const PREVIEW_CHARS: usize = 200;

/// Validates responses against an OpenAPI 3.0 document.
pub struct SpecValidator {
    /// Operations by operation id.
    operations: BTreeMap<String, Operation>,
    /// The component schemas, translated to JSON Schema.
    defs: Map<String, Value>,
}

/// One operation: where it is routed and what it may respond.
struct Operation {
    /// Upper-case HTTP method.
    method: String,
    segments: Vec<Segment>,
    /// Response checks by response key ("200", "4XX", "default").
    responses: BTreeMap<String, ResponseCheck>,
}

/// One segment of a path template.
enum Segment {
    Literal(String),
    /// `{name}`: exactly one non-empty segment.
    Param,
    /// `{name:.*}` (dropshot's wildcard): the rest of the path.
    Rest,
}

/// What one declared response allows.
struct ResponseCheck {
    /// The declared media types; empty when declared without content.
    media: Vec<MediaCheck>,
    /// The headers the response declares `required`, lower-case.
    required_headers: Vec<String>,
}

/// One declared media type of a response.
struct MediaCheck {
    /// Lower-case media type as declared, without parameters (may be a
    /// wildcard like `text/*`).
    media_type: String,
    /// The compiled body schema, for JSON media types.
    schema: Option<Validator>,
}

impl SpecValidator {
    /// Loads `openapi/login-sessions.json` from the workspace root.
    pub fn load() -> SpecValidator {
        let path = spec_path();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("reading the OpenAPI spec {}: {error}", path.display()));
        let spec = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("parsing the OpenAPI spec {}: {error}", path.display()));
        SpecValidator::from_json(spec)
    }

    /// Builds a validator from an OpenAPI 3.0 document, compiling every
    /// response schema up front (panics if one does not compile).
    pub fn from_json(spec: Value) -> SpecValidator {
        let defs = translate_components(&spec);
        let paths = spec
            .get("paths")
            .and_then(Value::as_object)
            .expect("the OpenAPI spec has no `paths` object");
        let mut operations = BTreeMap::new();
        for (template, item) in paths {
            for (method, operation) in item.as_object().into_iter().flatten() {
                if !METHODS.contains(&method.as_str()) {
                    continue;
                }
                let (id, operation) = Operation::compile(&spec, &defs, template, method, operation);
                let previous = operations.insert(id.clone(), operation);
                assert!(previous.is_none(), "operationId {id:?} is used twice");
            }
        }
        SpecValidator { operations, defs }
    }

    /// Validates a JSON body against the component schema `name`
    /// (`#/components/schemas/<name>`), for responses no operation
    /// declares (those the router gives before any handler).
    pub fn validate_component(&self, name: &str, body: &[u8]) -> Result<(), String> {
        assert!(
            self.defs.contains_key(name),
            "the spec has no component schema {name:?}"
        );
        let schema = json!({ "$ref": format!("{SCHEMA_REF_PREFIX}{name}") });
        let context = format!("component {name}");
        check_json(
            &context,
            &compile_schema(&self.defs, &schema, &context),
            body,
        )
    }

    /// The operation id whose method and path template match a concrete
    /// request path (percent-encoded, as sent, without the query).
    ///
    /// Matching follows dropshot: empty segments are ignored, each segment is
    /// percent-decoded before it is compared with a literal, and `{name}`
    /// matches any one segment. When several templates match, the one with
    /// more literal segments (then the one whose first literal comes first)
    /// wins.
    pub fn operation_for(&self, method: &str, path: &str) -> Option<String> {
        let path = path.split_once('?').map_or(path, |(path, _)| path);
        let segments = request_segments(path)?;
        self.operations
            .iter()
            .filter(|(_, operation)| operation.method.eq_ignore_ascii_case(method))
            .filter_map(|(id, operation)| Some((operation.rank(&segments)?, id)))
            .max_by(|(a, _), (b, _)| a.cmp(b))
            .map(|(_, id)| id.clone())
    }

    /// Every operation id in the spec, sorted.
    pub fn operation_ids(&self) -> Vec<String> {
        self.operations.keys().cloned().collect()
    }

    /// Checks that a response of `operation_id` with `status` carries every
    /// header the spec declares `required` for it (`present`: the names of
    /// the headers it carries, any case).
    pub fn validate_headers(
        &self,
        operation_id: &str,
        status: u16,
        present: &[&str],
    ) -> Result<(), String> {
        let response = self.response(operation_id, status)?;
        let missing: Vec<&str> = response
            .required_headers
            .iter()
            .filter(|name| !present.iter().any(|p| p.eq_ignore_ascii_case(name)))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "operation {operation_id}, status {status}: the response lacks the required \
                 header(s) {}",
                missing.join(", ")
            ))
        }
    }

    /// Checks only that the operation declares `status` (for responses that
    /// carry no body by definition, such as those to `HEAD`).
    pub fn validate_status(&self, operation_id: &str, status: u16) -> Result<(), String> {
        self.response(operation_id, status).map(|_| ())
    }

    /// Validates one response of `operation_id`.
    ///
    /// The response object is the one for `status` exactly, else its range
    /// ("4XX"), else "default"; a status the operation does not declare is an
    /// error. A response declared without content must have an empty body.
    /// Otherwise the body must be non-empty, its Content-Type must be one of
    /// the declared media types (parameters such as `charset` are ignored),
    /// and a JSON body must parse and match the schema.
    pub fn validate(
        &self,
        operation_id: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(), String> {
        let response = self.response(operation_id, status)?;
        let context = format!("operation {operation_id}, status {status}");
        response.check(&context, content_type, body)
    }

    /// The declared response for `status`, or an error saying why not.
    fn response(&self, operation_id: &str, status: u16) -> Result<&ResponseCheck, String> {
        let operation = self.operations.get(operation_id).ok_or_else(|| {
            format!("operation {operation_id}: there is no such operation in the spec")
        })?;
        operation.response_for(status).ok_or_else(|| {
            let declared: Vec<&str> = operation.responses.keys().map(String::as_str).collect();
            format!(
                "operation {operation_id}, status {status}: the operation does not declare \
                 this status (declared: {})",
                declared.join(", ")
            )
        })
    }
}

/// The checked-in spec, relative to this crate.
fn spec_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("openapi")
        .join("login-sessions.json")
}

impl Operation {
    /// Compiles the operation at `method` `template`; returns its id.
    fn compile(
        spec: &Value,
        defs: &Map<String, Value>,
        template: &str,
        method: &str,
        operation: &Value,
    ) -> (String, Operation) {
        let id = operation
            .get("operationId")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{method} {template} has no operationId"))
            .to_string();
        let responses = operation
            .get("responses")
            .and_then(Value::as_object)
            .unwrap_or_else(|| panic!("operation {id} has no `responses` object"))
            .iter()
            .map(|(key, response)| {
                let context = format!("operation {id}, response {key}");
                let response = resolve_response(spec, response, &context);
                (
                    response_key(key),
                    ResponseCheck::compile(spec, defs, response, &context),
                )
            })
            .collect();
        let operation = Operation {
            method: method.to_ascii_uppercase(),
            segments: template_segments(template),
            responses,
        };
        (id, operation)
    }

    /// The response declared for `status`: exact, else range, else default.
    fn response_for(&self, status: u16) -> Option<&ResponseCheck> {
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        self.responses
            .get(&exact)
            .or_else(|| self.responses.get(&range))
            .or_else(|| self.responses.get("default"))
    }

    /// How specifically this operation's template matches the request's
    /// (decoded) segments, or `None` if it does not match. Greater is more
    /// specific.
    fn rank(&self, request: &[String]) -> Option<(usize, Vec<u8>)> {
        let mut kinds = Vec::with_capacity(self.segments.len());
        for (index, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Literal(literal) => {
                    if request.get(index) != Some(literal) {
                        return None;
                    }
                    kinds.push(2);
                }
                Segment::Param => {
                    request.get(index)?;
                    kinds.push(1);
                }
                Segment::Rest => {
                    kinds.push(0);
                    return Some((literal_count(&kinds), kinds));
                }
            }
        }
        (request.len() == self.segments.len()).then(|| (literal_count(&kinds), kinds))
    }
}

/// A response key normalised for lookup: "4xx" is "4XX", "Default" is
/// "default".
fn response_key(key: &str) -> String {
    if key.eq_ignore_ascii_case("default") {
        "default".to_string()
    } else {
        key.to_ascii_uppercase()
    }
}

/// How many of a rank's segments are literals.
fn literal_count(kinds: &[u8]) -> usize {
    kinds.iter().filter(|kind| **kind == 2).count()
}

/// The segments of a path template.
fn template_segments(template: &str) -> Vec<Segment> {
    template
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(param) if param.contains(':') => Segment::Rest,
                Some(_) => Segment::Param,
                None => Segment::Literal(segment.to_string()),
            },
        )
        .collect()
}

/// The percent-decoded, non-empty segments of a request path, as dropshot
/// sees them; `None` if dropshot would reject the path.
fn request_segments(path: &str) -> Option<Vec<String>> {
    path.split('/')
        .filter(|segment| !segment.is_empty())
        .map(|segment| match segment {
            "." | ".." => None,
            _ => percent_decode_str(segment)
                .decode_utf8()
                .ok()
                .map(|decoded| decoded.into_owned()),
        })
        .collect()
}

/// Follows `$ref`s to `#/components/responses/...`.
fn resolve_response<'a>(spec: &'a Value, response: &'a Value, context: &str) -> &'a Value {
    let Some(reference) = response.get("$ref").and_then(Value::as_str) else {
        return response;
    };
    let name = reference
        .strip_prefix(RESPONSE_REF_PREFIX)
        .unwrap_or_else(|| panic!("{context}: unsupported response $ref {reference:?}"));
    let target = spec
        .pointer(&format!("/components/responses/{name}"))
        .unwrap_or_else(|| panic!("{context}: dangling response $ref {reference:?}"));
    resolve_response(spec, target, context)
}

/// The names (lower-case) of the headers a response declares `required`,
/// following `$ref`s to `#/components/headers/...`.
fn required_headers(spec: &Value, response: &Value, context: &str) -> Vec<String> {
    let Some(headers) = response.get("headers").and_then(Value::as_object) else {
        return Vec::new();
    };
    headers
        .iter()
        .filter(|(_, header)| {
            let header = match header.get("$ref").and_then(Value::as_str) {
                Some(reference) => {
                    let name = reference
                        .strip_prefix(HEADER_REF_PREFIX)
                        .unwrap_or_else(|| {
                            panic!("{context}: unsupported header $ref {reference:?}")
                        });
                    spec.pointer(&format!("/components/headers/{name}"))
                        .unwrap_or_else(|| panic!("{context}: dangling header $ref {reference:?}"))
                }
                None => header,
            };
            header.get("required") == Some(&Value::Bool(true))
        })
        .map(|(name, _)| name.to_ascii_lowercase())
        .collect()
}

impl ResponseCheck {
    /// Compiles the schemas of a (resolved) response object.
    fn compile(
        spec: &Value,
        defs: &Map<String, Value>,
        response: &Value,
        context: &str,
    ) -> ResponseCheck {
        let media = response
            .get("content")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(media_type, media)| {
                let media_type = media_type_essence(media_type);
                let schema = is_json(&media_type).then(|| {
                    let schema = media.get("schema").cloned().unwrap_or(Value::Bool(true));
                    compile_schema(defs, &schema, &format!("{context}, {media_type}"))
                });
                MediaCheck { media_type, schema }
            })
            .collect();
        let required_headers = required_headers(spec, response, context);
        ResponseCheck {
            media,
            required_headers,
        }
    }

    /// Checks a response body and its Content-Type against this response.
    fn check(&self, context: &str, content_type: Option<&str>, body: &[u8]) -> Result<(), String> {
        if self.media.is_empty() {
            if body.is_empty() {
                return Ok(());
            }
            return Err(format!(
                "{context}: the response is declared without content, but the body has {} \
                 bytes: {}",
                body.len(),
                preview_bytes(body)
            ));
        }
        let declared: Vec<&str> = self.media.iter().map(|m| m.media_type.as_str()).collect();
        let declared = declared.join(", ");
        if body.is_empty() {
            return Err(format!(
                "{context}: the response declares content ({declared}), but the body is empty"
            ));
        }
        let content_type = content_type.ok_or_else(|| {
            format!("{context}: the response has no Content-Type (declared: {declared})")
        })?;
        let essence = media_type_essence(content_type);
        let media = self
            .media
            .iter()
            .find(|media| media_type_matches(&media.media_type, &essence))
            .ok_or_else(|| {
                format!(
                    "{context}: Content-Type {content_type:?} is not a declared media type \
                     (declared: {declared})"
                )
            })?;
        match &media.schema {
            Some(schema) => check_json(context, schema, body),
            None => Ok(()),
        }
    }
}

/// Parses a JSON body and validates it against a compiled schema.
fn check_json(context: &str, schema: &Validator, body: &[u8]) -> Result<(), String> {
    let instance: Value = serde_json::from_slice(body).map_err(|error| {
        format!(
            "{context}: the body is not valid JSON ({error}): {}",
            preview_bytes(body)
        )
    })?;
    let errors: Vec<String> = schema
        .iter_errors(&instance)
        .map(|error| {
            format!(
                "{context}: at JSON pointer {:?}: value {}: {} (schema path {})",
                error.instance_path.as_str(),
                preview(&error.instance.to_string()),
                error,
                error.schema_path
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

/// The lower-case `type/subtype` of a Content-Type value.
fn media_type_essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Whether a declared media type (possibly a wildcard) covers `essence`.
fn media_type_matches(declared: &str, essence: &str) -> bool {
    match declared.strip_suffix("/*") {
        Some("*") => true,
        Some(main_type) => essence.split('/').next() == Some(main_type),
        None => declared == essence,
    }
}

/// Whether a (lower-case) media type is JSON.
fn is_json(media_type: &str) -> bool {
    media_type == "application/json" || media_type.ends_with("+json")
}

/// A body, lossily as text, cut short for messages.
fn preview_bytes(body: &[u8]) -> String {
    preview(&String::from_utf8_lossy(body))
}

/// A string cut short for messages.
fn preview(text: &str) -> String {
    if text.chars().count() <= PREVIEW_CHARS {
        return text.to_string();
    }
    let cut: String = text.chars().take(PREVIEW_CHARS).collect();
    format!("{cut}... ({} bytes in all)", text.len())
}

/// Compiles one response schema into a JSON Schema 2020-12 validator.
fn compile_schema(defs: &Map<String, Value>, schema: &Value, context: &str) -> Validator {
    let document = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": defs,
        "allOf": [translate(schema, false)],
    });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .should_ignore_unknown_formats(true)
        .with_format("ip", |value: &str| value.parse::<IpAddr>().is_ok())
        .build(&document)
        .unwrap_or_else(|error| panic!("{context}: the schema does not compile: {error}"))
}

/// Every `components.schemas` entry, translated, closed (`X`) and open
/// (`X:open`).
fn translate_components(spec: &Value) -> Map<String, Value> {
    let mut defs = Map::new();
    let schemas = spec
        .pointer("/components/schemas")
        .and_then(Value::as_object);
    for (name, schema) in schemas.into_iter().flatten() {
        defs.insert(name.clone(), translate(schema, false));
        defs.insert(format!("{name}{OPEN_SUFFIX}"), translate(schema, true));
    }
    defs
}

/// Translates an OpenAPI 3.0 schema into JSON Schema 2020-12 (see the module
/// documentation). An `open` schema is not closed against unknown properties,
/// because it is a member of a composition that is closed as a whole.
fn translate(schema: &Value, open: bool) -> Value {
    let Some(map) = schema.as_object() else {
        return schema.clone();
    };
    let composing = is_composing(map);
    let mut out = Map::new();
    for (key, value) in map {
        if is_dropped_keyword(key) {
            continue;
        }
        let translated = match key.as_str() {
            "$ref" => Value::String(translate_ref(value, open)),
            "properties" => translate_properties(value),
            "items" | "not" | "additionalProperties" => translate(value, false),
            "allOf" | "oneOf" | "anyOf" => translate_members(value, open || composing),
            _ => value.clone(),
        };
        out.insert(key.clone(), translated);
    }
    convert_exclusive_bounds(&mut out);
    add_integer_bounds(&mut out);
    if !open {
        close(&mut out, composing);
    }
    if map.get("nullable") == Some(&Value::Bool(true)) {
        make_nullable(out)
    } else {
        Value::Object(out)
    }
}

/// Whether a schema's properties are spread over itself and its composition
/// members, so that it must be closed as a whole.
fn is_composing(map: &Map<String, Value>) -> bool {
    let all_of_len = map
        .get("allOf")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let composed = ["allOf", "oneOf", "anyOf"]
        .iter()
        .any(|key| map.contains_key(*key));
    all_of_len > 1 || (map.contains_key("properties") && composed)
}

/// OpenAPI-only keywords that JSON Schema would misread or ignore.
fn is_dropped_keyword(key: &str) -> bool {
    key.starts_with("x-")
        || matches!(
            key,
            "nullable" | "example" | "discriminator" | "xml" | "externalDocs"
        )
}

/// Rewrites `#/components/schemas/X` to `#/$defs/X` (or its open copy).
fn translate_ref(reference: &Value, open: bool) -> String {
    let reference = reference.as_str().expect("a $ref is not a string");
    let name = reference
        .strip_prefix(SCHEMA_REF_PREFIX)
        .unwrap_or_else(|| panic!("unsupported schema $ref {reference:?}"));
    let suffix = if open { OPEN_SUFFIX } else { "" };
    format!("#/$defs/{name}{suffix}")
}

/// Translates each schema of a `properties` map (property values stand alone,
/// so they are closed).
fn translate_properties(properties: &Value) -> Value {
    let Some(properties) = properties.as_object() else {
        return properties.clone();
    };
    let translated = properties
        .iter()
        .map(|(name, schema)| (name.clone(), translate(schema, false)))
        .collect();
    Value::Object(translated)
}

/// Translates the members of an `allOf`/`oneOf`/`anyOf`.
fn translate_members(members: &Value, open: bool) -> Value {
    let Some(members) = members.as_array() else {
        return members.clone();
    };
    Value::Array(
        members
            .iter()
            .map(|member| translate(member, open))
            .collect(),
    )
}

/// OpenAPI 3.0 (draft 4) boolean `exclusiveMinimum`/`exclusiveMaximum` to the
/// numeric form.
fn convert_exclusive_bounds(out: &mut Map<String, Value>) {
    for (exclusive, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        match out.get(exclusive) {
            Some(Value::Bool(true)) => match out.remove(bound) {
                Some(value) => {
                    out.insert(exclusive.to_string(), value);
                }
                None => {
                    out.remove(exclusive);
                }
            },
            Some(Value::Bool(false)) => {
                out.remove(exclusive);
            }
            _ => {}
        }
    }
}

/// Adds the range of an integer `format` as `minimum`/`maximum` (where not
/// given already).
fn add_integer_bounds(out: &mut Map<String, Value>) {
    if out.get("type").and_then(Value::as_str) != Some("integer") {
        return;
    }
    let Some(format) = out.get("format").and_then(Value::as_str) else {
        return;
    };
    let Some((minimum, maximum)) = integer_format_range(format) else {
        return;
    };
    out.entry("minimum").or_insert(minimum);
    out.entry("maximum").or_insert(maximum);
}

/// The range of an integer format.
fn integer_format_range(format: &str) -> Option<(Value, Value)> {
    let range = match format {
        "int8" => (json!(i8::MIN), json!(i8::MAX)),
        "int16" => (json!(i16::MIN), json!(i16::MAX)),
        "int32" => (json!(i32::MIN), json!(i32::MAX)),
        "int64" | "int" => (json!(i64::MIN), json!(i64::MAX)),
        "uint8" => (json!(0), json!(u8::MAX)),
        "uint16" => (json!(0), json!(u16::MAX)),
        "uint32" => (json!(0), json!(u32::MAX)),
        "uint64" | "uint" => (json!(0), json!(u64::MAX)),
        _ => return None,
    };
    Some(range)
}

/// Closes a schema against undocumented properties, unless it says itself.
fn close(out: &mut Map<String, Value>, composing: bool) {
    if out.contains_key("additionalProperties") || out.contains_key("unevaluatedProperties") {
        return;
    }
    if composing {
        out.insert("unevaluatedProperties".to_string(), Value::Bool(false));
    } else if out.contains_key("properties") {
        out.insert("additionalProperties".to_string(), Value::Bool(false));
    }
}

/// Lets a translated schema also accept `null` where OpenAPI 3.0.3 says
/// `nullable` does: as another `type`, when the schema has a `type`.
fn make_nullable(mut out: Map<String, Value>) -> Value {
    if let Some(Value::String(type_name)) = out.get("type").cloned() {
        out.insert("type".to_string(), json!([type_name, "null"]));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small spec exercising the translation rules.
    fn spec() -> Value {
        json!({
            "openapi": "3.0.3",
            "info": { "title": "test", "version": "1" },
            "paths": {
                "/a/{id}": {
                    "parameters": [],
                    "get": {
                        "operationId": "a_view",
                        "responses": {
                            "200": {
                                "description": "ok",
                                "content": { "application/json": {
                                    "schema": { "$ref": "#/components/schemas/Thing" }
                                } }
                            },
                            "4XX": { "$ref": "#/components/responses/Error" }
                        }
                    },
                    "delete": {
                        "operationId": "a_delete",
                        "responses": {
                            "204": { "description": "gone" },
                            "default": { "$ref": "#/components/responses/Error" }
                        }
                    }
                },
                "/a/b": {
                    "get": {
                        "operationId": "a_b",
                        "responses": { "204": { "description": "nothing" } }
                    }
                },
                "/a/{id}/extended": {
                    "get": {
                        "operationId": "a_extended",
                        "responses": { "200": {
                            "description": "ok",
                            "content": { "application/json; charset=utf-8": {
                                "schema": { "$ref": "#/components/schemas/Extended" }
                            } }
                        } }
                    }
                },
                "/files/{path:.*}": {
                    "get": {
                        "operationId": "file",
                        "responses": { "200": {
                            "description": "ok",
                            "content": { "text/plain": { "schema": { "type": "string" } } }
                        } }
                    }
                }
            },
            "components": {
                "schemas": {
                    "Thing": {
                        "type": "object",
                        "x-rust-type": "Thing",
                        "example": { "id": "x" },
                        "properties": {
                            "id": { "type": "string" },
                            "count": { "type": "integer", "format": "uint32", "minimum": 0 },
                            "note": { "type": "string", "nullable": true },
                            "mood": {
                                "type": "string", "enum": ["happy", "sad", null], "nullable": true
                            },
                            "strict_mood": {
                                "type": "string", "enum": ["happy", "sad"], "nullable": true
                            },
                            "kind": {
                                "oneOf": [{ "$ref": "#/components/schemas/Kind" }, { "enum": [null] }]
                            },
                            "untyped_kind": {
                                "allOf": [{ "$ref": "#/components/schemas/Kind" }],
                                "nullable": true
                            },
                            "child": {
                                "allOf": [{ "$ref": "#/components/schemas/Child" }],
                                "description": "A child."
                            },
                            "at": { "type": "string", "format": "date-time" },
                            "ip": { "type": "string", "format": "ip", "nullable": true },
                            "ratio": {
                                "type": "number", "minimum": 0, "exclusiveMinimum": true
                            },
                            "x-not-an-extension": { "type": "boolean" }
                        },
                        "required": ["id", "count", "child"]
                    },
                    "Kind": {
                        "oneOf": [
                            { "type": "string", "enum": ["x"] },
                            { "type": "string", "enum": ["y"] }
                        ]
                    },
                    "Child": {
                        "type": "object",
                        "properties": { "name": { "type": "string" } },
                        "required": ["name"]
                    },
                    "Extended": {
                        "allOf": [
                            { "$ref": "#/components/schemas/Child" },
                            {
                                "type": "object",
                                "properties": { "extra": { "type": "integer" } },
                                "required": ["extra"]
                            }
                        ]
                    },
                    "Error": {
                        "type": "object",
                        "properties": { "message": { "type": "string" } },
                        "required": ["message"]
                    }
                },
                "responses": {
                    "Error": {
                        "description": "an error",
                        "content": { "application/json": {
                            "schema": { "$ref": "#/components/schemas/Error" }
                        } }
                    }
                }
            }
        })
    }

    fn validator() -> SpecValidator {
        SpecValidator::from_json(spec())
    }

    /// A body of `a_view` that is valid; tests change one thing in it.
    fn thing() -> Value {
        json!({
            "id": "t1",
            "count": 3,
            "note": "hello",
            "mood": "happy",
            "kind": "x",
            "child": { "name": "c" },
            "at": "2016-11-11T20:39:09.960+00:00",
            "ip": "2001:db8::1",
            "ratio": 0.5,
            "x-not-an-extension": true
        })
    }

    fn validate_thing(body: &Value) -> Result<(), String> {
        let body = serde_json::to_vec(body).unwrap();
        validator().validate("a_view", 200, Some("application/json"), &body)
    }

    /// Asserts that `result` failed and its message mentions each of `parts`.
    fn assert_fails(result: Result<(), String>, parts: &[&str]) {
        let message = result.expect_err("expected a validation failure");
        for part in parts {
            assert!(
                message.contains(part),
                "{part:?} not in the message: {message}"
            );
        }
    }

    #[test]
    fn valid_body_passes() {
        validate_thing(&thing()).unwrap();
        let minimal = json!({ "id": "t1", "count": 0, "child": { "name": "c" } });
        validate_thing(&minimal).unwrap();
    }

    #[test]
    fn charset_parameter_is_allowed() {
        let body = serde_json::to_vec(&thing()).unwrap();
        let content_type = Some("Application/JSON; charset=utf-8");
        validator()
            .validate("a_view", 200, content_type, &body)
            .unwrap();
    }

    #[test]
    fn missing_required_field_fails() {
        let mut body = thing();
        body.as_object_mut().unwrap().remove("count");
        assert_fails(
            validate_thing(&body),
            &["operation a_view, status 200", "\"count\""],
        );
    }

    #[test]
    fn wrong_type_fails() {
        let mut body = thing();
        body["count"] = json!("3");
        assert_fails(
            validate_thing(&body),
            &[
                "operation a_view, status 200",
                "JSON pointer \"/count\"",
                "value \"3\"",
            ],
        );
    }

    #[test]
    fn integer_format_bounds_are_checked() {
        let mut body = thing();
        body["count"] = json!(u64::from(u32::MAX) + 1);
        assert_fails(validate_thing(&body), &["\"/count\"", "4294967296"]);
    }

    #[test]
    fn exclusive_minimum_is_translated() {
        let mut body = thing();
        body["ratio"] = json!(0);
        assert_fails(validate_thing(&body), &["\"/ratio\""]);
    }

    #[test]
    fn string_formats_are_checked() {
        let mut body = thing();
        body["at"] = json!("2016-11-11 20:39:09");
        assert_fails(validate_thing(&body), &["\"/at\"", "date-time"]);
        let mut body = thing();
        body["ip"] = json!("300.1.1.1");
        assert_fails(validate_thing(&body), &["\"/ip\""]);
        let mut body = thing();
        body["ip"] = json!("10.0.0.1");
        validate_thing(&body).unwrap();
    }

    #[test]
    fn extra_undocumented_field_fails() {
        let mut body = thing();
        body["surprise"] = json!(1);
        assert_fails(validate_thing(&body), &["JSON pointer \"\"", "surprise"]);
    }

    #[test]
    fn extra_field_behind_allof_ref_fails() {
        let mut body = thing();
        body["child"]["surprise"] = json!(1);
        assert_fails(
            validate_thing(&body),
            &["JSON pointer \"/child\"", "surprise"],
        );
    }

    #[test]
    fn multi_member_allof_is_closed_as_a_whole() {
        let validator = validator();
        let check = |body: Value| {
            let body = serde_json::to_vec(&body).unwrap();
            validator.validate("a_extended", 200, Some("application/json"), &body)
        };
        check(json!({ "name": "c", "extra": 1 })).unwrap();
        assert_fails(check(json!({ "name": "c" })), &["extra"]);
        assert_fails(
            check(json!({ "name": "c", "extra": 1, "more": 2 })),
            &["more"],
        );
    }

    #[test]
    fn null_is_accepted_only_where_nullable() {
        for field in ["note", "mood", "kind", "ip"] {
            let mut body = thing();
            body[field] = Value::Null;
            validate_thing(&body).unwrap_or_else(|error| panic!("{field}: {error}"));
        }
        for field in ["id", "count", "child", "at"] {
            let mut body = thing();
            body[field] = Value::Null;
            let pointer = format!("\"/{field}\"");
            assert_fails(validate_thing(&body), &[&pointer, "null"]);
        }
    }

    #[test]
    fn required_headers_are_checked_through_refs() {
        let validator = SpecValidator::from_json(json!({
            "openapi": "3.0.3",
            "info": { "title": "test", "version": "1" },
            "paths": { "/a": { "get": {
                "operationId": "a_get",
                "responses": {
                    "200": { "description": "ok", "headers": {
                        "X-Request-Id": { "$ref": "#/components/headers/X-Request-Id" },
                        "X-Optional": { "schema": { "type": "string" } },
                    } },
                    "429": { "$ref": "#/components/responses/Slow" },
                },
            } } },
            "components": {
                "headers": { "X-Request-Id": { "required": true, "schema": { "type": "string" } } },
                "responses": { "Slow": { "description": "slow", "headers": {
                    "Retry-After": { "required": true, "schema": { "type": "integer" } },
                } } },
            },
        }));
        validator
            .validate_headers("a_get", 200, &["x-request-id"])
            .unwrap();
        assert_fails(
            validator.validate_headers("a_get", 200, &["content-type"]),
            &["status 200", "x-request-id"],
        );
        validator
            .validate_headers("a_get", 429, &["Retry-After"])
            .unwrap();
        assert_fails(
            validator.validate_headers("a_get", 429, &[]),
            &["status 429", "retry-after"],
        );
    }

    /// OpenAPI 3.0.3's strict reading: `nullable` adds `null` to `type` and
    /// nothing else, so an enum without `null` and a nullable without a
    /// `type` still refuse it.
    #[test]
    fn nullable_is_read_strictly() {
        for field in ["strict_mood", "untyped_kind"] {
            let mut body = thing();
            body[field] = Value::Null;
            let pointer = format!("\"/{field}\"");
            assert_fails(validate_thing(&body), &[&pointer]);
        }
    }

    #[test]
    fn enums_are_checked() {
        let mut body = thing();
        body["mood"] = json!("bored");
        assert_fails(validate_thing(&body), &["\"/mood\"", "bored"]);
        let mut body = thing();
        body["kind"] = json!("z");
        assert_fails(validate_thing(&body), &["\"/kind\""]);
    }

    #[test]
    fn range_and_default_responses_are_used() {
        let validator = validator();
        let error = br#"{"message":"no"}"#;
        validator
            .validate("a_view", 404, Some("application/json"), error)
            .unwrap();
        assert_fails(
            validator.validate("a_view", 404, Some("application/json"), b"{}"),
            &["operation a_view, status 404", "message"],
        );
        validator
            .validate("a_delete", 503, Some("application/json"), error)
            .unwrap();
        validator.validate("a_delete", 204, None, b"").unwrap();
    }

    #[test]
    fn undeclared_status_fails() {
        assert_fails(
            validator().validate("a_view", 500, Some("application/json"), b"{}"),
            &[
                "operation a_view, status 500",
                "does not declare",
                "200, 4XX",
            ],
        );
        assert_fails(validator().validate_status("a_b", 200), &["a_b"]);
        validator().validate_status("a_b", 204).unwrap();
    }

    #[test]
    fn unknown_operation_fails() {
        assert_fails(validator().validate("nope", 200, None, b""), &["nope"]);
    }

    #[test]
    fn declared_without_content_must_be_empty() {
        let validator = validator();
        validator.validate("a_b", 204, None, b"").unwrap();
        assert_fails(
            validator.validate("a_b", 204, Some("application/json"), b"{}"),
            &["operation a_b, status 204", "without content"],
        );
    }

    #[test]
    fn declared_content_must_be_present_and_of_the_declared_type() {
        let validator = validator();
        let body = serde_json::to_vec(&thing()).unwrap();
        assert_fails(
            validator.validate("a_view", 200, Some("application/json"), b""),
            &["body is empty"],
        );
        assert_fails(
            validator.validate("a_view", 200, None, &body),
            &["no Content-Type"],
        );
        assert_fails(
            validator.validate("a_view", 200, Some("text/plain"), &body),
            &["\"text/plain\"", "application/json"],
        );
        assert_fails(
            validator.validate("a_view", 200, Some("application/json"), b"{nope"),
            &["not valid JSON", "{nope"],
        );
        validator
            .validate("file", 200, Some("text/plain; charset=utf-8"), b"hi")
            .unwrap();
    }

    #[test]
    fn operation_for_prefers_literals() {
        let validator = validator();
        let route = |method: &str, path: &str| validator.operation_for(method, path);
        assert_eq!(route("GET", "/a/b").as_deref(), Some("a_b"));
        assert_eq!(route("get", "/a/c").as_deref(), Some("a_view"));
        assert_eq!(route("GET", "/a/b/extended").as_deref(), Some("a_extended"));
        assert_eq!(route("DELETE", "/a/b").as_deref(), Some("a_delete"));
        assert_eq!(route("POST", "/a/b"), None);
        assert_eq!(route("GET", "/a"), None);
        assert_eq!(route("GET", "/a/b/c"), None);
        assert_eq!(route("GET", "/b/c"), None);
        assert_eq!(route("GET", "/a/b?x=1").as_deref(), Some("a_b"));
    }

    #[test]
    fn operation_for_decodes_segments() {
        let validator = validator();
        let route = |path: &str| validator.operation_for("GET", path);
        assert_eq!(route("/a/x%2Fy").as_deref(), Some("a_view"));
        assert_eq!(route("/a/x%20y/extended").as_deref(), Some("a_extended"));
        assert_eq!(route("/a/%62").as_deref(), Some("a_b"));
        assert_eq!(route("/%61/c").as_deref(), Some("a_view"));
        assert_eq!(route("/a//b/").as_deref(), Some("a_b"));
        assert_eq!(route("/a/%FF"), None);
        assert_eq!(route("/a/.."), None);
        assert_eq!(route("/files/x/y%2Fz").as_deref(), Some("file"));
        assert_eq!(route("/files").as_deref(), Some("file"));
    }

    #[test]
    fn operation_ids_are_sorted() {
        assert_eq!(
            validator().operation_ids(),
            ["a_b", "a_delete", "a_extended", "a_view", "file"]
        );
    }

    #[test]
    fn translation_keeps_property_names_and_drops_extensions() {
        let translated = translate(&spec()["components"]["schemas"]["Thing"], false);
        assert!(translated.get("x-rust-type").is_none());
        assert!(translated.get("example").is_none());
        assert!(translated["properties"].get("x-not-an-extension").is_some());
        assert_eq!(translated["additionalProperties"], json!(false));
    }

    /// The checked-in spec translates and compiles (its content is tested by
    /// the contract tests).
    #[test]
    fn checked_in_spec_loads() {
        assert!(!SpecValidator::load().operation_ids().is_empty());
    }
}
