//! Python for the tests: virtual environments under `target/` in the
//! workspace, each holding the pinned packages of one requirements file.
//!
//! [`SDK`] (`target/sdk-venv`, from `tests/sdk/requirements.txt`) holds the
//! vendor SDKs; [`TOOLS`] (`target/tools-venv`, from
//! `tests/tools/requirements.txt`) the client generator, the type checker
//! and the spec validator. [`Venv::path`] creates a venv the first time and
//! reinstalls it whenever its requirements change (a marker file in the
//! venv holds the SHA-256 of the requirements it was built from). Tests in
//! one process serialise on a mutex, test processes on a lock file, so
//! parallel tests never race. When Python, `venv` or `pip` is missing, it
//! panics with a message that says what to install: a test that needs
//! Python fails, it never passes silently.
//!
//! The marker and lock-file machinery ([`ensure_provisioned`]) is shared
//! with [`crate::node`].

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::{self, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};

/// A virtual environment the tests build from a requirements file.
pub struct Venv {
    /// Its directory under `target/`.
    pub name: &'static str,
    /// Its requirements file, relative to the workspace root.
    pub requirements: &'static str,
    /// What it is for, in the messages of a failed set-up.
    pub purpose: &'static str,
}

/// The vendor SDKs.
pub const SDK: Venv = Venv {
    name: "sdk-venv",
    requirements: "tests/sdk/requirements.txt",
    purpose: "the vendor SDK tests",
};

/// The client generator, `ruff`, `mypy` and `openapi-spec-validator`.
pub const TOOLS: Venv = Venv {
    name: "tools-venv",
    requirements: "tests/tools/requirements.txt",
    purpose: "the generated-client and spec-lint tests",
};

/// Serialises provisioning among the tests of one process.
static PROVISIONING: Mutex<()> = Mutex::new(());

/// How long to wait for another process provisioning the same directory.
const LOCK_WAIT: Duration = Duration::from_secs(15 * 60);

/// A lock file older than this was left by a process that died.
const STALE_LOCK: Duration = Duration::from_secs(20 * 60);

/// The name of the marker file holding the hash of what was installed.
const MARKER: &str = ".requirements-sha256";

impl Venv {
    /// The virtual environment, created (or updated) on first use. Panics
    /// with a clear message when it cannot be.
    pub fn path(&self) -> PathBuf {
        let root = workspace_root();
        let venv = root.join("target").join(self.name);
        let requirements = root.join(self.requirements);
        ensure_provisioned(
            &venv,
            &[requirements.as_path()],
            &python_in(&venv),
            |venv| self.build(venv, &requirements),
        );
        venv
    }

    /// The venv's Python interpreter (the venv is created on first use).
    pub fn python(&self) -> PathBuf {
        python_in(&self.path())
    }

    /// A program the venv's packages installed, such as `mypy`.
    pub fn bin(&self, program: &str) -> PathBuf {
        self.path().join("bin").join(program)
    }

    fn build(&self, venv: &Path, requirements: &Path) {
        let purpose = self.purpose;
        let python3 = std::env::var("PYTHON3").unwrap_or_else(|_| "python3".to_string());
        match Command::new(&python3).arg("--version").output() {
            Ok(output) if output.status.success() => {}
            _ => panic!(
                "{purpose} need Python 3 (`{python3}` was not found or does not run): \
                 install python3 and python3-venv (Debian: apt-get install python3 python3-venv), \
                 or point PYTHON3 at an interpreter"
            ),
        }
        run(
            Command::new(&python3).args(["-m", "venv"]).arg(venv),
            &format!(
                "creating the virtual environment of {purpose} (Debian: apt-get install python3-venv)"
            ),
        );
        run(
            Command::new(python_in(venv))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "--no-input",
                    "--quiet",
                    "-r",
                ])
                .arg(requirements),
            &format!(
                "installing the pinned packages of {} with pip",
                self.requirements
            ),
        );
    }
}

/// The virtual environment with the pinned SDKs, created (or updated) on
/// first use. Panics with a clear message when it cannot be.
pub fn venv() -> PathBuf {
    SDK.path()
}

/// The Python interpreter of the SDK venv (created on first use).
pub fn python() -> PathBuf {
    SDK.python()
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

/// Makes sure `dir` was built from the current contents of `inputs`: when
/// `ready` (a file `build` creates) is missing or the marker in `dir` holds
/// another hash, removes `dir` and calls `build(dir)`, holding the
/// process's mutex and a lock file beside `dir`, then writes the marker.
pub(crate) fn ensure_provisioned(
    dir: &Path,
    inputs: &[&Path],
    ready: &Path,
    build: impl FnOnce(&Path),
) {
    let _serial = PROVISIONING.lock().unwrap_or_else(PoisonError::into_inner);
    let wanted = inputs_hash(inputs);
    let marker = dir.join(MARKER);
    let up_to_date =
        || ready.exists() && fs::read_to_string(&marker).is_ok_and(|hash| hash.trim() == wanted);
    if up_to_date() {
        return;
    }
    let parent = dir.parent().expect("a provisioned directory has a parent");
    fs::create_dir_all(parent).unwrap_or_else(|e| panic!("creating {}: {e}", parent.display()));
    let name = dir.file_name().expect("a directory name").to_string_lossy();
    let _lock = LockFile::acquire(&parent.join(format!("{name}.lock")));
    if up_to_date() {
        return;
    }
    if dir.exists() {
        fs::remove_dir_all(dir)
            .unwrap_or_else(|e| panic!("removing the outdated {}: {e}", dir.display()));
    }
    build(dir);
    fs::write(&marker, &wanted).unwrap_or_else(|e| panic!("writing {}: {e}", marker.display()));
}

/// The SHA-256 of the inputs' contents, concatenated in order (for one
/// file, the file's own hash).
fn inputs_hash(inputs: &[&Path]) -> String {
    let mut hasher = Sha256::new();
    for input in inputs {
        let text = fs::read(input).unwrap_or_else(|e| panic!("reading {}: {e}", input.display()));
        hasher.update(&text);
    }
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Runs a set-up command; panics with its output if it fails.
pub(crate) fn run(command: &mut Command, what: &str) {
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
                        "waited {LOCK_WAIT:?} for {} (another test process provisioning the same tools)",
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
