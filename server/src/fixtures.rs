//! Fixtures: the state a test declares for `serve --database memory
//! --fixtures FILE` to start from.
//!
//! A fixtures file (JSON, or YAML with a `.yaml`/`.yml` name) holds
//! credentials with the secrets the test wants, each in the shape
//! `credentials create --json` prints, sessions with fixed ids, times,
//! addresses, user agents and statuses, named as the native API's
//! `Session` names them, and optionally the time the server's clock starts
//! at. The schema, with an example, is in `docs/testing.md`.
//!
//! Everything is checked when the file is loaded, before the server
//! listens: a fixture the real service could never have produced (a
//! malformed PFID, a Huawei SK of the wrong length, a revoked session
//! without `ended_at`) is refused with a message naming the entry
//! (`sessions[2] (01m9...)`) and never repeating a secret. The same file
//! gives the same state every time: nothing in it depends on when it is
//! loaded.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::scheme::{SECRET_SCHEMES, SecretScheme};
use crate::domain::credential::{Credential, Role, StoredSecret};
use crate::domain::ids::{normalize_user_agent, validate_id, validate_label};
use crate::domain::session::{Interaction, Session, SessionType, Status};
use crate::domain::{Timestamp, truncate_to_millis};
use crate::enrich::Enricher;
use crate::pfid::Pfid;
use crate::secrets::ServerKey;
use crate::store::{SharedStore, StoreError};

/// Why a fixtures file was refused.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// The file could not be read.
    #[error("cannot read the fixtures file {path}: {reason}")]
    Read { path: String, reason: String },
    /// Neither `.json`, `.yaml` nor `.yml`.
    #[error("the fixtures file {0} must be named *.json, *.yaml or *.yml")]
    Format(String),
    /// Not JSON or YAML of the fixtures' schema at the top level.
    #[error("the fixtures file is not valid: {0}")]
    Syntax(String),
    /// One entry is wrong: `entry` names it.
    #[error("{entry}: {reason}")]
    Entry { entry: String, reason: String },
}

/// What a fixtures file is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

impl Format {
    /// The format a file's name says it is in.
    pub fn of(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "json" => Some(Format::Json),
            "yaml" | "yml" => Some(Format::Yaml),
            _ => None,
        }
    }
}

/// The state a fixtures file declares, checked and ready to store.
#[derive(Debug)]
pub struct Fixtures {
    /// The time the server's clock starts at, if the file sets it.
    pub clock: Option<Timestamp>,
    credentials: Vec<(Credential, Vec<StoredSecret>)>,
    sessions: Vec<Session>,
}

/// The top level of the file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureFile {
    #[serde(default)]
    clock: Option<DateTime<Utc>>,
    #[serde(default)]
    credentials: Vec<Value>,
    #[serde(default)]
    sessions: Vec<Value>,
}

/// A credential, as `credentials create --json` prints it, with its scope.
/// The fields not named here are its secrets, one object per dialect.
#[derive(Deserialize)]
struct CredentialFixture {
    id: String,
    role: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    identity_store: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    rate_limit: Option<u32>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
    #[serde(flatten)]
    secrets: BTreeMap<String, Value>,
}

/// A session, named as the native API's `Session` names its fields; the
/// fields the server derives (`live`, `end_reason`, `browser`, ...) are not
/// given.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionFixture {
    id: String,
    identity_store_id: String,
    #[serde(default)]
    user_id: Option<String>,
    status: String,
    #[serde(default)]
    session_type: Option<String>,
    #[serde(default)]
    credentials_type: Option<String>,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    #[serde(default)]
    extended_at: Option<DateTime<Utc>>,
    #[serde(default)]
    extended_count: u32,
    #[serde(default)]
    first_seen: Option<InteractionFixture>,
    #[serde(default)]
    last_seen: Option<InteractionFixture>,
    #[serde(default)]
    ended_at: Option<DateTime<Utc>>,
    #[serde(default)]
    sudo_user_id: Option<String>,
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    domain_id: Option<String>,
    #[serde(default)]
    device_id: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InteractionFixture {
    at: DateTime<Utc>,
    #[serde(default)]
    ip_address: Option<IpAddr>,
    #[serde(default)]
    user_agent: Option<String>,
}

/// The time a credential was created at when its fixture does not say and
/// the file sets no clock: fixed, so that loading is deterministic.
const DEFAULT_CREDENTIAL_CREATED_AT: Timestamp = DateTime::UNIX_EPOCH;

