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
