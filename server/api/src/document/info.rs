//! The document's `servers`, `license` and `contact`.
//!
//! The published file names a relative server (`/`): it is served by every
//! deployment, so no absolute URL in it would be right, and a `localhost`
//! or `example.com` URL misleads generators and linters alike. The copy a
//! running server serves at `/openapi.json` replaces it with the server's
//! public URL ([`with_server_url`]).

use serde_json::{Value, json};

use super::{DocumentError, root};

/// The license the API and its document are published under.
pub const LICENSE_NAME: &str = "MPL-2.0";
/// Where the license's text is.
pub const LICENSE_URL: &str = "https://www.mozilla.org/en-US/MPL/2.0/";
/// Who answers for the API.
pub const CONTACT_NAME: &str = "login-sessions maintainers";

/// Sets `servers` to the relative `/` and adds `license` and `contact` to
/// `info`.
pub fn apply(document: &mut Value) -> Result<(), DocumentError> {
    let root = root(document)?;
    root.insert("servers".to_string(), json!([{ "url": "/" }]));
    let info = root
        .get_mut("info")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| super::shape("the document has no `info` object"))?;
    info.insert(
        "license".to_string(),
        json!({ "name": LICENSE_NAME, "url": LICENSE_URL }),
    );
    info.insert("contact".to_string(), json!({ "name": CONTACT_NAME }));
    Ok(())
}

/// The document with `servers` naming `url`, as a server at that public
/// URL serves it.
pub fn with_server_url(document: &Value, url: &str) -> Value {
    let mut document = document.clone();
    if let Some(root) = document.as_object_mut() {
        root.insert("servers".to_string(), json!([{ "url": url }]));
    }
    document
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_license_and_contact_are_set() {
        let mut document = json!({ "openapi": "3.0.3", "info": { "title": "t", "version": "1.0.0" }, "paths": {} });
        apply(&mut document).unwrap();
        assert_eq!(document["servers"], json!([{ "url": "/" }]));
        assert_eq!(document["info"]["license"]["name"], "MPL-2.0");
        assert_eq!(document["info"]["contact"]["name"], CONTACT_NAME);
        assert_eq!(document["info"]["title"], "t");
    }

    #[test]
    fn a_served_copy_names_its_url_and_nothing_else_changes() {
        let mut document = json!({ "openapi": "3.0.3", "info": { "title": "t", "version": "1.0.0" }, "paths": {} });
        apply(&mut document).unwrap();
        let served = with_server_url(&document, "https://sessions.example.net");
        assert_eq!(
            served["servers"],
            json!([{ "url": "https://sessions.example.net" }])
        );
        let mut back = served.clone();
        back["servers"] = document["servers"].clone();
        assert_eq!(back, document);
    }

    #[test]
    fn a_document_without_info_is_an_error() {
        let mut document = json!({ "openapi": "3.0.3", "paths": {} });
        assert!(apply(&mut document).is_err());
    }
}
