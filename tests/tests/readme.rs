//! The README's quick start, followed literally, against a real server.
//!
//! A new user runs the command of "## Run it" (`serve --demo`, which
//! creates `./login-sessions.db`), then pastes the `sh` blocks of
//! "### Quick start" into a second terminal. This test does the same,
//! reading both from README.md when it runs, so that editing the README
//! changes what is tested: in an empty directory it starts the
//! `login-sessions` binary as "Run it" says, then runs every quick-start
//! block, in order, in one bash process (`set -euo pipefail`).
//!
//! The commands run as written except for the substitutions listed, each
//! with its reason, in [`run_it_substitutions`] and
//! [`quick_start_substitutions`]. Each must apply (a README that no longer
//! says what a substitution replaces fails the test), and once they are
//! made nothing the test cannot run as written may remain
//! ([`NOT_RUNNABLE_HERE`]): such a line fails the test, it is never
//! skipped. The versions the README's `pip install` lines pin must be the
//! harness's (`tests/sdk/requirements.txt`), and each SDK a snippet imports
//! must have been installed by an earlier line.
//!
//! It checks outcomes, not exit status alone. The script prints a marker
//! before each block, and each block's output must be what the README says
//! it is: the native session's answers with their statuses, Prefactor's
//! fetch showing it `complete` and its listing, the demo user's live
//! sessions as Looker's and Huawei's SDKs list them (compared with the
//! native API's). The session ends as the README says, read back through
//! the native API, and every request goes through the harness's validating
//! proxy, so every answer the README's commands got matches the published
//! spec.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use login_sessions_client::Client;
use login_sessions_client::types::{EndReason, SessionStatus, UserId};
use login_sessions_tests::proxy::RecordingProxy;
use login_sessions_tests::python::{self, workspace_root};
use login_sessions_tests::runner::{self, Test};
use login_sessions_tests::spec::SpecValidator;
use login_sessions_tests::{UNPUBLISHED_PATHS, pfid};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

fn main() -> ExitCode {
    runner::run(vec![Test::new(
        "the_quick_start_runs_as_written",
        the_quick_start_runs_as_written,
    )])
}

/// How long the server may take to seed the demo data and listen.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the whole quick start may take (two Python SDKs start up).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

/// What the README's "Run it" command runs the server with.
const RUN_IT_CARGO: &str = "cargo run --release --bin login-sessions --";

/// What the README's quick start runs the CLI with.
const QUICK_START_CARGO: &str = "cargo run -q --release --bin login-sessions --";

/// The address the README says the server listens on.
const README_URL: &str = "http://127.0.0.1:8080";

/// How the quick start makes its virtual environment.
const README_VENV: &str = "python3 -m venv /tmp/ls-venv && . /tmp/ls-venv/bin/activate";

/// What the server prints on stderr once it listens, before its address.
const LISTENING: &str = "login-sessions listening on http://";

/// What a command prints when it creates a database: the quick start must
/// use the one `serve --demo` created.
const CREATED_DATABASE: &str = "created a new database: ";

/// What must not be left in the script once the substitutions are made:
/// each would run something other than what the test set up (a build in
/// the middle of the script, a server on a port that is not this test's,
/// files outside the test's directory, root). A README line holding one
/// fails the test until a substitution, with its reason, covers it.
const NOT_RUNNABLE_HERE: [&str; 4] = ["cargo ", "8080", "/tmp/", "sudo "];

/// The Python SDK packages the snippets import, by the module imported:
/// each must be installed (`pip install`, pinned) before a snippet uses it,
/// as the README's own virtualenv has only what the README installs.
const SDK_IMPORTS: [(&str, &str); 3] = [
    ("looker_sdk", "looker-sdk"),
    ("huaweicloudsdkcore", "huaweicloudsdkcore"),
    (
        "huaweicloudsdkidentitycenterstore",
        "huaweicloudsdkidentitycenterstore",
    ),
];

