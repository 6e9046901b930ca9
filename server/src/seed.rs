//! Bulk seeding for benchmarks and capacity tests (`login-sessions seed`):
//! many realistic sessions, written in large batches.
//!
//! Every session is built by [`SessionService::new_session`], the
//! validation every creation path shares, then given a realistic past
//! (created over the last [`SPAN_DAYS`] days, a lifetime of a day, a week
//! or a month, some logged out or revoked, later interactions from another
//! address) and written with [`SessionStore::insert_sessions`] in batches,
//! one transaction each.
//!
//! The data: `users` users spread over `stores` identity stores (a user
//! belongs to one store), 70% browser and 30% API sessions, a few sessions
//! nobody has logged in to, IPv4 and IPv6 addresses, real browser and SDK
//! user agents with the browser, system and location already derived.
//! About half the sessions are live. Creation times grow with the insert
//! order, as they do in production, so ids (which begin with the creation
//! time) arrive mostly in order.
//!
//! One designated user, [`DESIGNATED_USER`] in the first store, has exactly
//! [`DESIGNATED_SESSIONS`] live sessions and no others (for benchmarks of
//! "all sessions of a user"); seeding again tops them up rather than
//! adding more.
//!
//! [`SessionStore::insert_sessions`]: crate::store::SessionStore::insert_sessions

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use rand::Rng;
use rand::rngs::ThreadRng;
use serde::Serialize;

use crate::domain::Timestamp;
use crate::domain::credential::{Credential, Role};
use crate::domain::session::{Enrichment, Interaction, Session, SessionType};
use crate::pfid::Pfid;
use crate::service::{Expiry, ListSessions, NewSession, ServiceError, SessionService};

/// Sessions are created over this many days before now.
pub const SPAN_DAYS: i64 = 7;

/// The user with exactly [`DESIGNATED_SESSIONS`] live sessions.
pub const DESIGNATED_USER: &str = "bench-user-ten-sessions";

/// How many live sessions the designated user has.
pub const DESIGNATED_SESSIONS: u64 = 10;

/// What to seed.
#[derive(Clone, Debug)]
pub struct SeedPlan {
    /// How many sessions to add (besides the designated user's).
    pub sessions: u64,
    /// How many distinct users they belong to.
    pub users: u64,
    /// How many identity stores the users are spread over.
    pub stores: u32,
    /// Sessions per transaction.
    pub batch: usize,
    /// How many of the added sessions to describe in the report's sample
    /// (chosen uniformly).
    pub sample_size: usize,
}

/// The name of identity store `index`.
pub fn store_name(index: u64) -> String {
    format!("store-{index:03}")
}

/// The name of user `index`.
pub fn user_name(index: u64) -> String {
    format!("user-{index:07}")
}

/// One seeded session, as a load generator needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SampledSession {
    pub id: String,
    pub identity_store_id: String,
    pub user_id: Option<String>,
    /// Whether it was live when seeded and stays live for at least
    /// [`SAMPLE_LIVE_FOR`] more (unless changed): what a benchmark run may
    /// rely on, since it reads and writes these sessions for minutes.
    pub live: bool,
}

/// What a seeding run did.
#[derive(Clone, Debug, Serialize)]
pub struct SeedReport {
    /// Sessions written, the designated user's included.
    pub inserted: u64,
    /// Wall time of the whole run.
    pub seconds: f64,
    /// `inserted / seconds`.
    pub sessions_per_second: f64,
    /// CPU time (user + system, every thread) of this process while it
    /// seeded, where the system tells it (Linux).
    pub cpu_seconds: Option<f64>,
    /// The designated user: its id and identity store.
    pub designated_user: SampledSession,
    /// A uniform sample of the sessions added (not the designated user's).
    pub sample: Vec<SampledSession>,
}

/// Progress of a seeding run, reported after every batch.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
    pub elapsed: Duration,
}

