//! Websocket frames: server events, client actions and the replies to them.

use serde::{Deserialize, Serialize};

/// Who an event is for. Empty fields do not restrict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Broadcast {
    pub omit_users: Option<std::collections::HashMap<String, bool>>,
    pub user_id: String,
    pub channel_id: String,
    pub team_id: String,
    pub connection_id: String,
    pub omit_connection_id: String,
}

impl Broadcast {
    /// One user's connections.
    pub fn to_user(user_id: impl Into<String>) -> Broadcast {
        Broadcast {
            user_id: user_id.into(),
            ..Broadcast::default()
        }
    }

    /// The members of one channel.
    pub fn to_channel(channel_id: impl Into<String>) -> Broadcast {
        Broadcast {
            channel_id: channel_id.into(),
            ..Broadcast::default()
        }
    }

    /// The members of one team.
    pub fn to_team(team_id: impl Into<String>) -> Broadcast {
        Broadcast {
            team_id: team_id.into(),
            ..Broadcast::default()
        }
    }
}

/// `{"event","data","broadcast","seq"}`; `seq` is set per connection when delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct WebSocketEvent {
    pub event: String,
    pub data: serde_json::Map<String, serde_json::Value>,
    pub broadcast: Broadcast,
    pub seq: i64,
}

/// A client request such as `authentication_challenge`, `ping` or `user_typing`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct WebSocketRequest {
    pub seq: i64,
    pub action: String,
    pub data: serde_json::Map<String, serde_json::Value>,
}

/// `{"status":"OK","seq_reply":N}` and its failing twin with an `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct WebSocketResponse {
    pub status: String,
    pub seq_reply: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::ApiError>,
}

/// Event names the server emits.
pub mod events {
    pub const HELLO: &str = "hello";
    pub const POSTED: &str = "posted";
    pub const POST_UNREAD: &str = "post_unread";
    pub const POST_EDITED: &str = "post_edited";
    pub const POST_DELETED: &str = "post_deleted";
    pub const REACTION_ADDED: &str = "reaction_added";
    pub const STATUS_CHANGE: &str = "status_change";
    pub const PREFERENCES_CHANGED: &str = "preferences_changed";
    pub const PREFERENCES_DELETED: &str = "preferences_deleted";
    pub const REACTION_REMOVED: &str = "reaction_removed";
    pub const EPHEMERAL_MESSAGE: &str = "ephemeral_message";
    pub const OPEN_DIALOG: &str = "open_dialog";
    pub const USER_UPDATED: &str = "user_updated";
    pub const CHANNEL_CREATED: &str = "channel_created";
    pub const CHANNEL_UPDATED: &str = "channel_updated";
    pub const CHANNEL_MEMBER_UPDATED: &str = "channel_member_updated";
    pub const DIRECT_ADDED: &str = "direct_added";
    pub const USER_ADDED: &str = "user_added";
    pub const USER_REMOVED: &str = "user_removed";
    pub const ADDED_TO_TEAM: &str = "added_to_team";
    pub const LEAVE_TEAM: &str = "leave_team";
    pub const TYPING: &str = "typing";
    pub const CHANNEL_VIEWED: &str = "channel_viewed";
    pub const MULTIPLE_CHANNELS_VIEWED: &str = "multiple_channels_viewed";
    pub const PLUGIN_ENABLED: &str = "plugin_enabled";
    pub const PLUGIN_DISABLED: &str = "plugin_disabled";
}
