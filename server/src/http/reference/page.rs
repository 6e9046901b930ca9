//! The reference page: one HTML document rendered from an OpenAPI 3.0
//! document.
//!
//! Operations are grouped by their first tag, in the order of the
//! document's `tags` (tags used but not declared follow, then untagged
//! operations), each tag with its description and links; each operation
//! is a `<section>` whose id is its operation id ([`operation`]). The
//! named security schemes, schemas and shared responses follow,
//! each with an anchor the operations link to. The page is plain HTML
//! with inline CSS: no scripts, fonts or anything else from elsewhere.

use std::collections::BTreeMap;

use serde_json::Value;

use super::operation::{self, Operation, operations};
use super::schema::{self, Spec, named_example, schema_anchor};
use super::text::{escape, inline, markdown};

/// The page's style sheet, inlined.
const STYLE: &str = include_str!("style.css");

/// Links the page shows besides what the document says.
pub struct Links<'a> {
    /// The OpenAPI document the page renders, relative to the page.
    pub document: &'a str,
    /// More reading for a tag, shown under its description.
    pub tags: &'a [TagLink<'a>],
}

/// A link shown under one tag's description.
pub struct TagLink<'a> {
    pub tag: &'a str,
    pub href: &'a str,
    pub text: &'a str,
}

/// The operations of one tag.
struct Group<'a> {
    name: Option<String>,
    tag: Option<&'a Value>,
    operations: Vec<Operation<'a>>,
}

impl Group<'_> {
    fn anchor(&self) -> String {
        match &self.name {
            Some(name) => format!("tag-{name}"),
            None => "untagged".to_string(),
        }
    }

    fn title(&self) -> &str {
        self.name.as_deref().unwrap_or("Other operations")
    }
}

/// The whole page for `document`.
pub fn render(document: &Value, links: &Links) -> String {
    let spec = Spec { root: document };
    let groups = groups(document);
    let title = document
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or("API");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} API reference</title>\n<link rel=\"icon\" href=\"data:,\">\n\
         <style>\n{STYLE}</style>\n</head>\n<body>\n{nav}\n<main>\n{header}\n{security}\n\
         {operations}\n{schemas}\n{responses}\n</main>\n</body>\n</html>\n",
        title = escape(title),
        nav = navigation(document, &groups),
        header = header(document, links),
        security = security_schemes(document),
        operations = groups
            .iter()
            .map(|group| group_section(spec, group, links))
            .collect::<String>(),
        schemas = component_schemas(spec),
        responses = component_responses(spec),
    )
}

// --- Grouping ---------------------------------------------------------------

/// The operations by tag: declared tags first, in their order, then the
/// undeclared ones by name, then the untagged operations.
fn groups(document: &Value) -> Vec<Group<'_>> {
    let declared: Vec<&Value> = document
        .get("tags")
        .and_then(Value::as_array)
        .map(|tags| tags.iter().collect())
        .unwrap_or_default();
    let mut by_tag: BTreeMap<Option<String>, Vec<Operation>> = BTreeMap::new();
    for operation in operations(document) {
        let tag = operation.tag().map(str::to_string);
        by_tag.entry(tag).or_default().push(operation);
    }
    let mut groups = Vec::new();
    for tag in declared {
        let name = tag.get("name").and_then(Value::as_str).map(str::to_string);
        if let Some(operations) = by_tag.remove(&name) {
            groups.push(Group {
                name,
                tag: Some(tag),
                operations,
            });
        }
    }
    let untagged = by_tag.remove(&None);
    for (name, operations) in by_tag {
        groups.push(Group {
            name,
            tag: None,
            operations,
        });
    }
    if let Some(operations) = untagged {
        groups.push(Group {
            name: None,
            tag: None,
            operations,
        });
    }
    groups
}

// --- Page furniture -----------------------------------------------------------

