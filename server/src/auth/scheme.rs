//! What a credential holds for each dialect, and the registry of dialects.
//!
//! A credential carries one secret per dialect. Each dialect declares, in
//! its own module, a [`SecretScheme`]: the [`SecretKind`] its secret is
//! stored under, how a fresh one is minted, and how `credentials create`
//! shows it (one text line and one `--json` field per value). Everything
//! else treats secrets as data: the stores keep `(kind, lookup key, hash,
//! sealed value)` rows, the credential cache keys on `(kind, lookup key)`,
//! and the command line prints whatever the schemes in [`SECRET_SCHEMES`]
//! minted. A new dialect adds its scheme to that list.

use crate::domain::credential::{SecretKind, StoredSecret};
use crate::pfid::Pfid;
use crate::secrets::{SecretHash, ServerKey};

/// One value of a secret as `credentials create` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShownField {
    /// Its name under the dialect's object in `--json` output.
    pub json: &'static str,
    /// Its label in the text output.
    pub label: &'static str,
}

/// A secret as minted: the values shown once (in [`SecretScheme::fields`]
/// order) and what is stored of it.
pub struct MintedSecret {
    pub shown: Vec<String>,
    pub stored: StoredSecret,
}

/// How one dialect's secret is minted and shown.
pub trait SecretScheme: Send + Sync {
    /// What the secret is stored and looked up under.
    fn kind(&self) -> SecretKind;

    /// The values `credentials create` shows, in order.
    fn fields(&self) -> &'static [ShownField];

    /// A fresh secret for the credential `credential` (whose id a sealed
    /// value is bound to).
    fn mint(&self, credential: &Pfid, key: &ServerKey) -> MintedSecret;

    /// What would be stored of a secret with these values (in
    /// [`Self::fields`] order) for `credential`: the values a test's
    /// fixtures give instead of minting. Refused unless every value has the
    /// shape [`Self::mint`] gives it, so a fixture holds only secrets the
    /// real service could have issued.
    fn stored_from(
        &self,
        credential: &Pfid,
        key: &ServerKey,
        shown: &[String],
    ) -> Result<StoredSecret, SecretShapeError>;
}

/// Why given values cannot be a dialect's secret. Names the field and the
/// shape expected; never repeats the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretShapeError {
    /// Not one value per field.
    #[error("expected {expected} values ({fields}), found {found}")]
    Count {
        expected: usize,
        found: usize,
        fields: String,
    },
    /// A value without the shape minted values have.
    #[error("{field} must be {shape}")]
    Shape {
        field: &'static str,
        shape: &'static str,
    },
}

