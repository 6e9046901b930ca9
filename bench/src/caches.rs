//! The server's caches, as the benchmark sees them: warming them before
//! the lookups are measured, and reading how the session cache answered
//! (`GET /bench/caches`, answered only with `serve --bench-endpoints`)
//! for the hit rates and the cache's size beside each figure.

use std::sync::Arc;

use anyhow::bail;

use crate::fixture::Fixture;
use crate::load;
use crate::operations::Request;

/// Reads every session the lookups use, and its user's live sessions,
/// once, over a few connections.
pub async fn warm_caches(addr: std::net::SocketAddr, fixture: &Arc<Fixture>) -> anyhow::Result<()> {
    const CONNECTIONS: usize = 8;
    let per_connection = fixture.lookups.len().div_ceil(CONNECTIONS).max(1);
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..fixture.lookups.len())
        .step_by(per_connection)
        .map(|start| {
            let fixture = fixture.clone();
            tokio::spawn(async move {
                let end = (start + per_connection).min(fixture.lookups.len());
                let mut connection = load::Connection::open(addr).await?;
                for session in &fixture.lookups[start..end] {
                    for request in crate::operations::warm_up(&fixture, session) {
                        let (status, body) = connection.send(&request).await?;
                        if status != 200 {
                            bail!(
                                "{} answered {status}: {}",
                                request.path,
                                String::from_utf8_lossy(&body[..body.len().min(300)])
                            );
                        }
                    }
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    eprintln!(
        "  warmed the caches with {} sessions and their users in {:.1} s",
        fixture.lookups.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The session cache's figures (`GET /bench/caches`): `None` when it is off
/// or the server cannot say.
async fn session_cache_figures(addr: std::net::SocketAddr) -> Option<serde_json::Value> {
    let request = Request {
        method: http::Method::GET,
        path: "/bench/caches".into(),
        headers: Vec::new(),
        content_type: None,
        body: bytes::Bytes::new(),
    };
    let (status, body) = load::once(addr, &request).await.ok()?;
    if status != 200 {
        return None;
    }
    let mut caches: serde_json::Value = serde_json::from_slice(&body).ok()?;
    Some(caches.get_mut("session")?.take())
}

/// The session cache's counts so far: hits and every lookup.
pub async fn session_cache_counts(addr: std::net::SocketAddr) -> Option<(u64, u64)> {
    let session = session_cache_figures(addr).await?;
    let count = |field: &str| session.get(field).and_then(serde_json::Value::as_u64);
    let hits = count("hits")?;
    Some((hits, hits + count("misses")? + count("bypasses")?))
}

/// What the session cache holds: entries and its estimate of their bytes.
pub async fn session_cache_held(addr: std::net::SocketAddr) -> Option<(u64, u64)> {
    let session = session_cache_figures(addr).await?;
    let count = |field: &str| session.get(field).and_then(serde_json::Value::as_u64);
    Some((count("entries")?, count("bytes")?))
}

/// The share of lookups between two counts answered from memory.
pub fn hit_rate(before: Option<(u64, u64)>, after: Option<(u64, u64)>) -> Option<f64> {
    let ((hits_before, all_before), (hits_after, all_after)) = (before?, after?);
    let lookups = all_after.checked_sub(all_before)?;
    (lookups > 0).then(|| hits_after.saturating_sub(hits_before) as f64 / lookups as f64)
}