fn navigation(document: &Value, groups: &[Group]) -> String {
    let entries: String = groups
        .iter()
        .map(|group| {
            let operations: String = group
                .operations
                .iter()
                .map(|op| {
                    let anchor = escape(&op.anchor());
                    format!(
                        "<li><a href=\"#{anchor}\"><span class=\"method {method}\">{upper}</span> \
                         {anchor}</a></li>",
                        method = op.method,
                        upper = op.method.to_uppercase()
                    )
                })
                .collect();
            format!(
                "<li><a href=\"#{}\">{}</a><ul>{operations}</ul></li>",
                escape(&group.anchor()),
                escape(group.title())
            )
        })
        .collect();
    let mut extra = String::new();
    if document.pointer("/components/securitySchemes").is_some() {
        extra.push_str("<li><a href=\"#authentication\">Authentication</a></li>");
    }
    if document.pointer("/components/schemas").is_some() {
        extra.push_str("<li><a href=\"#schemas\">Schemas</a></li>");
    }
    if document.pointer("/components/responses").is_some() {
        extra.push_str("<li><a href=\"#responses\">Shared responses</a></li>");
    }
    format!("<nav class=\"toc\"><p class=\"toc-title\">Contents</p><ul>{entries}{extra}</ul></nav>")
}

fn header(document: &Value, links: &Links) -> String {
    let text = |pointer: &str| document.pointer(pointer).and_then(Value::as_str);
    let mut html = format!(
        "<header><h1>{} <span class=\"version\">{}</span></h1>",
        escape(text("/info/title").unwrap_or("API")),
        escape(text("/info/version").unwrap_or(""))
    );
    if let Some(description) = text("/info/description") {
        html.push_str(&markdown(description));
    }
    html.push_str(&format!(
        "<p class=\"meta\">OpenAPI {} · the document: <a href=\"{}\">{}</a></p>",
        escape(text("/openapi").unwrap_or("3")),
        escape(links.document),
        escape(links.document.rsplit('/').next().unwrap_or(links.document))
    ));
    html.push_str(&servers(document));
    html.push_str(&contact_and_license(document));
    html.push_str("</header>");
    html
}

fn servers(document: &Value) -> String {
    let Some(servers) = document.get("servers").and_then(Value::as_array) else {
        return String::new();
    };
    let items: String = servers
        .iter()
        .filter_map(|server| {
            let url = server.get("url").and_then(Value::as_str)?;
            let description = server
                .get("description")
                .and_then(Value::as_str)
                .map(|d| format!(": {}", inline(d)))
                .unwrap_or_default();
            Some(format!(
                "<li><code>{}</code>{description}</li>",
                escape(url)
            ))
        })
        .collect();
    format!("<p class=\"meta\">Servers:</p><ul class=\"servers\">{items}</ul>")
}

fn contact_and_license(document: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(license) = document.pointer("/info/license") {
        parts.push(format!("License: {}", named_link(license)));
    }
    if let Some(contact) = document.pointer("/info/contact") {
        let email = contact
            .get("email")
            .and_then(Value::as_str)
            .map(|email| format!(" &lt;{}&gt;", escape(email)))
            .unwrap_or_default();
        parts.push(format!("Contact: {}{email}", named_link(contact)));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("<p class=\"meta\">{}</p>", parts.join(" · "))
    }
}

/// An object's `name`, linked to its `url` when it has one.
fn named_link(object: &Value) -> String {
    let name = object.get("name").and_then(Value::as_str).unwrap_or("");
    match object.get("url").and_then(Value::as_str) {
        Some(url) => format!(
            "<a href=\"{}\">{}</a>",
            escape(url),
            escape(if name.is_empty() { url } else { name })
        ),
        None => escape(name),
    }
}

// --- Security -----------------------------------------------------------------

