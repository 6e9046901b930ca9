//! Schemas and examples on the reference page: a one-line type for any
//! OpenAPI 3.0 schema (`$ref`, `oneOf`/`anyOf`/`allOf`, `enum`, `nullable`,
//! arrays, maps), its constraints, its properties as a table, and examples
//! as pretty-printed JSON.
//!
//! Named schemas (`#/components/schemas/X`) are shown as links to their
//! section; only inline schemas are expanded where they are used.

use serde_json::Value;

use super::text::{escape, inline, markdown};

/// How deep inline schemas nest before they are shown by type only.
const MAX_DEPTH: usize = 4;

/// How many `$ref`s are followed in a row before giving up (a cycle).
const MAX_REFS: usize = 16;

/// The keywords shown as constraints, in this order.
const CONSTRAINTS: &[&str] = &[
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "default",
    "readOnly",
    "writeOnly",
    "deprecated",
];

/// The document being rendered, for following `$ref`s.
#[derive(Clone, Copy)]
pub struct Spec<'a> {
    pub root: &'a Value,
}

impl<'a> Spec<'a> {
    /// `value` with local `$ref`s (`#/...`) followed; `value` itself when
    /// it is no reference or one that leads nowhere.
    pub fn resolve(&self, value: &'a Value) -> &'a Value {
        let mut current = value;
        for _ in 0..MAX_REFS {
            match reference(current).and_then(|target| self.target(target)) {
                Some(next) => current = next,
                None => return current,
            }
        }
        current
    }

    fn target(&self, reference: &str) -> Option<&'a Value> {
        self.root.pointer(reference.strip_prefix('#')?)
    }
}

/// The `$ref` of a value, if it is a reference.
pub fn reference(value: &Value) -> Option<&str> {
    value.get("$ref").and_then(Value::as_str)
}

/// The name a reference gives its target, if it points into
/// `#/components/<kind>/`.
pub fn component_name<'v>(value: &'v Value, kind: &str) -> Option<&'v str> {
    reference(value)?
        .strip_prefix("#/components/")?
        .strip_prefix(kind)?
        .strip_prefix('/')
}

/// The element id of a named schema's section.
pub fn schema_anchor(name: &str) -> String {
    format!("schema-{name}")
}

/// A schema as one line of HTML: `string (date-time)`, `array of
/// Session`, `"a" | "b" | null`.
pub fn type_expr(spec: Spec, schema: &Value) -> String {
    let expr = if let Some(target) = reference(schema) {
        reference_link(target)
    } else if let Some(variants) = variants(schema, "oneOf").or_else(|| variants(schema, "anyOf")) {
        union(spec, variants)
    } else if let Some(parts) = variants(schema, "allOf") {
        intersection(spec, parts)
    } else if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        enumeration(values)
    } else {
        base_type(spec, schema)
    };
    if schema.get("nullable") == Some(&Value::Bool(true)) && !expr.ends_with("null</code>") {
        format!("{expr} | <code>null</code>")
    } else {
        expr
    }
}

fn variants<'v>(schema: &'v Value, keyword: &str) -> Option<&'v Vec<Value>> {
    schema.get(keyword).and_then(Value::as_array)
}

fn reference_link(target: &str) -> String {
    match target.strip_prefix("#/components/schemas/") {
        Some(name) => format!(
            "<a href=\"#{}\">{}</a>",
            escape(&schema_anchor(name)),
            escape(name)
        ),
        None => format!("<code>{}</code>", escape(target)),
    }
}

fn union(spec: Spec, variants: &[Value]) -> String {
    let parts: Vec<String> = variants.iter().map(|v| type_expr(spec, v)).collect();
    parts.join(" | ")
}

fn intersection(spec: Spec, parts: &[Value]) -> String {
    let parts: Vec<String> = parts.iter().map(|v| grouped(type_expr(spec, v))).collect();
    parts.join(" &amp; ")
}

fn enumeration(values: &[Value]) -> String {
    let literals: Vec<String> = values
        .iter()
        .map(|value| format!("<code>{}</code>", escape(&value.to_string())))
        .collect();
    literals.join(" | ")
}

