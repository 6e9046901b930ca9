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
}