impl Fixtures {
    /// Reads and checks the fixtures file at `path`. Huawei secret keys
    /// are sealed with `key`, as minted ones are; sessions are enriched by
    /// `enricher` from their first interaction, as recorded ones are.
    pub fn load(
        path: &Path,
        key: &ServerKey,
        enricher: &Enricher,
    ) -> Result<Fixtures, FixtureError> {
        let shown = path.display().to_string();
        let format = Format::of(path).ok_or_else(|| FixtureError::Format(shown.clone()))?;
        let text = std::fs::read_to_string(path).map_err(|error| FixtureError::Read {
            path: shown,
            reason: error.to_string(),
        })?;
        Fixtures::parse(&text, format, key, enricher)
    }

    /// Checks fixtures given as text.
    pub fn parse(
        text: &str,
        format: Format,
        key: &ServerKey,
        enricher: &Enricher,
    ) -> Result<Fixtures, FixtureError> {
        let document: Value = match format {
            Format::Json => {
                serde_json::from_str(text).map_err(|e| FixtureError::Syntax(e.to_string()))?
            }
            Format::Yaml => {
                serde_yaml::from_str(text).map_err(|e| FixtureError::Syntax(e.to_string()))?
            }
        };
        let file: FixtureFile =
            serde_json::from_value(document).map_err(|e| FixtureError::Syntax(e.to_string()))?;
        let clock = file.clock.map(truncate_to_millis);

        let mut credentials = Vec::with_capacity(file.credentials.len());
        let mut ids = BTreeSet::new();
        let mut lookup_keys = BTreeSet::new();
        for (index, entry) in file.credentials.into_iter().enumerate() {
            let name = entry_name("credentials", index, &entry);
            let refuse = |reason: String| FixtureError::Entry {
                entry: name.clone(),
                reason,
            };
            let fixture: CredentialFixture =
                serde_json::from_value(entry).map_err(|e| refuse(e.to_string()))?;
            let (credential, secrets) = credential(fixture, clock, key).map_err(&refuse)?;
            if !ids.insert(credential.id) {
                return Err(refuse("another credential has this id".into()));
            }
            for secret in &secrets {
                if !lookup_keys.insert((secret.kind, secret.lookup_key.clone())) {
                    return Err(refuse(format!(
                        "another credential has the same {} secret",
                        secret.kind
                    )));
                }
            }
            credentials.push((credential, secrets));
        }

        let mut sessions = Vec::with_capacity(file.sessions.len());
        let mut session_ids = BTreeSet::new();
        for (index, entry) in file.sessions.into_iter().enumerate() {
            let name = entry_name("sessions", index, &entry);
            let refuse = |reason: String| FixtureError::Entry {
                entry: name.clone(),
                reason,
            };
            let fixture: SessionFixture =
                serde_json::from_value(entry).map_err(|e| refuse(e.to_string()))?;
            let session = session(fixture, enricher).map_err(&refuse)?;
            if !session_ids.insert(session.id) {
                return Err(refuse("another session has this id".into()));
            }
            sessions.push(session);
        }
        Ok(Fixtures {
            clock,
            credentials,
            sessions,
        })
    }

    /// How many credentials and sessions the fixtures hold.
    pub fn counts(&self) -> (usize, usize) {
        (self.credentials.len(), self.sessions.len())
    }

    /// Stores every credential and session into `store`, which must hold
    /// none of them.
    pub async fn apply(&self, store: &SharedStore) -> Result<(), StoreError> {
        for (credential, secrets) in &self.credentials {
            store.insert_credential(credential, secrets).await?;
        }
        if !self.sessions.is_empty() {
            store.insert_sessions(&self.sessions).await?;
        }
        Ok(())
    }
}

/// `credentials[2]`, with the entry's id when it has one.
fn entry_name(list: &str, index: usize, entry: &Value) -> String {
    match entry.get("id").and_then(Value::as_str) {
        Some(id) => format!("{list}[{index}] ({id})"),
        None => format!("{list}[{index}]"),
    }
}

fn pfid(field: &str, text: &str) -> Result<Pfid, String> {
    Pfid::parse(text).map_err(|e| format!("{field} is not a PFID: {e}"))
}

