//! Reading stored rows back into domain values, for both stores.
//!
//! A store says how to read one column of its rows as text, an integer or
//! bytes ([`StoredRow`]); what each column of a session, credential, access
//! token or temporary key row means, and which values are corrupt, is
//! written here once. Every failure is [`StoreError::Corrupt`] naming the
//! record and the column. Nothing is formatted unless something is wrong:
//! a session is read on almost every request.

use std::fmt;
use std::net::IpAddr;

use crate::domain::access_token::AccessToken;
use crate::domain::credential::{Credential, Role, SecretKind, StoredSecret, TemporaryHuaweiKey};
use crate::domain::session::{Enrichment, Interaction, Session, SessionType, Status};
use crate::domain::{Timestamp, from_unix_millis};
use crate::pfid::Pfid;
use crate::secrets::SecretHash;
use crate::store::StoreError;

/// How many columns a credential row has (see [`decode_credential`]).
pub(crate) const CREDENTIAL_COLUMN_COUNT: usize = 8;

/// One row of a query result, read column by column. An `Err` says why the
/// column cannot be read as asked (another type, no such column).
pub(crate) trait StoredRow {
    fn text(&self, index: usize) -> Result<Option<String>, String>;
    fn integer(&self, index: usize) -> Result<Option<i64>, String>;
    fn bytes(&self, index: usize) -> Result<Option<Vec<u8>>, String>;
}

/// What a row holds, for error messages: `session 01J…`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Record<'a> {
    pub kind: &'static str,
    pub id: Option<&'a str>,
}

impl fmt::Display for Record<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id {
            Some(id) => write!(f, "{} {id}", self.kind),
            None => f.write_str(self.kind),
        }
    }
}

/// A corrupt column: `what` is what it holds.
pub(crate) fn corrupt(record: Record<'_>, column: &str, what: impl fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{record} column {column} holds {what}"))
}

/// Reads the columns of one row, naming the record in every error.
pub(crate) struct Columns<'a, R: ?Sized> {
    row: &'a R,
    record: Record<'a>,
}

impl<'a, R: StoredRow + ?Sized> Columns<'a, R> {
    pub fn new(row: &'a R, record: Record<'a>) -> Columns<'a, R> {
        Columns { row, record }
    }

    /// The columns of a row holding a `kind` (errors name no particular one).
    pub fn of(row: &'a R, kind: &'static str) -> Columns<'a, R> {
        Columns::new(row, Record { kind, id: None })
    }

    fn unreadable(&self, column: &str, error: String) -> StoreError {
        StoreError::Corrupt(format!("{} column {column}: {error}", self.record))
    }

    fn required<T>(&self, column: &str, value: Option<T>) -> Result<T, StoreError> {
        value.ok_or_else(|| corrupt(self.record, column, "NULL"))
    }

    pub fn optional_text(&self, index: usize, column: &str) -> Result<Option<String>, StoreError> {
        self.row
            .text(index)
            .map_err(|error| self.unreadable(column, error))
    }

    pub fn text(&self, index: usize, column: &str) -> Result<String, StoreError> {
        self.required(column, self.optional_text(index, column)?)
    }

    pub fn optional_integer<T: TryFrom<i64>>(
        &self,
        index: usize,
        column: &str,
    ) -> Result<Option<T>, StoreError> {
        let value = self
            .row
            .integer(index)
            .map_err(|error| self.unreadable(column, error))?;
        value
            .map(|value| {
                T::try_from(value)
                    .map_err(|_| corrupt(self.record, column, format_args!("the number {value}")))
            })
            .transpose()
    }

    pub fn integer<T: TryFrom<i64>>(&self, index: usize, column: &str) -> Result<T, StoreError> {
        self.required(column, self.optional_integer(index, column)?)
    }

    pub fn optional_time(
        &self,
        index: usize,
        column: &str,
    ) -> Result<Option<Timestamp>, StoreError> {
        self.optional_integer::<i64>(index, column)?
            .map(|millis| {
                from_unix_millis(millis)
                    .ok_or_else(|| corrupt(self.record, column, format_args!("the time {millis}")))
            })
            .transpose()
    }

    pub fn time(&self, index: usize, column: &str) -> Result<Timestamp, StoreError> {
        self.required(column, self.optional_time(index, column)?)
    }

    pub fn optional_pfid(&self, index: usize, column: &str) -> Result<Option<Pfid>, StoreError> {
        self.optional_text(index, column)?
            .map(|text| parse_pfid(&text, self.record, column))
            .transpose()
    }

    pub fn pfid(&self, index: usize, column: &str) -> Result<Pfid, StoreError> {
        self.required(column, self.optional_pfid(index, column)?)
    }

    pub fn optional_bytes(
        &self,
        index: usize,
        column: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.row
            .bytes(index)
            .map_err(|error| self.unreadable(column, error))
    }

    pub fn bytes(&self, index: usize, column: &str) -> Result<Vec<u8>, StoreError> {
        self.required(column, self.optional_bytes(index, column)?)
    }

    /// A SHA-256 hash: exactly 32 bytes.
    pub fn hash(&self, index: usize, column: &str) -> Result<SecretHash, StoreError> {
        self.required(column, self.optional_hash(index, column)?)
    }

    /// A SHA-256 hash, if the column holds one: exactly 32 bytes.
    pub fn optional_hash(
        &self,
        index: usize,
        column: &str,
    ) -> Result<Option<SecretHash>, StoreError> {
        let Some(bytes) = self.optional_bytes(index, column)? else {
            return Ok(None);
        };
        let bytes: [u8; 32] = bytes.try_into().map_err(|bytes: Vec<u8>| {
            corrupt(
                self.record,
                column,
                format_args!("{} bytes, not 32", bytes.len()),
            )
        })?;
        Ok(Some(SecretHash::from_bytes(bytes)))
    }

    /// An interaction from its three columns (time, address, agent) at
    /// `index`, named `columns`: all absent, or a time at least.
    pub fn interaction(
        &self,
        index: usize,
        [at_column, ip_column, agent_column]: [&str; 3],
    ) -> Result<Option<Interaction>, StoreError> {
        let at = self.optional_time(index, at_column)?;
        let ip = self.optional_text(index + 1, ip_column)?;
        let user_agent = self.optional_text(index + 2, agent_column)?;
        let Some(at) = at else {
            if ip.is_some() || user_agent.is_some() {
                return Err(corrupt(
                    self.record,
                    at_column,
                    "nothing, yet the interaction has an address or agent",
                ));
            }
            return Ok(None);
        };
        let ip = ip
            .map(|text| {
                text.parse::<IpAddr>()
                    .map_err(|_| corrupt(self.record, ip_column, format_args!("{text:?}")))
            })
            .transpose()?;
        Ok(Some(Interaction { at, ip, user_agent }))
    }
}

