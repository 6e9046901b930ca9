//! What the commands print: each line through [`say`], which treats a
//! reader that went away (`credentials list | head`) as the end of the
//! conversation rather than a failure, and the text and `--json` forms of
//! issued and listed credentials.

use serde_json::json;

use crate::domain::credential::Credential;
use crate::service::credentials::{IssuedCredential, IssuedTemporaryHuaweiKey};

/// Why a command stopped early.
#[derive(Debug)]
pub enum Failure {
    /// It failed: the message says why.
    Message(String),
    /// Whoever read its output went away (`credentials list | head`): not
    /// a failure, there is just no one left to tell.
    OutputClosed,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Message(message)
    }
}

/// Writes one line of a command's output to stdout.
pub fn say(line: impl std::fmt::Display) -> Result<(), Failure> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Failure::OutputClosed),
        Err(e) => Err(Failure::Message(format!("could not write the output: {e}"))),
    }
}

/// The `--json` output of `credentials create`: the credential's id and
/// role, then one object per dialect, named by its secret's kind, holding
/// the values its scheme shows (`"looker": {"client_id": …, "client_secret":
/// …}`).
pub fn issued_json(issued: &IssuedCredential) -> serde_json::Value {
    let mut output = serde_json::Map::new();
    output.insert("id".into(), json!(issued.credential.id.as_str()));
    output.insert("role".into(), json!(issued.credential.role.as_str()));
    for secret in &issued.secrets {
        let fields: serde_json::Map<String, serde_json::Value> = secret
            .fields()
            .map(|(field, value)| (field.json.to_string(), json!(value)))
            .collect();
        output.insert(secret.scheme.kind().as_str().to_string(), fields.into());
    }
    output.into()
}

/// The `--json` output of `credentials create-temporary`.
pub fn temporary_json(issued: &IssuedTemporaryHuaweiKey) -> serde_json::Value {
    json!({
        "access_key": issued.access_key,
        "secret_key": issued.secret_key,
        "security_token": issued.security_token,
        "expires_at": issued.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

/// The human output of `credentials create-temporary`.
pub fn temporary_text(issued: &IssuedTemporaryHuaweiKey) -> String {
    format!(
        "temporary Huawei credentials of {}  {}, expiring {}\n\nThese secrets are shown only now \
         (sign with the AK/SK and send the token as X-Security-Token):\n  \
         access key (AK):  {}\n  secret key (SK):  {}\n  security token:   {}",
        issued.credential.id,
        issued.credential.role.as_str(),
        issued
            .expires_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        issued.access_key,
        issued.secret_key,
        issued.security_token,
    )
}

/// The human output of `credentials create`: the credential, then one
/// line per value every dialect's scheme shows.
pub fn issued_text(issued: &IssuedCredential) -> String {
    let mut text = format!(
        "{}\n\nThese secrets are shown only now:",
        credential_line(&issued.credential)
    );
    for (field, value) in issued.secrets.iter().flat_map(|secret| secret.fields()) {
        text += &format!("\n  {:<24} {value}", format!("{}:", field.label));
    }
    text
}

pub fn credential_line(credential: &Credential) -> String {
    let mut line = format!("{}  {}", credential.id, credential.role.as_str());
    if let Some(store) = &credential.identity_store_id {
        line += &format!("  identity-store={store}");
    }
    if let Some(user) = &credential.user_id {
        line += &format!("  user-id={user}");
    }
    if let Some(limit) = credential.rate_limit {
        line += &format!("  rate-limit={limit}/s");
    }
    if let Some(name) = &credential.name {
        line += &format!("  name={name:?}");
    }
    if let Some(at) = credential.revoked_at {
        line += &format!("  REVOKED {}", at.to_rfc3339());
    }
    line
}

pub fn credential_json(credential: &Credential) -> serde_json::Value {
    json!({
        "id": credential.id.as_str(),
        "role": credential.role.as_str(),
        "name": credential.name,
        "identity_store_id": credential.identity_store_id,
        "user_id": credential.user_id,
        "rate_limit": credential.rate_limit,
        "created_at": credential.created_at.to_rfc3339(),
        "revoked_at": credential.revoked_at.map(|at| at.to_rfc3339()),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::auth::scheme::SECRET_SCHEMES;
    use crate::secrets::ServerKey;
    use crate::service::credentials::IssuedSecret;
    use crate::store::conformance::credential_with_secrets;

    fn issued() -> IssuedCredential {
        let (credential, _) = credential_with_secrets("shown");
        let key = ServerKey::generate();
        IssuedCredential {
            secrets: SECRET_SCHEMES
                .iter()
                .map(|&scheme| IssuedSecret {
                    scheme,
                    shown: scheme.mint(&credential.id, &key).shown,
                })
                .collect(),
            credential,
        }
    }

    /// The `--json` shape is a published interface: scripts (and the
    /// README's quick start) read these paths.
    #[test]
    fn json_output_has_every_dialects_secret_where_scripts_read_it() {
        let issued = issued();
        let json = issued_json(&issued);
        for path in [
            "/native/token",
            "/looker/client_id",
            "/looker/client_secret",
            "/prefactor/api_token",
            "/huawei/access_key",
            "/huawei/secret_key",
        ] {
            let value = json.pointer(path).and_then(|value| value.as_str());
            assert!(value.is_some_and(|value| !value.is_empty()), "{path}");
        }
        assert_eq!(json["id"], issued.credential.id.as_str());
        assert_eq!(json["role"], "admin");
        assert!(
            json["native"]["token"]
                .as_str()
                .unwrap()
                .starts_with("lsn_")
        );
        assert!(
            json["prefactor"]["api_token"]
                .as_str()
                .unwrap()
                .starts_with("lsp_")
        );
    }

    #[test]
    fn text_output_lists_every_value_aligned() {
        let issued = issued();
        let text = issued_text(&issued);
        let lines: Vec<&str> = text.lines().skip(3).collect();
        let labels = [
            "native API token:",
            "Looker client_id:",
            "Looker client_secret:",
            "Prefactor API token:",
            "Huawei access key (AK):",
            "Huawei secret key (SK):",
        ];
        assert_eq!(lines.len(), labels.len(), "{text}");
        for (line, label) in lines.iter().zip(labels) {
            assert!(line.starts_with(&format!("  {label}")), "{line}");
            // Every value starts in the same column, 27.
            assert_eq!(&line[2 + 25 - 1..2 + 25], " ", "{line:?}");
            assert!(!line[2 + 25..].starts_with(' '), "{line:?}");
        }
    }
}
