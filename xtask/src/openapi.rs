//! The published OpenAPI document, `openapi/login-sessions.json`, and the
//! testing API's, `openapi/login-sessions-testing.json`.
//!
//! It is [`login_sessions_api::openapi_document`] (dropshot's document
//! from the API trait, plus the API crate's transforms), pretty-printed with two-space indentation and a trailing newline. The
//! check compares the checked-in file with it both semantically (as parsed
//! `openapiv3::OpenAPI` values) and byte for byte, and the summary says
//! which of the two differs.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

use crate::golden::{Drift, Golden, unified_diff};

/// The document's path relative to the workspace root.
pub const PATH: &str = "openapi/login-sessions.json";

/// The testing API's document's path relative to the workspace root.
pub const TESTING_PATH: &str = "openapi/login-sessions-testing.json";

/// The testing API's document as a golden file: drift-checked like the
/// main one, but not versioned under `openapi/versions/` (it is not part of
/// the main contract) and not the source of any generated client.
pub fn testing_golden() -> Golden {
    Golden {
        path: TESTING_PATH,
        command: "cargo xtask openapi generate",
        generate: |_root: &Path| render(&testing_document()?),
        compare,
    }
}

/// The testing API's document, as the API crate produces it.
pub fn testing_document() -> anyhow::Result<Value> {
    login_sessions_api::testing_openapi_document()
        .context("generating the testing API's OpenAPI document from the API trait")
}

/// The document as a golden file.
pub fn golden() -> Golden {
    Golden {
        path: PATH,
        command: "cargo xtask openapi generate",
        generate: |_root: &Path| contents(),
        compare,
    }
}

/// The document, as the API crate produces it.
pub fn document() -> anyhow::Result<Value> {
    login_sessions_api::openapi_document()
        .context("generating the OpenAPI document from the API trait")
}

/// The document as the file holds it.
pub fn render(document: &Value) -> anyhow::Result<String> {
    let mut text =
        serde_json::to_string_pretty(document).context("serializing the OpenAPI document")?;
    text.push('\n');
    parse(&text).context("the generated document is not a valid OpenAPI document")?;
    Ok(text)
}

/// The file's contents as `cargo xtask openapi generate` writes them.
pub fn contents() -> anyhow::Result<String> {
    render(&document()?)
}

/// Compares the checked-in document with the generated one: same meaning
/// (as OpenAPI) and same bytes.
pub fn compare(checked_in: Option<&str>, generated: &str) -> Drift {
    let Some(checked_in) = checked_in else {
        return Drift::Missing;
    };
    let same_meaning = match (parse(checked_in), parse(generated)) {
        (Ok(checked_in), Ok(generated)) => Ok(checked_in == generated),
        (Err(error), _) => Err(format!(
            "the checked-in file is not valid OpenAPI ({error})"
        )),
        (_, Err(error)) => Err(format!(
            "the generated document is not valid OpenAPI ({error})"
        )),
    };
    let same_bytes = checked_in == generated;
    let summary = match (same_meaning, same_bytes) {
        (Ok(true), true) => return Drift::None,
        (Ok(false), _) => "the API it describes differs from the API trait's".to_string(),
        (Ok(true), false) => {
            "it describes the same API, but its bytes differ (formatting or key order)".to_string()
        }
        (Err(problem), _) => problem,
    };
    Drift::Differs {
        summary,
        diff: unified_diff(checked_in, generated),
    }
}

/// Parses a document as OpenAPI.
pub fn parse(text: &str) -> serde_json::Result<openapiv3::OpenAPI> {
    serde_json::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace;

    /// `cargo xtask openapi check` as a test.
    #[test]
    fn openapi_is_up_to_date() {
        let golden = golden();
        let drift = golden.check(&workspace::root().unwrap()).unwrap();
        assert!(drift == Drift::None, "{}", golden.report(&drift));
    }

    #[test]
    fn the_testing_document_is_up_to_date() {
        let golden = testing_golden();
        let drift = golden.check(&workspace::root().unwrap()).unwrap();
        assert!(drift == Drift::None, "{}", golden.report(&drift));
    }

    /// Renames a property of the `Session` schema, as a changed wire type
    /// would.
    fn rename_session_property(document: &mut Value, from: &str, to: &str) {
        let session = &mut document["components"]["schemas"]["Session"];
        let properties = session["properties"].as_object_mut().unwrap();
        let property = properties.remove(from).unwrap();
        properties.insert(to.to_string(), property);
        for required in session["required"].as_array_mut().unwrap() {
            if required == from {
                *required = Value::from(to);
            }
        }
    }

    /// Whether the diff adds (`+`) or removes (`-`) a line containing `text`.
    fn changed_line(diff: &str, sign: char, text: &str) -> bool {
        diff.lines()
            .any(|line| line.starts_with(sign) && line.contains(text))
    }

    #[test]
    fn a_changed_wire_type_is_drift() {
        let document = document().unwrap();
        let checked_in = render(&document).unwrap();
        let mut changed = document;
        rename_session_property(&mut changed, "id", "session_identifier");
        let generated = render(&changed).unwrap();

        let Drift::Differs { summary, diff } = compare(Some(&checked_in), &generated) else {
            panic!("a renamed Session property went unnoticed");
        };
        assert!(summary.contains("API it describes differs"), "{summary}");
        assert!(changed_line(&diff, '+', "\"session_identifier\""), "{diff}");
        assert!(changed_line(&diff, '-', "\"id\""), "{diff}");
        let report = golden().report(&compare(Some(&checked_in), &generated));
        assert!(
            report.ends_with("run `cargo xtask openapi generate` to update it"),
            "{report}"
        );
    }

    #[test]
    fn a_removed_property_is_drift() {
        let document = document().unwrap();
        let checked_in = render(&document).unwrap();
        let mut changed = document;
        let properties = changed["components"]["schemas"]["Session"]["properties"]
            .as_object_mut()
            .unwrap();
        assert!(properties.remove("user_id").is_some());
        let generated = render(&changed).unwrap();

        let Drift::Differs { diff, .. } = compare(Some(&checked_in), &generated) else {
            panic!("a removed Session property went unnoticed");
        };
        assert!(changed_line(&diff, '-', "\"user_id\": {"), "{diff}");
    }

    #[test]
    fn a_reformatted_document_is_drift() {
        let document = document().unwrap();
        let generated = render(&document).unwrap();
        let compact = serde_json::to_string(&document).unwrap();
        let Drift::Differs { summary, .. } = compare(Some(&compact), &generated) else {
            panic!("a reformatted document went unnoticed");
        };
        assert!(summary.contains("same API"), "{summary}");
    }

    #[test]
    fn an_invalid_checked_in_file_is_drift() {
        let generated = contents().unwrap();
        let Drift::Differs { summary, .. } = compare(Some("{}\n"), &generated) else {
            panic!("an invalid document went unnoticed");
        };
        assert!(summary.contains("not valid OpenAPI"), "{summary}");
    }

    #[test]
    fn a_missing_file_is_drift() {
        assert_eq!(compare(None, &contents().unwrap()), Drift::Missing);
    }

    #[test]
    fn the_document_ends_with_a_newline_and_indents_by_two() {
        let text = contents().unwrap();
        assert!(text.ends_with("}\n"));
        assert!(text.starts_with("{\n  \""), "{}", &text[..20]);
    }
}
