//! Wire types of the testing API (`/testing/v1`, tag `testing`): what a
//! test drives a stand-in server with (`serve --database memory
//! --testing-api`): its clock, a reset to the fixtures, injected faults and
//! the journal of requests. Published as a document of its own,
//! `openapi/login-sessions-testing.json`, never in the main one.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The server's clock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockNow {
    /// What the server's clock reads now (RFC 3339).
    pub now: DateTime<Utc>,
}

/// How far to move the server's clock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockAdvance {
    /// Seconds to move forward: 1 to 3153600000 (a century).
    #[schemars(range(min = 1, max = 3_153_600_000_i64))]
    pub seconds: i64,
}

/// The dialects whose operations faults and the journal name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TestingDialect {
    Native,
    Looker,
    Prefactor,
    Huawei,
}

impl TestingDialect {
    /// The dialect's name, as its tag.
    pub fn as_str(self) -> &'static str {
        match self {
            TestingDialect::Native => "native",
            TestingDialect::Looker => "looker",
            TestingDialect::Prefactor => "prefactor",
            TestingDialect::Huawei => "huawei",
        }
    }
}

/// A fault to inject: the next `count` requests to the operation answer
/// `status` in the dialect's own error shape, with the vendor's codes,
/// instead of being served.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultCreate {
    pub dialect: TestingDialect,
    /// The operation id (`all_user_sessions`, `ListSessions`, `login`,
    /// ...), or `*` for every operation of the dialect.
    pub operation: String,
    /// 401 (the dialect's authentication failure), 429 (its rate limit,
    /// with `Retry-After: 1`), 500 or 503 (with `Retry-After: 1`).
    pub status: u16,
    /// How many requests answer the fault: 1 to 1000.
    #[schemars(range(min = 1, max = 1000))]
    pub count: u32,
    /// Milliseconds to wait before answering (0 to 30000; default 0).
    #[serde(default)]
    #[schemars(range(max = 30_000))]
    pub delay_ms: u32,
}

/// A fault waiting to be answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Fault {
    pub dialect: TestingDialect,
    /// The operation id, or `*`.
    pub operation: String,
    pub status: u16,
    /// How many more requests answer it.
    pub remaining: u32,
    pub delay_ms: u32,
}

/// The faults waiting, in the order they were injected (the first that
/// matches a request answers it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FaultList {
    pub items: Vec<Fault>,
}

/// Which journal entries to show.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JournalFilter {
    /// Only this dialect's requests.
    #[serde(default)]
    pub dialect: Option<TestingDialect>,
    /// Only requests to this operation id.
    #[serde(default)]
    pub operation: Option<String>,
}

/// One request a dialect answered. Never holds a secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct JournalEntry {
    /// When the request was answered, by the server's clock.
    pub at: DateTime<Utc>,
    pub method: String,
    /// The path, without the query.
    pub path: String,
    pub dialect: TestingDialect,
    pub operation_id: String,
    /// The status answered.
    pub status: u16,
    /// The credential that made the request, if it authenticated.
    pub credential_id: Option<String>,
    /// The request id (`X-Request-Id`).
    pub request_id: String,
}

/// Journal entries, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct JournalPage {
    pub items: Vec<JournalEntry>,
}
