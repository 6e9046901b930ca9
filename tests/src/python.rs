//! Python for the vendor SDK tests: one virtual environment, shared by every
//! SDK test, with the pinned packages of `tests/sdk/requirements.txt`.
//!
//! [`venv`] creates `target/sdk-venv` (under the workspace root) with
//! `python3 -m venv` and pip-installs the requirements into it, once: a
//! marker file in the environment holds a hash of the requirements and of
//! the Python that built it, and a later call with the same hash reuses the
//! environment as it is. Changed requirements rebuild it from scratch.
//!
//! Creation is serialised within a process by a mutex and across processes
//! (test binaries run in parallel by other runners) by a lock directory
//! beside the environment, so tests never race on it.
//!
//! Nothing here passes silently: when `python3` is missing, or the
//! environment or the installation fails, [`venv`] panics with the reason
//! and what to install. Set `LOGIN_SESSIONS_TEST_PYTHON` to use another
//! interpreter than `python3` on the `PATH`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The environment variable naming the Python interpreter to build the
/// environment with (default `python3`).
pub const PYTHON_VARIABLE: &str = "LOGIN_SESSIONS_TEST_PYTHON";

/// The marker file (inside the environment) holding the requirements hash.
const MARKER: &str = ".login-sessions-requirements";

/// How long to wait for another process building the environment.
const LOCK_WAIT: Duration = Duration::from_secs(15 * 60);

/// Serialises callers within this process; holds the environment once
/// built (or why it could not be).
static VENV: Mutex<Option<Result<PathBuf, String>>> = Mutex::new(None);

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is inside the workspace")
        .to_path_buf()
}

/// The pinned requirements: `tests/sdk/requirements.txt`.
pub fn requirements_file() -> PathBuf {
    workspace_root()
        .join("tests")
        .join("sdk")
        .join("requirements.txt")
}

/// The shared environment's directory: `target/sdk-venv`.
pub fn venv_dir() -> PathBuf {
    workspace_root().join("target").join("sdk-venv")
}

/// The environment, created and provisioned if needed. Panics, saying why
/// and what to install, when that is not possible.
pub fn venv() -> PathBuf {
    let mut state = VENV.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let result = state.get_or_insert_with(|| provision(&venv_dir(), &requirements_file()));
    match result {
        Ok(dir) => dir.clone(),
        Err(reason) => panic!("the Python SDK tests cannot run: {reason}"),
    }
}

/// The environment's Python interpreter.
pub fn python() -> PathBuf {
    interpreter_in(&venv())
}

fn interpreter_in(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

/// Builds (or reuses) the environment at `dir` for `requirements` with the
/// configured interpreter.
fn provision(dir: &Path, requirements: &Path) -> Result<PathBuf, String> {
    let base = std::env::var(PYTHON_VARIABLE).unwrap_or_else(|_| "python3".to_string());
    provision_with(&base, dir, requirements)
}

/// Builds (or reuses) the environment at `dir` for `requirements` with the
/// interpreter `base`.
fn provision_with(base: &str, dir: &Path, requirements: &Path) -> Result<PathBuf, String> {
    let version = run(Command::new(base).arg("--version")).map_err(|error| {
        format!(
            "`{base} --version` failed ({error}). Install Python 3 with venv and pip \
             (Debian: apt-get install python3 python3-venv), or set {PYTHON_VARIABLE}."
        )
    })?;
    let pinned = fs::read_to_string(requirements)
        .map_err(|error| format!("reading {}: {error}", requirements.display()))?;
    let wanted = format!(
        "{:016x}",
        fnv1a(format!("{}\n{pinned}", version.trim()).as_bytes())
    );
    if is_ready(dir, &wanted) {
        return Ok(dir.to_path_buf());
    }
    let parent = dir
        .parent()
        .ok_or_else(|| format!("{} has no parent directory", dir.display()))?;
    fs::create_dir_all(parent)
        .map_err(|error| format!("creating {}: {error}", parent.display()))?;
    let _lock = DirLock::acquire(&dir.with_extension("lock"))?;
    // Another process may have built it while this one waited.
    if is_ready(dir, &wanted) {
        return Ok(dir.to_path_buf());
    }
    if dir.exists() {
        fs::remove_dir_all(dir)
            .map_err(|error| format!("removing the stale {}: {error}", dir.display()))?;
    }
    run(Command::new(base).arg("-m").arg("venv").arg(dir)).map_err(|error| {
        format!(
            "`{base} -m venv {}` failed ({error}). Install the venv module \
             (Debian: apt-get install python3-venv).",
            dir.display()
        )
    })?;
    let python = interpreter_in(dir);
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            "-r",
        ])
        .arg(requirements))
    .map_err(|error| {
        format!(
            "installing {} into {} failed ({error}); pip needs to reach the \
             package index (or PIP_FIND_LINKS)",
            requirements.display(),
            dir.display()
        )
    })?;
    fs::write(dir.join(MARKER), &wanted)
        .map_err(|error| format!("writing the marker in {}: {error}", dir.display()))?;
    Ok(dir.to_path_buf())
}

