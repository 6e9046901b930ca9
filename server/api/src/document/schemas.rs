//! Schema forms that strict OpenAPI 3.0 tooling and code generators read
//! differently from what schemars 0.8 meant, rewritten into forms they all
//! read the same way.
//!
//! * **Nullable references.** schemars writes an `Option<T>` of a named
//!   type as `{"nullable": true, "allOf": [{"$ref": T}]}`. OpenAPI 3.0.3
//!   ignores `nullable` without a sibling `type`, so strict validators
//!   refuse `null` there. It becomes `{"oneOf": [{"$ref": T}, {"enum":
//!   [null]}]}`, which admits `null` and a `T` and nothing else in every
//!   validator tried (openapi-schema-validator's `OAS30Validator`, the
//!   test suite's), lints clean, and stays `Option<T>` in progenitor and
//!   `T | None` in openapi-python-client.
//! * **One-value enumerations.** A string enum whose variants carry doc
//!   comments is written as a `oneOf` of single-value enums, which Python
//!   and TypeScript generators turn into one type per variant. It becomes
//!   one `{"type": "string", "enum": [...]}`, the variants' docs moved into
//!   the description as a list.
//! * **`default: null`.** schemars marks every `#[serde(default)]` option
//!   `"default": null`, which TypeScript generators read as "always
//!   present" and which says nothing an absent property does not. It is
//!   removed.

use serde_json::{Map, Value, json};

use super::DocumentError;

/// Rewrites every schema of the document (components, parameters, bodies).
pub fn apply(document: &mut Value) -> Result<(), DocumentError> {
    rewrite(document);
    Ok(())
}

/// Rewrites `value` and everything under it.
fn rewrite(value: &mut Value) {
    match value {
        Value::Object(map) => {
            rewrite_nullable_reference(map);
            flatten_one_value_enum(map);
            remove_null_default(map);
            for member in map.values_mut() {
                rewrite(member);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite),
        _ => {}
    }
}

/// `{"nullable": true, "allOf": [{"$ref": T}]}` (no `type`) becomes
/// `{"oneOf": [{"$ref": T}, {"enum": [null]}]}`.
fn rewrite_nullable_reference(schema: &mut Map<String, Value>) {
    if schema.get("nullable") != Some(&Value::Bool(true)) || schema.contains_key("type") {
        return;
    }
    let Some(Value::Array(all_of)) = schema.get("allOf") else {
        return;
    };
    let [reference] = all_of.as_slice() else {
        return;
    };
    if reference.get("$ref").is_none() {
        return;
    }
    let reference = reference.clone();
    schema.remove("allOf");
    schema.remove("nullable");
    schema.insert("oneOf".to_string(), json!([reference, { "enum": [null] }]));
}

/// A `oneOf` whose members are all string enums becomes one string enum;
/// the members' descriptions become a list in the schema's description.
fn flatten_one_value_enum(schema: &mut Map<String, Value>) {
    let Some(Value::Array(members)) = schema.get("oneOf") else {
        return;
    };
    let mut values = Vec::new();
    let mut documented = Vec::new();
    for member in members {
        if member.get("type").and_then(Value::as_str) != Some("string") {
            return;
        }
        let Some(Value::Array(member_values)) = member.get("enum") else {
            return;
        };
        for value in member_values {
            let Some(text) = value.as_str() else {
                return;
            };
            values.push(value.clone());
            if let Some(description) = member.get("description").and_then(Value::as_str) {
                documented.push(format!("- `{text}`: {description}"));
            }
        }
    }
    schema.remove("oneOf");
    schema.insert("type".to_string(), json!("string"));
    schema.insert("enum".to_string(), Value::Array(values));
    if !documented.is_empty() {
        let list = documented.join("\n");
        let description = match schema.get("description").and_then(Value::as_str) {
            Some(description) => format!("{description}\n\n{list}"),
            None => list,
        };
        schema.insert("description".to_string(), Value::String(description));
    }
}

/// Removes `"default": null`.
fn remove_null_default(schema: &mut Map<String, Value>) {
    if schema.get("default") == Some(&Value::Null) {
        schema.remove("default");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(mut schema: Value) -> Value {
        rewrite(&mut schema);
        schema
    }

    #[test]
    fn a_nullable_reference_becomes_a_one_of_with_null() {
        let schema = json!({
            "description": "Why it ended.",
            "nullable": true,
            "allOf": [{ "$ref": "#/components/schemas/EndReason" }],
        });
        assert_eq!(
            rewritten(schema),
            json!({
                "description": "Why it ended.",
                "oneOf": [{ "$ref": "#/components/schemas/EndReason" }, { "enum": [null] }],
            })
        );
    }

    #[test]
    fn a_typed_nullable_or_a_plain_all_of_is_left_alone() {
        let typed = json!({ "type": "string", "nullable": true });
        assert_eq!(rewritten(typed.clone()), typed);
        let plain = json!({ "allOf": [{ "$ref": "#/components/schemas/X" }], "description": "d" });
        assert_eq!(rewritten(plain.clone()), plain);
    }

    #[test]
    fn one_value_enums_become_one_enum_with_their_docs_listed() {
        let schema = json!({
            "description": "What kind of client.",
            "oneOf": [
                { "type": "string", "enum": ["browser"], "description": "A web browser." },
                { "type": "string", "enum": ["api"], "description": "A program." },
                { "type": "string", "enum": ["other", "unknown"] },
            ],
        });
        assert_eq!(
            rewritten(schema),
            json!({
                "type": "string",
                "enum": ["browser", "api", "other", "unknown"],
                "description": "What kind of client.\n\n- `browser`: A web browser.\n- `api`: A program.",
            })
        );
    }

    #[test]
    fn a_one_of_of_other_schemas_is_left_alone() {
        let schema = json!({
            "oneOf": [
                { "type": "string", "enum": ["a"] },
                { "type": "object", "properties": {} },
            ],
        });
        assert_eq!(rewritten(schema.clone()), schema);
    }

    #[test]
    fn null_defaults_are_removed_at_any_depth_and_others_kept() {
        let schema = json!({
            "type": "object",
            "properties": {
                "a": { "type": "string", "nullable": true, "default": null },
                "b": { "type": "integer", "default": 25 },
            },
        });
        assert_eq!(
            rewritten(schema),
            json!({
                "type": "object",
                "properties": {
                    "a": { "type": "string", "nullable": true },
                    "b": { "type": "integer", "default": 25 },
                },
            })
        );
    }

    #[test]
    fn a_nullable_reference_with_a_null_default_loses_both() {
        let schema = json!({
            "nullable": true,
            "default": null,
            "allOf": [{ "$ref": "#/components/schemas/SessionType" }],
        });
        assert_eq!(
            rewritten(schema),
            json!({ "oneOf": [{ "$ref": "#/components/schemas/SessionType" }, { "enum": [null] }] })
        );
    }
}
