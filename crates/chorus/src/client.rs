//! The REST client of the admin commands: which server and token a command uses
//! (`--url`/`--token`, else the current profile), Mattermost-shaped errors turned into
//! messages that say what to do, and the exit codes scripts rely on.

use crate::profiles::Profiles;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::Duration;

/// Exit codes, documented in `docs/cli.md`; scripts branch on them.
pub mod exit {
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const NOT_SIGNED_IN: u8 = 3;
    pub const FORBIDDEN: u8 = 4;
    pub const NOT_FOUND: u8 = 5;
    pub const REFUSED: u8 = 6;
    pub const UNAVAILABLE: u8 = 7;
    pub const CHECK_FAILED: u8 = 8;
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The server answered with an error.
    #[error("{message} ({status}, {id})")]
    Api {
        status: u16,
        id: String,
        message: String,
    },
    #[error("cannot reach {url}: {reason}. Is the server running, and is the URL right?")]
    Unreachable { url: String, reason: String },
    #[error("{0}")]
    NotSignedIn(String),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Failed(String),
    /// A check ran and found problems (already reported in full).
    #[error("{0}")]
    CheckFailed(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Api { status, .. } => match *status {
                401 => exit::NOT_SIGNED_IN,
                403 => exit::FORBIDDEN,
                404 => exit::NOT_FOUND,
                500..=599 if *status != 501 => exit::UNAVAILABLE,
                _ => exit::REFUSED,
            },
            CliError::Unreachable { .. } => exit::UNAVAILABLE,
            CliError::NotSignedIn(_) => exit::NOT_SIGNED_IN,
            CliError::Usage(_) => exit::USAGE,
            CliError::Failed(_) => exit::FAILURE,
            CliError::CheckFailed(_) => exit::CHECK_FAILED,
        }
    }

    /// What to do about it, when there is something obvious.
    pub fn advice(&self) -> Option<&'static str> {
        match self {
            CliError::Api { status: 401, .. } | CliError::NotSignedIn(_) => {
                Some("sign in with `chorus auth login <url> --username <name>`, or pass --token")
            }
            CliError::Api { status: 403, .. } => {
                Some("this needs a system admin's session: sign in as an admin")
            }
            _ => None,
        }
    }

    pub fn json(&self) -> Value {
        let mut value = serde_json::json!({
            "error": self.to_string(),
            "exit_code": self.exit_code(),
        });
        if let CliError::Api { status, id, .. } = self {
            value["status_code"] = (*status).into();
            value["id"] = id.clone().into();
        }
        value
    }
}

pub type CliResult<T> = Result<T, CliError>;

/// Where commands send their requests.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// `https://host[:port]` without a trailing slash.
    pub url: String,
    pub token: Option<String>,
}

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

impl Client {
    pub fn new(url: &str, token: Option<String>) -> CliResult<Client> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| CliError::Failed(format!("cannot set up HTTP: {e}")))?;
        Ok(Client {
            http,
            url: normalise_url(url)?,
            token,
        })
    }

    /// The server and token for a command: flags first, then the current profile.
    pub fn resolve(
        url: Option<&str>,
        token: Option<&str>,
        profiles: &Profiles,
    ) -> CliResult<Client> {
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
        Client::new(&url, token)
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(method, format!("{}/api/v4{path}", self.url));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        request
    }

    /// Sends a request and decodes the JSON reply, or the Mattermost error.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> CliResult<Value> {
        let reply = request.send().await.map_err(|e| self.unreachable(e))?;
        decode(reply).await
    }

    pub async fn get(&self, path: &str) -> CliResult<Value> {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> CliResult<Value> {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    pub async fn delete(&self, path: &str) -> CliResult<Value> {
        self.send(self.request(Method::DELETE, path)).await
    }

    /// Logs in; returns the session token and the user.
    pub async fn login(&self, username: &str, password: &str) -> CliResult<(String, Value)> {
        let reply = self
            .request(Method::POST, "/users/login")
            .json(&serde_json::json!({"login_id": username, "password": password}))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let token = reply
            .headers()
            .get("token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let user = decode(reply).await?;
        let token = token.ok_or_else(|| {
            CliError::Failed(format!(
                "{} accepted the login but sent no Token header; is it a Chorus or Mattermost server?",
                self.url
            ))
        })?;
        Ok((token, user))
    }

    pub fn unreachable(&self, error: reqwest::Error) -> CliError {
        let mut reason = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            reason = cause.to_string();
            source = cause.source();
        }
        CliError::Unreachable {
            url: self.url.clone(),
            reason,
        }
    }
}

/// The reply's JSON, or a [`CliError::Api`] built from Mattermost's error shape.
pub async fn decode(reply: reqwest::Response) -> CliResult<Value> {
    let status = reply.status();
    let headers = reply.headers().clone();
    let text = reply
        .text()
        .await
        .map_err(|e| CliError::Failed(format!("the reply could not be read: {e}")))?;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    let message = body["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| {
            let reason = status.canonical_reason().unwrap_or("error");
            let server = headers
                .get("server")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("the server");
            format!("{server} answered {reason} without a Chorus error")
        });
    Err(CliError::Api {
        status: status.as_u16(),
        id: body["id"].as_str().unwrap_or_default().to_string(),
        message,
    })
}

/// `true` for replies that mean "the thing does not exist".
pub fn is_not_found(error: &CliError) -> bool {
    matches!(error, CliError::Api { status, .. } if *status == StatusCode::NOT_FOUND.as_u16())
}
