//! Wire type of the benchmark's baseline endpoint (`GET /bench/baseline`,
//! unpublished, tag `native`): a constant body shaped and sized like a
//! Looker API 4.0 `Session`, so the benchmark can compare every operation
//! with what the same server costs when it does no authentication, no
//! store access and no mapping — only routing and serialization.

use schemars::JsonSchema;
use serde::Serialize;

/// A Looker `Session` with fixed, realistic values (the field names and
/// order of Looker's `Session`, a 32-character session id, millisecond
/// timestamps with `+00:00`, an absolute `url`). Serialized compactly it is
/// exactly [`BASELINE_BODY_BYTES`] bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct BenchBaseline {
    pub id: String,
    pub ip_address: Option<String>,
    pub browser: Option<String>,
    pub operating_system: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    pub credentials_type: Option<String>,
    pub extended_count: Option<i64>,
    pub extended_at: Option<String>,
    pub sudo_user_id: Option<String>,
    pub created_at: Option<String>,
    pub expires_at: Option<String>,
    pub url: Option<String>,
    pub can: std::collections::BTreeMap<String, bool>,
}

/// The size in bytes of the baseline body as sent.
pub const BASELINE_BODY_BYTES: usize = 467;

impl BenchBaseline {
    /// The constant body. Built (allocated) afresh on every call, as a real
    /// handler builds its response.
    pub fn representative() -> BenchBaseline {
        const ID: &str = "06bbfz4t3ahkdm0g5pyv9xwq7c2n8r1s";
        BenchBaseline {
            id: ID.to_string(),
            ip_address: Some("203.0.113.24".to_string()),
            browser: Some("Chrome".to_string()),
            operating_system: Some("Mac OS X".to_string()),
            city: Some("Santa Cruz".to_string()),
            state: Some("California".to_string()),
            country: Some("United States".to_string()),
            credentials_type: Some("email".to_string()),
            extended_count: Some(0),
            extended_at: None,
            sudo_user_id: None,
            created_at: Some("2026-11-22T03:47:24.123+00:00".to_string()),
            expires_at: Some("2026-11-23T03:47:24.123+00:00".to_string()),
            url: Some(format!(
                "http://127.0.0.1:8080/api/4.0/users/user-004217/sessions/{ID}"
            )),
            can: std::collections::BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_baseline_body_has_the_stated_size() {
        let body = serde_json::to_vec(&BenchBaseline::representative()).expect("serializes");
        assert_eq!(body.len(), BASELINE_BODY_BYTES);
    }
}

/// How the server's caches have answered since it started
/// (`GET /bench/caches`, unpublished, tag `native`), for the benchmark's
/// hit rates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize, JsonSchema)]
pub struct BenchCaches {
    /// The session cache's lookups; absent when it is off
    /// (`serve --session-cache-mib 0`).
    pub session: Option<BenchCacheCounts>,
}

/// Lookups through one cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize, JsonSchema)]
pub struct BenchCacheCounts {
    /// Answered from memory.
    pub hits: u64,
    /// Answered by the store (and kept, where the answer can be).
    pub misses: u64,
    /// Answered by the store while the cache could not be trusted.
    pub bypasses: u64,
    /// Entries held now.
    pub entries: u64,
    /// About how many bytes they take now (the cache's own estimate, what
    /// its bound limits).
    pub bytes: u64,
}