/// The values of `shown`, one per field of `fields`, or why not.
pub(crate) fn one_value_per_field<'a>(
    fields: &[ShownField],
    shown: &'a [String],
) -> Result<&'a [String], SecretShapeError> {
    if shown.len() == fields.len() {
        Ok(shown)
    } else {
        Err(SecretShapeError::Count {
            expected: fields.len(),
            found: shown.len(),
            fields: fields
                .iter()
                .map(|field| field.json)
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

/// Whether `value` is `length` characters from `alphabet`.
pub(crate) fn drawn_from(value: &str, alphabet: fn(u8) -> bool, length: usize) -> bool {
    value.len() == length && value.bytes().all(alphabet)
}

/// Every dialect's scheme, in the order `credentials create` shows them.
pub static SECRET_SCHEMES: &[&dyn SecretScheme] = &[
    &super::native::SECRETS,
    &super::looker::SECRETS,
    &super::prefactor::SECRETS,
    &super::huawei::SECRETS,
];

/// A dialect whose secret is one bearer token: shown once, stored as its
/// SHA-256 (in hex, the lookup key), found by hashing what a request
/// presents.
#[derive(Debug)]
pub struct BearerToken {
    pub kind: SecretKind,
    /// Starts every token, so a leaked one is recognisable.
    pub prefix: &'static str,
    /// The token's one field.
    pub fields: &'static [ShownField; 1],
    /// What a token looks like, in words (for fixtures that get it wrong).
    pub shape: &'static str,
}

impl BearerToken {
    /// The lookup key of `token`.
    pub fn lookup_key(token: &str) -> String {
        SecretHash::of(token).to_hex()
    }
}

impl SecretScheme for BearerToken {
    fn kind(&self) -> SecretKind {
        self.kind
    }

    fn fields(&self) -> &'static [ShownField] {
        self.fields
    }

    fn mint(&self, _credential: &Pfid, _key: &ServerKey) -> MintedSecret {
        let token = crate::secrets::new_token(self.prefix);
        MintedSecret {
            stored: StoredSecret {
                kind: self.kind,
                lookup_key: BearerToken::lookup_key(&token),
                hash: None,
                sealed: None,
            },
            shown: vec![token],
        }
    }

    fn stored_from(
        &self,
        _credential: &Pfid,
        _key: &ServerKey,
        shown: &[String],
    ) -> Result<StoredSecret, SecretShapeError> {
        let token = one_value_per_field(self.fields, shown)?
            .first()
            .map_or("", String::as_str);
        let well_formed = token.strip_prefix(self.prefix).is_some_and(|rest| {
            drawn_from(
                rest,
                |b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_',
                crate::secrets::TOKEN_TEXT_LEN,
            )
        });
        if !well_formed {
            return Err(SecretShapeError::Shape {
                field: self.fields[0].json,
                shape: self.shape,
            });
        }
        Ok(StoredSecret {
            kind: self.kind,
            lookup_key: BearerToken::lookup_key(token),
            hash: None,
            sealed: None,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn credential() -> Pfid {
        Pfid::generate(7, 1_700_000_000_000).unwrap()
    }

    #[test]
    fn every_minted_secret_is_stored_from_its_values_as_minting_stores_it() {
        let key = ServerKey::generate();
        let id = credential();
        for scheme in SECRET_SCHEMES {
            let minted = scheme.mint(&id, &key);
            let stored = scheme.stored_from(&id, &key, &minted.shown).unwrap();
            assert_eq!(stored.kind, minted.stored.kind);
            assert_eq!(stored.lookup_key, minted.stored.lookup_key);
            assert_eq!(stored.hash, minted.stored.hash, "{}", scheme.kind());
            let opened = |sealed: &Option<Vec<u8>>| {
                sealed
                    .as_ref()
                    .map(|sealed| key.decrypt(sealed, id.as_str().as_bytes()).unwrap())
            };
            assert_eq!(opened(&stored.sealed), opened(&minted.stored.sealed));
        }
    }

    #[test]
    fn values_no_minting_gives_are_refused_naming_the_field() {
        let key = ServerKey::generate();
        let id = credential();
        let refused = |scheme: &dyn SecretScheme, values: &[&str]| {
            let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
            scheme
                .stored_from(&id, &key, &values)
                .unwrap_err()
                .to_string()
        };
        let token = format!("lsn_{}", "A".repeat(43));
        assert!(
            crate::auth::native::SECRETS
                .stored_from(&id, &key, std::slice::from_ref(&token))
                .is_ok()
        );
        let prefactor = &crate::auth::prefactor::SECRETS;
        assert!(refused(prefactor, &[&token]).contains("api_token must be `lsp_`"));
        assert!(refused(prefactor, &["lsp_short"]).contains("api_token"));
        assert!(refused(prefactor, &[]).contains("expected 1 values (api_token), found 0"));
        let looker = &crate::auth::looker::SECRETS;
        assert!(refused(looker, &["tooshort", &"s".repeat(24)]).contains("client_id must be 20"));
        assert!(refused(looker, &[&"i".repeat(20), &"s".repeat(23)]).contains("client_secret"));
        let huawei = &crate::auth::huawei::SECRETS;
        let sk = "k".repeat(40);
        assert!(refused(huawei, &["lowercaseak000000000", &sk]).contains("access_key"));
        assert!(
            refused(huawei, &["AKAKAKAKAKAKAKAKAKAK", &sk[..39]]).contains("secret_key must be 40")
        );
        assert!(
            huawei
                .stored_from(&id, &key, &["AKAKAKAKAKAKAKAKAK12".into(), sk.clone()])
                .is_ok()
        );
        // The message never repeats the value it refused.
        assert!(!refused(huawei, &["AKAKAKAKAKAKAKAKAKAK", "secret!"]).contains("secret!"));
    }
}
