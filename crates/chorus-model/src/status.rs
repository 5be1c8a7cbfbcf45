//! A user's status (presence), as Mattermost's `model.Status`.

use serde::{Deserialize, Serialize};

pub const STATUS_ONLINE: &str = "online";
pub const STATUS_AWAY: &str = "away";
pub const STATUS_OFFLINE: &str = "offline";
pub const STATUS_DND: &str = "dnd";

/// Whether someone is around: `online` while any of their sockets is open on any
/// node, `away` when idle, `offline` when none is; `manual` statuses (set by the user,
/// `dnd` always) are kept until they change them or `dnd_end_time` passes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Status {
    pub user_id: String,
    pub status: String,
    pub manual: bool,
    /// Milliseconds.
    pub last_activity_at: i64,
    /// Seconds since the epoch (Mattermost's unit here); 0: until changed.
    pub dnd_end_time: i64,
    /// What a timed `dnd` returns to.
    #[serde(skip)]
    pub prev_status: String,
}

impl Status {
    /// What is reported for someone never seen.
    pub fn offline(user_id: &str) -> Status {
        Status {
            user_id: user_id.into(),
            status: STATUS_OFFLINE.into(),
            ..Status::default()
        }
    }
}

/// The user prop holding the custom status, as JSON text (`""` when cleared).
pub const USER_PROP_CUSTOM_STATUS: &str = "customStatus";
/// The preference (category and name) holding a user's recent custom statuses.
pub const PREFERENCE_CATEGORY_CUSTOM_STATUS: &str = "custom_status";
pub const PREFERENCE_NAME_RECENT_CUSTOM_STATUSES: &str = "recent_custom_statuses";
/// The custom-status durations Mattermost's clients offer; all but none need an
/// `expires_at`.
pub const CUSTOM_STATUS_DURATIONS: [&str; 6] = [
    "thirty_minutes",
    "one_hour",
    "four_hours",
    "today",
    "this_week",
    "date_and_time",
];

/// A custom status, in Mattermost's shape: an emoji and a text, maybe until a time
/// (`expires_at`, RFC 3339; Go's zero time `0001-01-01T00:00:00Z` or empty: never).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct CustomStatus {
    pub emoji: String,
    pub text: String,
    pub duration: String,
    pub expires_at: String,
}
