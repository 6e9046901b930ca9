//! A real headless browser for the tests: Debian's Chromium, driven by
//! `playwright-core` from npm (Playwright's own browser download is not
//! used).
//!
//! [`load`] opens a page with `tests/browser/check-page.cjs` and returns
//! what it saw ([`PageReport`]). The first use installs the pinned
//! `playwright-core` of `tests/browser/package-lock.json` into
//! `target/browser-node` with `npm ci`, and again whenever the lock file
//! changes (a marker holds the SHA-256 of the files it was installed
//! from). Tests in one process serialise on a mutex, test processes on a
//! lock file. Without Chromium, Node.js or npm it panics with a message
//! saying what to install: a browser test fails, never passes silently.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::{self, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::python::workspace_root;

/// Where Chromium is unless `CHROMIUM` says otherwise.
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// The files `npm ci` installs from, under `tests/browser/`.
const NPM_FILES: &[&str] = &["package.json", "package-lock.json"];

/// Serialises installation among the tests of one process.
static INSTALL: Mutex<()> = Mutex::new(());

/// How long to wait for another process installing the packages.
const LOCK_WAIT: Duration = Duration::from_secs(10 * 60);

/// A lock file older than this was left by a process that died.
const STALE_LOCK: Duration = Duration::from_secs(15 * 60);

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
    let _serial = INSTALL.lock().unwrap_or_else(PoisonError::into_inner);
    let sources = workspace_root().join("tests").join("browser");
    let target = workspace_root().join("target");
    let prefix = target.join("browser-node");
    let node_modules = prefix.join("node_modules");
    let wanted = files_hash(&sources);
    let marker = prefix.join(".installed-sha256");
    let ready = || {
        node_modules.join("playwright-core").exists()
            && fs::read_to_string(&marker).is_ok_and(|hash| hash.trim() == wanted)
    };
    if ready() {
        return node_modules;
    }
    fs::create_dir_all(&target).unwrap_or_else(|e| panic!("creating {}: {e}", target.display()));
    let _lock = LockFile::acquire(&target.join("browser-node.lock"));
    if ready() {
        return node_modules;
    }
    require_node_and_npm();
    if prefix.exists() {
        fs::remove_dir_all(&prefix)
            .unwrap_or_else(|e| panic!("removing the outdated {}: {e}", prefix.display()));
    }
    fs::create_dir_all(&prefix).unwrap_or_else(|e| panic!("creating {}: {e}", prefix.display()));
    for file in NPM_FILES {
        fs::copy(sources.join(file), prefix.join(file))
            .unwrap_or_else(|e| panic!("copying tests/browser/{file}: {e}"));
    }
    run(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
            .current_dir(&prefix),
        "installing the pinned packages of tests/browser/package-lock.json with npm ci",
    );
    fs::write(&marker, &wanted).unwrap_or_else(|e| panic!("writing {}: {e}", marker.display()));
    node_modules
}

/// The oldest Node.js `playwright-core` (as pinned) runs on.
const MIN_NODE_MAJOR: u32 = 20;

fn require_node_and_npm() {
    let install = "install them (apt-get install nodejs npm, where the distribution or a \
                   configured repository such as NodeSource's has Node.js 20 or later)";
    let version = tool_version("node");
    let major = version
        .as_deref()
        .and_then(|v| v.trim().trim_start_matches('v').split('.').next())
        .and_then(|major| major.parse::<u32>().ok());
    assert!(
        major.is_some_and(|major| major >= MIN_NODE_MAJOR),
        "the browser tests need Node.js {MIN_NODE_MAJOR} or later and npm (`node --version`: \
         {version:?}): {install}"
    );
    assert!(
        tool_version("npm").is_some(),
        "the browser tests need npm (it does not run): {install}"
    );
}

/// What `tool --version` prints, if it runs.
fn tool_version(tool: &str) -> Option<String> {
    Command::new(tool)
        .arg("--version")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The SHA-256 of the files `npm ci` installs from.
fn files_hash(sources: &Path) -> String {
    let mut hasher = Sha256::new();
    for file in NPM_FILES {
        let path = sources.join(file);
        hasher
            .update(fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display())));
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Runs a set-up command; panics with its output if it fails.
fn run(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: could not run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A lock between processes: a file created exclusively, removed on drop.
struct LockFile(PathBuf);

impl LockFile {
    fn acquire(path: &Path) -> LockFile {
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(_) => return LockFile(path.to_path_buf()),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    let age = fs::metadata(path)
                        .and_then(|meta| meta.modified())
                        .ok()
                        .and_then(|modified| SystemTime::now().duration_since(modified).ok());
                    if age.is_some_and(|age| age > STALE_LOCK) {
                        let _ = fs::remove_file(path);
                        continue;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "waited {LOCK_WAIT:?} for {} (another test process installing \
                         the browser packages)",
                        path.display()
                    );
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => panic!("creating the lock file {}: {e}", path.display()),
            }
        }
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}
