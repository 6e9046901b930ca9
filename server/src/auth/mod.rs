//! Authentication: which credential a request comes from, and whether its
//! rate limit lets it through.
//!
//! Each dialect has its own way of presenting a credential (a native bearer
//! token, a Looker access token, a Prefactor API token, a Huawei signature)
//! and its own error shape, declared in its module here with the secret a
//! credential holds for it ([`scheme`]). What they share lives here:
//! parsing the `Authorization` header, finding a bearer token's credential
//! by the token's hash, and the per-credential rate limit.

pub mod huawei;
pub mod looker;
pub mod native;
pub mod prefactor;
pub mod rate_limit;
pub mod scheme;

use std::sync::Arc;

use http::HeaderMap;

use crate::clock::Clock;
use crate::domain::credential::Credential;
use crate::store::{SharedCredentials, StoreError};

use scheme::{BearerToken, SecretScheme};

use rate_limit::RateLimiter;

/// Why a request is not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credentials were presented.
    #[error("no credentials: send `Authorization: Bearer <token>`")]
    Missing,
    /// Credentials were presented but are malformed, unknown, expired or
    /// revoked. Deliberately one case: the answer must not tell which.
    #[error("the credentials are not valid")]
    Invalid,
    /// The credential's rate limit is exhausted.
    #[error("rate limit exceeded: retry in {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    /// The store could not be asked.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Recognises credentials and applies their rate limits.
#[derive(Clone)]
pub struct Authenticator {
    store: SharedCredentials,
    clock: Arc<dyn Clock>,
    rate_limiter: Arc<RateLimiter>,
}

impl Authenticator {
    pub fn new(store: SharedCredentials, clock: Arc<dyn Clock>) -> Self {
        Authenticator {
            store,
            rate_limiter: Arc::new(RateLimiter::new(clock.clone())),
            clock,
        }
    }

    /// The credential whose bearer token of `scheme` the request carries.
    pub async fn bearer(
        &self,
        headers: &HeaderMap,
        scheme: &BearerToken,
    ) -> Result<Credential, AuthError> {
        let token = bearer_token(headers, &["bearer"])?;
        self.credential_for_token(scheme, token).await
    }

    /// The unrevoked credential whose bearer token of `scheme` is `token`,
    /// after its rate limit.
    pub async fn credential_for_token(
        &self,
        scheme: &BearerToken,
        token: &str,
    ) -> Result<Credential, AuthError> {
        let (credential, _) = self
            .store
            .credential_by_secret(scheme.kind(), &BearerToken::lookup_key(token))
            .await?
            .ok_or(AuthError::Invalid)?;
        self.admit(&credential)?;
        Ok(credential)
    }

    /// Forgets every rate limit bucket (a test stand-in's reset).
    pub fn forget_rate_limits(&self) {
        self.rate_limiter.forget_all();
    }

    /// Applies the credential's rate limit to one request.
    pub fn admit(&self, credential: &Credential) -> Result<(), AuthError> {
        self.rate_limiter.admit(credential)
    }
}

/// The token of an `Authorization: <scheme> <token>` header, for one of the
/// accepted schemes (compared without regard to case, as RFC 9110 says).
pub fn bearer_token<'a>(headers: &'a HeaderMap, schemes: &[&str]) -> Result<&'a str, AuthError> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let value = values.next().ok_or(AuthError::Missing)?;
    if values.next().is_some() {
        return Err(AuthError::Invalid);
    }
    let value = value.to_str().map_err(|_| AuthError::Invalid)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::Invalid)?;
    let token = token.trim();
    let known = schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme));
    if !known || token.is_empty() || token.contains(char::is_whitespace) {
        return Err(AuthError::Invalid);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(
                http::header::AUTHORIZATION,
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn bearer_tokens_are_parsed_strictly() {
        assert_eq!(
            bearer_token(&headers(&["Bearer abc"]), &["bearer"]),
            Ok("abc")
        );
        assert_eq!(
            bearer_token(&headers(&["bearer  abc "]), &["bearer"]),
            Ok("abc")
        );
        assert_eq!(
            bearer_token(&headers(&["token abc"]), &["bearer", "token"]),
            Ok("abc")
        );
        assert_eq!(
            bearer_token(&headers(&[]), &["bearer"]),
            Err(AuthError::Missing)
        );
        assert_eq!(
            bearer_token(&headers(&["Basic abc"]), &["bearer"]),
            Err(AuthError::Invalid)
        );
        assert_eq!(
            bearer_token(&headers(&["Bearer"]), &["bearer"]),
            Err(AuthError::Invalid)
        );
        assert_eq!(
            bearer_token(&headers(&["Bearer a b"]), &["bearer"]),
            Err(AuthError::Invalid)
        );
        assert_eq!(
            bearer_token(&headers(&["Bearer a", "Bearer b"]), &["bearer"]),
            Err(AuthError::Invalid)
        );
    }
}
