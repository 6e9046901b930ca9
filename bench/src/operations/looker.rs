//! Looker's lookups: one session of a user and all of a user's sessions,
//! with the access token the benchmark obtains from `POST /api/4.0/login`
//! once per server start ([`Fixture::looker_authorization`]).

use super::{Request, path, segment};
use crate::fixture::{Fixture, Rng};

/// Looker `GET /api/4.0/users/{user_id}/sessions/{session_id}`: a live
/// session of its user, with the access token from `POST /api/4.0/login`.
pub fn user_session(fixture: &Fixture, rng: &mut Rng) -> Option<Request> {
    let session = fixture.live_session(rng)?;
    let user = session.user_id.as_deref()?;
    let user = segment(user);
    Some(Request::get(
        path(&["/api/4.0/users/", &user, "/sessions/", &session.id]),
        fixture.looker_authorization.clone(),
    ))
}

/// Looker `GET /api/4.0/users/{user_id}/sessions`: the designated user's
/// ten live sessions.
pub fn all_user_sessions(fixture: &Fixture, _: &mut Rng) -> Option<Request> {
    let user = fixture.designated.user_id.as_deref()?;
    Some(Request::get(
        path(&["/api/4.0/users/", &segment(user), "/sessions"]),
        fixture.looker_authorization.clone(),
    ))
}
