//! Prefactor IDs (PFIDs): the identifiers of every record this server mints.
//!
//! A PFID is a 158-bit integer
//!
//! ```text
//! N = timestamp_ms << 110 | partition << 80 | randomness
//! ```
//!
//! made of a 48-bit timestamp (milliseconds since the Unix epoch), a 30-bit
//! partition (see [`partition_for_identity_store`]) and 80 bits from a
//! CSPRNG. Its text form is N written as 32 lowercase Crockford base32
//! digits, most significant first. 32 digits hold 160 bits, so the top two
//! bits are always zero and the first character is always `0`-`7`; the text
//! form therefore matches `^[0-7][0-9abcdefghjkmnpqrstvwxyz]{31}$`, and
//! sorting PFIDs as strings sorts them by timestamp.
//!
//! The binary form is 20 bytes, big-endian: bytes 0-5 are the timestamp,
//! bytes 6-9 the partition as a `u32` (its top two bits zero) and bytes
//! 10-19 the randomness. Note that the text form is *not* the base32
//! encoding of the binary form: in the text the two zero bits sit at the
//! very top, while in the binary form they sit inside the partition `u32`.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use rand::Rng;
use schemars::JsonSchema;
use schemars::SchemaGenerator;
use schemars::schema::{InstanceType, Metadata, Schema, SchemaObject, StringValidation};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// The lowercase Crockford base32 alphabet: digits and letters without
/// `i`, `l`, `o` and `u`. The index of a character is its value.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Marks bytes that are not in [`ALPHABET`] in [`DIGIT_VALUES`].
const NOT_A_DIGIT: u8 = 0xff;

/// The value of every byte as a base32 digit, or [`NOT_A_DIGIT`].
const DIGIT_VALUES: [u8; 256] = digit_values();

const fn digit_values() -> [u8; 256] {
    let mut values = [NOT_A_DIGIT; 256];
    let mut index = 0;
    while index < ALPHABET.len() {
        values[ALPHABET[index] as usize] = index as u8;
        index += 1;
    }
    values
}

/// Bits carried by one base32 character.
const BITS_PER_CHAR: u32 = 5;
/// Characters encoding the timestamp and partition (the top 80 bits of N).
const HIGH_CHARS: usize = 16;
/// Characters encoding the randomness (the low 80 bits of N).
const LOW_CHARS: usize = 16;
/// Bits of randomness in a PFID.
const RANDOMNESS_BITS: u32 = 80;
/// Bits of partition in a PFID.
const PARTITION_BITS: u32 = 30;
/// Bits of timestamp in a PFID.
const TIMESTAMP_BITS: u32 = 48;

/// The regular expression every PFID's text form matches.
pub const PFID_PATTERN: &str = "^[0-7][0-9abcdefghjkmnpqrstvwxyz]{31}$";

/// What a valid PFID looks like, for error messages and documentation.
const PFID_SHAPE: &str = "a PFID is 32 lowercase Crockford base32 characters \
     (0-9 and a-z except i, l, o and u), the first of which is 0-7";

/// Why a PFID could not be parsed or built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PfidError {
    /// The text is not a PFID; the string says why.
    #[error("invalid PFID: {0}; {PFID_SHAPE}")]
    InvalidPfid(String),
    /// The partition does not fit in 30 bits.
    #[error(
        "invalid PFID partition {0}: a partition must be at most {max} (30 bits)",
        max = Pfid::MAX_PARTITION
    )]
    InvalidPartition(u32),
    /// The timestamp does not fit in 48 bits.
    #[error(
        "invalid PFID timestamp {0} ms: a timestamp must be at most {max} ms (48 bits)",
        max = Pfid::MAX_TIMESTAMP_MS
    )]
    InvalidTimestamp(u64),
    /// The 20-byte binary form has the top two bits of its partition set.
    #[error(
        "invalid binary PFID: the top two bits of the partition (byte 6) must be zero; \
         a binary PFID is a 6-byte timestamp, a 4-byte partition below 2^30 and \
         10 bytes of randomness, all big-endian"
    )]
    InvalidBinary,
}

/// A Prefactor ID, kept as its 32-character text form.
///
/// Ordering and equality are those of the text, which orders ids by
/// timestamp, then partition, then randomness.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pfid {
    text: [u8; Pfid::TEXT_LEN],
}