/// The programs the quick start runs besides Python and the binary ("The
/// snippets use curl, jq and Python 3").
const TOOLS: [&str; 3] = ["bash", "curl", "jq"];

/// The demo user whose sessions the SDK snippets list, in the demo store
/// they list (see `server/src/demo.rs`).
const DEMO_USER: &str = "17";
const DEMO_STORE: &str = "acme";

async fn the_quick_start_runs_as_written() {
    check_tools();
    let readme = readme();
    let run_it = sh_blocks(&readme, "## Run it");
    let quick_start = sh_blocks(&readme, "### Quick start");
    let kinds = block_kinds(&quick_start);
    check_pins(&quick_start);

    let binary = tokio::task::spawn_blocking(login_sessions_binary)
        .await
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()));
    let venv = tokio::task::spawn_blocking(python::venv)
        .await
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()));
    let workdir = tempfile::tempdir().expect("the quick start's directory");
    let home = tempfile::tempdir().expect("a home directory for the quick start");

    let [serve] = run_it.as_slice() else {
        panic!("\"## Run it\" should have one sh block, the server's command: {run_it:?}");
    };
    let substitutions = run_it_substitutions(&binary);
    check_runnable(serve, &substitutions);
    let serve = apply(serve, &substitutions, "\"## Run it\"");
    let mut server = Server::start(&serve, workdir.path(), home.path()).await;
    check_run_it(&server, workdir.path());

    let proxy = RecordingProxy::start(server.addr, Arc::new(SpecValidator::load())).await;
    proxy.allow_unmatched(UNPUBLISHED_PATHS);
    let substitutions = quick_start_substitutions(&binary, &proxy.url(), &venv);
    let readme_script = quick_start.join("\n");
    assert_applies(&readme_script, &substitutions, "\"### Quick start\"");
    check_runnable(&readme_script, &substitutions);
    let blocks: Vec<String> = quick_start
        .iter()
        .map(|block| apply_all(block, &substitutions))
        .collect();

    let outputs = run_script(&blocks, workdir.path(), home.path(), &server).await;
    assert!(
        server.still_running(),
        "the server exited during the quick start:\n{}",
        server.stderr()
    );

    let admin = admin_credential(workdir.path());
    let client = login_sessions_client::auth::native_client(&proxy.url(), &admin.native_token)
        .expect("a native client");
    for (kind, output) in kinds.into_iter().zip(&outputs) {
        kind.check(output, &client).await;
    }

    proxy.assert_all_valid();
    let seen = proxy.operations_seen();
    for operation in EXPECTED_OPERATIONS {
        assert!(
            seen.contains(operation),
            "the quick start never got a valid answer from {operation}: {seen:?}"
        );
    }
    check_banner(&server.stop().await);
}

/// The operations the quick start calls, each at least once.
const EXPECTED_OPERATIONS: [&str; 9] = [
    "session_create",
    "session_interaction_create",
    "session_authenticate",
    "session_logout",
    "fetch_session",
    "list_pool_sessions",
    "login",
    "all_user_sessions",
    "ListSessions",
];

// ---------------------------------------------------------------------------
// The substitutions: everything the test changes in the README's commands.
// ---------------------------------------------------------------------------

/// One change the test makes to the README's commands.
struct Substitution {
    /// What the README says.
    readme: &'static str,
    /// What the test runs instead.
    test: String,
    /// Why the README's own words cannot run here.
    why: &'static str,
}

/// The changes to the "Run it" command.
fn run_it_substitutions(binary: &Path) -> Vec<Substitution> {
    vec![
        Substitution {
            readme: RUN_IT_CARGO,
            test: format!("exec {}", shell_quote(binary)),
            why: "the binary cargo built for the test (debug: --release only makes it faster), \
                  not a build in the middle of the test; exec, so that the process the test \
                  stops is the server",
        },
        Substitution {
            readme: "serve --demo",
            test: "serve --demo --bind 127.0.0.1:0".to_string(),
            why: "a free port: 8080 may be taken (another server, tests running side by side); \
                  the server says on stderr which port it got",
        },
    ]
}

