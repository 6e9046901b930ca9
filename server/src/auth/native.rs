//! The native API's credential secret: one bearer token (`lsn_…`), sent
//! as `Authorization: Bearer`.

use super::scheme::{BearerToken, ShownField};
use crate::domain::credential::SecretKind;

/// The native API's secret.
pub static SECRETS: BearerToken = BearerToken {
    kind: SecretKind("native"),
    prefix: "lsn_",
    fields: &[ShownField {
        json: "token",
        label: "native API token",
    }],
    shape: "`lsn_` followed by 43 characters from [A-Za-z0-9_-]",
};
