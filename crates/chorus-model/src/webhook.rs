//! Incoming webhooks: a URL that posts into a channel as the user who made it, for
//! Slack-compatible integrations.

use serde::{Deserialize, Serialize};

/// One incoming webhook; its id is the secret part of `POST /hooks/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct IncomingWebhook {
    pub id: String,
    pub create_at: i64,
    pub update_at: i64,
    pub delete_at: i64,
    /// Who made it: posts are theirs.
    pub user_id: String,
    pub channel_id: String,
    pub team_id: String,
    pub display_name: String,
    pub description: String,
    /// Shown instead of the owner's name (when the server allows overrides).
    pub username: String,
    pub icon_url: String,
    /// Whether a request may post to another channel than `channel_id`.
    pub channel_locked: bool,
}

/// What an integration sends to `POST /hooks/{id}` (Slack's shape), as JSON or as the
/// `payload` field of a form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct IncomingWebhookRequest {
    pub text: String,
    pub username: String,
    pub icon_url: String,
    /// Another channel of the hook's team by name, or `@username` for a direct message.
    pub channel: String,
    pub props: serde_json::Map<String, serde_json::Value>,
    pub attachments: Vec<serde_json::Value>,
    #[serde(rename = "type")]
    pub post_type: String,
    pub icon_emoji: String,
    pub priority: Option<serde_json::Value>,
}