fn parse_pfid(text: &str, record: Record<'_>, column: &str) -> Result<Pfid, StoreError> {
    Pfid::parse(text).map_err(|error| corrupt(record, column, format_args!("{text:?} ({error})")))
}

/// The id in column 0 of a `kind` row, and the row's columns named by it.
fn identified<'a, R: StoredRow + ?Sized>(
    row: &'a R,
    kind: &'static str,
    id: &'a str,
) -> Result<(Pfid, Columns<'a, R>), StoreError> {
    let record = Record { kind, id: Some(id) };
    Ok((parse_pfid(id, record, "id")?, Columns::new(row, record)))
}

/// A session from a row of the stores' session columns, in their order:
/// id, identity_store_id, user_id, status, session_type, credentials_type,
/// created_at, expires_at, extended_at, extended_count, first_seen_at,
/// first_seen_ip, first_seen_user_agent, last_seen_at, last_seen_ip,
/// last_seen_user_agent, browser, operating_system, city, state, country,
/// sudo_user_id, account_id, domain_id, device_id, title, ended_at,
/// version.
pub(crate) fn decode_session<R: StoredRow + ?Sized>(row: &R) -> Result<Session, StoreError> {
    let id_text = Columns::of(row, "session").text(0, "id")?;
    let (id, columns) = identified(row, "session", &id_text)?;
    let status_text = columns.text(3, "status")?;
    let status = Status::parse(&status_text)
        .ok_or_else(|| corrupt(columns.record, "status", format_args!("{status_text:?}")))?;
    let type_text = columns.text(4, "session_type")?;
    let session_type = SessionType::parse(&type_text).ok_or_else(|| {
        corrupt(
            columns.record,
            "session_type",
            format_args!("{type_text:?}"),
        )
    })?;
    Ok(Session {
        id,
        identity_store_id: columns.text(1, "identity_store_id")?,
        user_id: columns.optional_text(2, "user_id")?,
        status,
        session_type,
        credentials_type: columns.optional_text(5, "credentials_type")?,
        created_at: columns.time(6, "created_at")?,
        expires_at: columns.time(7, "expires_at")?,
        extended_at: columns.optional_time(8, "extended_at")?,
        extended_count: columns.integer(9, "extended_count")?,
        first_seen: columns.interaction(
            10,
            ["first_seen_at", "first_seen_ip", "first_seen_user_agent"],
        )?,
        last_seen: columns
            .interaction(13, ["last_seen_at", "last_seen_ip", "last_seen_user_agent"])?,
        enrichment: Enrichment {
            browser: columns.optional_text(16, "browser")?,
            operating_system: columns.optional_text(17, "operating_system")?,
            city: columns.optional_text(18, "city")?,
            state: columns.optional_text(19, "state")?,
            country: columns.optional_text(20, "country")?,
        },
        sudo_user_id: columns.optional_text(21, "sudo_user_id")?,
        account_id: columns.optional_pfid(22, "account_id")?,
        domain_id: columns.optional_pfid(23, "domain_id")?,
        device_id: columns.optional_pfid(24, "device_id")?,
        title: columns.optional_text(25, "title")?,
        ended_at: columns.optional_time(26, "ended_at")?,
        version: columns.integer(27, "version")?,
    })
}

