//! Secrets: minting bearer tokens and credentials, hashing the secrets the
//! database stores only as hashes, and the server key that encrypts the
//! secrets the server must be able to read back (Huawei secret keys).
//!
//! Everything random here comes from [`rand::rng`], a CSPRNG seeded from the
//! operating system.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Upper- and lowercase letters and digits.
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Uppercase letters and digits.
const UPPER_ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Random bytes behind a bearer token from [`new_token`].
const TOKEN_BYTES: usize = 32;
/// Characters after the prefix of a bearer token from [`new_token`]:
/// base64url without padding of [`TOKEN_BYTES`].
pub const TOKEN_TEXT_LEN: usize = TOKEN_BYTES.div_ceil(3) * 4 - (3 - TOKEN_BYTES % 3) % 3;

/// Random bytes behind a security token from [`new_security_token`].
const SECURITY_TOKEN_BYTES: usize = 48;

/// Length of a server key in bytes.
const SERVER_KEY_LEN: usize = 32;
/// Length of a server key (or a secret hash) in hexadecimal characters.
const HEX_KEY_LEN: usize = 2 * SERVER_KEY_LEN;
/// Length of the AES-GCM nonce that starts every sealed value.
const NONCE_LEN: usize = 12;
/// Length of the AES-GCM authentication tag that ends every sealed value.
const TAG_LEN: usize = 16;

/// How often [`ServerKey::load_or_create`] reads a key file that another
/// process created but has not finished writing before giving up.
const PARTIAL_KEY_FILE_ATTEMPTS: u32 = 40;
/// How long to wait between those reads.
const PARTIAL_KEY_FILE_PAUSE: Duration = Duration::from_millis(25);

/// Why a secret, hash or key could not be read or used.
///
/// No variant ever carries secret material.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The server key file could not be read, created or understood.
    #[error("server key file {}: {reason}", path.display())]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A server key's text form is not 64 hexadecimal characters.
    #[error("malformed server key: {0}")]
    MalformedKey(String),
    /// A sealed value could not be decrypted.
    #[error(
        "could not decrypt: the value is truncated or altered, or was sealed \
         with another server key or for another context"
    )]
    Decrypt,
    /// A secret hash's text form is not 64 hexadecimal characters.
    #[error("malformed secret hash: expected 64 hexadecimal characters")]
    MalformedHash,
}

/// A fresh high-entropy bearer token: `prefix` + base64url-no-pad of 32
/// CSPRNG bytes (43 characters).
pub fn new_token(prefix: &str) -> String {
    let mut token = String::from(prefix);
    URL_SAFE_NO_PAD.encode_string(random_bytes::<TOKEN_BYTES>(), &mut token);
    token
}

/// Length of a Looker client id.
pub const LOOKER_CLIENT_ID_LEN: usize = 20;
/// Length of a Looker client secret.
pub const LOOKER_CLIENT_SECRET_LEN: usize = 24;
/// Length of a Huawei access key id (AK).
pub const HUAWEI_ACCESS_KEY_LEN: usize = 20;
/// Length of a Huawei secret access key (SK).
pub const HUAWEI_SECRET_KEY_LEN: usize = 40;

/// A fresh Looker client id: 20 characters from `[A-Za-z0-9]`.
pub fn new_looker_client_id() -> String {
    random_string(ALPHANUMERIC, LOOKER_CLIENT_ID_LEN)
}

/// A fresh Looker client secret: 24 characters from `[A-Za-z0-9]`.
pub fn new_looker_client_secret() -> String {
    random_string(ALPHANUMERIC, LOOKER_CLIENT_SECRET_LEN)
}

/// A fresh Huawei access key id (AK): 20 characters from `[A-Z0-9]`.
pub fn new_huawei_access_key() -> String {
    random_string(UPPER_ALPHANUMERIC, HUAWEI_ACCESS_KEY_LEN)
}

