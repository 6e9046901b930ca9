//! Golden files: generated files that are checked in.
//!
//! A [`Golden`] knows where its file lives, how to produce its contents from
//! the source, how to compare a checked-in copy with freshly generated
//! contents, and which command regenerates it. `generate` and `check` in
//! `main.rs`, and the drift `#[test]`s, all go through it, so the command
//! and the test can never disagree about what "up to date" means.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::Context;
use similar::TextDiff;

/// A generated file that is checked in.
pub struct Golden {
    /// The file's path relative to the workspace root, as messages show it.
    pub path: &'static str,
    /// The command that regenerates the file.
    pub command: &'static str,
    /// Produces the file's contents; gets the workspace root.
    pub generate: fn(&Path) -> anyhow::Result<String>,
    /// Compares the checked-in contents (`None`: no file) with generated
    /// contents.
    pub compare: fn(Option<&str>, &str) -> Drift,
}

/// How a checked-in file differs from what would be generated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Drift {
    /// It does not: the file is up to date.
    None,
    /// There is no checked-in file.
    Missing,
    /// The contents differ.
    Differs {
        /// One line saying how they differ.
        summary: String,
        /// A unified diff from the checked-in file to the generated one.
        diff: String,
    },
}

impl Golden {
    /// The file's absolute path.
    pub fn absolute(&self, root: &Path) -> PathBuf {
        root.join(self.path)
    }

    /// The checked-in contents, or `None` when there is no file.
    pub fn read(&self, root: &Path) -> anyhow::Result<Option<String>> {
        let path = self.absolute(root);
        match fs::read_to_string(&path) {
            Ok(contents) => Ok(Some(contents)),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Generates the file and writes it if it changed; returns whether it
    /// did.
    pub fn write(&self, root: &Path) -> anyhow::Result<bool> {
        let generated =
            (self.generate)(root).with_context(|| format!("generating {}", self.path))?;
        if self.read(root)?.as_deref() == Some(generated.as_str()) {
            return Ok(false);
        }
        let path = self.absolute(root);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::write(&path, generated).with_context(|| format!("writing {}", path.display()))?;
        Ok(true)
    }

    /// Generates the file in memory and compares it with the checked-in
    /// copy.
    pub fn check(&self, root: &Path) -> anyhow::Result<Drift> {
        let generated =
            (self.generate)(root).with_context(|| format!("generating {}", self.path))?;
        let checked_in = self.read(root)?;
        Ok((self.compare)(checked_in.as_deref(), &generated))
    }

    /// The message for a drift: what is wrong, the diff, and the command
    /// that fixes it. Empty for [`Drift::None`].
    pub fn report(&self, drift: &Drift) -> String {
        let hint = format!("run `{}` to update it", self.command);
        match drift {
            Drift::None => String::new(),
            Drift::Missing => format!("{} does not exist\n{hint}", self.path),
            Drift::Differs { summary, diff } => {
                format!("{} is out of date: {summary}\n{diff}{hint}", self.path)
            }
        }
    }
}

/// Compares two texts byte for byte.
pub fn compare_text(checked_in: Option<&str>, generated: &str) -> Drift {
    match checked_in {
        None => Drift::Missing,
        Some(checked_in) if checked_in == generated => Drift::None,
        Some(checked_in) => Drift::Differs {
            summary: "it differs from what its source generates".to_string(),
            diff: unified_diff(checked_in, generated),
        },
    }
}

/// A unified diff from the checked-in text to the generated one.
pub fn unified_diff(checked_in: &str, generated: &str) -> String {
    TextDiff::from_lines(checked_in, generated)
        .unified_diff()
        .context_radius(3)
        .header("checked in", "generated")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_texts_do_not_drift() {
        assert_eq!(compare_text(Some("a\nb\n"), "a\nb\n"), Drift::None);
    }

    #[test]
    fn no_file_is_missing() {
        assert_eq!(compare_text(None, "a\n"), Drift::Missing);
    }

    #[test]
    fn different_texts_drift_with_a_diff() {
        let Drift::Differs { diff, .. } = compare_text(Some("a\nb\n"), "a\nc\n") else {
            panic!("expected a difference");
        };
        assert!(diff.contains("--- checked in"), "{diff}");
        assert!(diff.contains("+++ generated"), "{diff}");
        assert!(diff.contains("-b\n"), "{diff}");
        assert!(diff.contains("+c\n"), "{diff}");
    }

    #[test]
    fn the_report_ends_with_the_command() {
        let golden = Golden {
            path: "some/file",
            command: "cargo xtask some generate",
            generate: |_| Ok(String::new()),
            compare: compare_text,
        };
        for drift in [Drift::Missing, compare_text(Some("a\n"), "b\n")] {
            let report = golden.report(&drift);
            assert!(report.starts_with("some/file "), "{report}");
            assert!(
                report.ends_with("run `cargo xtask some generate` to update it"),
                "{report}"
            );
        }
    }
}
