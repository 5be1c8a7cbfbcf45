//! What can go wrong talking to a server: a Mattermost-shaped error reply, or no usable
//! reply at all. Callers decide what to tell people (the CLI turns these into messages
//! and exit codes).

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error: Mattermost's `{id, message, request_id,
    /// status_code}`, or a message saying the reply had no such body.
    #[error("{message} ({status}, {id})")]
    Api {
        status: u16,
        id: String,
        message: String,
        request_id: String,
    },
    /// The request did not get an answer; `reason` is the innermost cause.
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// An answer arrived but its body could not be read.
    #[error("the reply could not be read: {0}")]
    Unreadable(String),
    /// A successful reply whose JSON is not what the endpoint returns.
    #[error("the {status} reply is not the JSON expected: {reason}")]
    UnexpectedBody { status: u16, reason: String },
    /// A login was accepted without a session token.
    #[error(
        "{url} accepted the login but sent no Token header; is it a Chorus or Mattermost server?"
    )]
    NoSessionToken { url: String },
}

impl ClientError {
    /// `true` for replies that mean "the thing does not exist".
    pub fn is_not_found(&self) -> bool {
        matches!(self, ClientError::Api { status: 404, .. })
    }

    /// The error of a failed reply: its Mattermost body, else a sentence naming the
    /// status and the `Server` header (a proxy's error page, say).
    pub(crate) fn from_reply(
        status: reqwest::StatusCode,
        server: Option<&str>,
        body: &Value,
    ) -> Self {
        let message = body["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| {
                let reason = status.canonical_reason().unwrap_or("error");
                let server = server.unwrap_or("the server");
                format!("{server} answered {reason} without a Chorus error")
            });
        ClientError::Api {
            status: status.as_u16(),
            id: body["id"].as_str().unwrap_or_default().to_string(),
            message,
            request_id: body["request_id"].as_str().unwrap_or_default().to_string(),
        }
    }

    pub(crate) fn unreachable(url: &str, error: &(dyn std::error::Error + 'static)) -> Self {
        let mut reason = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            reason = cause.to_string();
            source = cause.source();
        }
        ClientError::Unreachable {
            url: url.to_string(),
            reason,
        }
    }
}
