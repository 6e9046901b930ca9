//! `cargo xtask vendor generate|check`: the patched copy of dropshot in
//! `vendor/dropshot`.
//!
//! The copy is the published crate (`dropshot-0.18.0.crate` from crates.io,
//! pinned by its SHA-256, the checksum Cargo.lock recorded for it) with the
//! files a build needs, plus `vendor/dropshot.patch`. `generate` writes that
//! into `vendor/dropshot`; `check` builds the same tree in a scratch
//! directory and fails when the checked-in copy differs in any file, so the
//! copy can hold nothing but the published source and the reviewed patch.
//! Both download the crate with `curl` and unpack it with `tar` and `patch`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail, ensure};
use sha2::{Digest, Sha256};

/// The crate, where crates.io serves it, and its SHA-256.
const CRATE_NAME: &str = "dropshot";
const CRATE_VERSION: &str = "0.18.0";
const CRATE_SHA256: &str = "4a9e64e150bf661306cc9fa32c25996cb37025edebcbe55e80669750aa90b703";

/// What the copy keeps of the published crate: enough to build the library.
const KEPT: &[&str] = &["Cargo.toml", "build.rs", "README-crates.io.md", "src"];

/// `cargo xtask vendor generate`.
pub fn generate(root: &Path) -> anyhow::Result<ExitCode> {
    let target = root.join("vendor").join(CRATE_NAME);
    if target.exists() {
        std::fs::remove_dir_all(&target)
            .with_context(|| format!("removing {}", target.display()))?;
    }
    build_copy(root, &target)?;
    println!("wrote {}", target.display());
    Ok(ExitCode::SUCCESS)
}

/// `cargo xtask vendor check`.
pub fn check(root: &Path) -> anyhow::Result<ExitCode> {
    let scratch = scratch_dir(root, "expected")?;
    build_copy(root, &scratch)?;
    let expected = files_under(&scratch)?;
    let actual = files_under(&root.join("vendor").join(CRATE_NAME))?;
    let differences = differences(&expected, &actual);
    if differences.is_empty() {
        println!(
            "vendor/{CRATE_NAME} is {CRATE_NAME} {CRATE_VERSION} plus vendor/{CRATE_NAME}.patch"
        );
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "vendor/{CRATE_NAME} is not {CRATE_NAME} {CRATE_VERSION} plus vendor/{CRATE_NAME}.patch:"
    );
    for difference in differences {
        eprintln!("  {difference}");
    }
    eprintln!(
        "change the source through the patch (diff -ruN against the published crate), \
         then run: cargo xtask vendor generate"
    );
    Ok(ExitCode::FAILURE)
}

/// Writes the published crate's kept files, patched, into `target`.
fn build_copy(root: &Path, target: &Path) -> anyhow::Result<()> {
    let download = scratch_dir(root, "download")?;
    let archive = download.join(format!("{CRATE_NAME}-{CRATE_VERSION}.crate"));
    run(Command::new("curl")
        .args([
            "--fail",
            "--silent",
            "--show-error",
            "--location",
            "--output",
        ])
        .arg(&archive)
        .arg(format!(
            "https://static.crates.io/crates/{CRATE_NAME}/{CRATE_NAME}-{CRATE_VERSION}.crate"
        )))?;
    let bytes =
        std::fs::read(&archive).with_context(|| format!("reading {}", archive.display()))?;
    let digest = hex(&Sha256::digest(&bytes));
    ensure!(
        digest == CRATE_SHA256,
        "{} has SHA-256 {digest}, not the pinned {CRATE_SHA256}",
        archive.display()
    );
    run(Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&download))?;
    let unpacked = download.join(format!("{CRATE_NAME}-{CRATE_VERSION}"));
    std::fs::create_dir_all(target).with_context(|| format!("creating {}", target.display()))?;
    for kept in KEPT {
        run(Command::new("cp")
            .arg("-R")
            .arg(unpacked.join(kept))
            .arg(target))?;
    }
    let patch = root.join("vendor").join(format!("{CRATE_NAME}.patch"));
    run(Command::new("patch")
        .args([
            "--silent",
            "--forward",
            "--no-backup-if-mismatch",
            "-p1",
            "-d",
        ])
        .arg(target)
        .arg("-i")
        .arg(&patch))
}

/// An empty directory under `target/vendor-check/`.
fn scratch_dir(root: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let dir = root.join("target").join("vendor-check").join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Every file under `dir`, by path relative to it, with its contents.
fn files_under(dir: &Path) -> anyhow::Result<BTreeMap<PathBuf, Vec<u8>>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current)
            .with_context(|| format!("listing {}", current.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let contents =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                files.insert(path.strip_prefix(dir)?.to_path_buf(), contents);
            }
        }
    }
    Ok(files)
}

/// One line per file that is missing, extra or different in `actual`.
fn differences(
    expected: &BTreeMap<PathBuf, Vec<u8>>,
    actual: &BTreeMap<PathBuf, Vec<u8>>,
) -> Vec<String> {
    let mut differences = Vec::new();
    for (path, contents) in expected {
        match actual.get(path) {
            None => differences.push(format!("missing: {}", path.display())),
            Some(found) if found != contents => {
                differences.push(format!("differs: {}", path.display()))
            }
            Some(_) => {}
        }
    }
    for path in actual.keys().filter(|path| !expected.contains_key(*path)) {
        differences.push(format!("not in the crate or the patch: {}", path.display()));
    }
    differences
}

/// Runs a command, failing with its name when it fails.
fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> BTreeMap<PathBuf, Vec<u8>> {
        files
            .iter()
            .map(|(path, contents)| (PathBuf::from(path), contents.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn identical_trees_have_no_differences() {
        let files = tree(&[("Cargo.toml", "a"), ("src/lib.rs", "b")]);
        assert!(differences(&files, &files.clone()).is_empty());
    }

    #[test]
    fn every_missing_extra_and_changed_file_is_reported() {
        let expected = tree(&[("Cargo.toml", "a"), ("src/lib.rs", "b"), ("build.rs", "c")]);
        let actual = tree(&[
            ("Cargo.toml", "a"),
            ("src/lib.rs", "B"),
            ("src/extra.rs", "d"),
        ]);
        assert_eq!(
            differences(&expected, &actual),
            [
                "missing: build.rs",
                "differs: src/lib.rs",
                "not in the crate or the patch: src/extra.rs",
            ]
        );
    }
}
