//! A real headless browser for the tests: Debian's Chromium, driven by
//! `playwright-core` from npm (Playwright's own browser download is not
//! used).
//!
//! [`load`] opens a page with `tests/browser/check-page.cjs` and returns
//! what it saw ([`PageReport`]). The first use installs the pinned
//! `playwright-core` of `tests/browser/package-lock.json` into
//! `target/browser-node` with `npm ci`, and again whenever either file
//! changes, with the marker and lock-file scheme of [`crate::python`], so
//! parallel tests never race. Without Chromium, Node.js or npm it panics
//! with a message saying what to install: a browser test fails, never
//! passes silently.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::node;
use crate::python::{ensure_provisioned, run, workspace_root};

/// Where Chromium is unless `CHROMIUM` says otherwise.
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// The files `npm ci` installs from, under `tests/browser/`.
const NPM_FILES: &[&str] = &["package.json", "package-lock.json"];

/// What the browser saw of a page.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageReport {
    /// The status of the main document (after redirects).
    pub status: u16,
    /// The URL the page ended at.
    pub url: String,
    pub title: String,
    /// Every element id on the page.
    pub ids: Vec<String>,
    /// The page's visible text.
    pub text: String,
    /// The text of every visible `<pre>`.
    pub visible_pre: Vec<String>,
    /// Messages the page logged to the console as errors.
    pub console_errors: Vec<String>,
    /// Uncaught exceptions.
    pub page_errors: Vec<String>,
    /// Requests that got no response.
    pub failed_requests: Vec<String>,
    /// Every URL the page requested.
    pub requests: Vec<String>,
}

/// Loads `url` in a fresh headless Chromium (fresh user data directory)
/// and reports what it saw; saves a screenshot of the first screen to
/// `screenshot` if given. Blocking: call it from `spawn_blocking`.
pub fn load(url: &str, screenshot: Option<&Path>) -> PageReport {
    let chromium = chromium();
    let node_modules = node_modules();
    let user_data = tempfile::tempdir().expect("a temporary user data directory");
    let script = workspace_root().join("tests/browser/check-page.cjs");
    let mut command = Command::new("node");
    command
        .arg(&script)
        .arg(url)
        .arg(&chromium)
        .arg(user_data.path())
        .env("NODE_PATH", &node_modules);
    if let Some(screenshot) = screenshot {
        command.arg(screenshot);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "{} failed ({}) loading {url}:\n{}",
        script.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "the page report is not what tests/browser/check-page.cjs prints ({e}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// The Chromium binary (`CHROMIUM`, or Debian's). Panics with what to
/// install when there is none.
pub fn chromium() -> PathBuf {
    let path =
        std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from(DEFAULT_CHROMIUM), PathBuf::from);
    let runs = Command::new(&path)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    assert!(
        runs,
        "the browser tests need Chromium, and {} does not run: install it \
         (Debian: apt-get install chromium) or point CHROMIUM at a Chromium binary",
        path.display()
    );
    path
}

/// `target/browser-node/node_modules` with the pinned packages, installed
/// (or updated) on first use.
pub fn node_modules() -> PathBuf {
    node::node();
    let sources = workspace_root().join("tests").join("browser");
    let inputs: Vec<PathBuf> = NPM_FILES.iter().map(|file| sources.join(file)).collect();
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let prefix = workspace_root().join("target").join("browser-node");
    let node_modules = prefix.join("node_modules");
    ensure_provisioned(
        &prefix,
        &inputs,
        &node_modules.join("playwright-core"),
        |prefix| install(prefix, &inputs),
    );
    node_modules
}

fn install(prefix: &Path, inputs: &[&Path]) {
    fs::create_dir_all(prefix).unwrap_or_else(|e| panic!("creating {}: {e}", prefix.display()));
    for input in inputs {
        let copy = prefix.join(input.file_name().expect("a file name"));
        fs::copy(input, &copy)
            .unwrap_or_else(|e| panic!("copying {} to {}: {e}", input.display(), copy.display()));
    }
    run(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
            .arg("--loglevel=error")
            .current_dir(prefix),
        "installing playwright-core from tests/browser/package-lock.json with npm ci \
         (npm comes with Node.js: apt-get install nodejs npm)",
    );
}