/// A type expression in parentheses when it is a union.
fn grouped(expr: String) -> String {
    if expr.contains(" | ") {
        format!("({expr})")
    } else {
        expr
    }
}

fn base_type(spec: Spec, schema: &Value) -> String {
    let kind = schema.get("type").and_then(Value::as_str);
    match kind {
        Some("array") => {
            let items = schema
                .get("items")
                .map_or_else(|| "any".to_string(), |items| type_expr(spec, items));
            format!("array of {}", grouped(items))
        }
        Some("object") | None if schema.get("properties").is_some() => "object".to_string(),
        Some("object") => match schema.get("additionalProperties") {
            Some(values) if values.is_object() => {
                format!("map of string to {}", grouped(type_expr(spec, values)))
            }
            _ => "object".to_string(),
        },
        Some(kind) => match schema.get("format").and_then(Value::as_str) {
            Some(format) => format!("{} ({})", escape(kind), escape(format)),
            None => escape(kind),
        },
        None => "any".to_string(),
    }
}

/// The schema's constraints (`minimum`, `pattern`, `default`, ...) as a
/// list, or nothing when it has none.
pub fn constraints(schema: &Value) -> String {
    let items: Vec<String> = CONSTRAINTS
        .iter()
        .filter_map(|keyword| {
            schema.get(*keyword).map(|value| {
                format!(
                    "<li>{keyword} <code>{}</code></li>",
                    escape(&value.to_string())
                )
            })
        })
        .collect();
    if items.is_empty() {
        String::new()
    } else {
        format!("<ul class=\"constraints\">{}</ul>", items.concat())
    }
}

/// A schema where it is used (a body's at `depth` 0, labelled): its type
/// and constraints, then (for inline schemas) its description, variants
/// and properties.
pub fn details(spec: Spec, schema: &Value, depth: usize) -> String {
    let label = if depth == 0 { "Schema: " } else { "" };
    let mut html = format!(
        "<p class=\"type\">{label}{}</p>{}",
        type_expr(spec, schema),
        constraints(schema)
    );
    if reference(schema).is_some() || depth >= MAX_DEPTH {
        return html;
    }
    if let Some(description) = schema.get("description").and_then(Value::as_str) {
        html.push_str(&markdown(description));
    }
    html.push_str(&structure(spec, schema, depth));
    html
}

/// What is inside a schema: its described variants, its properties, the
/// properties of its inline items.
pub fn structure(spec: Spec, schema: &Value, depth: usize) -> String {
    let mut html = String::new();
    for keyword in ["oneOf", "anyOf", "allOf"] {
        if let Some(list) = variants(schema, keyword) {
            html.push_str(&variant_list(spec, keyword, list, depth));
        }
    }
    if schema.get("properties").is_some() {
        html.push_str(&properties_table(spec, schema, depth));
    }
    if let Some(items) = schema.get("items").filter(|items| expandable(items)) {
        html.push_str(&format!(
            "<div class=\"nested\"><p>Each item:</p>{}</div>",
            details(spec, items, depth + 1)
        ));
    }
    html
}

/// Whether an inline schema has more to show than its type.
fn expandable(schema: &Value) -> bool {
    reference(schema).is_none()
        && ["properties", "oneOf", "anyOf", "allOf"]
            .iter()
            .any(|keyword| schema.get(*keyword).is_some())
}

/// The variants of a `oneOf`/`anyOf`/`allOf`, listed only when one of
/// them says more than its type (a description, properties).
fn variant_list(spec: Spec, keyword: &str, list: &[Value], depth: usize) -> String {
    let informative = list
        .iter()
        .any(|variant| variant.get("description").is_some() || expandable(variant));
    if !informative {
        return String::new();
    }
    let heading = match keyword {
        "oneOf" => "Exactly one of:",
        "anyOf" => "Any of:",
        _ => "All of:",
    };
    let items: String = list
        .iter()
        .map(|variant| format!("<li>{}</li>", details(spec, variant, depth + 1)))
        .collect();
    format!("<div class=\"variants\"><p>{heading}</p><ul>{items}</ul></div>")
}