/// The changes to the quick start.
fn quick_start_substitutions(binary: &Path, url: &str, venv: &Path) -> Vec<Substitution> {
    vec![
        Substitution {
            readme: QUICK_START_CARGO,
            test: shell_quote(binary),
            why: "the binary cargo built for the test, the one serving: a build in the middle \
                  of the script would take minutes",
        },
        Substitution {
            readme: README_URL,
            test: url.to_string(),
            why: "the server listens on a free port, not 8080; the URL is that of the harness's \
                  validating proxy in front of it, which forwards every request unchanged and \
                  checks every answer against the spec",
        },
        Substitution {
            readme: README_VENV,
            test: format!(". {}", shell_quote(&venv.join("bin").join("activate"))),
            why: "the harness's SDK virtualenv (target/sdk-venv, from \
                  tests/sdk/requirements.txt), built once, instead of a new one from PyPI on \
                  every run; check_pins asserts that it pins what the README installs",
        },
        Substitution {
            readme: "pip install ",
            test: "pip install --no-index --quiet ".to_string(),
            why: "no network: the harness's virtualenv already holds the pinned versions, and \
                  with --no-index pip still checks that each pinned version is installed, \
                  failing when it is not",
        },
    ]
}

/// `text` with every substitution made; each must apply at least once.
fn apply(text: &str, substitutions: &[Substitution], section: &str) -> String {
    assert_applies(text, substitutions, section);
    apply_all(text, substitutions)
}

/// Fails unless every substitution applies to `text` at least once.
fn assert_applies(text: &str, substitutions: &[Substitution], section: &str) {
    for substitution in substitutions {
        assert!(
            text.contains(substitution.readme),
            "{section} no longer says {:?}, which the test replaces ({}): update the \
             substitutions in tests/tests/readme.rs",
            substitution.readme,
            substitution.why
        );
    }
}

/// `text` with every substitution made wherever it applies.
fn apply_all(text: &str, substitutions: &[Substitution]) -> String {
    substitutions
        .iter()
        .fold(text.to_string(), |text, substitution| {
            text.replace(substitution.readme, &substitution.test)
        })
}

/// Fails if the README's `commands` hold, outside what the substitutions
/// replace, something only a substitution could make runnable here.
fn check_runnable(commands: &str, substitutions: &[Substitution]) {
    let left = substitutions
        .iter()
        .fold(commands.to_string(), |text, substitution| {
            text.replace(substitution.readme, "")
        });
    for line in left.lines() {
        for word in NOT_RUNNABLE_HERE {
            assert!(
                !line.contains(word),
                "this README line cannot run as written in the test ({word:?}): add a \
                 substitution, with its reason, to tests/tests/readme.rs:\n{line}"
            );
        }
    }
}

/// `path` as one single-quoted shell word.
fn shell_quote(path: &Path) -> String {
    let text = path.to_str().expect("a UTF-8 path");
    assert!(!text.contains('\''), "a path without quotes: {text}");
    format!("'{text}'")
}

// ---------------------------------------------------------------------------
// Reading the README.
// ---------------------------------------------------------------------------

