//! The benchmark's endpoints. The baseline: a constant body the size of a
//! Looker `Session`, through dropshot's routing and serialization but with
//! no authentication and no store, so the benchmark (`cargo xtask bench`)
//! can express every operation as a ratio to what the same server costs
//! for nothing at all; and a constant native session, the same for native
//! lookups' larger answers. The caches: how the session cache has answered, for
//! the hit rates beside each figure.
//!
//! They are off unless the server runs with `--bench-endpoints`: a production
//! server then has no unauthenticated route beyond `/healthz`, and the
//! check costs one boolean read, so the baseline measures the same
//! pipeline whether or not it is enabled.

use dropshot::{HttpResponseOk, RequestContext};
use login_sessions_api::bench::{BenchBaseline, BenchCacheCounts, BenchCaches};
use login_sessions_api::native::{NativeError, NativeErrorCode};

use super::ApiContext;

pub async fn bench_baseline(
    rqctx: RequestContext<ApiContext>,
) -> Result<HttpResponseOk<BenchBaseline>, NativeError> {
    require_bench_endpoints(&rqctx)?;
    Ok(HttpResponseOk(BenchBaseline::representative()))
}

pub async fn bench_native_session(
    rqctx: RequestContext<ApiContext>,
) -> Result<HttpResponseOk<login_sessions_api::native::Session>, NativeError> {
    require_bench_endpoints(&rqctx)?;
    Ok(HttpResponseOk(
        login_sessions_api::bench::representative_native_session(),
    ))
}

pub async fn bench_caches(
    rqctx: RequestContext<ApiContext>,
) -> Result<HttpResponseOk<BenchCaches>, NativeError> {
    require_bench_endpoints(&rqctx)?;
    let session = rqctx.context().session_cache.as_ref().map(|cache| {
        let counts = cache.counts();
        BenchCacheCounts {
            hits: counts.hits,
            misses: counts.misses,
            bypasses: counts.bypasses,
            entries: counts.entries,
            bytes: counts.bytes,
        }
    });
    Ok(HttpResponseOk(BenchCaches { session }))
}

fn require_bench_endpoints(rqctx: &RequestContext<ApiContext>) -> Result<(), NativeError> {
    if rqctx.context().bench_endpoints {
        return Ok(());
    }
    Err(NativeError {
        error_code: NativeErrorCode::NotFound,
        message: "not found (the benchmark endpoints are off: serve --bench-endpoints)".into(),
        request_id: rqctx.request_id.clone(),
        retry_after_seconds: None,
    })
}
