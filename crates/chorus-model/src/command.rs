//! Slash commands: the execute request and the response a command handler returns.

use serde::{Deserialize, Serialize};

pub const RESPONSE_TYPE_EPHEMERAL: &str = "ephemeral";
pub const RESPONSE_TYPE_IN_CHANNEL: &str = "in_channel";

/// Body of `POST /commands/execute`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct CommandArgs {
    pub command: String,
    pub channel_id: String,
    pub team_id: String,
    pub root_id: String,
    pub parent_id: String,
}

/// What a command answers; `in_channel` text becomes a post, `ephemeral` text a
/// message shown only to the caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct CommandResponse {
    pub response_type: String,
    pub text: String,
    pub username: String,
    pub icon_url: String,
    pub goto_location: String,
    pub props: serde_json::Map<String, serde_json::Value>,
}

/// A command as listed for autocomplete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Command {
    pub trigger: String,
    pub auto_complete: bool,
    pub auto_complete_desc: String,
    pub auto_complete_hint: String,
    pub display_name: String,
    pub description: String,
    /// Empty for built-in commands; the plugin id for plugin commands.
    pub plugin_id: String,
}
