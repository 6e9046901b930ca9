//! Whether the database path still names the file the server opened.
//!
//! SQLite keeps writing to an open file after it is deleted or replaced
//! (`rm`, `mv new.db sessions.db`): every write would be acknowledged and
//! then lost with the unlinked file, and the next start would open (or
//! create) something else. The store remembers which file it opened
//! (device and inode) and checks, before every batch the writer commits
//! and on every readiness check, that the path still names it. When it
//! does not, writes are refused as `Unavailable`, saying why; reads go on
//! from the open file. Only a restart on the right file recovers.

use std::path::{Path, PathBuf};

use crate::store::StoreError;

/// The file a path named when the store opened it.
#[derive(Clone, Debug)]
pub(super) struct FileIdentity {
    path: PathBuf,
    #[cfg(unix)]
    device_and_inode: (u64, u64),
}

impl FileIdentity {
    /// The file `path` names now.
    pub(super) fn of(path: &Path) -> Result<FileIdentity, StoreError> {
        let metadata = std::fs::metadata(path).map_err(|error| {
            StoreError::Unavailable(format!("cannot read the database file's metadata: {error}"))
        })?;
        #[cfg(not(unix))]
        let _ = metadata;
        Ok(FileIdentity {
            path: path.to_path_buf(),
            #[cfg(unix)]
            device_and_inode: {
                use std::os::unix::fs::MetadataExt;
                (metadata.dev(), metadata.ino())
            },
        })
    }

    /// `Unavailable` unless the path still names the opened file.
    pub(super) fn check(&self) -> Result<(), StoreError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let lost = |what: &str| {
                // The file's name only: readiness answers say this to
                // whoever asks.
                let name = self.path.file_name().unwrap_or(self.path.as_os_str());
                StoreError::Unavailable(format!(
                    "the database file {} was {what} while the server ran: writes are \
                     refused, since they would be lost with the file the server still has \
                     open; put the file back or restart the server on the right one",
                    name.to_string_lossy()
                ))
            };
            match std::fs::metadata(&self.path) {
                Ok(now) if (now.dev(), now.ino()) == self.device_and_inode => Ok(()),
                Ok(_) => Err(lost("replaced")),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(lost("deleted")),
                Err(error) => Err(StoreError::Unavailable(format!(
                    "cannot read the database file's metadata: {error}"
                ))),
            }
        }
        #[cfg(not(unix))]
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_deleted_or_replaced_file_is_noticed() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("a.db");
        std::fs::write(&path, b"one").unwrap();
        let identity = FileIdentity::of(&path).unwrap();
        identity.check().unwrap();
        std::fs::write(&path, b"rewritten in place").unwrap();
        identity.check().unwrap();

        let other = directory.path().join("b.db");
        std::fs::write(&other, b"another").unwrap();
        std::fs::rename(&other, &path).unwrap();
        let error = identity.check().unwrap_err();
        assert!(
            matches!(&error, StoreError::Unavailable(m) if m.contains("replaced")),
            "{error}"
        );

        std::fs::remove_file(&path).unwrap();
        let error = identity.check().unwrap_err();
        assert!(
            matches!(&error, StoreError::Unavailable(m) if m.contains("deleted")),
            "{error}"
        );
    }
}