fn security_schemes(document: &Value) -> String {
    let Some(schemes) = document
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
    else {
        return String::new();
    };
    let rows: String = schemes
        .iter()
        .map(|(name, scheme)| {
            format!(
                "<tr id=\"security-{anchor}\"><td><code>{anchor}</code></td><td>{how}</td>\
                 <td>{description}</td></tr>",
                anchor = escape(name),
                how = scheme_summary(scheme),
                description = scheme
                    .get("description")
                    .and_then(Value::as_str)
                    .map(markdown)
                    .unwrap_or_default()
            )
        })
        .collect();
    format!(
        "<section id=\"authentication\"><h2>Authentication</h2>\
         <table><thead><tr><th>Scheme</th><th>How</th><th>Description</th></tr></thead>\
         <tbody>{rows}</tbody></table></section>"
    )
}

/// `HTTP bearer`, `API key in header Authorization`, ...
fn scheme_summary(scheme: &Value) -> String {
    let field = |name: &str| escape(scheme.get(name).and_then(Value::as_str).unwrap_or(""));
    match field("type").as_str() {
        "http" => format!("HTTP {}", field("scheme")),
        "apiKey" => format!("API key in {} <code>{}</code>", field("in"), field("name")),
        other => other.to_string(),
    }
}

// --- Tags ------------------------------------------------------------------

fn group_section(spec: Spec, group: &Group, links: &Links) -> String {
    let description = group
        .tag
        .and_then(|tag| tag.get("description"))
        .and_then(Value::as_str)
        .map(markdown)
        .unwrap_or_default();
    let external = group
        .tag
        .and_then(|tag| tag.get("externalDocs"))
        .map(|docs| {
            let url = docs.get("url").and_then(Value::as_str).unwrap_or("");
            let text = docs
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or(url);
            format!(
                "<p class=\"more\"><a href=\"{}\">{}</a></p>",
                escape(url),
                inline(text)
            )
        })
        .unwrap_or_default();
    let more: String = links
        .tags
        .iter()
        .filter(|link| Some(link.tag) == group.name.as_deref())
        .map(|link| {
            format!(
                "<p class=\"more\"><a href=\"{}\">{}</a></p>",
                escape(link.href),
                escape(link.text)
            )
        })
        .collect();
    let operations: String = group
        .operations
        .iter()
        .map(|operation| operation::section(spec, operation))
        .collect();
    format!(
        "<section class=\"tag\" id=\"{}\"><h2>{}</h2>{description}{external}{more}{operations}</section>",
        escape(&group.anchor()),
        escape(group.title())
    )
}

// --- Components -------------------------------------------------------------------

fn component_schemas(spec: Spec) -> String {
    let Some(schemas) = spec
        .root
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return String::new();
    };
    let sections: String = schemas
        .iter()
        .map(|(name, schema)| schema_section(spec, name, schema))
        .collect();
    format!("<section id=\"schemas\"><h2>Schemas</h2>{sections}</section>")
}

fn schema_section(spec: Spec, name: &str, schema: &Value) -> String {
    let description = schema
        .get("description")
        .and_then(Value::as_str)
        .map(markdown)
        .unwrap_or_default();
    let example = schema
        .get("example")
        .map(|example| schema::example_block("Example", example, "application/json"))
        .unwrap_or_default();
    let examples: String = schema
        .get("examples")
        .and_then(Value::as_object)
        .map(|examples| {
            examples
                .iter()
                .map(|(key, value)| named_example(spec, key, value, "application/json"))
                .collect()
        })
        .unwrap_or_default();
    format!(
        "<section class=\"schema-def\" id=\"{anchor}\"><h3>{name}</h3>{description}\
         <p class=\"type\">{kind}</p>{constraints}{structure}{example}{examples}</section>",
        anchor = escape(&schema_anchor(name)),
        name = escape(name),
        kind = schema::type_expr(spec, schema),
        constraints = schema::constraints(schema),
        structure = schema::structure(spec, schema, 0),
    )
}