/// A fresh Huawei secret access key (SK): 40 characters from `[A-Za-z0-9]`.
pub fn new_huawei_secret_key() -> String {
    random_string(ALPHANUMERIC, HUAWEI_SECRET_KEY_LEN)
}

/// A fresh security token for Huawei temporary credentials: base64url-no-pad
/// of 48 CSPRNG bytes (64 characters from `[A-Za-z0-9_-]`).
pub fn new_security_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<SECURITY_TOKEN_BYTES>())
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill(&mut bytes[..]);
    bytes
}

/// `length` characters drawn uniformly from `alphabet`.
fn random_string(alphabet: &[u8], length: usize) -> String {
    let mut rng = rand::rng();
    (0..length)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

/// SHA-256 of a secret; what the database stores instead of the secret.
///
/// Only high-entropy secrets (tokens and credentials minted above) should be
/// hashed this way: a bare SHA-256 is no defence for guessable passwords.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    /// The hash of `secret`.
    pub fn of(secret: &str) -> Self {
        SecretHash(Sha256::digest(secret.as_bytes()).into())
    }

    /// Whether `candidate` is the secret this is the hash of, compared in
    /// constant time.
    pub fn matches(&self, candidate: &str) -> bool {
        self.0.ct_eq(&SecretHash::of(candidate).0).into()
    }

    /// The hash as 64 lowercase hexadecimal characters: a bearer token's
    /// lookup key, computed on every request that carries one (written
    /// from a table: `hex::encode` went character by character through an
    /// iterator, 0.7% of a native lookup's CPU).
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(64);
        for byte in self.0 {
            text.push(char::from(DIGITS[usize::from(byte >> 4)]));
            text.push(char::from(DIGITS[usize::from(byte & 0xf)]));
        }
        text
    }

    /// Reads the 64 hexadecimal characters written by [`SecretHash::to_hex`].
    pub fn from_hex(text: &str) -> Result<Self, SecretError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| SecretError::MalformedHash)?;
        Ok(SecretHash(bytes))
    }

    /// The 32 bytes of the hash.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The hash with these 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        SecretHash(bytes)
    }
}

impl fmt::Debug for SecretHash {
    /// Shows only the first 8 hexadecimal characters, enough to tell hashes
    /// apart in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretHash({}..)", hex::encode(&self.0[..4]))
    }
}

/// The server key: 32 random bytes, kept as 64 hexadecimal characters (one
/// line, trailing newline allowed) in a key file. Encrypts the secrets the
/// server must be able to use (Huawei SKs) with AES-256-GCM.
///
/// A key file may hold more than one key, one per line: the first seals,
/// every one opens. That is how the key is rotated without downtime (see
/// `login-sessions key rotate`): give every server the new key first and
/// the old one after it, re-seal what is stored, then drop the old line.
#[derive(Clone)]
pub struct ServerKey {
    current: [u8; 32],
    /// Keys that open values sealed before a rotation, newest first.
    previous: Vec<[u8; 32]>,
}

impl ServerKey {
    /// A fresh random key.
    pub fn generate() -> ServerKey {
        ServerKey {
            current: random_bytes::<SERVER_KEY_LEN>(),
            previous: Vec::new(),
        }
    }

    /// The key that seals, as 64 lowercase hexadecimal characters, the key
    /// file format.
    pub fn to_hex(&self) -> String {
        hex::encode(self.current)
    }

    /// How many keys open sealed values: the current one and the previous.
    pub fn key_count(&self) -> usize {
        1 + self.previous.len()
    }

    /// Reads keys from their text form: lines of exactly 64 hexadecimal
    /// characters, the first the one that seals, ignoring surrounding
    /// whitespace and empty lines. Errors never include the text.
    pub fn from_hex(text: &str) -> Result<ServerKey, SecretError> {
        let mut keys = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(key_from_hex);
        let current = keys.next().unwrap_or_else(|| key_from_hex(""))?;
        let previous = keys.collect::<Result<Vec<_>, _>>()?;
        Ok(ServerKey { current, previous })
    }

