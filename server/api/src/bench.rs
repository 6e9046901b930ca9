//! Wire type of the benchmark's baseline endpoint (`GET /bench/baseline`,
//! unpublished, tag `native`): a constant body shaped and sized like a
//! Looker API 4.0 `Session`, so the benchmark can compare every operation
//! with what the same server costs when it does no authentication, no
//! store access and no mapping — only routing and serialization; and a
//! constant native `Session` (`GET /bench/native-session`), the reference
//! for native lookups, whose answers are twice that size.

use schemars::JsonSchema;
use serde::Serialize;

use crate::native;

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

/// A native `Session` with fixed, realistic values: a live browser
/// session seen twice from the same Edge on Windows, every field
/// `session_view` sends. Built (allocated) afresh on every call, as
/// `session_view` builds its answer. Serialized compactly it is exactly
/// [`NATIVE_SESSION_BODY_BYTES`] bytes.
pub fn representative_native_session() -> native::Session {
    const USER_AGENT: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) \
        AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 \
        Edg/126.0.0.0";
    let at = |millis: i64| {
        chrono::DateTime::from_timestamp_millis(millis).unwrap_or(chrono::DateTime::UNIX_EPOCH)
    };
    let interaction = |millis: i64| native::Interaction {
        at: at(millis),
        ip_address: Some(std::net::IpAddr::V4(std::net::Ipv4Addr::new(
            192, 0, 2, 229,
        ))),
        user_agent: Some(USER_AGENT.to_string()),
    };
    native::Session {
        id: native::SessionId("01m9868qcj7tytw86jq4bd1x15ndvh3t".to_string()),
        identity_store_id: "store-003".to_string(),
        user_id: Some("user-0013923".to_string()),
        status: native::SessionStatus::Authenticated,
        live: true,
        end_reason: None,
        ended_at: None,
        session_type: native::SessionType::Browser,
        credentials_type: Some("oidc".to_string()),
        created_at: at(1_796_645_084_562),
        expires_at: at(1_799_237_084_562),
        extended_at: None,
        extended_count: 0,
        first_seen: Some(interaction(1_796_645_084_562)),
        last_seen: Some(interaction(1_796_647_331_101)),
        browser: Some("Edge".to_string()),
        operating_system: Some("Windows".to_string()),
        city: Some("Bengaluru".to_string()),
        state: Some("Karnataka".to_string()),
        country: Some("India".to_string()),
        sudo_user_id: None,
        account_id: None,
        domain_id: None,
        device_id: Some("01m98zw52d0000075rkvqpb755x0885h".to_string()),
        title: None,
    }
}

/// The size in bytes of [`representative_native_session`] as sent.
pub const NATIVE_SESSION_BODY_BYTES: usize = 985;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_native_session_body_has_the_stated_size() {
        let body = serde_json::to_vec(&representative_native_session()).expect("serializes");
        assert_eq!(
            body.len(),
            NATIVE_SESSION_BODY_BYTES,
            "{}",
            String::from_utf8_lossy(&body)
        );
    }

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