/// Seeds `plan.sessions` sessions, calling `progress` after every batch.
///
/// Sessions are generated on a thread of their own while the previous
/// batch is written, so generation and the store's work overlap. The
/// batches are one bulk load ([`SessionStore::begin_bulk_load`]): into a
/// store holding fewer sessions than are coming, the indexes are built
/// once at the end, and the time that takes is part of the rate reported.
///
/// [`SessionStore::begin_bulk_load`]: crate::store::SessionStore::begin_bulk_load
pub async fn seed(
    service: &SessionService,
    plan: &SeedPlan,
    mut progress: impl FnMut(Progress),
) -> Result<SeedReport, ServiceError> {
    let started = Instant::now();
    let cpu_at_start = process_cpu_seconds();
    let seeder = seeding_credential();

    let designated = designated_sessions(service, &seeder).await?;
    let mut inserted = designated.len() as u64;
    if !designated.is_empty() {
        service.store().insert_sessions(&designated).await?;
    }

    service.store().begin_bulk_load(plan.sessions).await?;
    let loaded = load(service, plan, &mut progress, started).await;
    // Whether or not the load succeeded, what it set aside is built again.
    let ended = service.store().end_bulk_load().await;
    let (added, sample) = loaded?;
    ended?;
    inserted += added;

    let seconds = started.elapsed().as_secs_f64();
    Ok(SeedReport {
        inserted,
        seconds,
        sessions_per_second: if seconds > 0.0 {
            inserted as f64 / seconds
        } else {
            0.0
        },
        cpu_seconds: process_cpu_seconds()
            .zip(cpu_at_start)
            .map(|(end, start)| end - start),
        designated_user: SampledSession {
            id: String::new(),
            identity_store_id: store_name(0),
            user_id: Some(DESIGNATED_USER.to_string()),
            live: true,
        },
        sample,
    })
}

/// Generates the plan's sessions on a thread of their own and writes them
/// batch by batch; returns how many it added and the generator's sample.
async fn load(
    service: &SessionService,
    plan: &SeedPlan,
    progress: &mut impl FnMut(Progress),
    started: Instant,
) -> Result<(u64, Vec<SampledSession>), ServiceError> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel(1);
    let generator = {
        let service = service.clone();
        let plan = plan.clone();
        std::thread::spawn(move || generate(&service, &plan, &sender))
    };
    let mut added = 0u64;
    while let Some(batch) = receiver.recv().await {
        let batch: Vec<Session> = batch?;
        service.store().insert_sessions(&batch).await?;
        added += batch.len() as u64;
        progress(Progress {
            done: added,
            total: plan.sessions,
            elapsed: started.elapsed(),
        });
    }
    let sample = generator
        .join()
        .map_err(|_| ServiceError::Invalid("the session generator panicked".into()))?;
    Ok((added, sample))
}

/// Generates the plan's sessions in batches, sending each to `batches`,
/// and returns a uniform sample of them. Stops early when the receiver is
/// gone or a session cannot be built (the error is sent).
fn generate(
    service: &SessionService,
    plan: &SeedPlan,
    batches: &tokio::sync::mpsc::Sender<Result<Vec<Session>, ServiceError>>,
) -> Vec<SampledSession> {
    let seeder = seeding_credential();
    let now = service.now();
    let mut rng = rand::rng();
    let users = plan.users.max(1);
    let stores = u64::from(plan.stores.max(1));
    let batch_size = plan.batch.max(1);
    let span = TimeDelta::days(SPAN_DAYS);
    let mut sample: Vec<SampledSession> = Vec::with_capacity(plan.sample_size);
    let mut added = 0u64;
    while added < plan.sessions {
        let in_batch = (plan.sessions - added).min(batch_size as u64);
        let mut batch: Vec<Session> = Vec::with_capacity(in_batch as usize);
        for _ in 0..in_batch {
            // Oldest first: the creation time grows with the index.
            let position = (added as f64 + rng.random::<f64>()) / plan.sessions as f64;
            let age = span - scale(span, position);
            let user = rng.random_range(0..users);
            let store = store_name(user % stores);
            let session = match realistic_session(service, &seeder, &mut rng, now, age, store, user)
            {
                Ok(session) => session,
                Err(error) => {
                    let _ = batches.blocking_send(Err(error));
                    return sample;
                }
            };
            // Reservoir sampling (algorithm R).
            if sample.len() < plan.sample_size {
                sample.push(sampled(&session, now));
            } else {
                let slot = rng.random_range(0..=added);
                if let Ok(slot) = usize::try_from(slot)
                    && slot < plan.sample_size
                {
                    sample[slot] = sampled(&session, now);
                }
            }
            batch.push(session);
            added += 1;
        }
        if batches.blocking_send(Ok(batch)).is_err() {
            break;
        }
    }
    sample
}

