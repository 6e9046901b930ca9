//! A session packed into one allocation, as the session cache keeps it.
//!
//! A [`Session`] in memory is some 550 bytes of fields plus a dozen
//! separate strings; at a million sessions that spread is what fills
//! memory (each string is its own allocation, with the allocator's
//! rounding and header). A [`PackedSession`] holds the session's fields
//! one after the other in one boxed slice, and is read back field by field
//! in the same order: every lookup the cache answers unpacks one, so the
//! form is the cheapest to read that keeps a session small. Until
//! 2026-12-07 the cache kept the stores' columns ([`sql::session_values`])
//! and read them back through the stores' row decoding, as text; in a
//! profile of Looker `user_session` at 1,000,000 sessions that unpacking
//! (locating the columns, a string for every text column, parsing
//! addresses and names back) took 7.3% of the server's CPU, and a
//! listing paid it once per session.
//!
//! Times are kept in milliseconds, as the stores keep them, so a session
//! answered from here is the one the store would answer. The layout
//! ([`Writer`], [`Reader`], each field in the order of [`PackedSession::pack`]):
//! integers little-endian; an optional value is a presence byte (0 or 1)
//! then the value; text is a 4-byte length and its UTF-8; an id its 32
//! characters; an address a byte (4 or 6) and its 4 or 16 bytes.
//!
//! [`sql::session_values`]: crate::store::sql::session_values

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::domain::session::{Enrichment, Interaction, Session, SessionType, Status};
use crate::domain::{Timestamp, from_unix_millis, to_unix_millis};
use crate::pfid::Pfid;
use crate::store::StoreError;

/// A session's fields in one allocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PackedSession {
    bytes: Box<[u8]>,
}

impl PackedSession {
    /// `session`, packed.
    pub(super) fn pack(session: &Session) -> Result<PackedSession, StoreError> {
        let mut out = Writer(Vec::with_capacity(384));
        out.pfid(&session.id);
        out.text(&session.identity_store_id)?;
        out.optional(session.user_id.as_deref(), Writer::text)?;
        out.byte(status_code(session.status));
        out.byte(session_type_code(session.session_type));
        out.optional(session.credentials_type.as_deref(), Writer::text)?;
        out.time(session.created_at);
        out.time(session.expires_at);
        out.optional(session.extended_at, Writer::time_value)?;
        out.u64(u64::from(session.extended_count));
        out.optional(session.first_seen.as_ref(), Writer::interaction)?;
        out.optional(session.last_seen.as_ref(), Writer::interaction)?;
        let enrichment = &session.enrichment;
        for text in [
            &enrichment.browser,
            &enrichment.operating_system,
            &enrichment.city,
            &enrichment.state,
            &enrichment.country,
            &session.sudo_user_id,
        ] {
            out.optional(text.as_deref(), Writer::text)?;
        }
        for id in [&session.account_id, &session.domain_id, &session.device_id] {
            out.optional(id.as_ref(), Writer::pfid_value)?;
        }
        out.optional(session.title.as_deref(), Writer::text)?;
        out.optional(session.ended_at, Writer::time_value)?;
        out.u64(session.version);
        Ok(PackedSession {
            bytes: out.0.into_boxed_slice(),
        })
    }

    /// The session again.
    pub(super) fn unpack(&self) -> Result<Session, StoreError> {
        let mut input = Reader(&self.bytes);
        let id = input.pfid()?;
        let identity_store_id = input.text()?;
        let user_id = input.optional(Reader::text)?;
        let status = status_of(input.byte()?)?;
        let session_type = session_type_of(input.byte()?)?;
        let credentials_type = input.optional(Reader::text)?;
        let created_at = input.time()?;
        let expires_at = input.time()?;
        let extended_at = input.optional(Reader::time)?;
        let extended_count = u32::try_from(input.u64()?).map_err(|_| malformed())?;
        let first_seen = input.optional(Reader::interaction)?;
        let last_seen = input.optional(Reader::interaction)?;
        let enrichment = Enrichment {
            browser: input.optional(Reader::text)?,
            operating_system: input.optional(Reader::text)?,
            city: input.optional(Reader::text)?,
            state: input.optional(Reader::text)?,
            country: input.optional(Reader::text)?,
        };
        let session = Session {
            id,
            identity_store_id,
            user_id,
            status,
            session_type,
            credentials_type,
            created_at,
            expires_at,
            extended_at,
            extended_count,
            first_seen,
            last_seen,
            enrichment,
            sudo_user_id: input.optional(Reader::text)?,
            account_id: input.optional(Reader::pfid)?,
            domain_id: input.optional(Reader::pfid)?,
            device_id: input.optional(Reader::pfid)?,
            title: input.optional(Reader::text)?,
            ended_at: input.optional(Reader::time)?,
            version: input.u64()?,
        };
        if !input.0.is_empty() {
            return Err(malformed());
        }
        Ok(session)
    }

