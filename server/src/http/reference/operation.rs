//! One operation on the reference page: its method and path, operation
//! id, summary and description, security, parameters (the path item's
//! included), request body and every response with its headers, schema
//! and examples. `$ref`s to shared parameters, bodies, responses, headers
//! and examples are followed; named schemas are linked.

use serde_json::{Map, Value};

use super::schema::{self, Spec, component_name, media_examples};
use super::text::{escape, inline, markdown};

/// The HTTP methods of a path item, in the order they are listed.
const METHODS: &[&str] = &[
    "get", "put", "post", "patch", "delete", "options", "head", "trace",
];

/// One operation of the document.
pub struct Operation<'a> {
    pub method: &'static str,
    pub path: &'a str,
    pub operation: &'a Value,
    /// The path item's parameters, which the operation's may override.
    path_parameters: &'a [Value],
}

impl Operation<'_> {
    /// The element id: the operation id, or method and path.
    pub fn anchor(&self) -> String {
        match self.operation.get("operationId").and_then(Value::as_str) {
            Some(id) => id.to_string(),
            None => format!("{}-{}", self.method, self.path)
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect(),
        }
    }

    pub fn tag(&self) -> Option<&str> {
        self.operation
            .get("tags")
            .and_then(Value::as_array)
            .and_then(|tags| tags.first())
            .and_then(Value::as_str)
    }
}

/// Every operation of the document, by path, then method.
pub fn operations(document: &Value) -> Vec<Operation<'_>> {
    let Some(paths) = document.get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut operations = Vec::new();
    for (path, item) in paths {
        let path_parameters = item
            .get("parameters")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        for method in METHODS {
            if let Some(operation) = item.get(*method).filter(|op| op.is_object()) {
                operations.push(Operation {
                    method,
                    path,
                    operation,
                    path_parameters,
                });
            }
        }
    }
    operations
}

/// Who may call an operation: its `security`, or the document's.
fn security_requirements(document: &Value, operation: &Value) -> String {
    let Some(requirements) = operation
        .get("security")
        .or_else(|| document.get("security"))
        .and_then(Value::as_array)
    else {
        return String::new();
    };
    if requirements.is_empty() {
        return "<h4>Security</h4><p>None: this operation needs no authentication.</p>".to_string();
    }
    let alternatives: Vec<String> = requirements
        .iter()
        .filter_map(Value::as_object)
        .map(requirement)
        .collect();
    let lead = if alternatives.len() > 1 {
        "<p>Any one of:</p>"
    } else {
        ""
    };
    format!(
        "<h4>Security</h4>{lead}<ul class=\"security\">{}</ul>",
        alternatives.concat()
    )
}

