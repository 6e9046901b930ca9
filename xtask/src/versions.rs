//! Every published version of the OpenAPI document, one file each in
//! `openapi/versions/` (`login-sessions-<version>.json`), and the rule that
//! makes `info.version` mean something.
//!
//! * A published version's document never changes: `cargo xtask openapi
//!   generate` writes the file of the current [`API_VERSION`] when there is
//!   none, and refuses to overwrite one with other contents (bump the
//!   version instead; a version that was never released can be deleted and
//!   written again).
//! * Between consecutive versions, a change a generated client would
//!   notice ([`crate::compat::breaking_changes`]) needs a major bump.
//! * `cargo xtask openapi check` (and its test) checks both, and that the
//!   current version's file is the published document.
//!
//! [`API_VERSION`]: login_sessions_api::API_VERSION

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use semver::Version;
use serde_json::Value;

use crate::compat::breaking_changes;

/// The folder of published versions, relative to the workspace root.
pub const DIR: &str = "openapi/versions";

/// The file of `version`.
pub fn path(root: &Path, version: &Version) -> PathBuf {
    root.join(DIR)
        .join(format!("login-sessions-{version}.json"))
}

/// Records `document` (its text as published) as the current version's
/// file, after checking it against the versions before it.
pub fn record(root: &Path, text: &str) -> anyhow::Result<bool> {
    let version = login_sessions_api::API_VERSION;
    let file = path(root, &version);
    match fs::read_to_string(&file) {
        Ok(existing) if existing == text => return Ok(false),
        Ok(_) => bail!(
            "version {version} is already published with other contents ({}): bump \
             API_VERSION in server/api/src/lib.rs by the rule written there. If {version} \
             was never released, delete the file and run `cargo xtask openapi generate` again.",
            file.display()
        ),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(error).with_context(|| format!("reading {}", file.display())),
    }
    let mut versions = published(root)?;
    versions.push((version, parse(text)?));
    let problems = problems(&versions);
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    fs::create_dir_all(root.join(DIR)).with_context(|| format!("creating {DIR}"))?;
    fs::write(&file, text).with_context(|| format!("writing {}", file.display()))?;
    Ok(true)
}

/// What is wrong with the published versions and the current document,
/// one line each; empty when nothing is.
pub fn check(root: &Path, text: &str) -> anyhow::Result<Vec<String>> {
    let version = login_sessions_api::API_VERSION;
    let versions = published(root)?;
    let mut problems = problems(&versions);
    let file = path(root, &version);
    match fs::read_to_string(&file) {
        Ok(existing) if existing == text => {}
        Ok(_) => problems.push(format!(
            "{} differs from the document version {version} generates: a published version \
             never changes; bump API_VERSION (or, if {version} was never released, delete the \
             file and run `cargo xtask openapi generate`)",
            file.display()
        )),
        Err(_) => problems.push(format!(
            "version {version} has no file in {DIR}: run `cargo xtask openapi generate`"
        )),
    }
    Ok(problems)
}

/// Every published version, oldest first.
fn published(root: &Path) -> anyhow::Result<Vec<(Version, Value)>> {
    let dir = root.join(DIR);
    let mut versions = Vec::new();
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(versions),
        Err(error) => return Err(error).with_context(|| format!("reading {}", dir.display())),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(version) = name
            .strip_prefix("login-sessions-")
            .and_then(|rest| rest.strip_suffix(".json"))
        else {
            bail!("{DIR}/{name} is not named login-sessions-<version>.json");
        };
        let version = Version::parse(version)
            .with_context(|| format!("{DIR}/{name}: not a semantic version"))?;
        let text =
            fs::read_to_string(entry.path()).with_context(|| format!("reading {DIR}/{name}"))?;
        let document = parse(&text).with_context(|| format!("{DIR}/{name}"))?;
        let stated = document.pointer("/info/version").and_then(Value::as_str);
        if stated != Some(version.to_string().as_str()) {
            bail!("{DIR}/{name} says info.version {stated:?}, not {version}");
        }
        versions.push((version, document));
    }
    versions.sort_by(|(a, _), (b, _)| a.cmp(b));
    Ok(versions)
}

/// Incompatible changes between consecutive versions without a major bump.
fn problems(versions: &[(Version, Value)]) -> Vec<String> {
    let mut problems = Vec::new();
    for pair in versions.windows(2) {
        let [(old_version, old), (new_version, new)] = pair else {
            continue;
        };
        if new_version.major > old_version.major {
            continue;
        }
        let changes = breaking_changes(old, new);
        if !changes.is_empty() {
            problems.push(format!(
                "version {new_version} changes the API incompatibly since {old_version} \
                 without a major bump:\n  {}",
                changes.join("\n  ")
            ));
        }
    }
    problems
}

fn parse(text: &str) -> anyhow::Result<Value> {
    serde_json::from_str(text).context("not a JSON document")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::workspace;

    /// `cargo xtask openapi check`'s version rule as a test.
    #[test]
    fn published_versions_follow_the_rule() {
        let root = workspace::root().unwrap();
        let text = crate::openapi::contents().unwrap();
        let problems = check(&root, &text).unwrap();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    fn doc(version: &str, required: &[&str]) -> Value {
        json!({
            "openapi": "3.0.3",
            "info": { "title": "t", "version": version },
            "paths": {},
            "components": { "schemas": { "S": {
                "type": "object",
                "properties": { "a": { "type": "string" }, "b": { "type": "string" } },
                "required": required,
            } } },
        })
    }

    #[test]
    fn an_incompatible_minor_bump_is_a_problem() {
        let versions = [
            (Version::new(1, 0, 0), doc("1.0.0", &["a"])),
            (Version::new(1, 1, 0), doc("1.1.0", &["a", "b"])),
        ];
        let problems = problems(&versions);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("property `b` became required"),
            "{problems:?}"
        );
    }

    #[test]
    fn an_incompatible_major_bump_or_a_compatible_minor_is_fine() {
        let major = [
            (Version::new(1, 0, 0), doc("1.0.0", &["a"])),
            (Version::new(2, 0, 0), doc("2.0.0", &["a", "b"])),
        ];
        assert!(problems(&major).is_empty());
        let minor = [
            (Version::new(1, 0, 0), doc("1.0.0", &["a", "b"])),
            (Version::new(1, 1, 0), doc("1.1.0", &["a"])),
        ];
        assert!(problems(&minor).is_empty());
    }

    #[test]
    fn a_changed_published_version_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let version = login_sessions_api::API_VERSION;
        let text = serde_json::to_string(&doc(&version.to_string(), &["a"])).unwrap();
        assert!(record(root.path(), &text).unwrap());
        assert!(
            !record(root.path(), &text).unwrap(),
            "the same contents again"
        );
        let other = serde_json::to_string(&doc(&version.to_string(), &[])).unwrap();
        let error = record(root.path(), &other).unwrap_err().to_string();
        assert!(error.contains("already published"), "{error}");
        let problems = check(root.path(), &other).unwrap();
        assert!(problems[0].contains("never changes"), "{problems:?}");
    }
}
