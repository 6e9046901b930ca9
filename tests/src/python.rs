//! Python for the vendor SDK tests: one virtual environment,
//! `target/sdk-venv` under the workspace, holding the pinned packages of
//! `tests/sdk/requirements.txt`.
//!
//! [`venv`] creates it the first time and reinstalls it whenever the
//! requirements change (a marker file in the venv holds the SHA-256 of the
//! requirements it was built from). Tests in one process serialise on a
//! mutex, test processes on a lock file, so parallel tests never race.
//! When Python, `venv` or `pip` is missing, it panics with a message that
//! says what to install: an SDK test fails, it never passes silently.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::{self, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};

/// Serialises venv creation among the tests of one process.
static VENV: Mutex<()> = Mutex::new(());

/// How long to wait for another process building the venv.
const LOCK_WAIT: Duration = Duration::from_secs(15 * 60);

/// A lock file older than this was left by a process that died.
const STALE_LOCK: Duration = Duration::from_secs(20 * 60);

/// The virtual environment with the pinned SDKs, created (or updated) on
/// first use. Panics with a clear message when it cannot be.
pub fn venv() -> PathBuf {
    let _serial = VENV.lock().unwrap_or_else(PoisonError::into_inner);
    let root = workspace_root();
    let target = root.join("target");
    let venv = target.join("sdk-venv");
    let requirements = root.join("tests").join("sdk").join("requirements.txt");
    let wanted = requirements_hash(&requirements);
    let marker = venv.join(".requirements-sha256");
    let ready = || {
        python_in(&venv).exists()
            && fs::read_to_string(&marker).is_ok_and(|hash| hash.trim() == wanted)
    };
    if ready() {
        return venv;
    }
    fs::create_dir_all(&target).unwrap_or_else(|e| panic!("creating {}: {e}", target.display()));
    let _lock = LockFile::acquire(&target.join("sdk-venv.lock"));
    if ready() {
        return venv;
    }

    let python3 = std::env::var("PYTHON3").unwrap_or_else(|_| "python3".to_string());
    match Command::new(&python3).arg("--version").output() {
        Ok(output) if output.status.success() => {}
        _ => panic!(
            "the vendor SDK tests need Python 3 (`{python3}` was not found or does not run): \
             install python3 and python3-venv (Debian: apt-get install python3 python3-venv), \
             or point PYTHON3 at an interpreter"
        ),
    }
    if venv.exists() {
        fs::remove_dir_all(&venv)
            .unwrap_or_else(|e| panic!("removing the outdated {}: {e}", venv.display()));
    }
    run(
        Command::new(&python3).args(["-m", "venv"]).arg(&venv),
        "creating the SDK virtual environment (Debian: apt-get install python3-venv)",
    );
    run(
        Command::new(python_in(&venv))
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--quiet",
                "-r",
            ])
            .arg(&requirements),
        "installing the pinned SDKs of tests/sdk/requirements.txt with pip",
    );
    fs::write(&marker, &wanted).unwrap_or_else(|e| panic!("writing {}: {e}", marker.display()));
    venv
}

/// The Python interpreter of the SDK venv (created on first use).
pub fn python() -> PathBuf {
    python_in(&venv())
}

/// A script under `tests/sdk/`.
pub fn sdk_script(relative: &str) -> PathBuf {
    workspace_root().join("tests").join("sdk").join(relative)
}

fn python_in(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is inside the workspace")
        .to_path_buf()
}

fn requirements_hash(requirements: &Path) -> String {
    let text = fs::read(requirements)
        .unwrap_or_else(|e| panic!("reading {}: {e}", requirements.display()));
    hex(&Sha256::digest(&text))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
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
                        "waited {LOCK_WAIT:?} for {} (another test process building the SDK venv)",
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
