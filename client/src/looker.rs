//! Looker's login flow for the generated client: log in with a
//! credential's Looker client id and secret (the generated `login`
//! operation, form-encoded as Looker wants), then use a [`Client`] that
//! sends the access token as `Authorization: token <access_token>`, the
//! form Looker documents.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use login_sessions_client::looker::looker_login;
//!
//! let (client, token) = looker_login("http://127.0.0.1:8080", "client-id", "client-secret").await?;
//! println!("valid for {:?} s", token.expires_in);
//! let sessions = client.all_user_sessions().user_id("42").send().await?.into_inner();
//! println!("{} live sessions", sessions.len());
//! # Ok(())
//! # }
//! ```

use reqwest::header::HeaderMap;

use crate::auth::{AuthError, authorization_header, http_client};
use crate::types::{LookerAccessToken, LookerError, LookerLoginBody};
use crate::{Client, ClientState, Error};

/// Why a Looker login did not give a usable client.
#[derive(Debug, thiserror::Error)]
pub enum LookerLoginError {
    /// The server refused the login (`Not found` for unknown or wrong
    /// credentials, as on Looker), or could not be reached.
    #[error("the Looker login failed")]
    Login(#[source] Error<LookerError>),
    /// The server answered without an access token.
    #[error("the Looker login answered without an access_token")]
    NoToken,
    /// The client could not be built.
    #[error(transparent)]
    Client(#[from] AuthError),
}

/// Logs in at `base_url` (the server's URL, without `/api/4.0`) with a
/// credential's Looker client id and secret, and returns a client whose
/// requests carry the access token, with the token as the server gave it.
pub async fn looker_login(
    base_url: &str,
    client_id: &str,
    client_secret: &str,
) -> Result<(Client, LookerAccessToken), LookerLoginError> {
    let anonymous = Client::new_with_client(
        base_url,
        http_client(HeaderMap::new())?,
        ClientState::default(),
    );
    let form = LookerLoginBody {
        client_id: Some(client_id.to_string()),
        client_secret: Some(client_secret.to_string()),
    };
    let token = anonymous
        .login()
        .body(form)
        .send()
        .await
        .map_err(LookerLoginError::Login)?
        .into_inner();
    let access_token = token
        .access_token
        .as_deref()
        .ok_or(LookerLoginError::NoToken)?;
    let client = looker_client(base_url, access_token)?;
    Ok((client, token))
}

/// A client sending `Authorization: token <access_token>` with every
/// request.
pub fn looker_client(base_url: &str, access_token: &str) -> Result<Client, AuthError> {
    let headers = authorization_header(&format!("token {access_token}"))?;
    Ok(Client::new_with_client(
        base_url,
        http_client(headers)?,
        ClientState::default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClientInfo;

    #[test]
    fn the_client_keeps_the_base_url() {
        let client = looker_client("http://127.0.0.1:1", "t0ken").unwrap();
        assert_eq!(client.baseurl(), "http://127.0.0.1:1");
        assert!(matches!(
            looker_client("http://127.0.0.1:1", "bad\ntoken"),
            Err(AuthError::InvalidToken(_))
        ));
    }
}
