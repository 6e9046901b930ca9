//! Where a SQLite store's database is: a file, or memory.
//!
//! A plain `:memory:` database belongs to the one connection that opened
//! it, but the store runs a writer thread, a checkpointer, a pool of
//! readers and a revocation watcher, each on a connection of its own. An
//! in-memory store therefore uses SQLite's `memdb` VFS under a name
//! starting with `/` (`file:/login-sessions-PID-N?vfs=memdb`), which every
//! connection of this process opening that name shares. The name is unique
//! per store, so two in-memory stores in one process (tests) are apart; the
//! database is gone once its last connection closes, and nothing ever
//! reaches the disk.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, OpenFlags};

use super::db_error;
use crate::store::StoreError;

/// Numbers the in-memory stores of this process.
static NEXT_MEMORY_STORE: AtomicU64 = AtomicU64::new(0);

/// Where the database is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Location {
    /// A database file.
    File(PathBuf),
    /// A `memdb` database of this process, by its name.
    Memory(String),
}

impl Location {
    /// A new in-memory database, under a name no other store of this
    /// process uses.
    pub(super) fn new_memory() -> Location {
        let number = NEXT_MEMORY_STORE.fetch_add(1, Ordering::Relaxed);
        Location::Memory(format!("/login-sessions-{}-{number}", std::process::id()))
    }

    /// The file, if the database is one.
    pub(super) fn file(&self) -> Option<&Path> {
        match self {
            Location::File(path) => Some(path),
            Location::Memory(_) => None,
        }
    }

    /// A new connection to the database, with the flags every connection
    /// of the store uses.
    pub(super) fn connect(&self) -> Result<Connection, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        match self {
            Location::File(path) => Connection::open_with_flags(path, flags),
            Location::Memory(name) => Connection::open_with_flags(
                format!("file:{name}?vfs=memdb"),
                flags | OpenFlags::SQLITE_OPEN_URI,
            ),
        }
        .map_err(db_error)
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(path) => write!(f, "{}", path.display()),
            Location::Memory(name) => write!(f, "memory ({name})"),
        }
    }
}