    /// Its identity store, read without unpacking the rest (listings of
    /// one store skip a user's sessions in others by it).
    pub(super) fn identity_store_id(&self) -> Result<&str, StoreError> {
        let mut input = Reader(&self.bytes);
        input.take::<{ Pfid::TEXT_LEN }>()?;
        input.str()
    }

    /// The bytes it holds.
    pub(super) fn len(&self) -> usize {
        self.bytes.len()
    }
}

fn malformed() -> StoreError {
    StoreError::Internal("a cached session is malformed".into())
}

/// Every status and session type, indexed by the byte that packs it.
const STATUSES: [Status; 5] = [
    Status::New,
    Status::Unauthenticated,
    Status::Authenticated,
    Status::Complete,
    Status::Revoked,
];
const SESSION_TYPES: [SessionType; 2] = [SessionType::Browser, SessionType::Api];

fn status_code(status: Status) -> u8 {
    match status {
        Status::New => 0,
        Status::Unauthenticated => 1,
        Status::Authenticated => 2,
        Status::Complete => 3,
        Status::Revoked => 4,
    }
}

fn status_of(code: u8) -> Result<Status, StoreError> {
    STATUSES
        .get(usize::from(code))
        .copied()
        .ok_or_else(malformed)
}

fn session_type_code(session_type: SessionType) -> u8 {
    match session_type {
        SessionType::Browser => 0,
        SessionType::Api => 1,
    }
}

fn session_type_of(code: u8) -> Result<SessionType, StoreError> {
    SESSION_TYPES
        .get(usize::from(code))
        .copied()
        .ok_or_else(malformed)
}

/// Appends fields to a packed session.
struct Writer(Vec<u8>);

impl Writer {
    fn byte(&mut self, byte: u8) {
        self.0.push(byte);
    }

    fn u64(&mut self, value: u64) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }

    fn time(&mut self, at: Timestamp) {
        self.0.extend_from_slice(&to_unix_millis(at).to_le_bytes());
    }

    fn time_value(&mut self, at: Timestamp) -> Result<(), StoreError> {
        self.time(at);
        Ok(())
    }

    fn text(&mut self, text: &str) -> Result<(), StoreError> {
        let length = u32::try_from(text.len())
            .map_err(|_| StoreError::Internal("a session field too long to cache".into()))?;
        self.0.extend_from_slice(&length.to_le_bytes());
        self.0.extend_from_slice(text.as_bytes());
        Ok(())
    }

    fn pfid(&mut self, id: &Pfid) {
        self.0.extend_from_slice(id.as_str().as_bytes());
    }

    fn pfid_value(&mut self, id: &Pfid) -> Result<(), StoreError> {
        self.pfid(id);
        Ok(())
    }

    fn address(&mut self, ip: IpAddr) {
        match ip {
            IpAddr::V4(v4) => {
                self.byte(4);
                self.0.extend_from_slice(&v4.octets());
            }
            IpAddr::V6(v6) => {
                self.byte(6);
                self.0.extend_from_slice(&v6.octets());
            }
        }
    }

    fn address_value(&mut self, ip: IpAddr) -> Result<(), StoreError> {
        self.address(ip);
        Ok(())
    }

    fn interaction(&mut self, interaction: &Interaction) -> Result<(), StoreError> {
        self.time(interaction.at);
        self.optional(interaction.ip, Writer::address_value)?;
        self.optional(interaction.user_agent.as_deref(), Writer::text)
    }

    /// A presence byte, then `value` written by `write` if there is one.
    fn optional<T>(
        &mut self,
        value: Option<T>,
        write: impl FnOnce(&mut Writer, T) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        match value {
            None => {
                self.byte(0);
                Ok(())
            }
            Some(value) => {
                self.byte(1);
                write(self, value)
            }
        }
    }
}