fn readme() -> String {
    let path = workspace_root().join("README.md");
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The `sh` blocks of the section under `heading` (a whole line), up to the
/// next heading outside a code block. Any other code block in the section
/// fails the test: it would otherwise be skipped silently.
fn sh_blocks(readme: &str, heading: &str) -> Vec<String> {
    let mut lines = readme.lines().skip_while(|line| *line != heading);
    assert!(
        lines.next().is_some(),
        "README.md has no {heading:?} heading, which the test follows"
    );
    let mut blocks = Vec::new();
    let mut block: Option<Vec<&str>> = None;
    for line in lines {
        match (block.as_mut(), line.strip_prefix("```")) {
            (None, Some(language)) => {
                assert_eq!(
                    language, "sh",
                    "{heading} has a ```{language} block: the test runs sh blocks only"
                );
                block = Some(Vec::new());
            }
            (Some(lines), Some(_)) => {
                blocks.push(lines.join("\n"));
                block = None;
            }
            (Some(lines), None) => lines.push(line),
            (None, None) if line.starts_with('#') => break,
            (None, None) => assert!(
                !line.trim_start().starts_with("```"),
                "{heading} has an indented code block, which the test does not run:\n{line}"
            ),
        }
    }
    assert!(block.is_none(), "{heading} has an unclosed code block");
    assert!(!blocks.is_empty(), "{heading} has no sh block");
    blocks
}

/// What each quick-start block does; one block of each kind, so that no
/// block's outcome goes unchecked and no dialect goes untried.
fn block_kinds(blocks: &[String]) -> Vec<BlockKind> {
    let kinds: Vec<BlockKind> = blocks.iter().map(|block| BlockKind::of(block)).collect();
    let distinct: BTreeSet<BlockKind> = kinds.iter().copied().collect();
    assert_eq!(
        (kinds.len(), distinct),
        (BlockKind::ALL.len(), BlockKind::ALL.into_iter().collect()),
        "the quick start should have one block of each kind: {kinds:?}"
    );
    kinds
}

/// Asserts that every package the quick start installs is pinned to the
/// harness's version, and that each SDK is installed before it is
/// imported.
fn check_pins(blocks: &[String]) {
    let harness = harness_pins();
    let mut installed = BTreeSet::new();
    for block in blocks {
        for line in block.lines() {
            let Some(packages) = line.trim().strip_prefix("pip install ") else {
                continue;
            };
            for package in packages.split_whitespace() {
                let (name, version) = package.split_once("==").unwrap_or_else(|| {
                    panic!("the README installs {package:?} unpinned: pin it as the tests do")
                });
                let tested = harness.get(name).map(String::as_str);
                assert_eq!(
                    tested,
                    Some(version),
                    "the README pins {package}, tests/sdk/requirements.txt {}: keep them equal",
                    tested.map_or_else(
                        || format!("does not pin {name}"),
                        |tested| format!("pins {name}=={tested}")
                    )
                );
                installed.insert(name);
            }
        }
        for (module, package) in SDK_IMPORTS {
            let imports = block.contains(&format!("import {module}"))
                || block.contains(&format!("from {module}"));
            assert!(
                !imports || installed.contains(package),
                "a quick-start snippet imports {module} before the README installs {package}"
            );
        }
    }
    assert!(!installed.is_empty(), "the quick start installs no SDK");
}

/// The `name==version` pins of `tests/sdk/requirements.txt`.
fn harness_pins() -> BTreeMap<String, String> {
    let path = workspace_root().join(python::SDK.requirements);
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (name, version) = line
                .split_once("==")
                .unwrap_or_else(|| panic!("{} pins exactly: {line}", path.display()));
            (name.to_string(), version.to_string())
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The binary, the server and the script.
// ---------------------------------------------------------------------------

/// The server crate's `login-sessions` binary, as `cargo run --bin
/// login-sessions` builds it (dev profile), built now if it is not up to
/// date: this test's crate cannot name another crate's binary, and a binary
/// left over from an earlier build could be stale.
fn login_sessions_binary() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let output = std::process::Command::new(&cargo)
        .current_dir(workspace_root())
        .args([
            "build",
            "--locked",
            "--quiet",
            "--package",
            "login-sessions-server",
            "--bin",
            "login-sessions",
            "--message-format",
            "json-render-diagnostics",
        ])
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", cargo.to_string_lossy()));
    assert!(
        output.status.success(),
        "building the login-sessions binary failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|message| {
            message["reason"] == "compiler-artifact"
                && message["target"]["name"] == "login-sessions"
        })
        .and_then(|artifact| artifact["executable"].as_str().map(PathBuf::from))
        .expect("cargo named the login-sessions executable it built")
}