/// This process's CPU time so far (utime + stime of `/proc/self/stat`, in
/// ticks of 1/100 s), or `None` where there is no such file.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name start at field 3.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// How long a sampled session must stay live to count as live.
pub const SAMPLE_LIVE_FOR: TimeDelta = TimeDelta::hours(1);

fn sampled(session: &Session, now: Timestamp) -> SampledSession {
    SampledSession {
        id: session.id.to_string(),
        identity_store_id: session.identity_store_id.clone(),
        user_id: session.user_id.clone(),
        // Live an hour from now (unless changed) is live now too.
        live: session.is_live(now + SAMPLE_LIVE_FOR),
    }
}

/// `delta * fraction`, to the millisecond.
fn scale(delta: TimeDelta, fraction: f64) -> TimeDelta {
    TimeDelta::milliseconds((delta.num_milliseconds() as f64 * fraction.clamp(0.0, 1.0)) as i64)
}

/// The sessions the designated user lacks to have exactly
/// [`DESIGNATED_SESSIONS`] live ones.
async fn designated_sessions(
    service: &SessionService,
    seeder: &Credential,
) -> Result<Vec<Session>, ServiceError> {
    let live = service
        .count(
            seeder,
            ListSessions {
                user_id: Some(DESIGNATED_USER.to_string()),
                live: Some(true),
                ..Default::default()
            },
        )
        .await?;
    let mut sessions = Vec::new();
    for n in live..DESIGNATED_SESSIONS {
        let mut session = service.new_session(
            seeder,
            NewSession {
                identity_store_id: store_name(0),
                user_id: Some(DESIGNATED_USER.to_string()),
                ip: Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10 + n as u8))),
                user_agent: Some(BROWSERS[n as usize % BROWSERS.len()].agent.to_string()),
                credentials_type: Some("email".into()),
                session_type: Some(SessionType::Browser),
                expiry: Some(Expiry::Ttl(30 * 86_400)),
                ..Default::default()
            },
        )?;
        backdate(&mut session, TimeDelta::minutes(n as i64 + 1))?;
        sessions.push(session);
    }
    Ok(sessions)
}

/// A browser user agent and what enrichment derives from it.
struct Agent {
    agent: &'static str,
    browser: &'static str,
    operating_system: &'static str,
}

const BROWSERS: [Agent; 5] = [
    Agent {
        agent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
        browser: "Chrome",
        operating_system: "Mac OS X",
    },
    Agent {
        agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
        browser: "Firefox",
        operating_system: "Windows",
    },
    Agent {
        agent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        browser: "Mobile Safari",
        operating_system: "iOS",
    },
    Agent {
        agent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
        browser: "Chrome",
        operating_system: "Linux",
    },
    Agent {
        agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
        browser: "Edge",
        operating_system: "Windows",
    },
];

const API_AGENTS: [Agent; 3] = [
    Agent {
        agent: "looker-sdk-python/26.22.0",
        browser: "looker-sdk-python",
        operating_system: "Other",
    },
    Agent {
        agent: "huaweicloud-sdk-python/3.1.150",
        browser: "huaweicloud-sdk-python",
        operating_system: "Other",
    },
    Agent {
        agent: "curl/8.5.0",
        browser: "curl",
        operating_system: "Other",
    },
];

/// City, state, country.
const PLACES: [(&str, &str, &str); 6] = [
    ("Santa Cruz", "California", "United States"),
    ("Berlin", "Berlin", "Germany"),
    ("Shenzhen", "Guangdong", "China"),
    ("São Paulo", "São Paulo", "Brazil"),
    ("Bengaluru", "Karnataka", "India"),
    ("Austin", "Texas", "United States"),
];