fn component_responses(spec: Spec) -> String {
    let Some(responses) = spec
        .root
        .pointer("/components/responses")
        .and_then(Value::as_object)
    else {
        return String::new();
    };
    let sections: String = responses
        .iter()
        .map(|(name, response)| {
            format!(
                "<section class=\"schema-def\" id=\"response-{name}\"><h3>{name}</h3>{}</section>",
                operation::response_body(spec, spec.resolve(response)),
                name = escape(name)
            )
        })
        .collect();
    format!("<section id=\"responses\"><h2>Shared responses</h2>{sections}</section>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LINKS: Links = Links {
        document: "../openapi.json",
        tags: &[TagLink {
            tag: "pets",
            href: "pets/errors",
            text: "What pet errors mean",
        }],
    };

    /// A small document using what OpenAPI 3.0 allows.
    fn document() -> Value {
        json!({
            "openapi": "3.0.3",
            "info": {"title": "Pets <3", "version": "2.1.0", "description": "All `pets`.",
                     "license": {"name": "MPL-2.0"}},
            "servers": [{"url": "https://pets.test"}],
            "tags": [
                {"name": "pets", "description": "Pet things."},
                {"name": "empty", "description": "No operations."}
            ],
            "paths": {
                "/pets/{pet_id}": {
                    "parameters": [{"$ref": "#/components/parameters/PetId"}],
                    "get": {
                        "operationId": "pet_view",
                        "summary": "View a pet",
                        "description": "### Details\n\nA <pet>.",
                        "tags": ["pets"],
                        "security": [{"token": []}],
                        "parameters": [{"name": "fields", "in": "query",
                            "schema": {"type": "string", "enum": ["a", "b"]}}],
                        "responses": {
                            "200": {
                                "description": "The pet",
                                "headers": {"X-Request-Id": {"$ref": "#/components/headers/RequestId"}},
                                "content": {"application/json": {
                                    "schema": {"$ref": "#/components/schemas/Pet"},
                                    "example": {"id": "p1", "name": "Rex"}
                                }}
                            },
                            "429": {
                                "description": "Slow down",
                                "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                            },
                            "4XX": {"$ref": "#/components/responses/Error"}
                        }
                    },
                    "delete": {"operationId": "pet_delete", "tags": ["pets"], "security": [],
                               "responses": {"204": {"description": "Gone"}}}
                },
                "/login": {
                    "post": {
                        "operationId": "login",
                        "requestBody": {"required": true, "content": {
                            "application/x-www-form-urlencoded": {"schema": {
                                "type": "object", "required": ["secret"],
                                "properties": {"secret": {"type": "string", "minLength": 1}}
                            }}
                        }},
                        "responses": {"200": {"description": "ok"}}
                    }
                }
            },
            "components": {
                "parameters": {"PetId": {"name": "pet_id", "in": "path", "required": true,
                    "schema": {"type": "string", "pattern": "^p[0-9]+$"}}},
                "headers": {"RequestId": {"description": "The request's id.", "schema": {"type": "string"}}},
                "responses": {"Error": {"description": "An error", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}}},
                "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
                "schemas": {
                    "Pet": {
                        "type": "object", "required": ["id"],
                        "properties": {
                            "id": {"type": "string"},
                            "owner": {"oneOf": [{"$ref": "#/components/schemas/Owner"}, {"enum": [null]}]}
                        },
                        "example": {"id": "p2"}
                    },
                    "Owner": {"type": "string", "enum": ["me", "you"]},
                    "Error": {"type": "object", "properties": {"message": {"type": "string"}}}
                }
            }
        })
    }

    fn page() -> String {
        render(&document(), &LINKS)
    }

    #[test]
    fn every_operation_has_a_section_under_its_tag() {
        let html = page();
        for id in ["pet_view", "pet_delete", "login"] {
            assert!(
                html.contains(&format!("<section class=\"operation\" id=\"{id}\">")),
                "{id}"
            );
        }
        let tag = html.find("id=\"tag-pets\"").unwrap();
        let other = html.find("id=\"untagged\"").unwrap();
        let view = html.find("id=\"pet_view\"").unwrap();
        let login = html.find("id=\"login\"").unwrap();
        assert!(tag < view && view < other && other < login);
        assert!(
            !html.contains("tag-empty"),
            "a tag without operations is left out"
        );
        assert!(html.contains("<p>Pet things.</p><p class=\"more\"><a href=\"pets/errors\">"));
    }

    #[test]
    fn operations_show_method_path_text_and_security() {
        let html = page();
        assert!(html.contains(
            "<h3><span class=\"method get\">GET</span> <code class=\"path\">/pets/{pet_id}</code></h3>"
        ));
        assert!(html.contains("<p class=\"summary\">View a pet</p>"));
        assert!(html.contains("<h4 class=\"md\">Details</h4><p>A &lt;pet&gt;.</p>"));
        assert!(html.contains("<a href=\"#security-token\"><code>token</code></a>"));
        assert!(html.contains("None: this operation needs no authentication."));
    }

    #[test]
    fn parameters_include_the_path_items_and_their_constraints() {
        let html = page();
        assert!(html.contains(
            "<code>pet_id</code> <span class=\"required\">required</span></td><td>path</td>"
        ));
        assert!(html.contains("pattern <code>&quot;^p[0-9]+$&quot;</code>"));
        assert!(html.contains("<code>&quot;a&quot;</code> | <code>&quot;b&quot;</code>"));
    }

    #[test]
    fn responses_show_headers_schemas_and_examples() {
        let html = page();
        assert!(html.contains("id=\"pet_view-200\""));
        assert!(html.contains(
            "<code>X-Request-Id</code></td><td>string</td><td><p>The request&#39;s id.</p>"
        ));
        assert!(html.contains("<code>Retry-After</code></td><td>integer<ul class=\"constraints\"><li>minimum <code>1</code>"));
        assert!(html.contains("<a href=\"#schema-Pet\">Pet</a>"));
        assert!(html.contains("&quot;name&quot;: &quot;Rex&quot;"));
        assert!(html.contains("Too Many Requests"));
        assert!(html.contains("The shared response <a href=\"#response-Error\">Error</a>"));
        assert!(html.contains("<span class=\"status s4\">4XX</span> Client error"));
    }

    #[test]
    fn request_bodies_show_inline_schemas() {
        let html = page();
        assert!(html.contains("<h4>Request body <span class=\"required\">required</span></h4>"));
        assert!(html.contains("<code>application/x-www-form-urlencoded</code>"));
        assert!(html.contains(
            "<code>secret</code> <span class=\"required\">required</span></td><td>string"
        ));
    }

    #[test]
    fn components_have_anchored_sections() {
        let html = page();
        assert!(html.contains("<section class=\"schema-def\" id=\"schema-Pet\">"));
        assert!(html.contains("<section class=\"schema-def\" id=\"response-Error\">"));
        assert!(
            html.contains(
                "<tr id=\"security-token\"><td><code>token</code></td><td>HTTP bearer</td>"
            )
        );
        assert!(html.contains("<a href=\"#schema-Owner\">Owner</a> | <code>null</code>"));
        assert!(html.contains("&quot;id&quot;: &quot;p2&quot;"));
    }

    #[test]
    fn the_header_escapes_and_links_the_document() {
        let html = page();
        assert!(html.contains("<title>Pets &lt;3 API reference</title>"));
        assert!(html.contains("<a href=\"../openapi.json\">openapi.json</a>"));
        assert!(html.contains("<li><code>https://pets.test</code></li>"));
        assert!(html.contains("License: MPL-2.0"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("<pet>"));
    }

    #[test]
    fn api_key_schemes_name_their_header() {
        let scheme = json!({"type": "apiKey", "in": "header", "name": "X-<Key>"});
        assert_eq!(
            scheme_summary(&scheme),
            "API key in header <code>X-&lt;Key&gt;</code>"
        );
    }
}
