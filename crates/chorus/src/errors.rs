//! How admin commands fail: the exit codes scripts rely on, and [`CliError`], which
//! turns the client's Mattermost-shaped errors (and the CLI's own) into messages that
//! say what to do.

use chorus_client::ClientError;
use serde_json::Value;

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

impl From<ClientError> for CliError {
    fn from(error: ClientError) -> CliError {
        match error {
            ClientError::Api {
                status,
                id,
                message,
                ..
            } => CliError::Api {
                status,
                id,
                message,
            },
            ClientError::Unreachable { url, reason } => CliError::Unreachable { url, reason },
            other @ (ClientError::Unreadable(_)
            | ClientError::UnexpectedBody { .. }
            | ClientError::NoSessionToken { .. }) => CliError::Failed(other.to_string()),
        }
    }
}