const BROWSER_CREDENTIALS: [&str; 4] = ["email", "saml", "google", "oidc"];

fn pick<'a, T>(rng: &mut ThreadRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn random_ip(rng: &mut ThreadRng) -> IpAddr {
    match rng.random_range(0..10) {
        0 => IpAddr::V6(Ipv6Addr::new(
            0x2001,
            0xdb8,
            rng.random(),
            rng.random(),
            0,
            0,
            rng.random(),
            rng.random(),
        )),
        n => {
            let prefix = [[203, 0, 113], [198, 51, 100], [192, 0, 2]][n % 3];
            IpAddr::V4(Ipv4Addr::new(prefix[0], prefix[1], prefix[2], rng.random()))
        }
    }
}

/// One session of `user` in `store`, created `age` ago.
fn realistic_session(
    service: &SessionService,
    seeder: &Credential,
    rng: &mut ThreadRng,
    now: Timestamp,
    age: TimeDelta,
    store: String,
    user: u64,
) -> Result<Session, ServiceError> {
    let api = rng.random_range(0..10) < 3;
    let anonymous = rng.random_range(0..100) < 4;
    let agent = if api {
        pick(rng, &API_AGENTS)
    } else {
        pick(rng, &BROWSERS)
    };
    let ip = random_ip(rng);
    let ttl_days = match rng.random_range(0..10) {
        0..5 => 1,
        5..8 => 7,
        _ => 30,
    };
    let mut session = service.new_session(
        seeder,
        NewSession {
            identity_store_id: store,
            user_id: (!anonymous).then(|| user_name(user)),
            ip: Some(ip),
            user_agent: Some(agent.agent.to_string()),
            credentials_type: (!anonymous).then(|| {
                if api {
                    "api3".to_string()
                } else {
                    pick(rng, &BROWSER_CREDENTIALS).to_string()
                }
            }),
            session_type: Some(if api {
                SessionType::Api
            } else {
                SessionType::Browser
            }),
            expiry: Some(Expiry::Ttl(ttl_days * 86_400)),
            device_id: (rng.random_range(0..10) < 3)
                .then(|| Pfid::generate(7, now.timestamp_millis().try_into().unwrap_or(0)))
                .transpose()
                .map_err(|e| ServiceError::Invalid(e.to_string()))?,
            title: (rng.random_range(0..5) == 0)
                .then(|| format!("{} on {}", agent.browser, agent.operating_system)),
            ..Default::default()
        },
    )?;
    let place = pick(rng, &PLACES);
    session.enrichment = Enrichment {
        browser: Some(agent.browser.to_string()),
        operating_system: Some(agent.operating_system.to_string()),
        city: Some(place.0.to_string()),
        state: Some(place.1.to_string()),
        country: Some(place.2.to_string()),
    };
    backdate(&mut session, age)?;

    // Later activity, up to the end of the session's life (or now).
    let life_end = session.expires_at.min(now);
    let life = life_end - session.created_at;
    if life > TimeDelta::zero() && rng.random_range(0..3) > 0 {
        let at = session.created_at + scale(life, rng.random::<f64>());
        let ip = if rng.random_range(0..4) == 0 {
            Some(random_ip(rng))
        } else {
            Some(ip)
        };
        session.last_seen = Some(Interaction {
            at,
            ip,
            user_agent: Some(agent.agent.to_string()),
        });
        session.version += 1;
    }
    // Some were ended by a logout or an administrator, in their lifetime.
    let ended = rng.random_range(0..100);
    if !anonymous && ended < 15 && life > TimeDelta::zero() {
        let at = session.created_at + scale(life, rng.random::<f64>());
        if ended < 10 {
            session.logout(at)?;
        } else {
            session.revoke(at)?;
        }
        if let Some(last) = &mut session.last_seen
            && last.at > at
        {
            last.at = at;
        }
    }
    Ok(session)
}

