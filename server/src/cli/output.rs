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

/// The `--json` output of `credentials create`.
pub fn issued_json(issued: &IssuedCredential) -> serde_json::Value {
    json!({
        "id": issued.credential.id.as_str(),
        "role": issued.credential.role.as_str(),
        "native": { "token": issued.native_token },
        "looker": {
            "client_id": issued.looker_client_id,
            "client_secret": issued.looker_client_secret,
        },
        "prefactor": { "api_token": issued.prefactor_api_token },
        "huawei": {
            "access_key": issued.huawei_access_key,
            "secret_key": issued.huawei_secret_key,
        },
    })
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

/// The human output of `credentials create`.
pub fn issued_text(issued: &IssuedCredential) -> String {
    format!(
        "{}\n\nThese secrets are shown only now:\n  native API token:        {}\n  Looker client_id:        {}\n  Looker client_secret:    {}\n  Prefactor API token:     {}\n  Huawei access key (AK):  {}\n  Huawei secret key (SK):  {}",
        credential_line(&issued.credential),
        issued.native_token,
        issued.looker_client_id,
        issued.looker_client_secret,
        issued.prefactor_api_token,
        issued.huawei_access_key,
        issued.huawei_secret_key,
    )
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
