//! Where the workspace is: every path the xtask reads or writes is relative
//! to the workspace root, found from this crate's own manifest directory
//! (`<root>/xtask`), so the commands work from any current directory.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The workspace root, the parent of the xtask crate's directory.
pub fn root() -> anyhow::Result<PathBuf> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .with_context(|| {
            format!(
                "the xtask crate's directory {} has no parent",
                manifest_dir.display()
            )
        })
}