/// Fails, saying what to install, when a program the quick start runs is
/// missing: the test fails, it never passes without running.
fn check_tools() {
    for tool in TOOLS {
        let runs = std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|output| output.status.success());
        assert!(
            runs,
            "the README's quick start needs {tool}, which does not run here \
             (Debian: apt-get install {tool})"
        );
    }
}

/// The environment the README's commands run in: the caller's, without
/// what would change what they do (this project's variables, the SDKs'
/// configuration, Python's and pip's, proxies, an active virtualenv), and
/// with a home of its own (Huawei's SDK writes `~/.huaweicloud`).
fn clean_environment(command: &mut Command, home: &Path) {
    const PREFIXES: [&str; 5] = [
        "LOGIN_SESSIONS_",
        "LOOKERSDK_",
        "HUAWEICLOUD_SDK_",
        "PIP_",
        "PYTHON",
    ];
    for (name, _) in std::env::vars_os() {
        let text = name.to_string_lossy();
        let proxy = text.to_ascii_lowercase().ends_with("_proxy");
        if proxy || text == "VIRTUAL_ENV" || PREFIXES.iter().any(|p| text.starts_with(p)) {
            command.env_remove(&name);
        }
    }
    command
        .env("HOME", home)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
}

/// The server, started by the "Run it" command.
struct Server {
    child: Child,
    /// Where it listens.
    addr: SocketAddr,
    /// Everything it printed on stdout, once it has exited.
    stdout: JoinHandle<String>,
    /// Everything it printed on stderr so far.
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Runs `command` (the substituted "Run it" block) with bash in `dir`
    /// and waits until the server says where it listens.
    async fn start(command: &str, dir: &Path, home: &Path) -> Server {
        let mut bash = Command::new("bash");
        bash.args(["-euo", "pipefail", "-c", command])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        clean_environment(&mut bash, home);
        let mut child = bash
            .spawn()
            .unwrap_or_else(|e| panic!("running {command}: {e}"));
        let mut stdout = child.stdout.take().unwrap();
        let stdout = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text).await;
            text
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let (listening, listened) = tokio::sync::oneshot::channel();
        tokio::spawn(drain_stderr(
            child.stderr.take().unwrap(),
            stderr.clone(),
            listening,
        ));
        let listened = tokio::time::timeout(SERVER_START_TIMEOUT, listened)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "the server did not listen within {SERVER_START_TIMEOUT:?}:\n{}",
                    stderr.lock().unwrap()
                )
            });
        let addr = match listened {
            Ok(Ok(addr)) => addr,
            Ok(Err(line)) => {
                panic!("the server listens at an address the test cannot read: {line}")
            }
            Err(_) => panic!(
                "the server exited before listening:\n{}",
                stderr.lock().unwrap()
            ),
        };
        Server {
            child,
            addr,
            stdout,
            stderr,
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn still_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops the server; returns what it printed on stdout.
    async fn stop(mut self) -> String {
        self.child.kill().await.expect("stopping the server");
        self.stdout.await.expect("the server's stdout")
    }
}

/// Copies the server's stderr into `into`, line by line, and sends the
/// address it listens on once it says so (or the line, if it holds none).
async fn drain_stderr(
    stderr: tokio::process::ChildStderr,
    into: Arc<Mutex<String>>,
    listening: tokio::sync::oneshot::Sender<Result<SocketAddr, String>>,
) {
    let mut listening = Some(listening);
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(rest) = line.strip_prefix(LISTENING) {
            let addr = rest.split_whitespace().next().unwrap_or_default();
            let addr = addr.parse().map_err(|_| line.clone());
            if let Some(listening) = listening.take() {
                let _ = listening.send(addr);
            }
        }
        let mut text = into.lock().unwrap();
        text.push_str(&line);
        text.push('\n');
    }
}

