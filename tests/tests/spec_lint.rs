//! The published spec, `openapi/login-sessions.json` (and the testing
//! API's, `openapi/login-sessions-testing.json`), under the linters
//! its consumers' tools use: `openapi-spec-validator`, Redocly CLI with its
//! `recommended` ruleset (`tests/tools/redocly.yaml`) and Spectral with
//! `spectral:oas` (`tests/tools/.spectral.yaml`). Each must report no error
//! and no warning; a failure prints what the linter found.
//!
//! So that a linter that stopped looking cannot pass, each is also run on
//! a deliberately broken copy of the spec and must object to it.
//!
//! The linters are provisioned by the tests themselves (`tests/src/python.rs`,
//! `tests/src/node.rs`); when Python or Node is missing, the tests fail
//! saying what to install.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use login_sessions_tests::node;
use login_sessions_tests::python::{self, workspace_root};
use serde_json::{Value, json};

/// A linter, named for messages, run on one document.
type Linter = (&'static str, fn(&Path) -> Findings);

/// What a linter found in one document.
struct Findings {
    /// How many errors and warnings it reported.
    problems: usize,
    /// Its report, to print when there are problems.
    report: String,
}

fn published_spec() -> PathBuf {
    workspace_root().join("openapi").join("login-sessions.json")
}

fn testing_spec() -> PathBuf {
    workspace_root()
        .join("openapi")
        .join("login-sessions-testing.json")
}

fn tools_config(name: &str) -> PathBuf {
    workspace_root().join("tests").join("tools").join(name)
}

/// Runs a linter; panics, with its output, when it does not run at all.
fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|error| panic!("running {command:?}: {error}"))
}

fn text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `openapi-spec-validator`: any finding is an error (it exits non-zero).
fn openapi_spec_validator(spec: &Path) -> Findings {
    let output = run(Command::new(python::TOOLS.bin("openapi-spec-validator")).arg(spec));
    Findings {
        problems: usize::from(!output.status.success()),
        report: text(&output),
    }
}

/// Redocly CLI's `lint`, counting errors and warnings from its JSON report.
fn redocly(spec: &Path) -> Findings {
    let output = run(Command::new(node::bin("redocly"))
        .arg("lint")
        .arg("--config")
        .arg(tools_config("redocly.yaml"))
        .arg("--format=json")
        .arg(spec)
        .env("REDOCLY_TELEMETRY", "off")
        .env("REDOCLY_SUPPRESS_UPDATE_NOTICE", "true"));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "Redocly printed no JSON report ({error}):\n{}",
            text(&output)
        )
    });
    let count = |severity: &str| {
        report["totals"][severity]
            .as_u64()
            .unwrap_or_else(|| panic!("Redocly's report has no totals.{severity}:\n{report:#}"))
    };
    let problems = report["problems"]
        .as_array()
        .expect("Redocly's report lists its problems")
        .iter()
        .map(|problem| {
            format!(
                "{} {}: {} (at {})",
                problem["severity"].as_str().unwrap_or_default(),
                problem["ruleId"].as_str().unwrap_or_default(),
                problem["message"].as_str().unwrap_or_default(),
                problem["location"][0]["pointer"]
                    .as_str()
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    Findings {
        problems: usize::try_from(count("errors") + count("warnings")).unwrap(),
        report: problems,
    }
}

/// Spectral's `lint`, counting errors (severity 0) and warnings (1) from its
/// JSON report.
fn spectral(spec: &Path) -> Findings {
    let output = run(Command::new(node::bin("spectral"))
        .arg("lint")
        .arg("--ruleset")
        .arg(tools_config(".spectral.yaml"))
        .args(["--format", "json", "--quiet"])
        .arg(spec));
    let results: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "Spectral printed no JSON report ({error}):\n{}",
            text(&output)
        )
    });
    let serious: Vec<&Value> = results
        .iter()
        .filter(|result| {
            result["severity"]
                .as_u64()
                .is_some_and(|severity| severity <= 1)
        })
        .collect();
    let report = serious
        .iter()
        .map(|result| {
            let severity = match result["severity"].as_u64() {
                Some(0) => "error",
                _ => "warning",
            };
            let path: Vec<String> = result["path"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|part| {
                    part.as_str()
                        .map_or_else(|| part.to_string(), str::to_string)
                })
                .collect();
            format!(
                "{severity} {}: {} (at {})",
                result["code"].as_str().unwrap_or_default(),
                result["message"].as_str().unwrap_or_default(),
                path.join(".")
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    Findings {
        problems: serious.len(),
        report,
    }
}

fn assert_clean(linter: &str, findings: Findings) {
    assert_eq!(
        findings.problems, 0,
        "{linter} reports {} problem(s):\n{}",
        findings.problems, findings.report
    );
}

/// A copy of the published spec, changed by `breakage`, in a temporary
/// directory (kept alive by the returned guard).
fn broken_copy(breakage: impl FnOnce(&mut Value)) -> (tempfile::TempDir, PathBuf) {
    let text = std::fs::read_to_string(published_spec()).expect("read the published spec");
    let mut spec: Value = serde_json::from_str(&text).expect("the published spec is JSON");
    breakage(&mut spec);
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("broken.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&spec).unwrap()).expect("write the copy");
    (dir, path)
}

/// An error: a schema whose `type` is not one OpenAPI 3.0 knows.
fn with_an_invalid_type(spec: &mut Value) {
    spec["components"]["schemas"]["Session"]["properties"]["id"] =
        json!({"type": "text", "description": "Not an OpenAPI type."});
}

/// Only a warning: a component schema nothing refers to.
fn with_an_unused_component(spec: &mut Value) {
    spec["components"]["schemas"]["NeverReferenced"] =
        json!({"type": "object", "description": "Nothing refers to this schema."});
}

#[test]
fn openapi_spec_validator_accepts_the_published_spec() {
    assert_clean(
        "openapi-spec-validator",
        openapi_spec_validator(&published_spec()),
    );
}

#[test]
fn redocly_recommended_finds_nothing() {
    assert_clean("Redocly CLI (recommended)", redocly(&published_spec()));
}

#[test]
fn spectral_oas_finds_nothing() {
    assert_clean("Spectral (spectral:oas)", spectral(&published_spec()));
}

#[test]
fn every_linter_accepts_the_testing_spec() {
    let linters: [Linter; 3] = [
        ("openapi-spec-validator", openapi_spec_validator),
        ("Redocly CLI (recommended)", redocly),
        ("Spectral (spectral:oas)", spectral),
    ];
    for (linter, lint) in linters {
        assert_clean(linter, lint(&testing_spec()));
    }
}

#[test]
fn every_linter_rejects_an_invalid_schema() {
    let (_dir, broken) = broken_copy(with_an_invalid_type);
    let linters: [Linter; 3] = [
        ("openapi-spec-validator", openapi_spec_validator),
        ("Redocly CLI", redocly),
        ("Spectral", spectral),
    ];
    for (linter, lint) in linters {
        assert!(
            lint(&broken).problems > 0,
            "{linter} found nothing wrong with a schema of type \"text\""
        );
    }
}

#[test]
fn a_warning_alone_fails_redocly_and_spectral() {
    let (_dir, broken) = broken_copy(with_an_unused_component);
    let linters: [Linter; 2] = [("Redocly CLI", redocly), ("Spectral", spectral)];
    for (linter, lint) in linters {
        let findings = lint(&broken);
        assert!(
            findings.problems > 0 && findings.report.contains("NeverReferenced"),
            "{linter} did not count an unused component schema as a problem:\n{}",
            findings.report
        );
    }
}