impl Pfid {
    /// Length of the text form in characters (and bytes).
    pub const TEXT_LEN: usize = 32;
    /// Length of the binary form in bytes.
    pub const BINARY_LEN: usize = 20;
    /// Bytes of randomness in a PFID.
    pub const RANDOMNESS_LEN: usize = 10;
    /// The largest timestamp a PFID can carry: 2^48 - 1 milliseconds.
    pub const MAX_TIMESTAMP_MS: u64 = (1 << TIMESTAMP_BITS) - 1;
    /// The largest partition a PFID can carry: 2^30 - 1.
    pub const MAX_PARTITION: u32 = (1 << PARTITION_BITS) - 1;

    /// The all-zero PFID, `00000000000000000000000000000000`.
    pub const ZERO: Pfid = Pfid {
        text: [b'0'; Pfid::TEXT_LEN],
    };

    /// Mints a new PFID in `partition` at `timestamp_ms`, with 80 bits of
    /// randomness from the thread-local CSPRNG.
    pub fn generate(partition: u32, timestamp_ms: u64) -> Result<Pfid, PfidError> {
        let mut randomness = [0u8; Pfid::RANDOMNESS_LEN];
        rand::rng().fill(&mut randomness);
        Pfid::from_parts(timestamp_ms, partition, randomness)
    }

    /// Builds the PFID with exactly these parts.
    pub fn from_parts(
        timestamp_ms: u64,
        partition: u32,
        randomness: [u8; 10],
    ) -> Result<Pfid, PfidError> {
        check_timestamp(timestamp_ms)?;
        check_partition(partition)?;
        let high = (u128::from(timestamp_ms) << PARTITION_BITS) | u128::from(partition);
        let mut text = [0u8; Pfid::TEXT_LEN];
        let (high_text, low_text) = text.split_at_mut(HIGH_CHARS);
        encode_base32(high, high_text);
        encode_base32(randomness_to_u128(randomness), low_text);
        Ok(Pfid { text })
    }

    /// Parses the text form, accepting exactly what matches
    /// [`PFID_PATTERN`].
    pub fn parse(text: &str) -> Result<Pfid, PfidError> {
        let bytes = text.as_bytes();
        let text: [u8; Pfid::TEXT_LEN] = bytes.try_into().map_err(|_| {
            PfidError::InvalidPfid(format!(
                "expected {} characters, found {} bytes",
                Pfid::TEXT_LEN,
                bytes.len()
            ))
        })?;
        check_digits(&text)?;
        Ok(Pfid { text })
    }

    /// The text form: 32 lowercase Crockford base32 characters.
    pub fn as_str(&self) -> &str {
        // Every byte is from ALPHABET (checked on construction), hence
        // ASCII; the fallback is unreachable.
        std::str::from_utf8(&self.text).unwrap_or_default()
    }

    /// Milliseconds since the Unix epoch at which the id was minted.
    pub fn timestamp_ms(&self) -> u64 {
        // At most 48 bits remain after the shift, so this never truncates.
        (self.high() >> PARTITION_BITS) as u64
    }

    /// The partition the id was minted in.
    pub fn partition(&self) -> u32 {
        // Masked to 30 bits, so this never truncates.
        (self.high() & u128::from(Pfid::MAX_PARTITION)) as u32
    }

    /// The 80 random bits, as 10 big-endian bytes.
    pub fn randomness(&self) -> [u8; 10] {
        let low = decode_base32(&self.text[HIGH_CHARS..]).to_be_bytes();
        let mut randomness = [0u8; Pfid::RANDOMNESS_LEN];
        randomness.copy_from_slice(&low[16 - Pfid::RANDOMNESS_LEN..]);
        randomness
    }

    /// The 20-byte binary form: timestamp (6 bytes), partition (4 bytes)
    /// and randomness (10 bytes), all big-endian.
    pub fn to_bytes(&self) -> [u8; 20] {
        let mut bytes = [0u8; Pfid::BINARY_LEN];
        bytes[0..6].copy_from_slice(&self.timestamp_ms().to_be_bytes()[2..8]);
        bytes[6..10].copy_from_slice(&self.partition().to_be_bytes());
        bytes[10..20].copy_from_slice(&self.randomness());
        bytes
    }