fn credential(
    fixture: CredentialFixture,
    clock: Option<Timestamp>,
    key: &ServerKey,
) -> Result<(Credential, Vec<StoredSecret>), String> {
    let id = pfid("id", &fixture.id)?;
    let role = Role::parse(&fixture.role).ok_or_else(|| {
        format!(
            "role must be admin, store-admin or user, not {:?}",
            fixture.role
        )
    })?;
    for (field, value) in [
        ("identity_store", &fixture.identity_store),
        ("user_id", &fixture.user_id),
    ] {
        if let Some(value) = value {
            validate_id(field, value).map_err(|e| e.to_string())?;
        }
    }
    if let Some(name) = &fixture.name {
        validate_label("name", name).map_err(|e| e.to_string())?;
    }
    let credential = Credential {
        id,
        name: fixture.name,
        role,
        identity_store_id: fixture.identity_store,
        user_id: fixture.user_id,
        rate_limit: fixture.rate_limit,
        created_at: fixture
            .created_at
            .map(truncate_to_millis)
            .or(clock)
            .unwrap_or(DEFAULT_CREDENTIAL_CREATED_AT),
        revoked_at: None,
    };
    credential.check_shape().map_err(|e| e.to_string())?;

    let mut secrets = Vec::new();
    let mut given = fixture.secrets;
    for scheme in SECRET_SCHEMES {
        let dialect = scheme.kind().as_str();
        let Some(value) = given.remove(dialect) else {
            continue;
        };
        let values = secret_values(*scheme, &value).map_err(|e| format!("{dialect}: {e}"))?;
        let stored = scheme
            .stored_from(&credential.id, key, &values)
            .map_err(|e| format!("{dialect}.{e}"))?;
        secrets.push(stored);
    }
    if let Some(unknown) = given.keys().next() {
        let dialects: Vec<&str> = SECRET_SCHEMES.iter().map(|s| s.kind().as_str()).collect();
        return Err(format!(
            "unknown field `{unknown}`: a credential has id, role, name, identity_store, \
             user_id, rate_limit, created_at and one object per dialect ({})",
            dialects.join(", ")
        ));
    }
    if secrets.is_empty() {
        return Err("no secret: give at least one dialect's (native, looker, ...)".into());
    }
    Ok((credential, secrets))
}

/// The values of one dialect's secret object, in its scheme's field order.
fn secret_values(scheme: &dyn SecretScheme, value: &Value) -> Result<Vec<String>, String> {
    let object = value
        .as_object()
        .ok_or("must be an object, as `credentials create --json` prints it")?;
    let fields = scheme.fields();
    if let Some(unknown) = object
        .keys()
        .find(|name| !fields.iter().any(|field| field.json == name.as_str()))
    {
        let expected: Vec<&str> = fields.iter().map(|field| field.json).collect();
        return Err(format!(
            "unknown field `{unknown}`, expected {}",
            expected.join(" and ")
        ));
    }
    fields
        .iter()
        .map(|field| match object.get(field.json) {
            Some(Value::String(text)) => Ok(text.clone()),
            Some(_) => Err(format!("{} must be a string", field.json)),
            None => Err(format!("{} is missing", field.json)),
        })
        .collect()
}

fn interaction(field: &str, fixture: InteractionFixture) -> Result<Interaction, String> {
    let user_agent = match &fixture.user_agent {
        Some(raw) => Some(
            normalize_user_agent(raw)
                .ok_or_else(|| format!("{field}.user_agent has nothing a server would keep"))?,
        ),
        None => None,
    };
    Ok(Interaction {
        at: truncate_to_millis(fixture.at),
        ip: fixture.ip_address,
        user_agent,
    })
}