/// What "Run it" promises: `serve --demo` created `./login-sessions.db`
/// and seeded the demo stores.
fn check_run_it(server: &Server, dir: &Path) {
    let stderr = server.stderr();
    assert!(
        dir.join("login-sessions.db").is_file(),
        "serve --demo did not create ./login-sessions.db:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("{CREATED_DATABASE}login-sessions.db")),
        "serve --demo did not say it created the database:\n{stderr}"
    );
}

/// What "Run it" promises besides: the server prints an admin credential
/// and `curl` lines to paste, having seeded both demo stores.
fn check_banner(stdout: &str) {
    for promised in ["Seeded", "acme", "globex", "admin", "curl "] {
        assert!(
            stdout.contains(promised),
            "serve --demo did not print {promised:?}:\n{stdout}"
        );
    }
}

/// Runs the quick start's (substituted) blocks in order in one bash, in
/// `dir`; returns each block's output. Before each block the script prints
/// a marker line, and one at the end, so that each output can be told
/// apart and a script that stopped early is caught.
async fn run_script(blocks: &[String], dir: &Path, home: &Path, server: &Server) -> Vec<String> {
    let mut script = String::from("set -euo pipefail\n");
    for (index, block) in blocks.iter().enumerate() {
        script.push_str(&format!("printf '\\n%s\\n' '{}'\n", marker(index)));
        script.push_str(block);
        script.push('\n');
    }
    script.push_str(&format!("printf '\\n%s\\n' '{}'\n", marker(blocks.len())));

    let mut bash = Command::new("bash");
    bash.args(["-c", &script])
        .current_dir(dir)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    clean_environment(&mut bash, home);
    let output = tokio::time::timeout(SCRIPT_TIMEOUT, bash.output())
        .await
        .unwrap_or_else(|_| panic!("the quick start took longer than {SCRIPT_TIMEOUT:?}"))
        .expect("running bash");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = || {
        format!(
            "--- script\n{script}\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server's stderr\n{}",
            server.stderr()
        )
    };
    assert!(
        output.status.success(),
        "the quick start failed ({}):\n{}",
        output.status,
        report()
    );
    assert!(
        !stderr.contains(CREATED_DATABASE),
        "a quick-start command created a database instead of using the server's:\n{}",
        report()
    );
    split_outputs(&stdout, blocks.len())
        .unwrap_or_else(|problem| panic!("{problem}:\n{}", report()))
}

fn marker(index: usize) -> String {
    format!("@@ readme quick start: block {index} @@")
}

/// The output of each of `count` blocks, told apart by the markers.
fn split_outputs(stdout: &str, count: usize) -> Result<Vec<String>, String> {
    let mut outputs: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in stdout.lines() {
        if line == marker(outputs.len() + usize::from(current.is_some())) {
            outputs.extend(current.take());
            current = Some(String::new());
        } else if let Some(output) = current.as_mut() {
            output.push_str(line);
            output.push('\n');
        } else if !line.is_empty() {
            return Err(format!("output before the first block: {line}"));
        }
    }
    // The last marker follows the last block: nothing comes after it.
    let printed = outputs.len() + usize::from(current.is_some());
    match current {
        Some(rest) if printed == count + 1 && rest.trim().is_empty() => Ok(outputs),
        Some(rest) if printed == count + 1 => Err(format!("output after the last block: {rest}")),
        _ => Err(format!(
            "the script printed {printed} of its {} markers: it stopped early",
            count + 1
        )),
    }
}

// ---------------------------------------------------------------------------
// What each block must have done.
// ---------------------------------------------------------------------------

/// What a quick-start block does, told by what it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum BlockKind {
    /// Issues the admin credential into `admin.json`.
    Credentials,
    /// Records a session and walks it through login and logout.
    Native,
    /// Fetches that session and lists the store's.
    Prefactor,
    /// Lists the demo user's sessions with Looker's SDK.
    Looker,
    /// Lists them with Huawei's SDK.
    Huawei,
}

