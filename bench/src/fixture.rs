//! What the request builders draw on: the admin credential the benchmark
//! calls with, the sample of seeded sessions `login-sessions seed` wrote,
//! and the pools of ids drawn from it during one phase of the run, with
//! the pseudo-random generator each connection draws with.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use serde::{Deserialize, Serialize};

/// The secrets of the admin credential the benchmark calls with (the
/// `--json` output of `login-sessions credentials create`).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Credentials {
    pub native: NativeSecrets,
    pub looker: LookerSecrets,
    pub prefactor: PrefactorSecrets,
    /// The AK/SK pair Huawei requests are signed with.
    pub huawei: HuaweiSecrets,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct NativeSecrets {
    pub token: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct LookerSecrets {
    pub client_id: String,
    pub client_secret: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct PrefactorSecrets {
    pub api_token: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct HuaweiSecrets {
    pub access_key: String,
    pub secret_key: String,
}

/// A seeded session (the sample `login-sessions seed --sample` writes).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct SampledSession {
    pub id: String,
    pub identity_store_id: String,
    pub user_id: Option<String>,
    pub live: bool,
}

/// The sample file `login-sessions seed --sample` writes.
#[derive(Clone, Debug, Deserialize)]
pub struct SeedSample {
    pub designated_user: SampledSession,
    pub sample: Vec<SampledSession>,
}

/// Which live sessions the lookups read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// Every sampled live session equally often (the sample is uniform
    /// over everything seeded).
    #[default]
    Uniform,
    /// A hot tenth of the sampled live sessions, equally often.
    Hot,
}

impl Workload {
    /// The sessions the lookups draw from, out of the sampled live ones.
    fn lookups(self, live: &[SampledSession]) -> Vec<SampledSession> {
        match self {
            Workload::Uniform => live.to_vec(),
            Workload::Hot => live[..live.len().div_ceil(10)].to_vec(),
        }
    }
}

/// What the request builders draw on during one phase of the run.
pub struct Fixture {
    /// `host:port` of the server: the `Host` a Huawei signature covers,
    /// the same text the load generator sends (`SocketAddr`'s `Display`).
    pub host: String,
    pub credentials: Credentials,
    /// The `Authorization` values of the lookups whose credential is the
    /// same for every request, written once: `token <access token>` with
    /// the Looker access token (when an operation needs one; `token `
    /// without), `Bearer <prefactor API token>`, `Bearer <native token>`.
    pub looker_authorization: String,
    pub prefactor_authorization: String,
    native_authorization: String,
    /// The live sessions the lookups read, out of the sampled sessions
    /// that were live with a user when seeded ([`Workload`]).
    pub lookups: Vec<SampledSession>,
    /// The clients currently active: the first [`ACTIVE_SESSIONS`] of
    /// `live`, the ones the common-case interaction touches again and
    /// again.
    pub active: Vec<SampledSession>,
    /// The user with exactly ten live sessions, and its identity store.
    pub designated: SampledSession,
    /// Ids of live sessions the revoke operation may end, each once.
    pub revocable: Mutex<Vec<String>>,
    /// The next address of the new-address interaction, an index into
    /// [`BENCHMARK_RANGE`], shared by all connections so no two requests
    /// send the same one (until the range wraps).
    next_address: AtomicU32,
}

/// How many live sessions the common-case interaction draws from.
pub const ACTIVE_SESSIONS: usize = 1_000;

/// 198.18.0.0/15, the range set aside for benchmarking network devices
/// (RFC 2544): the first address and the number of addresses.
const BENCHMARK_RANGE: ([u8; 2], u32) = ([198, 18], 1 << 17);

impl Fixture {
    pub fn new(
        host: String,
        credentials: Credentials,
        looker_token: Option<String>,
        sample: SeedSample,
        workload: Workload,
    ) -> Fixture {
        let live: Vec<SampledSession> = sample
            .sample
            .iter()
            .filter(|s| s.live && s.user_id.is_some())
            .cloned()
            .collect();
        let revocable = live.iter().map(|s| s.id.clone()).collect();
        let active = live.iter().take(ACTIVE_SESSIONS).cloned().collect();
        let lookups = workload.lookups(&live);
        let looker_authorization = format!("token {}", looker_token.as_deref().unwrap_or(""));
        let prefactor_authorization = format!("Bearer {}", credentials.prefactor.api_token);
        let native_authorization = format!("Bearer {}", credentials.native.token);
        Fixture {
            host,
            credentials,
            looker_authorization,
            prefactor_authorization,
            native_authorization,
            lookups,
            active,
            designated: sample.designated_user,
            revocable: Mutex::new(revocable),
            next_address: AtomicU32::new(0),
        }
    }

    /// A live session for a lookup, as the workload spreads them.
    pub fn live_session(&self, rng: &mut Rng) -> Option<&SampledSession> {
        pick(&self.lookups, rng)
    }

    pub fn active_session(&self, rng: &mut Rng) -> Option<&SampledSession> {
        pick(&self.active, rng)
    }

    pub fn native_bearer(&self) -> String {
        self.native_authorization.clone()
    }

    /// An address of 198.18.0.0/15 no other request of this fixture sent
    /// (they repeat after 131,072 requests).
    pub fn new_address(&self) -> String {
        let ([a, b], size) = BENCHMARK_RANGE;
        let n = self.next_address.fetch_add(1, Ordering::Relaxed) % size;
        format!(
            "{a}.{}.{}.{}",
            u32::from(b) + (n >> 16),
            (n >> 8) & 0xff,
            n & 0xff
        )
    }
}

fn pick<'a, T>(items: &'a [T], rng: &mut Rng) -> Option<&'a T> {
    if items.is_empty() {
        None
    } else {
        items.get(rng.below(items.len() as u64) as usize)
    }
}

