//! The API error body every failing request returns, in Mattermost's shape.

use serde::{Deserialize, Serialize};

/// `{"id","message","detailed_error","request_id","status_code"}`; `status_code` repeats
/// the HTTP status because the official client reads it from the body, not the status line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub id: String,
    pub message: String,
    #[serde(default)]
    pub detailed_error: String,
    #[serde(default)]
    pub request_id: String,
    pub status_code: u16,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}, HTTP {})",
            self.message, self.id, self.status_code
        )
    }
}

impl std::error::Error for ApiError {}
