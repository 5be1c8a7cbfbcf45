//! Channels (open, private, direct) and channel membership.

use serde::{Deserialize, Serialize};

pub const CHANNEL_OPEN: &str = "O";
pub const CHANNEL_PRIVATE: &str = "P";
pub const CHANNEL_DIRECT: &str = "D";
pub const ROLE_CHANNEL_USER: &str = "channel_user";
pub const ROLE_CHANNEL_ADMIN: &str = "channel_admin";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Channel {
    pub id: String,
    pub create_at: i64,
    pub update_at: i64,
    pub delete_at: i64,
    pub team_id: String,
    #[serde(rename = "type")]
    pub channel_type: String,
    pub display_name: String,
    pub name: String,
    pub header: String,
    pub purpose: String,
    pub last_post_at: i64,
    pub total_msg_count: i64,
    pub total_msg_count_root: i64,
    pub creator_id: String,
}

impl Channel {
    /// The name Mattermost gives a direct channel: both user ids, sorted, joined by `__`.
    pub fn direct_name(user_a: &str, user_b: &str) -> String {
        if user_a <= user_b {
            format!("{user_a}__{user_b}")
        } else {
            format!("{user_b}__{user_a}")
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ChannelMember {
    pub channel_id: String,
    pub user_id: String,
    pub roles: String,
    pub last_viewed_at: i64,
    pub msg_count: i64,
    pub mention_count: i64,
    /// Mentions in root posts only (what collapsed-threads clients badge).
    pub mention_count_root: i64,
    /// Mentions in urgent posts; Chorus has no message priorities, so always 0.
    pub urgent_mention_count: i64,
    /// Root posts counted as seen.
    pub msg_count_root: i64,
    pub notify_props: serde_json::Map<String, serde_json::Value>,
    pub last_update_at: i64,
}

/// A member's unread state of one channel (`GET /users/{id}/channels/{id}/unread`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ChannelUnread {
    pub team_id: String,
    pub channel_id: String,
    pub msg_count: i64,
    pub mention_count: i64,
    pub mention_count_root: i64,
    pub urgent_mention_count: i64,
    pub msg_count_root: i64,
    pub notify_props: serde_json::Map<String, serde_json::Value>,
}

/// A member's unread state after `POST /users/{id}/posts/{post_id}/set_unread`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ChannelUnreadAt {
    pub team_id: String,
    pub channel_id: String,
    pub msg_count: i64,
    pub mention_count: i64,
    pub mention_count_root: i64,
    pub urgent_mention_count: i64,
    pub msg_count_root: i64,
    pub last_viewed_at: i64,
}

/// A channel's counts (`GET /channels/{id}/stats`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ChannelStats {
    pub channel_id: String,
    pub member_count: i64,
    pub guest_count: i64,
    pub pinnedpost_count: i64,
    pub files_count: i64,
}

/// One category of a user's channel sidebar in a team, with its channels in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SidebarCategory {
    pub id: String,
    pub user_id: String,
    pub team_id: String,
    pub sort_order: i64,
    pub sorting: String,
    #[serde(rename = "type")]
    pub category_type: String,
    pub display_name: String,
    pub muted: bool,
    pub collapsed: bool,
    pub channel_ids: Vec<String>,
}

/// `GET /users/{id}/teams/{team_id}/channels/categories`: the categories and their order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct OrderedSidebarCategories {
    pub categories: Vec<SidebarCategory>,
    pub order: Vec<String>,
}
