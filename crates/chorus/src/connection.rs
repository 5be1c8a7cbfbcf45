//! Which server and token a command talks to: `--url`/`--token`, else the current
//! profile, with the address normalised the way people type it. Requests themselves go
//! through `chorus_client`.

use crate::errors::{CliError, CliResult};
use crate::profiles::Profiles;
use chorus_client::Client;
use std::time::Duration;

/// Normalises a server address typed by a person: adds `http://` when no scheme is
/// given and drops trailing slashes and a trailing `/api/v4`.
pub fn normalise_url(url: &str) -> CliResult<String> {
    let trimmed = url.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/api/v4").unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Err(CliError::Usage("the server URL is empty".into()));
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("http://{trimmed}")
    };
    reqwest::Url::parse(&with_scheme)
        .map_err(|e| CliError::Usage(format!("{url:?} is not a valid server URL: {e}")))?;
    Ok(with_scheme)
}

/// A client of the server at `url` (as a person typed it), with `token` if given.
pub fn connect(url: &str, token: Option<&str>) -> CliResult<Client> {
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| CliError::Failed(format!("cannot set up HTTP: {e}")))?;
    let client = Client::with_http(http, normalise_url(url)?);
    Ok(match token {
        Some(token) => client.with_token(token),
        None => client,
    })
}

/// The server and token for a command: flags first, then the current profile.
pub fn resolve(url: Option<&str>, token: Option<&str>, profiles: &Profiles) -> CliResult<Client> {
    let profile = profiles.current();
    let url = url
        .map(str::to_string)
        .or_else(|| profile.map(|p| p.url.clone()))
        .ok_or_else(|| {
            CliError::NotSignedIn(
                "no server given: pass --url, or sign in first with `chorus auth login <url>`"
                    .into(),
            )
        })?;
    let token = token
        .map(str::to_string)
        .or_else(|| profile.map(|p| p.token.clone()));
    connect(&url, token.as_deref())
}
