//! Prefactor's lookup: one session by id, with the credential's API token
//! as a bearer token.

use super::{Request, path};
use crate::fixture::{Fixture, Rng};

/// Prefactor `GET /api/v1/session/{session_id}`: a live session, as the
/// workload spreads them.
pub fn fetch_session(fixture: &Fixture, rng: &mut Rng) -> Option<Request> {
    let session = fixture.live_session(rng)?;
    Some(Request::get(
        path(&["/api/v1/session/", &session.id]),
        fixture.prefactor_authorization.clone(),
    ))
}
