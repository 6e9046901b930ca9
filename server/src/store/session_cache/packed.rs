//! A session packed into one allocation, as the session cache keeps it.
//!
//! A [`Session`] in memory is some 550 bytes of fields plus a dozen
//! separate strings; at a million sessions that spread is what fills
//! memory (each string is its own allocation, with the allocator's
//! rounding and header). A [`PackedSession`] holds the session's columns
//! exactly as the stores write them ([`sql::session_values`]), one after
//! the other in one boxed slice, and is read back through the stores' own
//! row decoding ([`decode_session`]), so the cache cannot pack a session
//! differently from how the database keeps it.
//!
//! The layout, per column: a tag byte (0 null, 1 integer, 2 text,
//! 3 bytes), then for an integer its 8 little-endian bytes, for text or
//! bytes a 4-byte little-endian length and the bytes.

use crate::domain::session::Session;
use crate::store::StoreError;
use crate::store::rows::{StoredRow, decode_session};
use crate::store::sql::{self, SqlValue};

const NULL: u8 = 0;
const INTEGER: u8 = 1;
const TEXT: u8 = 2;
const BYTES: u8 = 3;

/// A session's columns in one allocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PackedSession {
    bytes: Box<[u8]>,
}

impl PackedSession {
    /// `session`, packed.
    pub(super) fn pack(session: &Session) -> Result<PackedSession, StoreError> {
        let values = sql::session_values(session)?;
        let mut bytes = Vec::with_capacity(512);
        for value in &values {
            match value {
                SqlValue::Null => bytes.push(NULL),
                SqlValue::Integer(integer) => {
                    bytes.push(INTEGER);
                    bytes.extend_from_slice(&integer.to_le_bytes());
                }
                SqlValue::Text(text) => push_slice(&mut bytes, TEXT, text.as_bytes())?,
                SqlValue::Bytes(slice) => push_slice(&mut bytes, BYTES, slice)?,
            }
        }
        Ok(PackedSession {
            bytes: bytes.into_boxed_slice(),
        })
    }

    /// The session again.
    pub(super) fn unpack(&self) -> Result<Session, StoreError> {
        decode_session(&PackedRow::parse(&self.bytes)?)
    }

    /// The bytes it holds.
    pub(super) fn len(&self) -> usize {
        self.bytes.len()
    }
}

fn push_slice(bytes: &mut Vec<u8>, tag: u8, slice: &[u8]) -> Result<(), StoreError> {
    let length = u32::try_from(slice.len())
        .map_err(|_| StoreError::Internal("a session column too long to cache".into()))?;
    bytes.push(tag);
    bytes.extend_from_slice(&length.to_le_bytes());
    bytes.extend_from_slice(slice);
    Ok(())
}

/// A packed session's columns, located.
struct PackedRow<'a> {
    columns: Vec<Column<'a>>,
}

enum Column<'a> {
    Null,
    Integer(i64),
    Text(&'a [u8]),
    Bytes(&'a [u8]),
}

impl<'a> PackedRow<'a> {
    fn parse(mut bytes: &'a [u8]) -> Result<PackedRow<'a>, StoreError> {
        let corrupt = || StoreError::Internal("a cached session is malformed".into());
        let mut columns = Vec::with_capacity(32);
        while let Some((&tag, rest)) = bytes.split_first() {
            bytes = rest;
            let column = match tag {
                NULL => Column::Null,
                INTEGER => {
                    let (integer, rest) = bytes.split_first_chunk::<8>().ok_or_else(corrupt)?;
                    bytes = rest;
                    Column::Integer(i64::from_le_bytes(*integer))
                }
                TEXT | BYTES => {
                    let (length, rest) = bytes.split_first_chunk::<4>().ok_or_else(corrupt)?;
                    let length = u32::from_le_bytes(*length) as usize;
                    let slice = rest.get(..length).ok_or_else(corrupt)?;
                    bytes = &rest[length..];
                    if tag == TEXT {
                        Column::Text(slice)
                    } else {
                        Column::Bytes(slice)
                    }
                }
                _ => return Err(corrupt()),
            };
            columns.push(column);
        }
        Ok(PackedRow { columns })
    }

    fn column(&self, index: usize) -> Result<&Column<'a>, String> {
        self.columns
            .get(index)
            .ok_or_else(|| format!("no column {index}"))
    }
}

impl StoredRow for PackedRow<'_> {
    fn text(&self, index: usize) -> Result<Option<String>, String> {
        match self.column(index)? {
            Column::Null => Ok(None),
            Column::Text(text) => std::str::from_utf8(text)
                .map(|text| Some(text.to_string()))
                .map_err(|error| error.to_string()),
            _ => Err(format!("column {index} is not text")),
        }
    }

    fn integer(&self, index: usize) -> Result<Option<i64>, String> {
        match self.column(index)? {
            Column::Null => Ok(None),
            Column::Integer(integer) => Ok(Some(*integer)),
            _ => Err(format!("column {index} is not an integer")),
        }
    }

    fn bytes(&self, index: usize) -> Result<Option<Vec<u8>>, String> {
        match self.column(index)? {
            Column::Null => Ok(None),
            Column::Bytes(bytes) => Ok(Some(bytes.to_vec())),
            _ => Err(format!("column {index} is not bytes")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance;

    #[test]
    fn a_session_unpacks_as_it_was_packed() {
        for session in [conformance::full_session(), conformance::minimal_session()] {
            let packed = PackedSession::pack(&session).unwrap();
            assert_eq!(packed.unpack().unwrap(), session);
            assert!(packed.len() < 600, "{} bytes", packed.len());
        }
    }

    #[test]
    fn a_malformed_pack_is_an_error_not_a_panic() {
        let packed = PackedSession::pack(&conformance::full_session()).unwrap();
        for cut in [1, 5, packed.len() / 2, packed.len() - 1] {
            let short = PackedSession {
                bytes: packed.bytes[..cut].into(),
            };
            assert!(short.unpack().is_err(), "cut at {cut}");
        }
    }
}