/// A small, fast pseudo-random generator (SplitMix64); one per connection.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Fixtures for the request builders' tests.
#[cfg(test)]
pub mod testing {
    use super::*;

    /// The access key of the fixtures' credential.
    pub const AK: &str = "TESTAK0000000000";
    /// Its secret key.
    pub const SK: &str = "TESTSK0000000000000000000000000000000000";

    pub fn session(n: usize, user: &str, live: bool) -> SampledSession {
        SampledSession {
            id: format!("s-{n:07}"),
            identity_store_id: format!("store-{:03}", n % 8),
            user_id: Some(user.to_string()),
            live,
        }
    }

    /// 3,000 live sessions and 1,000 ended ones.
    pub fn fixture() -> Fixture {
        fixture_with(
            (0..4_000)
                .map(|n| session(n, &format!("user-{:07}", n / 10), n % 4 != 3))
                .collect(),
        )
    }

    pub fn fixture_with(sample: Vec<SampledSession>) -> Fixture {
        Fixture::new(
            "127.0.0.1:41234".into(),
            Credentials {
                native: NativeSecrets {
                    token: "native".into(),
                },
                looker: LookerSecrets {
                    client_id: "id".into(),
                    client_secret: "secret".into(),
                },
                prefactor: PrefactorSecrets {
                    api_token: "prefactor".into(),
                },
                huawei: HuaweiSecrets {
                    access_key: AK.into(),
                    secret_key: SK.into(),
                },
            },
            None,
            SeedSample {
                designated_user: session(9_999, "designated", true),
                sample,
            },
            Workload::Uniform,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{fixture, fixture_with};
    use super::*;

    #[test]
    fn the_pools_come_from_the_sample() {
        let fixture = fixture();
        assert_eq!(fixture.lookups.len(), 3_000);
        assert!(fixture.lookups.iter().all(|s| s.live));
        assert_eq!(fixture.active[..], fixture.lookups[..ACTIVE_SESSIONS]);
        assert_eq!(fixture.revocable.lock().unwrap().len(), 3_000);
        // With fewer live sessions, all of them are active.
        let few = fixture_with(fixture.lookups[..10].to_vec());
        assert_eq!(few.active, few.lookups);
    }

    #[test]
    fn a_hot_workload_reads_a_tenth_of_the_live_sessions() {
        // The test fixture's workload is uniform: every live session.
        let live = fixture().lookups;
        assert_eq!(Workload::Uniform.lookups(&live), live);
        let hot = Workload::Hot.lookups(&live);
        assert_eq!(hot.len(), live.len().div_ceil(10));
        assert_eq!(hot[..], live[..hot.len()]);
        assert_eq!(Workload::Hot.lookups(&live[..3]).len(), 1);
        let empty: &[SampledSession] = &[];
        assert!(Workload::Hot.lookups(empty).is_empty());
    }

    #[test]
    fn new_addresses_wrap_around_the_benchmarking_range() {
        let fixture = fixture();
        assert_eq!(fixture.new_address(), "198.18.0.0");
        assert_eq!(fixture.new_address(), "198.18.0.1");
        // The range's last address, then its first again.
        fixture.next_address.store((1 << 17) - 1, Ordering::Relaxed);
        assert_eq!(fixture.new_address(), "198.19.255.255");
        assert_eq!(fixture.new_address(), "198.18.0.0");
    }

    #[test]
    fn rng_stays_in_range() {
        let mut rng = Rng::new(7);
        for n in 1..100 {
            assert!(rng.below(n) < n);
        }
    }
}