impl BlockKind {
    const ALL: [BlockKind; 5] = [
        BlockKind::Credentials,
        BlockKind::Native,
        BlockKind::Prefactor,
        BlockKind::Looker,
        BlockKind::Huawei,
    ];

    /// What each kind's block, and only its, contains.
    fn sign(self) -> &'static str {
        match self {
            BlockKind::Credentials => "credentials create",
            BlockKind::Native => "/native/v1/",
            BlockKind::Prefactor => "/api/v1/session",
            BlockKind::Looker => "import looker_sdk",
            BlockKind::Huawei => "from huaweicloudsdk",
        }
    }

    /// The kind of a README block (as written); a block of no known kind,
    /// or of several, fails the test: its outcome would go unchecked.
    fn of(block: &str) -> BlockKind {
        let kinds: Vec<BlockKind> = BlockKind::ALL
            .into_iter()
            .filter(|kind| block.contains(kind.sign()))
            .collect();
        match kinds.as_slice() {
            [kind] => *kind,
            _ => panic!(
                "the test does not know what this quick-start block should do (it looks like \
                 {kinds:?}): add its expectations to tests/tests/readme.rs\n{block}"
            ),
        }
    }

    async fn check(self, output: &str, client: &Client) {
        match self {
            BlockKind::Credentials => assert_eq!(
                output.trim(),
                "",
                "the credential goes to admin.json, nothing to the terminal"
            ),
            BlockKind::Native => check_native(output, client).await,
            BlockKind::Prefactor => check_prefactor(output, client).await,
            BlockKind::Looker => {
                let live = live_sessions(client, None).await;
                assert_eq!(
                    first_words(output, "Looker"),
                    live,
                    "Looker's SDK lists user {DEMO_USER}'s live sessions, newest first"
                );
            }
            BlockKind::Huawei => {
                let live = live_sessions(client, Some(DEMO_STORE)).await;
                assert_eq!(
                    first_words(output, "Huawei"),
                    live,
                    "Huawei's SDK lists user {DEMO_USER}'s live sessions in {DEMO_STORE}, newest first"
                );
            }
        }
    }
}

/// The secrets `credentials create --json` wrote to `admin.json`.
struct AdminCredential {
    native_token: String,
}

fn admin_credential(dir: &Path) -> AdminCredential {
    let path = dir.join("admin.json");
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let json: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("admin.json is not JSON ({e}):\n{text}"));
    assert_eq!(json["role"], "admin", "{json}");
    for secret in [
        "/native/token",
        "/prefactor/api_token",
        "/looker/client_id",
        "/looker/client_secret",
        "/huawei/access_key",
        "/huawei/secret_key",
    ] {
        assert!(
            json.pointer(secret)
                .and_then(Value::as_str)
                .is_some_and(|value| !value.is_empty()),
            "admin.json has no {secret}: {json}"
        );
    }
    AdminCredential {
        native_token: json["native"]["token"].as_str().unwrap().to_string(),
    }
}

/// The JSON values a block printed, one after the other (`curl -s` ends
/// none with a newline).
fn json_values(output: &str, block: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(output)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| {
            panic!("the {block} block printed something else than JSON ({e}):\n{output}")
        })
}

