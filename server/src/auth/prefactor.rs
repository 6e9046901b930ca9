//! Prefactor's credential secret: one API token (`lsp_…`), sent as
//! `Authorization: Bearer`.

use super::scheme::{BearerToken, ShownField};
use crate::domain::credential::SecretKind;

/// Prefactor's secret.
pub static SECRETS: BearerToken = BearerToken {
    kind: SecretKind("prefactor"),
    prefix: "lsp_",
    fields: &[ShownField {
        json: "api_token",
        label: "Prefactor API token",
    }],
    shape: "`lsp_` followed by 43 characters from [A-Za-z0-9_-]",
};