    /// Reads the key file at `path`. Errors say which file and what is
    /// wrong with it, never what it contains.
    pub fn load(path: &Path) -> Result<ServerKey, SecretError> {
        match read_key_file(path)? {
            KeyFile::Ready(key) => Ok(key),
            KeyFile::Missing => Err(key_file_error(path, "the file does not exist")),
            KeyFile::Partial { length } => Err(partial_key_file_error(path, length)),
        }
    }

    /// Loads the key at `path`, or creates it (mode 0600 on unix, created
    /// with `create_new` so two processes racing do not overwrite each
    /// other: if `create_new` fails with `AlreadyExists`, load the other's
    /// key) when absent. Returns whether it was created.
    ///
    /// The parent directory must already exist.
    pub fn load_or_create(path: &Path) -> Result<(ServerKey, bool), SecretError> {
        if let Some(key) = read_complete_key_file(path)? {
            return Ok((key, false));
        }
        let key = ServerKey::generate();
        match create_key_file(path, &key) {
            Ok(()) => Ok((key, true)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                let key = read_complete_key_file(path)?.ok_or_else(|| {
                    key_file_error(path, "the file was removed while it was being created")
                })?;
                Ok((key, false))
            }
            Err(error) => Err(key_file_error(
                path,
                &format!("could not create the file: {error}"),
            )),
        }
    }

    /// Seals `plaintext`: nonce (12 random bytes) || ciphertext+tag.
    /// `context` is bound as AES-GCM associated data (e.g. the credential
    /// id) so a ciphertext cannot be moved to another row.
    ///
    /// # Panics
    ///
    /// If `plaintext` exceeds AES-GCM's limit of 2^36 - 32 bytes (64 GiB),
    /// which no secret comes near.
    pub fn encrypt(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let nonce = random_bytes::<NONCE_LEN>();
        let payload = Payload {
            msg: plaintext,
            aad: context,
        };
        let ciphertext = match cipher(&self.current).encrypt(Nonce::from_slice(&nonce), payload) {
            Ok(ciphertext) => ciphertext,
            Err(_) => panic!("AES-GCM plaintext of {} bytes is too long", plaintext.len()),
        };
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// Opens a value sealed by [`ServerKey::encrypt`] with any of these
    /// keys and the same `context`.
    pub fn decrypt(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, SecretError> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(SecretError::Decrypt);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find_map(|key| {
                let payload = Payload {
                    msg: ciphertext,
                    aad: context,
                };
                cipher(key).decrypt(Nonce::from_slice(nonce), payload).ok()
            })
            .ok_or(SecretError::Decrypt)
    }

    /// Whether `sealed` is sealed with the current key already.
    pub fn seals_with_current(&self, sealed: &[u8], context: &[u8]) -> bool {
        ServerKey {
            current: self.current,
            previous: Vec::new(),
        }
        .decrypt(sealed, context)
        .is_ok()
    }
}

fn cipher(key: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key))
}

/// One key from its 64 hexadecimal characters.
fn key_from_hex(text: &str) -> Result<[u8; 32], SecretError> {
    if text.len() != HEX_KEY_LEN {
        return Err(SecretError::MalformedKey(format!(
            "expected {HEX_KEY_LEN} hexadecimal characters, found {} bytes",
            text.len()
        )));
    }
    let mut bytes = [0u8; SERVER_KEY_LEN];
    hex::decode_to_slice(text, &mut bytes).map_err(|_| {
        SecretError::MalformedKey(format!(
            "expected {HEX_KEY_LEN} hexadecimal characters, found a character \
             that is not a hexadecimal digit"
        ))
    })?;
    Ok(bytes)
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerKey(..)")
    }
}