/// An object schema's properties: name, whether required, type and
/// constraints, description (inline objects nested inside).
pub fn properties_table(spec: Spec, schema: &Value, depth: usize) -> String {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return String::new();
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let rows: String = properties
        .iter()
        .map(|(name, property)| {
            property_row(
                spec,
                name,
                property,
                required.contains(&name.as_str()),
                depth,
            )
        })
        .collect();
    format!(
        "<table class=\"properties\"><thead><tr><th>Property</th><th>Type</th>\
         <th>Description</th></tr></thead><tbody>{rows}</tbody></table>"
    )
}

fn property_row(spec: Spec, name: &str, property: &Value, required: bool, depth: usize) -> String {
    let badge = if required {
        " <span class=\"required\">required</span>"
    } else {
        ""
    };
    let mut description = property
        .get("description")
        .and_then(Value::as_str)
        .map(markdown)
        .unwrap_or_default();
    if let Some(example) = property.get("example") {
        description.push_str(&format!(
            "<p class=\"inline-example\">Example: <code>{}</code></p>",
            escape(&example.to_string())
        ));
    }
    if depth + 1 < MAX_DEPTH && expandable(property) {
        description.push_str(&format!(
            "<div class=\"nested\">{}</div>",
            structure(spec, property, depth + 1)
        ));
    }
    format!(
        "<tr><td><code>{}</code>{badge}</td><td>{}{}</td><td>{description}</td></tr>",
        escape(name),
        type_expr(spec, property),
        constraints(property)
    )
}

/// An example value, pretty-printed; a string example of a media type
/// that is not JSON is shown as it is.
pub fn example_block(caption: &str, value: &Value, media_type: &str) -> String {
    let text = match value {
        Value::String(text) if !media_type.contains("json") => text.clone(),
        value => serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()),
    };
    format!(
        "<figure class=\"example\"><figcaption>{}</figcaption><pre><code>{}</code></pre></figure>",
        inline(caption),
        escape(&text)
    )
}

/// The examples of a media type object (`example`, `examples`), or, when
/// it has none, its schema's own `example`.
pub fn media_examples(spec: Spec, media: &Value, media_type: &str) -> String {
    let mut html = String::new();
    if let Some(example) = media.get("example") {
        html.push_str(&example_block("Example", example, media_type));
    }
    if let Some(examples) = media.get("examples").and_then(Value::as_object) {
        for (name, example) in examples {
            html.push_str(&named_example(spec, name, example, media_type));
        }
    }
    let schema_example = media
        .get("schema")
        .and_then(|schema| spec.resolve(schema).get("example"));
    if let (true, Some(example)) = (html.is_empty(), schema_example) {
        html.push_str(&example_block(
            "Example (from the schema)",
            example,
            media_type,
        ));
    }
    html
}

