//! The security transform: adds to the OpenAPI document what dropshot
//! cannot express, the security schemes and which operation uses which.
//!
//! Every operation has exactly one tag, its dialect, and every dialect
//! authenticates one way, so the scheme of an operation follows from its
//! tag through [`SCHEMES`]. Operations that take no authentication at all
//! are listed by operation id in [`UNAUTHENTICATED`] and say so with an
//! empty `security` list. Only schemes some operation uses are published
//! under `components.securitySchemes`.
//!
//! Adding a dialect means adding one line to [`SCHEMES`]: an operation whose
//! tag has no line is an error, so a new dialect cannot be published
//! without its authentication.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::{DocumentError, components_section, operation_id, operation_tag, operations, shape};

/// How a dialect authenticates its operations.
pub struct Scheme {
    /// The tag (dialect) whose operations use the scheme.
    pub tag: &'static str,
    /// The scheme's name under `components.securitySchemes`.
    pub name: &'static str,
    /// Where the credential goes.
    pub kind: Kind,
    /// What the credential is and how to present it.
    pub description: &'static str,
}

/// Where a scheme's credential goes.
pub enum Kind {
    /// HTTP bearer authentication, `Authorization: Bearer <token>`.
    Bearer,
    /// A credential in the named request header that is not a standard HTTP
    /// authentication scheme.
    Header(&'static str),
}

/// The security scheme of each tag. One line per dialect.
pub const SCHEMES: &[Scheme] = &[
    Scheme {
        tag: "testing",
        name: "testing_admin_token",
        kind: Kind::Bearer,
        description: "An admin credential's native API token: `Authorization: Bearer <token>`.",
    },
    Scheme {
        tag: "native",
        name: "native_token",
        kind: Kind::Bearer,
        description: "A credential's native API token: `Authorization: Bearer <token>`.",
    },
    Scheme {
        tag: "looker",
        name: "looker_token",
        kind: Kind::Bearer,
        description: "An access token from `POST /api/4.0/login`: \
            `Authorization: token <token>` (Looker's documented form) or `Bearer <token>`.",
    },
    Scheme {
        tag: "prefactor",
        name: "prefactor_token",
        kind: Kind::Bearer,
        description: "A credential's Prefactor API token.",
    },
    Scheme {
        tag: "huawei",
        name: "huawei_signature",
        kind: Kind::Header("Authorization"),
        description: "AK/SK request signing, \
            `SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...`, \
            with `X-Sdk-Date` (and `X-Security-Token` for temporary credentials).",
    },
];

/// Operations, by operation id, that take no authentication at all.
///
/// `login`: Looker's login takes `client_id` and `client_secret` in the
/// body and answers with the access token the other Looker operations use.
pub const UNAUTHENTICATED: &[&str] = &["login"];

/// Adds `security` to every operation (empty for those that take no
/// authentication) and the schemes they use to
/// `components.securitySchemes`. Applying it twice changes nothing.
pub fn apply(document: &mut Value) -> Result<(), DocumentError> {
    let mut used = BTreeSet::new();
    for operation in operations(document)? {
        let security = match scheme_of(operation)? {
            Some(scheme) => {
                used.insert(scheme.name);
                json!([{ scheme.name: [] }])
            }
            None => json!([]),
        };
        operation.insert("security".to_string(), security);
    }
    let schemes: Map<String, Value> = SCHEMES
        .iter()
        .filter(|scheme| used.contains(scheme.name))
        .map(|scheme| (scheme.name.to_string(), scheme.to_json()))
        .collect();
    set_security_schemes(document, schemes)
}

impl Scheme {
    /// The scheme as an OpenAPI Security Scheme Object.
    fn to_json(&self) -> Value {
        match self.kind {
            Kind::Bearer => json!({
                "type": "http",
                "scheme": "bearer",
                "description": self.description,
            }),
            Kind::Header(name) => json!({
                "type": "apiKey",
                "in": "header",
                "name": name,
                "description": self.description,
            }),
        }
    }
}

/// The scheme an operation uses, `None` when it takes no authentication.
fn scheme_of(operation: &Map<String, Value>) -> Result<Option<&'static Scheme>, DocumentError> {
    let id = operation_id(operation)?;
    if UNAUTHENTICATED.contains(&id) {
        return Ok(None);
    }
    let tag = operation_tag(operation)?;
    match SCHEMES.iter().find(|scheme| scheme.tag == tag) {
        Some(scheme) => Ok(Some(scheme)),
        None => Err(shape(format!(
            "operation `{id}` has tag `{tag}`, which has no security scheme: add one \
             to SCHEMES in server/api/src/document/security.rs (or, if the operation \
             takes no authentication, its id to UNAUTHENTICATED)"
        ))),
    }
}

