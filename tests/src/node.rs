//! Node tools for the tests: the pinned npm packages of
//! `tests/tools/package.json` and `tests/tools/package-lock.json`
//! (`openapi-typescript`, `openapi-fetch`, `typescript`, Redocly CLI,
//! Spectral), installed with `npm ci` into `target/node-tools` under the
//! workspace.
//!
//! [`tools`] installs them the first time and again whenever either file
//! changes, with the marker and lock-file scheme of [`crate::python`], so
//! parallel tests never race. When `node` or `npm` is missing it panics
//! with a message that says what to install: a test that needs them fails,
//! it never passes silently.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::python::{ensure_provisioned, run, workspace_root};

/// What to install when Node is missing or too old.
const INSTALL_NODE: &str = "install Node.js 20.19 or later with npm \
     (Debian 13: apt-get install nodejs npm; Debian 12's nodejs is 18, too old: \
     NodeSource's nodejs 20 package)";

/// The directory holding `node_modules` with the pinned tools, installed
/// (or updated) on first use. Panics with a clear message when they cannot
/// be, or when Node cannot run them.
pub fn tools() -> PathBuf {
    node();
    let root = workspace_root();
    let sources = root.join("tests").join("tools");
    let manifest = sources.join("package.json");
    let lock = sources.join("package-lock.json");
    let dir = root.join("target").join("node-tools");
    ensure_provisioned(
        &dir,
        &[manifest.as_path(), lock.as_path()],
        &dir.join("node_modules").join(".package-lock.json"),
        |dir| install(dir, &manifest, &lock),
    );
    dir
}

/// A program the pinned packages installed (`tsc`, `redocly`, ...).
pub fn bin(program: &str) -> PathBuf {
    tools().join("node_modules").join(".bin").join(program)
}

/// The pinned packages' `node_modules` directory.
pub fn node_modules() -> PathBuf {
    tools().join("node_modules")
}

/// The oldest Node the pinned tools run on (Redocly CLI's `engines`).
const OLDEST_NODE: (u32, u32) = (20, 19);

/// The `node` program; panics saying what to install when it does not run
/// or is older than [`OLDEST_NODE`].
pub fn node() -> PathBuf {
    let version = require("node");
    let numbers: Vec<u32> = version
        .trim()
        .trim_start_matches('v')
        .split('.')
        .map_while(|part| part.parse().ok())
        .collect();
    let (major, minor) = (numbers.first().copied(), numbers.get(1).copied());
    let new_enough = major.zip(minor).is_some_and(|found| found >= OLDEST_NODE);
    assert!(
        new_enough,
        "the generated-client and spec-lint tests need Node {}.{} or later, found {}: {INSTALL_NODE}",
        OLDEST_NODE.0,
        OLDEST_NODE.1,
        version.trim()
    );
    PathBuf::from("node")
}

fn install(dir: &Path, manifest: &Path, lock: &Path) {
    require("npm");
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    for file in [manifest, lock] {
        let copy = dir.join(file.file_name().expect("a file name"));
        fs::copy(file, &copy)
            .unwrap_or_else(|e| panic!("copying {} to {}: {e}", file.display(), copy.display()));
    }
    run(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
            .arg("--loglevel=error")
            .current_dir(dir),
        "installing the pinned Node tools of tests/tools/package-lock.json with npm ci",
    );
}

/// What `program --version` prints; panics, saying what to install, when
/// it does not run.
fn require(program: &str) -> String {
    match Command::new(program).arg("--version").output() {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).into_owned()
        }
        _ => panic!(
            "the generated-client and spec-lint tests need `{program}`, which was not found \
             or does not run: {INSTALL_NODE}"
        ),
    }
}
