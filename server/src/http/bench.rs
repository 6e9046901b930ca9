//! The benchmark's baseline endpoint: a constant body the size of a Looker
//! `Session`, through dropshot's routing and serialization but with no
//! authentication and no store, so the benchmark (`cargo xtask bench`) can
//! express every operation as a ratio to what the same server costs for
//! nothing at all.
//!
//! It is off unless the server runs with `--bench-endpoints`: a production
//! server then has no unauthenticated route beyond `/healthz`, and the
//! check costs one boolean read, so the baseline measures the same
//! pipeline whether or not it is enabled.

use dropshot::{HttpResponseOk, RequestContext};
use login_sessions_api::bench::BenchBaseline;
use login_sessions_api::native::{NativeError, NativeErrorCode};

use super::ApiContext;

pub async fn bench_baseline(
    rqctx: RequestContext<ApiContext>,
) -> Result<HttpResponseOk<BenchBaseline>, NativeError> {
    if !rqctx.context().bench_endpoints {
        return Err(NativeError {
            error_code: NativeErrorCode::NotFound,
            message: "not found (the benchmark endpoints are off: serve --bench-endpoints)".into(),
            request_id: rqctx.request_id.clone(),
            retry_after_seconds: None,
        });
    }
    Ok(HttpResponseOk(BenchBaseline::representative()))
}