/// The native walk: seen again (still nobody logged in), user 42 logs in,
/// then out. Each answer is the session as it now is.
async fn check_native(output: &str, client: &Client) {
    let answers = json_values(output, "native");
    let statuses: Vec<&str> = answers
        .iter()
        .map(|answer| answer["status"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        statuses,
        ["unauthenticated", "authenticated", "complete"],
        "the interaction, authenticate and logout answers:\n{output}"
    );
    let id = answers[0]["id"].as_str().expect("the session's id");
    assert!(
        answers.iter().all(|answer| answer["id"] == id),
        "every answer is the same session:\n{output}"
    );
    assert!(
        id.len() == 32
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()),
        "a PFID: {id}"
    );
    pfid(id);
    assert_eq!(answers[1]["user_id"], "42", "{output}");
    assert_eq!(answers[2]["end_reason"], "logged_out", "{output}");

    // The session as the native API has it now.
    let session = client
        .session_view()
        .session_id(id)
        .send()
        .await
        .expect("the quick start's session")
        .into_inner();
    assert_eq!(session.status, SessionStatus::Complete);
    assert_eq!(session.end_reason, Some(EndReason::LoggedOut));
    assert!(session.ended_at.is_some());
    assert_eq!(session.identity_store_id, DEMO_STORE);
    assert_eq!(session.user_id.as_deref(), Some("42"));
    let seen_from = |seen: Option<&login_sessions_client::types::Interaction>| {
        seen.and_then(|interaction| interaction.ip_address)
            .map(|ip| ip.to_string())
    };
    assert_eq!(
        seen_from(session.first_seen.as_ref()).as_deref(),
        Some("203.0.113.9")
    );
    assert_eq!(
        seen_from(session.last_seen.as_ref()).as_deref(),
        Some("203.0.113.10")
    );
}

/// Prefactor's fetch shows the native session `complete`, and the listing
/// is the store's newest five, that session first.
async fn check_prefactor(output: &str, client: &Client) {
    let answers = json_values(output, "Prefactor");
    let [fetched, listed] = answers.as_slice() else {
        panic!("the Prefactor block prints a fetch and a listing:\n{output}");
    };
    assert_eq!(fetched["status"], "success", "{fetched}");
    let summary = &fetched["summary"];
    assert_eq!(summary["status"], "complete", "{fetched}");
    assert_eq!(summary["pool_id"], DEMO_STORE, "{fetched}");
    assert_eq!(summary["authenticated_identity_id"], "42", "{fetched}");
    let id = summary["id"].as_str().expect("the fetched session's id");

    assert_eq!(listed["status"], "success", "{listed}");
    assert_eq!(listed["pagination"]["page_size"], 5, "{listed}");
    let listed_ids: Vec<&str> = listed["summaries"]
        .as_array()
        .expect("the listing's summaries")
        .iter()
        .map(|summary| summary["id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(listed_ids.len(), 5, "the demo store holds more: {listed}");
    assert_eq!(listed_ids[0], id, "the newest session first: {listed}");

    let newest: Vec<String> = client
        .session_list()
        .identity_store_id(DEMO_STORE.to_string())
        .limit(std::num::NonZeroU32::new(5).unwrap())
        .send()
        .await
        .expect("the demo store's newest sessions")
        .into_inner()
        .items
        .into_iter()
        .map(|session| session.id.to_string())
        .collect();
    assert_eq!(listed_ids, newest, "the same five as the native API's");
}

/// The ids of the demo user's live sessions (in one store, or in all),
/// newest first, as the native API lists them; there are some.
async fn live_sessions(client: &Client, store: Option<&str>) -> Vec<String> {
    let mut request = client
        .session_list()
        .user_id(DEMO_USER.parse::<UserId>().unwrap())
        .live(true);
    if let Some(store) = store {
        request = request.identity_store_id(store.to_string());
    }
    let ids: Vec<String> = request
        .send()
        .await
        .expect("the demo user's live sessions")
        .into_inner()
        .items
        .into_iter()
        .map(|session| session.id.to_string())
        .collect();
    assert!(!ids.is_empty(), "the demo user has live sessions");
    ids
}

/// The first word of each line a snippet printed: the session ids.
fn first_words(output: &str, sdk: &str) -> Vec<String> {
    let ids: Vec<String> = output
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect();
    assert!(!ids.is_empty(), "the {sdk} snippet printed no session");
    ids
}
