//! Which dialect a path speaks, by its prefix: for the answers no handler
//! gives (`router_errors`) and for the access log (`access_log`).
//!
//! `/api/v1/...` is Prefactor's, any other `/api/...` Looker's
//! (`/api/4.0`, and the unversioned `/api/logout`), `/v1/...` Huawei's
//! (`/v1/identity-stores`), and everything else native (`/native/v1`,
//! `/healthz`, `/openapi.json`, `/docs`). Segments are compared as
//! dropshot's router compares them: empty ones skipped, percent-decoded.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// One of the APIs the server speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dialect {
    Native,
    Looker,
    Prefactor,
    Huawei,
}

impl Dialect {
    /// The dialect of a request path (without the query).
    pub fn for_path(path: &str) -> Dialect {
        let mut segments = path
            .split('/')
            .filter(|segment| !segment.is_empty())
            .map(decoded);
        let first = segments.next();
        match first.as_deref() {
            Some("api") => match segments.next().as_deref() {
                Some("v1") => Dialect::Prefactor,
                _ => Dialect::Looker,
            },
            Some("v1") => Dialect::Huawei,
            _ => Dialect::Native,
        }
    }

    /// Its name in logs.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Native => "native",
            Dialect::Looker => "looker",
            Dialect::Prefactor => "prefactor",
            Dialect::Huawei => "huawei",
        }
    }
}

/// A segment percent-decoded; as sent if it does not decode to UTF-8.
fn decoded(segment: &str) -> Cow<'_, str> {
    if !segment.contains('%') {
        return Cow::Borrowed(segment);
    }
    percent_decode_str(segment)
        .decode_utf8()
        .unwrap_or(Cow::Borrowed(segment))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_speak_the_dialect_of_their_prefix() {
        for (path, dialect) in [
            ("/api/4.0/users/42/sessions", Dialect::Looker),
            ("/api/4.0", Dialect::Looker),
            ("/api/logout", Dialect::Looker),
            ("/api/3.1/nowhere", Dialect::Looker),
            ("/api/v1/session/x", Dialect::Prefactor),
            ("/api/v1", Dialect::Prefactor),
            ("//api//v1/session", Dialect::Prefactor),
            ("/%61pi/v1/session", Dialect::Prefactor),
            ("/api/v10/session", Dialect::Looker),
            ("/v1/identity-stores/d/users/u/sessions", Dialect::Huawei),
            ("/v1", Dialect::Huawei),
            ("/native/v1/sessions", Dialect::Native),
            ("/healthz", Dialect::Native),
            ("/", Dialect::Native),
            ("", Dialect::Native),
            ("/apix/v1", Dialect::Native),
            ("/%FF/v1", Dialect::Native),
        ] {
            assert_eq!(Dialect::for_path(path), dialect, "{path}");
        }
    }
}