fn key_file_error(path: &Path, reason: &str) -> SecretError {
    SecretError::KeyFile {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// What a key file holds.
enum KeyFile {
    /// There is no file.
    Missing,
    /// The file holds fewer than 64 hexadecimal characters and nothing
    /// else: it may be a key file another process is still writing.
    Partial {
        /// How many bytes it holds.
        length: usize,
    },
    /// The file holds a key.
    Ready(ServerKey),
}

/// Reads the key file at `path`.
fn read_key_file(path: &Path) -> Result<KeyFile, SecretError> {
    let contents = match fs::read(path) {
        Ok(contents) => contents,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(KeyFile::Missing),
        Err(error) => {
            return Err(key_file_error(
                path,
                &format!("could not read the file: {error}"),
            ));
        }
    };
    if is_partial_key(&contents) {
        return Ok(KeyFile::Partial {
            length: contents.len(),
        });
    }
    let text = std::str::from_utf8(&contents).map_err(|_| {
        key_file_error(
            path,
            "the file is not text; expected 64 hexadecimal characters",
        )
    })?;
    let key = ServerKey::from_hex(text).map_err(|error| match error {
        SecretError::MalformedKey(reason) => key_file_error(path, &reason),
        other => other,
    })?;
    Ok(KeyFile::Ready(key))
}

/// Whether `contents` could be the beginning of a key file being written.
fn is_partial_key(contents: &[u8]) -> bool {
    contents.len() < HEX_KEY_LEN && contents.iter().all(u8::is_ascii_hexdigit)
}

/// Reads the key file at `path`, or `None` if there is no such file. A file
/// that looks half-written (another process may have just created it) is
/// read again for up to a second before it counts as malformed.
fn read_complete_key_file(path: &Path) -> Result<Option<ServerKey>, SecretError> {
    let mut attempt = 1;
    loop {
        match read_key_file(path)? {
            KeyFile::Ready(key) => return Ok(Some(key)),
            KeyFile::Missing => return Ok(None),
            KeyFile::Partial { length } if attempt >= PARTIAL_KEY_FILE_ATTEMPTS => {
                return Err(partial_key_file_error(path, length));
            }
            KeyFile::Partial { .. } => {
                attempt += 1;
                thread::sleep(PARTIAL_KEY_FILE_PAUSE);
            }
        }
    }
}

fn partial_key_file_error(path: &Path, length: usize) -> SecretError {
    key_file_error(
        path,
        &format!("expected {HEX_KEY_LEN} hexadecimal characters, found {length} bytes"),
    )
}

/// Creates the key file at `path`, failing with `AlreadyExists` if there is
/// one. Removes the file again if it could not be written completely.
fn create_key_file(path: &Path, key: &ServerKey) -> io::Result<()> {
    let mut file = open_new_private_file(path)?;
    let written = file
        .write_all(format!("{}\n", key.to_hex()).as_bytes())
        .and_then(|()| file.sync_all());
    if written.is_err() {
        drop(file);
        // Best effort: the write error is what the caller needs to see.
        let _ = fs::remove_file(path);
    }
    written
}

/// Opens a file that must not exist yet, readable by its owner only.
fn open_new_private_file(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn assert_all_in(text: &str, alphabet: &[u8]) {
        assert!(
            text.bytes().all(|byte| alphabet.contains(&byte)),
            "{text:?} has characters outside the alphabet"
        );
    }

    fn assert_unique(tokens: impl Iterator<Item = String>) {
        let tokens: Vec<String> = tokens.collect();
        let distinct: HashSet<&String> = tokens.iter().collect();
        assert_eq!(distinct.len(), tokens.len());
    }

    const URL_SAFE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    #[test]
    fn tokens_have_prefix_length_and_alphabet() {
        let token = new_token("ls_sess_");
        let body = token.strip_prefix("ls_sess_").unwrap();
        assert_eq!(body.len(), 43);
        assert_all_in(body, URL_SAFE);
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
        assert_eq!(new_token("").len(), 43);
        assert_unique((0..100).map(|_| new_token("t_")));
    }

    #[test]
    fn looker_credentials_have_length_and_alphabet() {
        for _ in 0..50 {
            let id = new_looker_client_id();
            assert_eq!(id.len(), 20);
            assert_all_in(&id, ALPHANUMERIC);
            let secret = new_looker_client_secret();
            assert_eq!(secret.len(), 24);
            assert_all_in(&secret, ALPHANUMERIC);
        }
        assert_unique((0..100).map(|_| new_looker_client_id()));
        assert_unique((0..100).map(|_| new_looker_client_secret()));
    }

    #[test]
    fn huawei_credentials_have_length_and_alphabet() {
        for _ in 0..50 {
            let access_key = new_huawei_access_key();
            assert_eq!(access_key.len(), 20);
            assert_all_in(&access_key, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
            let secret_key = new_huawei_secret_key();
            assert_eq!(secret_key.len(), 40);
            assert_all_in(&secret_key, ALPHANUMERIC);
            let security_token = new_security_token();
            assert!(security_token.len() >= 64);
            assert_all_in(&security_token, URL_SAFE);
        }
        assert_unique((0..100).map(|_| new_huawei_access_key()));
        assert_unique((0..100).map(|_| new_huawei_secret_key()));
        assert_unique((0..100).map(|_| new_security_token()));
    }

    #[test]
    fn random_strings_use_the_whole_alphabet() {
        let drawn: HashSet<u8> = (0..20)
            .flat_map(|_| new_huawei_secret_key().into_bytes())
            .collect();
        // 800 draws from 62 characters miss a given one with probability ~3e-6.
        assert!(drawn.len() > 50, "only {} distinct characters", drawn.len());
        let upper: HashSet<u8> = (0..20)
            .flat_map(|_| new_huawei_access_key().into_bytes())
            .collect();
        assert!(upper.len() > 30, "only {} distinct characters", upper.len());
    }

    #[test]
    fn secret_hash_matches_only_its_secret() {
        let hash = SecretHash::of("correct horse");
        assert!(hash.matches("correct horse"));
        assert!(!hash.matches("correct horse "));
        assert!(!hash.matches("Correct horse"));
        assert!(!hash.matches(""));
        assert_eq!(hash, SecretHash::of("correct horse"));
        assert_ne!(hash, SecretHash::of("battery staple"));
    }

    #[test]
    fn secret_hash_is_sha256() {
        assert_eq!(
            SecretHash::of("").to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn secret_hash_hex_and_bytes_round_trip() {
        let hash = SecretHash::of("token");
        let hex_text = hash.to_hex();
        assert_eq!(hex_text.len(), 64);
        assert_eq!(SecretHash::from_hex(&hex_text).unwrap(), hash);
        assert_eq!(SecretHash::from_bytes(*hash.as_bytes()), hash);
        assert!(matches!(
            SecretHash::from_hex(&hex_text[..63]),
            Err(SecretError::MalformedHash)
        ));
        assert!(matches!(
            SecretHash::from_hex(&format!("{hex_text}0")),
            Err(SecretError::MalformedHash)
        ));
        assert!(matches!(
            SecretHash::from_hex(&format!("{}g", &hex_text[..63])),
            Err(SecretError::MalformedHash)
        ));
    }

    #[test]
    fn secret_hash_debug_is_short() {
        let hash = SecretHash::of("token");
        let debug = format!("{hash:?}");
        assert!(debug.contains(&hash.to_hex()[..8]), "{debug}");
        assert!(!debug.contains(&hash.to_hex()[..9]), "{debug}");
    }

    #[test]
    fn server_key_hex_round_trip() {
        let key = ServerKey::generate();
        let hex_text = key.to_hex();
        assert_eq!(hex_text.len(), 64);
        assert_eq!(ServerKey::from_hex(&hex_text).unwrap().current, key.current);
        let with_whitespace = format!("  {hex_text}\n");
        assert_eq!(
            ServerKey::from_hex(&with_whitespace).unwrap().current,
            key.current
        );
        assert_eq!(
            ServerKey::from_hex(&hex_text.to_uppercase())
                .unwrap()
                .current,
            key.current
        );
        assert_ne!(ServerKey::generate().current, key.current);
    }

    #[test]
    fn a_key_file_of_several_keys_seals_with_the_first_and_opens_with_any() {
        let (old, new) = (ServerKey::generate(), ServerKey::generate());
        let sealed_by_old = old.encrypt(b"sk", b"context");
        let ring = ServerKey::from_hex(&format!("{}\n\n{}\n", new.to_hex(), old.to_hex())).unwrap();
        assert_eq!(ring.key_count(), 2);
        assert_eq!(ring.to_hex(), new.to_hex(), "the first line seals");
        assert_eq!(ring.decrypt(&sealed_by_old, b"context").unwrap(), b"sk");
        assert!(!ring.seals_with_current(&sealed_by_old, b"context"));
        let sealed_by_ring = ring.encrypt(b"sk", b"context");
        assert!(ring.seals_with_current(&sealed_by_ring, b"context"));
        assert_eq!(new.decrypt(&sealed_by_ring, b"context").unwrap(), b"sk");
        assert!(old.decrypt(&sealed_by_ring, b"context").is_err());
        assert!(ring.decrypt(&sealed_by_old, b"another context").is_err());
        assert!(ServerKey::from_hex(&format!("{}\nnot a key", new.to_hex())).is_err());
    }

    #[test]
    fn server_key_from_hex_rejects_malformed_text() {
        let hex_text = ServerKey::generate().to_hex();
        let rejected = [
            hex_text[..63].to_string(),
            format!("{hex_text}0"),
            format!("{}g", &hex_text[..63]),
            format!("{} {}", &hex_text[..32], &hex_text[32..]),
            String::new(),
        ];
        for text in &rejected {
            let error = ServerKey::from_hex(text).unwrap_err();
            assert!(matches!(error, SecretError::MalformedKey(_)), "{error:?}");
            assert!(!error.to_string().contains(&hex_text[..16]), "{error}");
        }
    }

    #[test]
    fn server_key_debug_hides_the_key() {
        let key = ServerKey::generate();
        let debug = format!("{key:?}");
        assert_eq!(debug, "ServerKey(..)");
        assert!(!debug.contains(&key.to_hex()[..8]));
    }

    #[test]
    fn encrypt_decrypt_round_trip() {
        let key = ServerKey::generate();
        for plaintext in [&b""[..], b"x", b"a Huawei secret key of forty characters"] {
            let sealed = key.encrypt(plaintext, b"credential-1");
            assert_eq!(sealed.len(), 12 + plaintext.len() + 16);
            assert_eq!(key.decrypt(&sealed, b"credential-1").unwrap(), plaintext);
        }
    }

    #[test]
    fn encrypt_uses_a_fresh_nonce() {
        let key = ServerKey::generate();
        let first = key.encrypt(b"secret", b"ctx");
        let second = key.encrypt(b"secret", b"ctx");
        assert_ne!(first[..12], second[..12]);
        assert_ne!(first, second);
    }

    #[test]
    fn decrypt_rejects_wrong_key_context_tampering_and_truncation() {
        let key = ServerKey::generate();
        let sealed = key.encrypt(b"secret", b"credential-1");

        let other_key = ServerKey::generate();
        assert!(matches!(
            other_key.decrypt(&sealed, b"credential-1"),
            Err(SecretError::Decrypt)
        ));
        assert!(matches!(
            key.decrypt(&sealed, b"credential-2"),
            Err(SecretError::Decrypt)
        ));
        for index in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[index] ^= 0x01;
            assert!(
                matches!(
                    key.decrypt(&tampered, b"credential-1"),
                    Err(SecretError::Decrypt)
                ),
                "flipping byte {index} went unnoticed"
            );
        }
        for length in 0..sealed.len() {
            assert!(matches!(
                key.decrypt(&sealed[..length], b"credential-1"),
                Err(SecretError::Decrypt)
            ));
        }
    }

    #[test]
    fn load_or_create_creates_a_private_file_then_loads_it() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("server.key");

        let (created_key, created) = ServerKey::load_or_create(&path).unwrap();
        assert!(created);
        let contents = fs::read_to_string(&path).unwrap();
        assert_eq!(contents, format!("{}\n", created_key.to_hex()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let (loaded_key, created) = ServerKey::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(loaded_key.current, created_key.current);
        assert_eq!(ServerKey::load(&path).unwrap().current, created_key.current);
    }

    #[test]
    fn load_or_create_keeps_an_existing_key() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("server.key");
        let key = ServerKey::generate();
        fs::write(&path, key.to_hex()).unwrap();
        let (loaded_key, created) = ServerKey::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(loaded_key.current, key.current);
    }

    #[test]
    fn load_or_create_waits_for_a_key_file_being_written() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("server.key");
        let key = ServerKey::generate();
        fs::write(&path, &key.to_hex()[..10]).unwrap();
        let (loaded_key, created) = thread::scope(|scope| {
            scope.spawn(|| {
                thread::sleep(Duration::from_millis(100));
                fs::write(&path, format!("{}\n", key.to_hex())).unwrap();
            });
            ServerKey::load_or_create(&path).unwrap()
        });
        assert!(!created);
        assert_eq!(loaded_key.current, key.current);
    }

    #[test]
    fn load_or_create_never_overwrites_an_incomplete_key_file() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("server.key");
        fs::write(&path, "").unwrap();
        let error = ServerKey::load_or_create(&path).unwrap_err();
        assert!(matches!(error, SecretError::KeyFile { .. }), "{error:?}");
        assert!(error.to_string().contains("server.key"), "{error}");
        assert_eq!(fs::read(&path).unwrap(), b"");
        assert!(ServerKey::load(&path).is_err());
    }

    #[test]
    fn racing_load_or_create_agrees_on_one_key() {
        for _ in 0..20 {
            racing_load_or_create_round();
        }
    }

    fn racing_load_or_create_round() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("server.key");
        let results: Vec<(ServerKey, bool)> = thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| ServerKey::load_or_create(&path).unwrap()))
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().unwrap())
                .collect()
        });
        assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
        let on_disk = ServerKey::load(&path).unwrap();
        for (key, _) in &results {
            assert_eq!(key.current, on_disk.current);
        }
    }

    #[test]
    fn load_errors_name_the_file_but_not_the_contents() {
        let directory = tempfile::tempdir().unwrap();

        let missing = directory.path().join("missing.key");
        let error = ServerKey::load(&missing).unwrap_err();
        assert!(matches!(error, SecretError::KeyFile { .. }), "{error:?}");
        assert!(error.to_string().contains("missing.key"), "{error}");

        let malformed = directory.path().join("malformed.key");
        let contents = "deadbeefcafef00d-this-is-not-a-key";
        fs::write(&malformed, contents).unwrap();
        let error = ServerKey::load(&malformed).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, SecretError::KeyFile { .. }), "{error:?}");
        assert!(message.contains("malformed.key"), "{message}");
        assert!(message.contains("64 hexadecimal"), "{message}");
        assert!(!message.contains("deadbeef"), "{message}");

        let binary = directory.path().join("binary.key");
        fs::write(&binary, [0xff_u8; 64]).unwrap();
        let error = ServerKey::load(&binary).unwrap_err();
        assert!(error.to_string().contains("binary.key"), "{error}");

        let error = ServerKey::load_or_create(&malformed).unwrap_err();
        assert!(error.to_string().contains("malformed.key"), "{error}");
    }

    #[test]
    fn load_or_create_reports_an_uncreatable_file() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory
            .path()
            .join("no-such-directory")
            .join("server.key");
        let error = ServerKey::load_or_create(&path).unwrap_err();
        assert!(error.to_string().contains("server.key"), "{error}");
    }
}