/// Sets `components.securitySchemes` to exactly `schemes`, removing the key
/// when there are none.
fn set_security_schemes(
    document: &mut Value,
    schemes: Map<String, Value>,
) -> Result<(), DocumentError> {
    if schemes.is_empty() {
        if let Some(components) = document
            .get_mut("components")
            .and_then(Value::as_object_mut)
        {
            components.remove("securitySchemes");
        }
        return Ok(());
    }
    *components_section(document, "securitySchemes")? = schemes;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A document with one operation per (operation id, tag).
    fn document(operations: &[(&str, &str)]) -> Value {
        let paths: Map<String, Value> = operations
            .iter()
            .map(|(id, tag)| {
                (
                    format!("/{id}"),
                    json!({ "get": { "operationId": id, "tags": [tag], "responses": {} } }),
                )
            })
            .collect();
        json!({
            "openapi": "3.0.3",
            "info": { "title": "test", "version": "1.0.0" },
            "paths": paths,
            "components": { "schemas": {} },
        })
    }

    fn security<'a>(document: &'a Value, id: &str) -> Option<&'a Value> {
        document["paths"][format!("/{id}")]["get"].get("security")
    }

    fn schemes(document: &Value) -> Vec<&str> {
        document["components"]
            .get("securitySchemes")
            .and_then(Value::as_object)
            .map(|schemes| schemes.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    #[test]
    fn an_operation_gets_the_scheme_of_its_tag() {
        let mut doc = document(&[("session_view", "native"), ("fetch_session", "prefactor")]);
        apply(&mut doc).unwrap();
        assert_eq!(
            security(&doc, "session_view"),
            Some(&json!([{ "native_token": [] }]))
        );
        assert_eq!(
            security(&doc, "fetch_session"),
            Some(&json!([{ "prefactor_token": [] }]))
        );
        assert_eq!(
            doc["components"]["securitySchemes"]["native_token"],
            json!({
                "type": "http",
                "scheme": "bearer",
                "description": "A credential's native API token: `Authorization: Bearer <token>`.",
            })
        );
    }

    #[test]
    fn a_header_scheme_names_its_header() {
        let mut doc = document(&[("ListSessions", "huawei")]);
        apply(&mut doc).unwrap();
        let scheme = &doc["components"]["securitySchemes"]["huawei_signature"];
        assert_eq!(scheme["type"], "apiKey");
        assert_eq!(scheme["in"], "header");
        assert_eq!(scheme["name"], "Authorization");
    }

    #[test]
    fn unauthenticated_operations_get_no_security() {
        let mut doc = document(&[("login", "looker"), ("user_session", "looker")]);
        apply(&mut doc).unwrap();
        assert_eq!(security(&doc, "login"), Some(&json!([])));
        assert_eq!(
            security(&doc, "user_session"),
            Some(&json!([{ "looker_token": [] }]))
        );
    }

    #[test]
    fn unused_schemes_are_not_emitted() {
        let mut doc = document(&[("session_view", "native"), ("login", "looker")]);
        apply(&mut doc).unwrap();
        assert_eq!(schemes(&doc), ["native_token"]);

        let mut doc = document(&[("login", "looker")]);
        apply(&mut doc).unwrap();
        assert!(schemes(&doc).is_empty());
        assert_eq!(doc["components"].get("securitySchemes"), None);
    }

    #[test]
    fn an_unknown_tag_is_an_error() {
        let mut doc = document(&[("session_view", "native"), ("whoami", "okta")]);
        let error = apply(&mut doc).unwrap_err().to_string();
        assert!(error.contains("`whoami`"), "{error}");
        assert!(error.contains("`okta`"), "{error}");
    }

    #[test]
    fn an_operation_without_exactly_one_tag_is_an_error() {
        let mut doc = document(&[("session_view", "native")]);
        doc["paths"]["/session_view"]["get"]["tags"] = json!(["native", "looker"]);
        let error = apply(&mut doc).unwrap_err().to_string();
        assert!(error.contains("`session_view` has 2 tags"), "{error}");
    }

    #[test]
    fn every_method_of_a_path_is_transformed() {
        let mut doc = document(&[("session_view", "native")]);
        doc["paths"]["/session_view"]["post"] =
            json!({ "operationId": "session_edit", "tags": ["native"], "responses": {} });
        doc["paths"]["/session_view"]["parameters"] = json!([]);
        apply(&mut doc).unwrap();
        assert_eq!(
            doc["paths"]["/session_view"]["post"]["security"],
            json!([{ "native_token": [] }])
        );
        assert_eq!(doc["paths"]["/session_view"]["parameters"], json!([]));
    }

    #[test]
    fn the_transform_is_idempotent() {
        let mut once = document(&[
            ("session_view", "native"),
            ("login", "looker"),
            ("user_session", "looker"),
            ("ListSessions", "huawei"),
        ]);
        apply(&mut once).unwrap();
        let mut twice = once.clone();
        apply(&mut twice).unwrap();
        assert_eq!(once, twice);
        assert_eq!(
            schemes(&once),
            ["huawei_signature", "looker_token", "native_token"]
        );
    }
}