    /// Reads the 20-byte binary form written by [`Pfid::to_bytes`],
    /// rejecting a partition with its top two bits set.
    pub fn from_bytes(bytes: &[u8; 20]) -> Result<Pfid, PfidError> {
        let mut timestamp = [0u8; 8];
        timestamp[2..8].copy_from_slice(&bytes[0..6]);
        let partition = u32::from_be_bytes([bytes[6], bytes[7], bytes[8], bytes[9]]);
        if partition > Pfid::MAX_PARTITION {
            return Err(PfidError::InvalidBinary);
        }
        let mut randomness = [0u8; Pfid::RANDOMNESS_LEN];
        randomness.copy_from_slice(&bytes[10..20]);
        Pfid::from_parts(u64::from_be_bytes(timestamp), partition, randomness)
    }

    /// The top 80 bits of N: timestamp and partition.
    fn high(&self) -> u128 {
        decode_base32(&self.text[..HIGH_CHARS])
    }
}

/// The partition of every id minted for one identity store (tenant): the
/// first 4 bytes of SHA-256 of `identity_store_id`, read as a big-endian
/// `u32` and masked to 30 bits.
///
/// This mapping must never change: ids already issued embed its result, and
/// code may rely on recomputing an id's partition from its identity store.
pub fn partition_for_identity_store(identity_store_id: &str) -> u32 {
    let digest = Sha256::digest(identity_store_id.as_bytes());
    let prefix = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    prefix & Pfid::MAX_PARTITION
}

fn check_timestamp(timestamp_ms: u64) -> Result<(), PfidError> {
    if timestamp_ms > Pfid::MAX_TIMESTAMP_MS {
        return Err(PfidError::InvalidTimestamp(timestamp_ms));
    }
    Ok(())
}

fn check_partition(partition: u32) -> Result<(), PfidError> {
    if partition > Pfid::MAX_PARTITION {
        return Err(PfidError::InvalidPartition(partition));
    }
    Ok(())
}

/// Checks that `text` matches [`PFID_PATTERN`], given its length is right.
fn check_digits(text: &[u8; Pfid::TEXT_LEN]) -> Result<(), PfidError> {
    for (position, &byte) in text.iter().enumerate() {
        if DIGIT_VALUES[usize::from(byte)] == NOT_A_DIGIT {
            return Err(PfidError::InvalidPfid(format!(
                "byte {position} ({}) is not a lowercase Crockford base32 character",
                describe_byte(byte)
            )));
        }
    }
    if !(b'0'..=b'7').contains(&text[0]) {
        return Err(PfidError::InvalidPfid(format!(
            "the first character is {:?}, which is above 7",
            char::from(text[0])
        )));
    }
    Ok(())
}

/// Shows an offending byte without echoing arbitrary input verbatim.
fn describe_byte(byte: u8) -> String {
    if byte.is_ascii_graphic() || byte == b' ' {
        format!("{:?}", char::from(byte))
    } else {
        format!("0x{byte:02x}")
    }
}

/// Writes the low `5 * output.len()` bits of `value` as base32 digits,
/// most significant first.
fn encode_base32(mut value: u128, output: &mut [u8]) {
    for slot in output.iter_mut().rev() {
        *slot = ALPHABET[(value & 0x1f) as usize];
        value >>= BITS_PER_CHAR;
    }
}

/// Reads at most 25 validated base32 digits, most significant first.
fn decode_base32(digits: &[u8]) -> u128 {
    digits.iter().fold(0u128, |value, &digit| {
        (value << BITS_PER_CHAR) | u128::from(DIGIT_VALUES[usize::from(digit)])
    })
}

fn randomness_to_u128(randomness: [u8; 10]) -> u128 {
    randomness
        .iter()
        .fold(0u128, |value, &byte| (value << 8) | u128::from(byte))
}

// Both halves of the text carry exactly 80 bits.
const _: () = assert!(HIGH_CHARS as u32 * BITS_PER_CHAR == RANDOMNESS_BITS);
const _: () = assert!(LOW_CHARS as u32 * BITS_PER_CHAR == RANDOMNESS_BITS);
const _: () = assert!(HIGH_CHARS + LOW_CHARS == Pfid::TEXT_LEN);

impl fmt::Display for Pfid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Pfid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pfid({})", self.as_str())
    }
}

impl FromStr for Pfid {
    type Err = PfidError;

    fn from_str(text: &str) -> Result<Pfid, PfidError> {
        Pfid::parse(text)
    }
}