/// Moves a session's life `age` into the past, its id too (the id begins
/// with the creation time).
fn backdate(session: &mut Session, age: TimeDelta) -> Result<(), ServiceError> {
    session.created_at -= age;
    let created_ms = u64::try_from(session.created_at.timestamp_millis()).unwrap_or_default();
    session.id = Pfid::generate(session.id.partition(), created_ms)
        .map_err(|e| ServiceError::Invalid(e.to_string()))?;
    session.expires_at -= age;
    if let Some(ended_at) = &mut session.ended_at {
        *ended_at -= age;
    }
    for interaction in [&mut session.first_seen, &mut session.last_seen]
        .into_iter()
        .flatten()
    {
        interaction.at -= age;
    }
    Ok(())
}

/// The in-memory administrator seeding acts as.
fn seeding_credential() -> Credential {
    Credential {
        id: Pfid::ZERO,
        name: Some("seeding".into()),
        role: Role::Admin,
        identity_store_id: None,
        user_id: None,
        rate_limit: None,
        created_at: chrono::DateTime::UNIX_EPOCH,
        revoked_at: None,
    }
}

/// One progress line: done/total, percentage, rate.
pub fn progress_line(progress: Progress) -> String {
    let seconds = progress.elapsed.as_secs_f64();
    let rate = if seconds > 0.0 {
        progress.done as f64 / seconds
    } else {
        0.0
    };
    let percent = if progress.total > 0 {
        progress.done as f64 * 100.0 / progress.total as f64
    } else {
        100.0
    };
    let width = 30usize;
    let filled = ((percent / 100.0) * width as f64).round() as usize;
    format!(
        "[{}{}] {}/{} ({percent:.0}%) {rate:.0} sessions/s",
        "#".repeat(filled.min(width)),
        " ".repeat(width - filled.min(width)),
        progress.done,
        progress.total
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::SystemClock;
    use crate::service::SessionSettings;
    use crate::store::SharedStore;
    use crate::store::sqlite::SqliteStore;

    #[tokio::test]
    async fn seeding_writes_realistic_sessions_and_the_designated_user() {
        let directory = tempfile::tempdir().unwrap();
        let store: SharedStore =
            Arc::new(SqliteStore::open(&directory.path().join("s.db")).unwrap());
        let service = SessionService::new(
            store.clone(),
            Arc::new(SystemClock),
            SessionSettings::default(),
        );
        let plan = SeedPlan {
            sessions: 2_000,
            users: 300,
            stores: 3,
            batch: 700,
            sample_size: 100,
        };
        let mut batches = 0;
        let report = seed(&service, &plan, |_| batches += 1).await.unwrap();
        assert_eq!(batches, 3);
        assert_eq!(report.inserted, 2_000 + DESIGNATED_SESSIONS);
        assert_eq!(report.sample.len(), 100);
        let admin = seeding_credential();
        let all = service
            .count(&admin, ListSessions::default())
            .await
            .unwrap();
        assert_eq!(all, 2_000 + DESIGNATED_SESSIONS);
        let live = service
            .count(
                &admin,
                ListSessions {
                    live: Some(true),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(live > 600 && live < 1_600, "about half live: {live}");
        // Every sampled session reads back as sampled.
        for entry in &report.sample {
            let id = Pfid::parse(&entry.id).unwrap();
            let session = service.view(&admin, &id).await.unwrap();
            assert_eq!(session.user_id, entry.user_id);
            let now = service.now();
            assert_eq!(session.is_live(now + SAMPLE_LIVE_FOR), entry.live);
            if entry.live {
                assert!(session.is_live(now));
                assert!(session.expires_at > now + SAMPLE_LIVE_FOR);
            }
        }

        // Seeding again adds sessions but keeps the designated user at ten.
        let again = seed(
            &service,
            &SeedPlan {
                sessions: 10,
                ..plan
            },
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(again.inserted, 10);
        let designated = service
            .count(
                &admin,
                ListSessions {
                    user_id: Some(DESIGNATED_USER.into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(designated, DESIGNATED_SESSIONS);
    }

    #[test]
    fn progress_lines() {
        let line = progress_line(Progress {
            done: 50,
            total: 100,
            elapsed: Duration::from_secs(2),
        });
        assert!(line.contains("50/100 (50%) 25 sessions/s"), "{line}");
    }
}