/// Whether the environment at `dir` was built for `wanted` and is intact.
fn is_ready(dir: &Path, wanted: &str) -> bool {
    interpreter_in(dir).exists()
        && fs::read_to_string(dir.join(MARKER)).is_ok_and(|marker| marker == wanted)
}

/// Runs a command; its stdout when it succeeds, else what went wrong.
fn run(command: &mut Command) -> Result<String, String> {
    let output: Output = command.output().map_err(|error| match error.kind() {
        ErrorKind::NotFound => "the program is not installed".to_string(),
        _ => error.to_string(),
    })?;
    if output.status.success() {
        // `python --version` wrote to stderr before Python 3.4.
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        Ok(text)
    } else {
        Err(format!(
            "{}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// 64-bit FNV-1a: a stable hash for the marker.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A lock between processes: a directory only one can create, holding the
/// holder's process id so a lock left by a process that died is broken.
struct DirLock {
    path: PathBuf,
}

impl DirLock {
    fn acquire(path: &Path) -> Result<DirLock, String> {
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match fs::create_dir(path) {
                Ok(()) => {
                    // Best effort: without the file the lock is only broken
                    // by its holder, which removes it when done.
                    let _ = fs::write(path.join("pid"), std::process::id().to_string());
                    return Ok(DirLock {
                        path: path.to_path_buf(),
                    });
                }
                Err(error) if error.kind() == ErrorKind::AlreadyExists => {
                    if holder_is_gone(path) {
                        let _ = fs::remove_dir_all(path);
                        continue;
                    }
                    if Instant::now() > deadline {
                        return Err(format!(
                            "waited {} s for {} (another process building the Python \
                             environment); remove it if no such process runs",
                            LOCK_WAIT.as_secs(),
                            path.display()
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(error) => return Err(format!("creating {}: {error}", path.display())),
            }
        }
    }
}

/// Whether the process recorded in a lock directory no longer runs.
fn holder_is_gone(path: &Path) -> bool {
    match fs::read_to_string(path.join("pid")) {
        Ok(pid) => {
            let pid = pid.trim();
            !pid.is_empty() && !Path::new("/proc").join(pid).exists()
        }
        // The holder may not have written it yet; give it a moment.
        Err(_) => fs::metadata(path)
            .and_then(|metadata| metadata.modified())
            .is_ok_and(|modified| {
                modified
                    .elapsed()
                    .is_ok_and(|age| age > Duration::from_secs(60))
            }),
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn a_missing_interpreter_is_reported_with_what_to_install() {
        let dir = tempfile::tempdir().unwrap();
        let requirements = dir.path().join("requirements.txt");
        fs::write(&requirements, "").unwrap();
        let error = provision_with(
            "/nonexistent/python3",
            &dir.path().join("venv"),
            &requirements,
        )
        .unwrap_err();
        assert!(error.contains("not installed"), "{error}");
        assert!(error.contains("apt-get install python3"), "{error}");
    }

    #[test]
    fn locks_exclude_and_release() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let lock = DirLock::acquire(&path).unwrap();
        assert!(path.exists());
        assert!(!holder_is_gone(&path), "this process holds it");
        drop(lock);
        assert!(!path.exists());
        fs::create_dir(&path).unwrap();
        fs::write(path.join("pid"), "999999999").unwrap();
        assert!(holder_is_gone(&path), "a dead holder's lock is broken");
        let _again = DirLock::acquire(&path).unwrap();
    }
}
