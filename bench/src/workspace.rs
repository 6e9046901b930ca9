//! Where the workspace is: the benchmark builds the server, writes its
//! reports under the target directory and names the commit it measured, all
//! relative to the workspace root, found from this crate's own manifest
//! directory (`<root>/bench`), so it works from any current directory.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The workspace root, the parent of the bench crate's directory.
pub fn root() -> anyhow::Result<PathBuf> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .with_context(|| {
            format!(
                "the bench crate's directory {} has no parent",
                manifest_dir.display()
            )
        })
}