/// A credential from a row starting with its [`CREDENTIAL_COLUMN_COUNT`]
/// columns: id, name, role, identity_store_id, user_id, rate_limit,
/// created_at, revoked_at.
pub(crate) fn decode_credential<R: StoredRow + ?Sized>(row: &R) -> Result<Credential, StoreError> {
    let id_text = Columns::of(row, "credential").text(0, "id")?;
    let (id, columns) = identified(row, "credential", &id_text)?;
    let role_text = columns.text(2, "role")?;
    let role = Role::parse(&role_text)
        .ok_or_else(|| corrupt(columns.record, "role", format_args!("{role_text:?}")))?;
    Ok(Credential {
        id,
        name: columns.optional_text(1, "name")?,
        role,
        identity_store_id: columns.optional_text(3, "identity_store_id")?,
        user_id: columns.optional_text(4, "user_id")?,
        rate_limit: columns.optional_integer(5, "rate_limit")?,
        created_at: columns.time(6, "created_at")?,
        revoked_at: columns.optional_time(7, "revoked_at")?,
    })
}

/// The secret of `kind` found under `lookup_key`, from a row holding its
/// `secret_hash` and `secret_sealed` columns at `first` and `first + 1`.
pub(crate) fn decode_secret<R: StoredRow + ?Sized>(
    row: &R,
    first: usize,
    kind: SecretKind,
    lookup_key: &str,
) -> Result<StoredSecret, StoreError> {
    let columns = Columns::new(
        row,
        Record {
            kind: "credential secret",
            id: Some(lookup_key),
        },
    );
    Ok(StoredSecret {
        kind,
        lookup_key: lookup_key.to_string(),
        hash: columns.optional_hash(first, "secret_hash")?,
        sealed: columns.optional_bytes(first + 1, "secret_sealed")?,
    })
}

/// An access token from a row holding, from column `first` on: token_hash,
/// credential_id, created_at, expires_at, revoked_at, acting_user_id,
/// session_id.
pub(crate) fn decode_access_token<R: StoredRow + ?Sized>(
    row: &R,
    first: usize,
) -> Result<AccessToken, StoreError> {
    let columns = Columns::of(row, "access token");
    Ok(AccessToken {
        token_hash: columns.hash(first, "token_hash")?,
        credential_id: columns.pfid(first + 1, "credential_id")?,
        created_at: columns.time(first + 2, "created_at")?,
        expires_at: columns.time(first + 3, "expires_at")?,
        revoked_at: columns.optional_time(first + 4, "revoked_at")?,
        acting_user_id: columns.optional_text(first + 5, "acting_user_id")?,
        session_id: columns.optional_pfid(first + 6, "session_id")?,
    })
}

/// A Huawei temporary key from a row of its credential's columns followed
/// by access_key, secret_key_sealed, security_token_hash, created_at,
/// expires_at.
pub(crate) fn decode_temporary_key<R: StoredRow + ?Sized>(
    row: &R,
) -> Result<TemporaryHuaweiKey, StoreError> {
    let first = CREDENTIAL_COLUMN_COUNT;
    let access_key = Columns::of(row, "Huawei temporary credential").text(first, "access_key")?;
    let columns = Columns::new(
        row,
        Record {
            kind: "Huawei temporary credential",
            id: Some(&access_key),
        },
    );
    Ok(TemporaryHuaweiKey {
        credential_id: columns.pfid(0, "credential_id")?,
        secret_key_sealed: columns.bytes(first + 1, "secret_key_sealed")?,
        security_token: columns.hash(first + 2, "security_token_hash")?,
        created_at: columns.time(first + 3, "created_at")?,
        expires_at: columns.time(first + 4, "expires_at")?,
        access_key,
    })
}