impl AsRef<str> for Pfid {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Serialize for Pfid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Pfid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Pfid, D::Error> {
        deserializer.deserialize_str(PfidVisitor)
    }
}

/// Deserializes a PFID from any string, borrowed or owned.
struct PfidVisitor;

impl serde::de::Visitor<'_> for PfidVisitor {
    type Value = Pfid;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PFID_SHAPE)
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Pfid, E> {
        Pfid::parse(text).map_err(E::custom)
    }
}

impl JsonSchema for Pfid {
    fn schema_name() -> String {
        "Pfid".to_string()
    }

    fn schema_id() -> Cow<'static, str> {
        Cow::Borrowed(concat!(module_path!(), "::Pfid"))
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        SchemaObject {
            instance_type: Some(InstanceType::String.into()),
            string: Some(Box::new(StringValidation {
                pattern: Some(PFID_PATTERN.to_string()),
                ..StringValidation::default()
            })),
            metadata: Some(Box::new(Metadata {
                description: Some(
                    "A Prefactor ID: 32 lowercase Crockford base32 characters \
                     (0-9 and a-z except i, l, o and u), the first of which is 0-7, \
                     encoding a 48-bit millisecond timestamp, a 30-bit partition \
                     and 80 random bits."
                        .to_string(),
                ),
                ..Metadata::default()
            })),
            ..SchemaObject::default()
        }
        .into()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// timestamp_ms, partition, randomness (hex), text.
    const VECTORS: &[(u64, u32, &str, &str)] = &[
        (
            0,
            0,
            "00000000000000000000",
            "00000000000000000000000000000000",
        ),
        (
            0,
            1073741823,
            "ffffffffffffffffffff",
            "0000000000zzzzzzzzzzzzzzzzzzzzzz",
        ),
        (
            281474976710655,
            1073741823,
            "ffffffffffffffffffff",
            "7zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        ),
        (
            1,
            1,
            "00000000000000000000",
            "00000000010000010000000000000000",
        ),
        (
            0,
            100,
            "00000000000000000000",
            "00000000000000340000000000000000",
        ),
        (
            1234567890000,
            123456789,
            "00000000000000000000",
            "013xrzp12g3nqk8n0000000000000000",
        ),
        (
            211106355004229,
            786718108,
            "6c68bce8edd51c6b9343",
            "60003msgt5qe8qcwdhmbst7dtme6q4t3",
        ),
        (
            149806290377,
            1049841707,
            "16641af142b020cf643c",
            "004bgjd5e9z96m1b2sj1nwa2p0gcys1w",
        ),
    ];

    fn randomness_from_hex(hex_text: &str) -> [u8; 10] {
        let mut randomness = [0u8; 10];
        hex::decode_to_slice(hex_text, &mut randomness).unwrap();
        randomness
    }

    fn binary_from_hex(hex_text: &str) -> [u8; 20] {
        let mut bytes = [0u8; 20];
        hex::decode_to_slice(hex_text, &mut bytes).unwrap();
        bytes
    }

    #[test]
    fn vectors_encode() {
        for &(timestamp_ms, partition, randomness, text) in VECTORS {
            let pfid =
                Pfid::from_parts(timestamp_ms, partition, randomness_from_hex(randomness)).unwrap();
            assert_eq!(pfid.as_str(), text);
            assert_eq!(pfid.to_string(), text);
        }
    }

    #[test]
    fn vectors_decode() {
        for &(timestamp_ms, partition, randomness, text) in VECTORS {
            let pfid = Pfid::parse(text).unwrap();
            assert_eq!(pfid.timestamp_ms(), timestamp_ms, "{text}");
            assert_eq!(pfid.partition(), partition, "{text}");
            assert_eq!(hex::encode(pfid.randomness()), randomness, "{text}");
        }
    }

    #[test]
    fn vectors_binary_round_trip() {
        for &(timestamp_ms, partition, randomness, text) in VECTORS {
            let pfid = Pfid::parse(text).unwrap();
            let bytes = pfid.to_bytes();
            assert_eq!(bytes[0..6], timestamp_ms.to_be_bytes()[2..8]);
            assert_eq!(bytes[6..10], partition.to_be_bytes());
            assert_eq!(hex::encode(&bytes[10..20]), randomness);
            assert_eq!(Pfid::from_bytes(&bytes).unwrap(), pfid);
        }
    }

    #[test]
    fn zero_is_valid_and_all_zero() {
        assert_eq!(Pfid::ZERO.as_str(), "00000000000000000000000000000000");
        assert_eq!(Pfid::parse(Pfid::ZERO.as_str()).unwrap(), Pfid::ZERO);
        assert_eq!(Pfid::ZERO.timestamp_ms(), 0);
        assert_eq!(Pfid::ZERO.partition(), 0);
        assert_eq!(Pfid::ZERO.randomness(), [0; 10]);
        assert_eq!(Pfid::ZERO.to_bytes(), [0; 20]);
    }

    #[test]
    fn pad_bits_are_at_the_top_of_the_text_not_in_the_binary() {
        let account = Pfid::parse("013xrzp12g3nqk8n6cyr5x0k8yb10h59").unwrap();
        assert_eq!(account.timestamp_ms(), 1234567890000);
        assert_eq!(account.partition(), 123456789);
        let binary = binary_from_hex("011f71fb0450075bcd15333d82f41347961044a9");
        assert_eq!(account.to_bytes(), binary);
        assert_eq!(Pfid::from_bytes(&binary).unwrap(), account);

        // Base32 of the 20-byte binary form is a different id: the binary
        // timestamp sits two bits higher, so it reads as four times as large.
        let naive = "04fq3yr4a03nqk8n6cyr5x0k8yb10h59";
        if let Ok(other) = Pfid::parse(naive) {
            assert_ne!(other, account);
            assert_eq!(other.timestamp_ms(), 4 * account.timestamp_ms());
            assert_ne!(other.to_bytes(), binary);
        }
    }

    #[test]
    fn session_example_randomness() {
        let session = Pfid::parse("013xrzp12g3nqk8nkv4y96wrbzje9dsr").unwrap();
        assert_eq!(session.timestamp_ms(), 1234567890000);
        assert_eq!(session.partition(), 123456789);
        assert_eq!(hex::encode(session.randomness()), "9ec9e49b985fe4e4b738");
    }

    #[test]
    fn parse_rejects_malformed_text() {
        let valid = "013xrzp12g3nqk8nkv4y96wrbzje9dsr";
        assert!(Pfid::parse(valid).is_ok());
        let rejected = [
            "013XRZP12G3NQK8NKV4Y96WRBZJE9DSR".to_string(),
            "013xrzp12g3nqk8nkv4y96wrbzje9dsR".to_string(),
            valid[..31].to_string(),
            format!("{valid}0"),
            String::new(),
            format!("8{}", &valid[1..]),
            format!("z{}", &valid[1..]),
            format!("{}i", &valid[..31]),
            format!("{}l", &valid[..31]),
            format!("{}o", &valid[..31]),
            format!("{}u", &valid[..31]),
            format!("{}-", &valid[..31]),
            format!("{} ", &valid[..31]),
            format!("{}é", &valid[..30]),
            format!("{}\0", &valid[..31]),
        ];
        for text in &rejected {
            let error = Pfid::parse(text).unwrap_err();
            assert!(
                matches!(error, PfidError::InvalidPfid(_)),
                "{text:?}: {error:?}"
            );
        }
    }

    #[test]
    fn error_message_says_what_a_pfid_looks_like() {
        let message = Pfid::parse("nope").unwrap_err().to_string();
        assert!(
            message.contains("32 lowercase Crockford base32"),
            "{message}"
        );
        assert!(message.contains("0-7"), "{message}");
    }

    #[test]
    fn from_bytes_rejects_partition_top_bits() {
        let mut bytes = [0u8; 20];
        bytes[6] = 0xc0;
        assert_eq!(Pfid::from_bytes(&bytes), Err(PfidError::InvalidBinary));
        bytes[6] = 0x40;
        assert_eq!(Pfid::from_bytes(&bytes), Err(PfidError::InvalidBinary));
        bytes[6] = 0x3f;
        assert!(Pfid::from_bytes(&bytes).is_ok());
    }

    #[test]
    fn from_parts_rejects_out_of_range_parts() {
        assert_eq!(
            Pfid::from_parts(0, 1 << 30, [0; 10]),
            Err(PfidError::InvalidPartition(1 << 30))
        );
        assert_eq!(
            Pfid::from_parts(1 << 48, 0, [0; 10]),
            Err(PfidError::InvalidTimestamp(1 << 48))
        );
        assert!(Pfid::from_parts(Pfid::MAX_TIMESTAMP_MS, Pfid::MAX_PARTITION, [0xff; 10]).is_ok());
    }

    #[test]
    fn generate_rejects_out_of_range_parts() {
        assert_eq!(
            Pfid::generate(1 << 30, 0),
            Err(PfidError::InvalidPartition(1 << 30))
        );
        assert_eq!(
            Pfid::generate(u32::MAX, 0),
            Err(PfidError::InvalidPartition(u32::MAX))
        );
        assert_eq!(
            Pfid::generate(0, 1 << 48),
            Err(PfidError::InvalidTimestamp(1 << 48))
        );
    }

    #[test]
    fn generate_keeps_parts_and_is_random() {
        let partition = 987_654_321;
        let timestamp_ms = 1_700_000_000_123;
        let first = Pfid::generate(partition, timestamp_ms).unwrap();
        let second = Pfid::generate(partition, timestamp_ms).unwrap();
        for pfid in [first, second] {
            assert_eq!(pfid.partition(), partition);
            assert_eq!(pfid.timestamp_ms(), timestamp_ms);
            assert_eq!(Pfid::parse(pfid.as_str()).unwrap(), pfid);
        }
        assert_ne!(first, second);
        assert_ne!(first.randomness(), second.randomness());
    }

    #[test]
    fn text_order_follows_timestamp() {
        let partition = Pfid::MAX_PARTITION;
        let timestamps = [0, 1, 999, 1_000, 1_700_000_000_000, Pfid::MAX_TIMESTAMP_MS];
        let ids: Vec<Pfid> = timestamps
            .iter()
            .map(|&timestamp_ms| Pfid::generate(partition, timestamp_ms).unwrap())
            .collect();
        for pair in ids.windows(2) {
            assert!(pair[0].as_str() < pair[1].as_str(), "{pair:?}");
            assert!(pair[0] < pair[1], "{pair:?}");
        }
    }

    #[test]
    fn partition_for_identity_store_is_stable_and_fits() {
        // SHA-256("example-store") starts with a0 26 b0 b1; masking the top
        // two bits leaves 0x2026_b0b1. The pinned value must never change.
        assert_eq!(partition_for_identity_store("example-store"), 539406513);
        assert_eq!(partition_for_identity_store("store_01"), 175762231);
        assert_eq!(
            partition_for_identity_store("example-store"),
            partition_for_identity_store("example-store")
        );
        for id in ["", "a", "tenant-1", "tenant-2", "ünïcödé"] {
            assert!(partition_for_identity_store(id) <= Pfid::MAX_PARTITION);
        }
    }

    #[test]
    fn display_debug_and_from_str() {
        let text = "013xrzp12g3nqk8nkv4y96wrbzje9dsr";
        let pfid: Pfid = text.parse().unwrap();
        assert_eq!(format!("{pfid}"), text);
        assert_eq!(format!("{pfid:?}"), format!("Pfid({text})"));
        assert!("013xrzp12g3nqk8nkv4y96wrbzje9dsu".parse::<Pfid>().is_err());
    }

    #[test]
    fn serde_uses_the_text_and_validates() {
        let text = "013xrzp12g3nqk8nkv4y96wrbzje9dsr";
        let pfid = Pfid::parse(text).unwrap();
        let json = serde_json::to_string(&pfid).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<Pfid>(&json).unwrap(), pfid);
        let owned: Pfid = serde_json::from_value(serde_json::Value::String(text.into())).unwrap();
        assert_eq!(owned, pfid);
        assert!(serde_json::from_str::<Pfid>("\"013XRZP12G3NQK8NKV4Y96WRBZJE9DSR\"").is_err());
        assert!(serde_json::from_str::<Pfid>("42").is_err());
    }

    #[test]
    fn json_schema_is_a_patterned_string() {
        let schema = serde_json::to_value(schemars::schema_for!(Pfid)).unwrap();
        assert_eq!(schema["title"], "Pfid");
        assert_eq!(schema["type"], "string");
        assert_eq!(schema["pattern"], PFID_PATTERN);
        let description = schema["description"].as_str().unwrap();
        assert!(
            description.starts_with("A Prefactor ID: 32 lowercase Crockford base32 characters")
        );
    }
}
