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

/// `trigger_when` of an outgoing webhook: the post's first word is a trigger word.
pub const TRIGGER_WHEN_EXACT: i32 = 0;
/// `trigger_when`: the post's first word starts with a trigger word.
pub const TRIGGER_WHEN_STARTS_WITH: i32 = 1;

/// One outgoing webhook: posts in its channel (or starting with its trigger words in
/// any open channel of its team) are sent to its callback URLs, and what they answer
/// is posted back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct OutgoingWebhook {
    pub id: String,
    /// Sent with every call, so the integration knows the call is ours.
    pub token: String,
    pub create_at: i64,
    pub update_at: i64,
    pub delete_at: i64,
    pub creator_id: String,
    /// Empty: any open channel of the team, for posts that start with a trigger word.
    pub channel_id: String,
    pub team_id: String,
    pub trigger_words: Vec<String>,
    pub trigger_when: i32,
    pub callback_urls: Vec<String>,
    pub display_name: String,
    pub description: String,
    /// `application/x-www-form-urlencoded` (the default) or `application/json`.
    pub content_type: String,
    pub username: String,
    pub icon_url: String,
}

/// What an outgoing webhook sends to its callback URLs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct OutgoingWebhookPayload {
    pub token: String,
    pub team_id: String,
    pub team_domain: String,
    pub channel_id: String,
    pub channel_name: String,
    pub timestamp: i64,
    pub user_id: String,
    pub user_name: String,
    pub post_id: String,
    pub text: String,
    pub trigger_word: String,
    pub file_ids: String,
}

/// What a callback URL may answer (JSON); `response_type` `comment` replies in the
/// triggering post's thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct OutgoingWebhookResponse {
    pub text: Option<String>,
    pub username: String,
    pub icon_url: String,
    pub props: serde_json::Map<String, serde_json::Value>,
    pub attachments: Vec<serde_json::Value>,
    #[serde(rename = "type")]
    pub post_type: String,
    pub response_type: String,
}