/// Reads a packed session's fields in the order they were written.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], StoreError> {
        let (taken, rest) = self.0.split_first_chunk::<N>().ok_or_else(malformed)?;
        self.0 = rest;
        Ok(*taken)
    }

    fn byte(&mut self) -> Result<u8, StoreError> {
        let [byte] = self.take::<1>()?;
        Ok(byte)
    }

    fn u64(&mut self) -> Result<u64, StoreError> {
        Ok(u64::from_le_bytes(self.take()?))
    }

    fn time(&mut self) -> Result<Timestamp, StoreError> {
        from_unix_millis(i64::from_le_bytes(self.take()?)).ok_or_else(malformed)
    }

    fn text(&mut self) -> Result<String, StoreError> {
        self.str().map(str::to_owned)
    }

    fn str(&mut self) -> Result<&'a str, StoreError> {
        let length = u32::from_le_bytes(self.take()?) as usize;
        if length > self.0.len() {
            return Err(malformed());
        }
        let (text, rest) = self.0.split_at(length);
        self.0 = rest;
        std::str::from_utf8(text).map_err(|_| malformed())
    }

    fn pfid(&mut self) -> Result<Pfid, StoreError> {
        let text = self.take::<{ Pfid::TEXT_LEN }>()?;
        let text = std::str::from_utf8(&text).map_err(|_| malformed())?;
        Pfid::parse(text).map_err(|_| malformed())
    }

    fn address(&mut self) -> Result<IpAddr, StoreError> {
        match self.byte()? {
            4 => Ok(IpAddr::V4(Ipv4Addr::from(self.take::<4>()?))),
            6 => Ok(IpAddr::V6(Ipv6Addr::from(self.take::<16>()?))),
            _ => Err(malformed()),
        }
    }

    fn interaction(&mut self) -> Result<Interaction, StoreError> {
        Ok(Interaction {
            at: self.time()?,
            ip: self.optional(Reader::address)?,
            user_agent: self.optional(Reader::text)?,
        })
    }

    /// A presence byte, then the value `read` reads if there is one.
    fn optional<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        match self.byte()? {
            0 => Ok(None),
            1 => read(self).map(Some),
            _ => Err(malformed()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance;

    /// Sessions with each optional field present and absent, every status
    /// and type, both kinds of address.
    fn varied_sessions() -> Vec<Session> {
        let full = conformance::full_session();
        let mut sessions = vec![full.clone(), conformance::minimal_session()];
        for (index, status) in STATUSES.into_iter().enumerate() {
            let mut session = full.clone();
            session.status = status;
            session.session_type = SESSION_TYPES[index % 2];
            sessions.push(session);
        }
        let mut no_addresses = full.clone();
        for interaction in [&mut no_addresses.first_seen, &mut no_addresses.last_seen]
            .into_iter()
            .flatten()
        {
            interaction.ip = None;
            interaction.user_agent = None;
        }
        sessions.push(no_addresses);
        let mut empty_texts = full;
        empty_texts.identity_store_id = String::new();
        empty_texts.user_id = Some(String::new());
        empty_texts.title = Some(String::new());
        empty_texts.account_id = None;
        empty_texts.extended_at = None;
        sessions.push(empty_texts);
        sessions
    }

    #[test]
    fn a_session_unpacks_as_it_was_packed() {
        for session in varied_sessions() {
            let packed = PackedSession::pack(&session).unwrap();
            assert_eq!(packed.unpack().unwrap(), session);
            assert_eq!(
                packed.identity_store_id().unwrap(),
                session.identity_store_id
            );
            assert!(packed.len() < 600, "{} bytes", packed.len());
        }
    }

    #[test]
    fn a_session_unpacks_as_the_store_would_read_it() {
        // The stores keep milliseconds: so does the cache.
        let mut session = conformance::full_session();
        session.created_at += chrono::TimeDelta::microseconds(1_234);
        let unpacked = PackedSession::pack(&session).unwrap().unpack().unwrap();
        assert_eq!(
            unpacked.created_at,
            crate::domain::truncate_to_millis(session.created_at)
        );
        assert_ne!(unpacked.created_at, session.created_at);
    }

    #[test]
    fn a_malformed_pack_is_an_error_not_a_panic() {
        let packed = PackedSession::pack(&conformance::full_session()).unwrap();
        for cut in 0..packed.len() {
            let short = PackedSession {
                bytes: packed.bytes[..cut].into(),
            };
            assert!(short.unpack().is_err(), "cut at {cut}");
            // Its identity store reads only if all of it is there.
            let store_end = Pfid::TEXT_LEN + 4 + packed.identity_store_id().unwrap().len();
            assert_eq!(
                short.identity_store_id().is_ok(),
                cut >= store_end,
                "cut at {cut}"
            );
        }
        let mut longer = packed.bytes.to_vec();
        longer.push(0);
        let longer = PackedSession {
            bytes: longer.into(),
        };
        assert!(longer.unpack().is_err());
        // Every single byte changed to every value: an error or a session,
        // never a panic.
        for index in 0..packed.len() {
            for value in [0, 1, 2, 5, 7, 0x80, 0xff] {
                let mut bytes = packed.bytes.to_vec();
                bytes[index] = value;
                let _ = PackedSession {
                    bytes: bytes.into(),
                }
                .unpack();
            }
        }
    }
}
