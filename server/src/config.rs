//! Configuration shared by every subcommand: where the database is, where
//! the server key is, and how to open both.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::secrets::ServerKey;
use crate::store::SharedStore;
use crate::store::postgres::PostgresStore;
use crate::store::sqlite::SqliteStore;

/// The default SQLite database file.
pub const DEFAULT_DATABASE: &str = "sqlite:login-sessions.db";

/// Where the data lives, as given by `--database`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite:PATH` (or `sqlite://PATH`): one file, embedded.
    Sqlite(PathBuf),
    /// `postgres://...` or `postgresql://...`.
    Postgres(String),
    /// `memory`: SQLite in this process's memory, empty at start and gone
    /// when the process ends (a stand-in for tests; only `serve` takes it).
    Memory,
}

/// The `--database` value that keeps everything in memory.
pub const MEMORY_DATABASE: &str = "memory";

/// What is wrong with the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "unsupported database URL {0:?}: use sqlite:PATH (for example sqlite:login-sessions.db), postgres://USER@HOST/DB or memory"
    )]
    UnsupportedDatabase(String),
    #[error("the server key: {0}")]
    Key(#[from] crate::secrets::SecretError),
    #[error("the database: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("the database {database}: {error}")]
    Database {
        /// The URL without its password.
        database: String,
        error: crate::store::StoreError,
    },
}

impl DatabaseUrl {
    /// Parses a `--database` value.
    pub fn parse(text: &str) -> Result<DatabaseUrl, ConfigError> {
        if text == MEMORY_DATABASE {
            return Ok(DatabaseUrl::Memory);
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(text.to_string()));
        }
        let path = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
            .ok_or_else(|| ConfigError::UnsupportedDatabase(text.to_string()))?;
        if path.is_empty() {
            return Err(ConfigError::UnsupportedDatabase(text.to_string()));
        }
        Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
    }

    /// The URL with any password hidden, for logs.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite:{}", path.display()),
            DatabaseUrl::Postgres(url) => redact_password(url),
            DatabaseUrl::Memory => MEMORY_DATABASE.to_string(),
        }
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    // The authority ends at the path or the query; a password may hold an
    // unencoded '@', so the user information ends at the last one.
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    // `?password=...` is a password too.
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let parameters: Vec<String> = query
                .split('&')
                .map(|parameter| match parameter.split_once('=') {
                    Some((name, _)) if name.eq_ignore_ascii_case("password") => {
                        format!("{name}=***")
                    }
                    _ => parameter.to_string(),
                })
                .collect();
            format!("{path}?{}", parameters.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// Opens the store, applying migrations. `pool_size` is the most
/// connections a PostgreSQL store keeps (SQLite has its own fixed set).
pub async fn open_store(
    database: &DatabaseUrl,
    pool_size: usize,
) -> Result<SharedStore, ConfigError> {
    match database {
        DatabaseUrl::Sqlite(path) => Ok(Arc::new(SqliteStore::open(path)?)),
        DatabaseUrl::Memory => Ok(Arc::new(SqliteStore::open_in_memory()?)),
        DatabaseUrl::Postgres(url) => Ok(Arc::new(
            PostgresStore::open(url, pool_size)
                .await
                .map_err(|error| ConfigError::Database {
                    database: database.redacted(),
                    error,
                })?,
        )),
    }
}

/// Where the server key comes from.
#[derive(Debug)]
pub enum KeySource {
    /// The key file given by `--key-file`: it must exist.
    File(PathBuf),
    /// Beside the SQLite database, created on first use.
    BesideDatabase(PathBuf),
    /// None: an in-memory database gets a key generated at start, held in
    /// memory only and gone with the data it sealed.
    Ephemeral,
}

/// The key file to use: the one given, or `<database file>.key` for SQLite.
pub fn key_source(
    key_file: Option<&Path>,
    database: &DatabaseUrl,
) -> Result<KeySource, ConfigError> {
    match (key_file, database) {
        (Some(path), _) => Ok(KeySource::File(path.to_path_buf())),
        (None, DatabaseUrl::Sqlite(db)) => {
            let mut name = db.as_os_str().to_owned();
            name.push(".key");
            Ok(KeySource::BesideDatabase(PathBuf::from(name)))
        }
        (None, DatabaseUrl::Memory) => Ok(KeySource::Ephemeral),
        (None, DatabaseUrl::Postgres(_)) => Err(ConfigError::Key(crate::secrets::SecretError::KeyFile {
            path: PathBuf::from("(none given)"),
            reason: "with PostgreSQL every replica must share one server key: give --key-file PATH or LOGIN_SESSIONS_KEY_FILE (create one with `login-sessions key generate > PATH`)".into(),
        })),
    }
}

/// Loads the server key; a key beside the database is created when absent,
/// with a warning on stderr saying where.
pub fn load_key(source: &KeySource) -> Result<ServerKey, ConfigError> {
    match source {
        KeySource::File(path) => Ok(ServerKey::load(path)?),
        KeySource::BesideDatabase(path) => {
            let (key, created) = ServerKey::load_or_create(path)?;
            if created {
                eprintln!(
                    "warning: created a new server key in {} (mode 0600). It encrypts stored secrets: back it up with the database, or pass --key-file.",
                    path.display()
                );
            }
            Ok(key)
        }
        KeySource::Ephemeral => Ok(ServerKey::generate()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        assert_eq!(
            DatabaseUrl::parse("sqlite:a.db").unwrap(),
            DatabaseUrl::Sqlite("a.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/a.db").unwrap(),
            DatabaseUrl::Sqlite("/tmp/a.db".into())
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert!(DatabaseUrl::parse("sqlite:").is_err());
        assert_eq!(DatabaseUrl::parse("memory").unwrap(), DatabaseUrl::Memory);
        assert_eq!(DatabaseUrl::Memory.redacted(), "memory");
        assert!(DatabaseUrl::parse("sqlite::memory:").is_ok_and(|url| url != DatabaseUrl::Memory));
        assert_eq!(
            DatabaseUrl::Postgres("postgres://u:secret@h/db".into()).redacted(),
            "postgres://u:***@h/db"
        );
        for (url, redacted) in [
            ("postgres://u:p@ss@h:5432/db", "postgres://u:***@h:5432/db"),
            ("postgresql://u@h/db", "postgresql://u@h/db"),
            (
                "postgres://h/db?sslmode=disable",
                "postgres://h/db?sslmode=disable",
            ),
            (
                "postgres://u@h/db?password=secret&application_name=x",
                "postgres://u@h/db?password=***&application_name=x",
            ),
            (
                "postgres://u:secret@h?dbname=x",
                "postgres://u:***@h?dbname=x",
            ),
        ] {
            let shown = DatabaseUrl::Postgres(url.into()).redacted();
            assert_eq!(shown, redacted);
            assert!(
                !shown.contains("secret") && !shown.contains("ss@"),
                "{shown}"
            );
        }
    }

    #[test]
    fn key_beside_sqlite_database() {
        let source = key_source(None, &DatabaseUrl::Sqlite("/x/y.db".into())).unwrap();
        assert!(matches!(source, KeySource::BesideDatabase(p) if p == Path::new("/x/y.db.key")));
        assert!(key_source(None, &DatabaseUrl::Postgres("postgres://h/db".into())).is_err());
        assert!(matches!(
            key_source(None, &DatabaseUrl::Memory).unwrap(),
            KeySource::Ephemeral
        ));
        assert!(matches!(
            key_source(Some(Path::new("k")), &DatabaseUrl::Memory).unwrap(),
            KeySource::File(_)
        ));
    }
}
