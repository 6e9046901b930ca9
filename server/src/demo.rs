//! Demo data for `serve --demo`: a realistic set of sessions (several users
//! in two identity stores, browser and API sessions, some expired, some
//! logged out, some revoked, some nobody has logged in to yet), seeded once
//! per database. Sessions are built by the session service, so they are
//! enriched like any other: browser and OS always, city, state and country
//! when a GeoIP database is configured.

use chrono::TimeDelta;

use crate::domain::credential::{Credential, Role};
use crate::domain::session::{Interaction, Session, SessionType};
use crate::pfid::Pfid;
use crate::service::credentials::IssuedCredential;
use crate::service::{ListSessions, NewSession, ServiceError, SessionService};

/// The identity stores the demo uses.
pub const DEMO_STORES: [&str; 2] = ["acme", "globex"];

const BROWSERS: [&str; 4] = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
];

const API_AGENTS: [&str; 2] = ["looker-sdk-python/26.22.0", "curl/8.5.0"];

/// Public addresses of well-known infrastructure (public DNS resolvers,
/// the RIPE NCC, MaxMind's example address), so that with a GeoIP database
/// (`--geoip-db`) the demo sessions show real cities in several countries;
/// documentation ranges (192.0.2.0/24, ...) have no location.
const ADDRESSES: [&str; 5] = [
    "8.8.8.8",
    "193.0.6.139",
    "2001:67c:2e8:22::c100:68b",
    "81.2.69.142",
    "1.1.1.1",
];

/// The user ids of each demo store.
const USERS: [(&str, &[&str]); 2] = [("acme", &["17", "42", "108"]), ("globex", &["7", "256"])];

/// Seeds the demo sessions unless the demo stores already hold some.
/// Returns how many were added.
pub async fn seed(sessions: &SessionService) -> Result<usize, ServiceError> {
    let seeder = seeding_credential();
    let existing = sessions
        .list(
            &seeder,
            ListSessions {
                identity_store_id: Some(DEMO_STORES[0].into()),
                limit: 1,
                ..Default::default()
            },
        )
        .await?;
    if !existing.is_empty() {
        return Ok(0);
    }
    let now = sessions.now();
    let mut batch = Vec::new();
    let mut n = 0usize;
    for (store, users) in USERS {
        for user in users {
            for age_hours in [0i64, 3, 30] {
                n += 1;
                let api = n.is_multiple_of(4);
                let mut session = sessions.new_session(
                    &seeder,
                    NewSession {
                        identity_store_id: store.into(),
                        user_id: Some((*user).into()),
                        ip: ADDRESSES[n % ADDRESSES.len()].parse().ok(),
                        user_agent: Some(
                            if api {
                                API_AGENTS[n % 2]
                            } else {
                                BROWSERS[n % BROWSERS.len()]
                            }
                            .into(),
                        ),
                        credentials_type: Some(
                            if api {
                                "api3"
                            } else if n.is_multiple_of(3) {
                                "saml"
                            } else {
                                "email"
                            }
                            .into(),
                        ),
                        session_type: Some(if api {
                            SessionType::Api
                        } else {
                            SessionType::Browser
                        }),
                        title: Some(format!(
                            "{} session of user {user}",
                            if api { "API" } else { "Browser" }
                        )),
                        ..Default::default()
                    },
                )?;
                match n % 7 {
                    3 => session.revoke(now)?,
                    5 => session.logout(now)?,
                    _ => {}
                }
                backdate(&mut session, TimeDelta::hours(age_hours))?;
                batch.push(session);
            }
        }
    }
    for store in DEMO_STORES {
        let session = sessions.new_session(
            &seeder,
            NewSession {
                identity_store_id: store.into(),
                title: Some("Login page opened, nobody logged in yet".into()),
                ..Default::default()
            },
        )?;
        batch.push(session);
    }
    sessions.store().insert_sessions(&batch).await?;
    Ok(batch.len())
}

/// Moves a session's life `age` into the past (its id too, which carries
/// the creation time): older than a day means expired (the default
/// lifetime is a day).
fn backdate(session: &mut Session, age: TimeDelta) -> Result<(), ServiceError> {
    session.created_at -= age;
    let created_ms = u64::try_from(session.created_at.timestamp_millis()).unwrap_or_default();
    session.id = Pfid::generate(session.id.partition(), created_ms)
        .map_err(|e| ServiceError::Invalid(e.to_string()))?;
    session.expires_at -= age;
    if let Some(ended_at) = &mut session.ended_at {
        *ended_at -= age;
    }
    let shift = |i: &mut Option<Interaction>| {
        if let Some(i) = i {
            i.at -= age;
        }
    };
    shift(&mut session.first_seen);
    shift(&mut session.last_seen);
    Ok(())
}

fn seeding_credential() -> Credential {
    Credential {
        id: Pfid::ZERO,
        name: Some("demo seeding".into()),
        role: Role::Admin,
        identity_store_id: None,
        user_id: None,
        rate_limit: None,
        created_at: chrono::DateTime::UNIX_EPOCH,
        revoked_at: None,
    }
}

/// What `serve --demo` prints: the admin credential and examples to paste.
pub fn banner(public_url: &str, seeded: usize, admin: &IssuedCredential) -> String {
    use crate::auth::scheme::SecretScheme;
    let token = admin
        .shown(crate::auth::native::SECRETS.kind(), "token")
        .map_or("<the native API token above>", String::as_str);
    let seeded_line = if seeded > 0 {
        format!(
            "Seeded {seeded} demo sessions in identity stores {} and {}.",
            DEMO_STORES[0], DEMO_STORES[1]
        )
    } else {
        "Demo sessions were seeded earlier; kept as they are.".to_string()
    };
    format!(
        "{seeded_line}\n\n{}\n\nTry:\n  curl -s -H 'Authorization: Bearer {token}' '{public_url}/native/v1/sessions?identity_store_id=acme&live=true'\n  curl -s -H 'Authorization: Bearer {token}' '{public_url}/native/v1/sessions?user_id=42'\n  curl -s -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\\n       -d '{{\"identity_store_id\":\"acme\",\"user_id\":\"42\",\"ip_address\":\"203.0.113.9\",\"user_agent\":\"curl/8.5.0\"}}' {public_url}/native/v1/sessions\n",
        crate::cli::issued_text(admin)
    )
}