fn session(fixture: SessionFixture, enricher: &Enricher) -> Result<Session, String> {
    let id = pfid("id", &fixture.id)?;
    validate_id("identity_store_id", &fixture.identity_store_id).map_err(|e| e.to_string())?;
    for (field, value) in [
        ("user_id", &fixture.user_id),
        ("sudo_user_id", &fixture.sudo_user_id),
    ] {
        if let Some(value) = value {
            validate_id(field, value).map_err(|e| e.to_string())?;
        }
    }
    for (field, value) in [
        ("credentials_type", &fixture.credentials_type),
        ("title", &fixture.title),
    ] {
        if let Some(value) = value {
            validate_label(field, value).map_err(|e| e.to_string())?;
        }
    }
    let optional_pfid = |field: &str, value: &Option<String>| {
        value.as_deref().map(|text| pfid(field, text)).transpose()
    };
    let account_id = optional_pfid("account_id", &fixture.account_id)?;
    let domain_id = optional_pfid("domain_id", &fixture.domain_id)?;
    let device_id = optional_pfid("device_id", &fixture.device_id)?;
    let status = Status::parse(&fixture.status).ok_or_else(|| {
        format!(
            "status must be new, unauthenticated, authenticated, complete or revoked, not {:?}",
            fixture.status
        )
    })?;
    let session_type = match &fixture.session_type {
        None => SessionType::Browser,
        Some(text) => SessionType::parse(text)
            .ok_or_else(|| format!("session_type must be browser or api, not {text:?}"))?,
    };

    let created_at = truncate_to_millis(fixture.created_at);
    let expires_at = truncate_to_millis(fixture.expires_at);
    if expires_at <= created_at {
        return Err("expires_at must be after created_at".into());
    }
    match (status, fixture.user_id.is_some()) {
        (Status::Authenticated, false) => {
            return Err("an authenticated session needs user_id".into());
        }
        (Status::New | Status::Unauthenticated, true) => {
            return Err(
                "user_id is the authenticated user: a new or unauthenticated session has none"
                    .into(),
            );
        }
        _ => {}
    }
    let ended_at = fixture.ended_at.map(truncate_to_millis);
    match (status.is_open(), ended_at) {
        (true, Some(_)) => {
            return Err(format!(
                "a {} session has not ended: ended_at is for complete (logged out) and \
                 revoked ones (an expired session keeps its status and has none)",
                status.as_str()
            ));
        }
        (false, None) => {
            return Err(format!(
                "a {} session needs ended_at, when the logout or revocation happened (for an \
                 expired one, keep its status and set expires_at in the past)",
                status.as_str()
            ));
        }
        (false, Some(ended)) if ended < created_at => {
            return Err("ended_at is before created_at".into());
        }
        _ => {}
    }
    match (fixture.extended_count, fixture.extended_at) {
        (0, Some(_)) => return Err("extended_at is set but extended_count is 0".into()),
        (count, None) if count > 0 => {
            return Err("extended_count is above 0 but extended_at is not set".into());
        }
        (_, Some(at)) if truncate_to_millis(at) < created_at => {
            return Err("extended_at is before created_at".into());
        }
        _ => {}
    }

    let first_seen = fixture
        .first_seen
        .map(|seen| interaction("first_seen", seen))
        .transpose()?;
    let last_seen = fixture
        .last_seen
        .map(|seen| interaction("last_seen", seen))
        .transpose()?;
    let last_seen = match (&first_seen, last_seen) {
        (None, Some(_)) => return Err("last_seen without first_seen".into()),
        (Some(first), None) => Some(first.clone()),
        (_, last) => last,
    };
    if let Some(first) = &first_seen {
        if status == Status::New {
            return Err(
                "a new session has not been seen: no first_seen (status unauthenticated once it is)"
                    .into(),
            );
        }
        if first.at < created_at {
            return Err("first_seen.at is before created_at".into());
        }
    }
    if let (Some(first), Some(last)) = (&first_seen, &last_seen)
        && last.at < first.at
    {
        return Err("last_seen.at is before first_seen.at".into());
    }
    let enrichment = first_seen
        .as_ref()
        .map(|first| enricher.enrich(first.ip, first.user_agent.as_deref()))
        .unwrap_or_default();

    Ok(Session {
        id,
        identity_store_id: fixture.identity_store_id,
        user_id: fixture.user_id,
        status,
        session_type,
        credentials_type: fixture.credentials_type,
        created_at,
        expires_at,
        extended_at: fixture.extended_at.map(truncate_to_millis),
        extended_count: fixture.extended_count,
        first_seen,
        last_seen,
        enrichment,
        sudo_user_id: fixture.sudo_user_id,
        account_id,
        domain_id,
        device_id,
        title: fixture.title,
        ended_at,
        version: 1,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// The example the documentation shows, which must always load.
    const EXAMPLE: &str = include_str!("../../docs/testing/fixtures.example.json");

    fn enricher() -> Enricher {
        Enricher::with_geoip(crate::enrich::geoip::GeoIp::none()).unwrap()
    }

    fn parse(text: &str) -> Result<Fixtures, FixtureError> {
        Fixtures::parse(text, Format::Json, &ServerKey::generate(), &enricher())
    }

    /// The example with one change made to it.
    fn example_with(change: impl FnOnce(&mut Value)) -> String {
        let mut example: Value = serde_json::from_str(EXAMPLE).unwrap();
        change(&mut example);
        example.to_string()
    }

    fn refusal(text: &str) -> String {
        parse(text).expect_err("refused").to_string()
    }

    #[test]
    fn the_documented_example_loads_the_same_every_time() {
        let first = parse(EXAMPLE).unwrap();
        let second = parse(EXAMPLE).unwrap();
        assert!(first.clock.is_some());
        assert_eq!(first.counts(), second.counts());
        assert!(
            first.counts().0 >= 3 && first.counts().1 >= 4,
            "{:?}",
            first.counts()
        );
        assert_eq!(first.sessions, second.sessions);
        let credentials = |f: &Fixtures| -> Vec<_> {
            f.credentials
                .iter()
                .map(|(c, s)| {
                    let keys: Vec<_> = s
                        .iter()
                        .map(|s| (s.kind, s.lookup_key.clone(), s.hash))
                        .collect();
                    (c.clone(), keys)
                })
                .collect()
        };
        assert_eq!(credentials(&first), credentials(&second));
    }

    #[test]
    fn the_same_fixtures_in_yaml_load_the_same() {
        let value: Value = serde_json::from_str(EXAMPLE).unwrap();
        let yaml = serde_yaml::to_string(&value).unwrap();
        let from_yaml =
            Fixtures::parse(&yaml, Format::Yaml, &ServerKey::generate(), &enricher()).unwrap();
        assert_eq!(from_yaml.sessions, parse(EXAMPLE).unwrap().sessions);
    }

    #[test]
    fn a_malformed_pfid_is_refused_naming_the_entry() {
        let text =
            example_with(|e| e["sessions"][1]["id"] = "01m97apqwj12pcxdnbmdbj2tngpx12".into());
        let message = refusal(&text);
        assert!(
            message.starts_with("sessions[1] (01m97apqwj12pcxdnbmdbj2tngpx12): id is not a PFID"),
            "{message}"
        );
    }

    #[test]
    fn a_secret_no_vendor_issues_is_refused_without_repeating_it() {
        let text = example_with(|e| {
            e["credentials"][0]["huawei"]["secret_key"] = "tooShortSecret123".into()
        });
        let message = refusal(&text);
        assert!(message.starts_with("credentials[0] ("), "{message}");
        assert!(
            message.contains("huawei.secret_key must be 40 characters"),
            "{message}"
        );
        assert!(!message.contains("tooShortSecret123"), "{message}");
        let text = example_with(|e| e["credentials"][1]["native"]["token"] = "lsp_AAAA".into());
        assert!(refusal(&text).contains("native.token must be `lsn_`"));
        let text = example_with(|e| e["credentials"][1]["looker"]["client_id"] = "short".into());
        assert!(refusal(&text).contains("looker.client_id must be 20 characters"));
        let text = example_with(|e| {
            e["credentials"][0]["huawei"]["access_key"] = "lowercaseaccesskey00".into()
        });
        assert!(refusal(&text).contains("huawei.access_key must be 20 characters from [A-Z0-9]"));
    }

    #[test]
    fn impossible_sessions_are_refused_saying_why() {
        for (change, expected) in [
            (("status", Value::from("revoked")), "needs ended_at"),
            (
                ("expires_at", Value::from("2000-01-01T00:00:00Z")),
                "expires_at must be after created_at",
            ),
            (
                ("browser", Value::from("Chrome")),
                "unknown field `browser`",
            ),
            (
                ("status", Value::from("sleeping")),
                "status must be new, unauthenticated",
            ),
            (
                ("user_id", Value::Null),
                "an authenticated session needs user_id",
            ),
            (("extended_count", Value::from(2)), "extended_at is not set"),
        ] {
            let text = example_with(|e| e["sessions"][0][change.0] = change.1.clone());
            let message = refusal(&text);
            assert!(message.starts_with("sessions[0] ("), "{message}");
            assert!(message.contains(expected), "{change:?}: {message}");
        }
    }

    #[test]
    fn duplicates_and_unknown_dialects_are_refused() {
        let text = example_with(|e| {
            let first = e["sessions"][0]["id"].clone();
            e["sessions"][1]["id"] = first;
        });
        assert!(refusal(&text).contains("another session has this id"));
        let text = example_with(|e| {
            let first = e["credentials"][0]["looker"].clone();
            e["credentials"][1]["looker"] = first;
        });
        assert!(refusal(&text).contains("another credential has the same looker secret"));
        let text =
            example_with(|e| e["credentials"][0]["okta"] = serde_json::json!({"token": "x"}));
        assert!(refusal(&text).contains("unknown field `okta`"));
        let text = example_with(|e| e["credentials"][0]["role"] = "root".into());
        assert!(refusal(&text).contains("role must be admin, store-admin or user"));
        assert!(refusal(r#"{"sesions": []}"#).contains("unknown field `sesions`"));
    }
}