/// One security requirement: every scheme it names (all needed).
fn requirement(schemes: &Map<String, Value>) -> String {
    if schemes.is_empty() {
        return "<li>no authentication</li>".to_string();
    }
    let names: Vec<String> = schemes
        .iter()
        .map(|(name, scopes)| {
            let scopes: Vec<&str> = scopes
                .as_array()
                .map(|s| s.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let scopes = if scopes.is_empty() {
                String::new()
            } else {
                format!(" (scopes: {})", escape(&scopes.join(", ")))
            };
            format!(
                "<a href=\"#security-{name}\"><code>{name}</code></a>{scopes}",
                name = escape(name)
            )
        })
        .collect();
    format!("<li>{}</li>", names.join(" and "))
}

/// The operation's `<section>`, whose id is its operation id.
pub fn section(spec: Spec, op: &Operation) -> String {
    let operation = op.operation;
    let anchor = escape(&op.anchor());
    let text = |name: &str| operation.get(name).and_then(Value::as_str);
    let summary = text("summary")
        .map(|summary| format!("<p class=\"summary\">{}</p>", inline(summary)))
        .unwrap_or_default();
    let deprecated = if operation.get("deprecated") == Some(&Value::Bool(true)) {
        "<p class=\"deprecated\">Deprecated.</p>"
    } else {
        ""
    };
    format!(
        "<section class=\"operation\" id=\"{anchor}\">\
         <h3><span class=\"method {method}\">{upper}</span> <code class=\"path\">{path}</code></h3>\
         <p class=\"operation-id\">Operation id <code>{anchor}</code></p>\
         {summary}{deprecated}{description}{security}{parameters}{body}{responses}</section>",
        method = op.method,
        upper = op.method.to_uppercase(),
        path = escape(op.path),
        description = text("description").map(markdown).unwrap_or_default(),
        security = security_requirements(spec.root, operation),
        parameters = parameters(spec, op),
        body = request_body(spec, operation),
        responses = responses(spec, operation, &op.anchor()),
    )
}

/// The operation's parameters with the path item's it does not override.
fn parameters(spec: Spec, op: &Operation) -> String {
    let own: Vec<&Value> = op
        .operation
        .get("parameters")
        .and_then(Value::as_array)
        .map(|list| list.iter().map(|p| spec.resolve(p)).collect())
        .unwrap_or_default();
    let key = |p: &Value| (p.get("name").cloned(), p.get("in").cloned());
    let inherited = op
        .path_parameters
        .iter()
        .map(|p| spec.resolve(p))
        .filter(|p| !own.iter().any(|o| key(o) == key(p)));
    let all: Vec<&Value> = inherited.chain(own.iter().copied()).collect();
    if all.is_empty() {
        return String::new();
    }
    let rows: String = all.iter().map(|p| parameter_row(spec, p)).collect();
    format!(
        "<h4>Parameters</h4><table class=\"parameters\"><thead><tr><th>Name</th><th>In</th>\
         <th>Type</th><th>Description</th></tr></thead><tbody>{rows}</tbody></table>"
    )
}

fn parameter_row(spec: Spec, parameter: &Value) -> String {
    let text = |name: &str| parameter.get(name).and_then(Value::as_str).unwrap_or("");
    let required = if parameter.get("required") == Some(&Value::Bool(true)) {
        " <span class=\"required\">required</span>"
    } else {
        ""
    };
    let schema = parameter.get("schema").map_or_else(String::new, |schema| {
        format!(
            "{}{}",
            schema::type_expr(spec, schema),
            schema::constraints(schema)
        )
    });
    let mut description = markdown(text("description"));
    if let Some(example) = parameter.get("example") {
        description.push_str(&format!(
            "<p class=\"inline-example\">Example: <code>{}</code></p>",
            escape(&example.to_string())
        ));
    }
    if parameter.get("deprecated") == Some(&Value::Bool(true)) {
        description.push_str("<p class=\"deprecated\">Deprecated.</p>");
    }
    format!(
        "<tr><td><code>{}</code>{required}</td><td>{}</td><td>{schema}</td><td>{description}</td></tr>",
        escape(text("name")),
        escape(text("in"))
    )
}

fn request_body(spec: Spec, operation: &Value) -> String {
    let Some(body) = operation.get("requestBody").map(|b| spec.resolve(b)) else {
        return String::new();
    };
    let required = if body.get("required") == Some(&Value::Bool(true)) {
        " <span class=\"required\">required</span>"
    } else {
        ""
    };
    let description = body
        .get("description")
        .and_then(Value::as_str)
        .map(markdown)
        .unwrap_or_default();
    format!(
        "<h4>Request body{required}</h4>{description}{}",
        content(spec, body)
    )
}

fn responses(spec: Spec, operation: &Value, anchor: &str) -> String {
    let Some(responses) = operation.get("responses").and_then(Value::as_object) else {
        return String::new();
    };
    let items: String = responses
        .iter()
        .map(|(status, response)| response_block(spec, anchor, status, response))
        .collect();
    format!("<h4>Responses</h4>{items}")
}

fn response_block(spec: Spec, anchor: &str, status: &str, response: &Value) -> String {
    let shared = component_name(response, "responses")
        .map(|name| {
            format!(
                "<p class=\"shared\">The shared response <a href=\"#response-{name}\">{name}</a>.</p>",
                name = escape(name)
            )
        })
        .unwrap_or_default();
    format!(
        "<div class=\"response\" id=\"{anchor}-{status}\"><h5><span class=\"status s{class}\">{status}</span> \
         {reason}</h5>{shared}{body}</div>",
        anchor = escape(anchor),
        status = escape(status),
        class = escape(&status.chars().take(1).collect::<String>()),
        reason = escape(&reason(status)),
        body = response_body(spec, spec.resolve(response)),
    )
}

/// A response's description, headers and content.
pub fn response_body(spec: Spec, response: &Value) -> String {
    let description = response
        .get("description")
        .and_then(Value::as_str)
        .map(markdown)
        .unwrap_or_default();
    format!(
        "{description}{}{}",
        headers(spec, response),
        content(spec, response)
    )
}

/// What a status code means: its reason phrase, or what a range covers.
fn reason(status: &str) -> String {
    match status {
        "default" => "Any other status".to_string(),
        "1XX" => "Informational".to_string(),
        "2XX" => "Success".to_string(),
        "3XX" => "Redirection".to_string(),
        "4XX" => "Client error".to_string(),
        "5XX" => "Server error".to_string(),
        code => code
            .parse::<u16>()
            .ok()
            .and_then(|code| http::StatusCode::from_u16(code).ok())
            .and_then(|code| code.canonical_reason())
            .unwrap_or("")
            .to_string(),
    }
}

fn headers(spec: Spec, response: &Value) -> String {
    let Some(headers) = response.get("headers").and_then(Value::as_object) else {
        return String::new();
    };
    let rows: String = headers
        .iter()
        .map(|(name, header)| {
            let header = spec.resolve(header);
            let schema = header.get("schema").map_or_else(String::new, |schema| {
                format!(
                    "{}{}",
                    schema::type_expr(spec, schema),
                    schema::constraints(schema)
                )
            });
            let required = if header.get("required") == Some(&Value::Bool(true)) {
                " <span class=\"required\">required</span>"
            } else {
                ""
            };
            let mut description = header
                .get("description")
                .and_then(Value::as_str)
                .map(markdown)
                .unwrap_or_default();
            if let Some(example) = header.get("example") {
                description.push_str(&format!(
                    "<p class=\"inline-example\">Example: <code>{}</code></p>",
                    escape(&example.to_string())
                ));
            }
            format!(
                "<tr><td><code>{}</code>{required}</td><td>{schema}</td><td>{description}</td></tr>",
                escape(name)
            )
        })
        .collect();
    format!(
        "<table class=\"headers\"><thead><tr><th>Header</th><th>Type</th><th>Description</th>\
         </tr></thead><tbody>{rows}</tbody></table>"
    )
}

/// A body's media types, each with its schema and examples.
fn content(spec: Spec, holder: &Value) -> String {
    let Some(content) = holder.get("content").and_then(Value::as_object) else {
        return String::new();
    };
    content
        .iter()
        .map(|(media_type, media)| {
            let schema = media
                .get("schema")
                .map(|schema| schema::details(spec, schema, 0))
                .unwrap_or_default();
            format!(
                "<div class=\"media\"><p class=\"media-type\"><code>{}</code></p>{schema}{}</div>",
                escape(media_type),
                media_examples(spec, media, media_type)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statuses_and_ranges_are_named() {
        assert_eq!(reason("429"), "Too Many Requests");
        assert_eq!(reason("4XX"), "Client error");
        assert_eq!(reason("default"), "Any other status");
        assert_eq!(reason("599"), "");
    }

    #[test]
    fn an_operation_parameter_overrides_the_path_items() {
        let document = json!({
            "paths": {"/pets/{id}": {
                "parameters": [
                    {"name": "id", "in": "path", "required": true, "description": "shared"},
                    {"name": "trace", "in": "header", "description": "inherited"}
                ],
                "get": {"parameters": [
                    {"name": "id", "in": "path", "required": true, "description": "own"}
                ], "responses": {}}
            }}
        });
        let spec = Spec { root: &document };
        let operations = operations(&document);
        assert_eq!(operations.len(), 1);
        let html = parameters(spec, &operations[0]);
        assert!(html.contains("own") && html.contains("inherited"));
        assert!(!html.contains("shared"));
        assert_eq!(operations[0].anchor(), "get--pets--id-");
    }
}