/// One entry of an `examples` map: its summary, description and value.
pub fn named_example(spec: Spec, name: &str, example: &Value, media_type: &str) -> String {
    let example = spec.resolve(example);
    let caption = example.get("summary").and_then(Value::as_str).map_or_else(
        || format!("Example `{name}`"),
        |summary| summary.to_string(),
    );
    let description = example
        .get("description")
        .and_then(Value::as_str)
        .map(markdown)
        .unwrap_or_default();
    let body = match (
        example.get("value"),
        example.get("externalValue").and_then(Value::as_str),
    ) {
        (Some(value), _) => example_block(&caption, value, media_type),
        (None, Some(url)) => format!(
            "<p>{}: <a href=\"{}\">{}</a></p>",
            inline(&caption),
            escape(url),
            escape(url)
        ),
        (None, None) => String::new(),
    };
    format!("{description}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> Value {
        json!({
            "components": {
                "schemas": {
                    "Session": {"type": "object", "example": {"id": "s1"}},
                    "Alias": {"$ref": "#/components/schemas/Session"},
                    "Loop": {"$ref": "#/components/schemas/Loop"}
                }
            }
        })
    }

    #[test]
    fn references_resolve_and_cycles_stop() {
        let root = spec();
        let spec = Spec { root: &root };
        let alias = json!({"$ref": "#/components/schemas/Alias"});
        assert_eq!(spec.resolve(&alias)["type"], "object");
        let cycle = json!({"$ref": "#/components/schemas/Loop"});
        assert!(reference(spec.resolve(&cycle)).is_some());
        let nowhere = json!({"$ref": "#/components/schemas/Nope"});
        assert_eq!(spec.resolve(&nowhere), &nowhere);
    }

    #[test]
    fn type_expressions() {
        let root = spec();
        let spec = Spec { root: &root };
        let cases = [
            (
                json!({"type": "string", "format": "date-time"}),
                "string (date-time)",
            ),
            (
                json!({"oneOf": [{"$ref": "#/components/schemas/Session"}, {"enum": [null]}]}),
                "<a href=\"#schema-Session\">Session</a> | <code>null</code>",
            ),
            (
                json!({"type": "string", "enum": ["a", "b"], "nullable": true}),
                "<code>&quot;a&quot;</code> | <code>&quot;b&quot;</code> | <code>null</code>",
            ),
            (
                json!({"type": "array", "items": {"anyOf": [{"type": "integer"}, {"type": "string"}]}}),
                "array of (integer | string)",
            ),
            (
                json!({"allOf": [{"$ref": "#/components/schemas/Session"}], "nullable": true}),
                "<a href=\"#schema-Session\">Session</a> | <code>null</code>",
            ),
            (
                json!({"type": "object", "additionalProperties": {"type": "string"}}),
                "map of string to string",
            ),
            (json!({"properties": {}}), "object"),
            (json!({}), "any"),
        ];
        for (schema, expected) in cases {
            assert_eq!(type_expr(spec, &schema), expected, "{schema}");
        }
    }

    #[test]
    fn constraints_are_listed_in_order() {
        let schema = json!({"maximum": 100, "minimum": 1, "pattern": "^[a-z]+$"});
        assert_eq!(
            constraints(&schema),
            "<ul class=\"constraints\"><li>pattern <code>&quot;^[a-z]+$&quot;</code></li>\
             <li>minimum <code>1</code></li><li>maximum <code>100</code></li></ul>"
        );
        assert_eq!(constraints(&json!({"type": "string"})), "");
    }

    #[test]
    fn properties_show_required_nested_and_examples() {
        let root = spec();
        let spec = Spec { root: &root };
        let schema = json!({
            "type": "object",
            "required": ["id"],
            "properties": {
                "id": {"type": "string", "description": "The `id`.", "example": "s1"},
                "where": {"type": "object", "properties": {"ip": {"type": "string", "format": "ip"}}}
            }
        });
        let html = properties_table(spec, &schema, 0);
        assert!(html.contains("<code>id</code> <span class=\"required\">required</span>"));
        assert!(html.contains("<p>The <code>id</code>.</p>"));
        assert!(html.contains("Example: <code>&quot;s1&quot;</code>"));
        assert!(html.contains("<code>ip</code></td><td>string (ip)"));
        assert!(!html.contains("<code>where</code> <span"));
    }

    #[test]
    fn examples_come_from_the_media_type_or_else_the_schema() {
        let root = spec();
        let spec = Spec { root: &root };
        let media = json!({"example": {"a": "<b>"}});
        assert_eq!(
            media_examples(spec, &media, "application/json"),
            "<figure class=\"example\"><figcaption>Example</figcaption><pre><code>{\n  \
             &quot;a&quot;: &quot;&lt;b&gt;&quot;\n}</code></pre></figure>"
        );
        let named = json!({"examples": {"one": {"summary": "One", "value": 1}}});
        assert!(media_examples(spec, &named, "application/json").contains("One</figcaption>"));
        let from_schema = json!({"schema": {"$ref": "#/components/schemas/Session"}});
        assert!(
            media_examples(spec, &from_schema, "application/json")
                .contains("Example (from the schema)")
        );
        let text = json!({"example": "plain"});
        assert!(media_examples(spec, &text, "text/plain").contains("<code>plain</code>"));
    }
}
