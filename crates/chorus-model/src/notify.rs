//! Notification settings (`notify_props`) of users and channel members: Mattermost's
//! keys and defaults. Only the keys someone set are stored; [`with_defaults`] fills in
//! the rest wherever they are read.

/// A user's settings that nobody changed (Mattermost's `SetDefaultNotifications`).
pub const USER_NOTIFY_DEFAULTS: &[(&str, &str)] = &[
    ("email", "true"),
    ("push", "mention"),
    ("desktop", "mention"),
    ("desktop_sound", "true"),
    ("mention_keys", ""),
    ("channel", "true"),
    ("push_status", "away"),
    ("comments", "never"),
    ("first_name", "false"),
    ("desktop_threads", "all"),
    ("email_threads", "all"),
    ("push_threads", "all"),
];

/// A channel member's settings that nobody changed (`GetDefaultChannelNotifyProps`).
pub const CHANNEL_NOTIFY_DEFAULTS: &[(&str, &str)] = &[
    ("desktop", "default"),
    ("mark_unread", "all"),
    ("push", "default"),
    ("email", "default"),
    ("ignore_channel_mentions", "default"),
    ("channel_auto_follow_threads", "off"),
];

/// The keys a channel member's settings take; others are dropped, as in Mattermost.
pub const CHANNEL_NOTIFY_KEYS: &[&str] = &[
    "mark_unread",
    "desktop",
    "desktop_sound",
    "desktop_notification_sound",
    "desktop_threads",
    "email",
    "push",
    "push_threads",
    "ignore_channel_mentions",
    "channel_auto_follow_threads",
];

/// `mark_unread` of a muted channel: only mentions make it unread.
pub const MARK_UNREAD_MENTION: &str = "mention";

/// `stored` with every default it lacks.
pub fn with_defaults(
    mut stored: serde_json::Map<String, serde_json::Value>,
    defaults: &[(&str, &str)],
) -> serde_json::Map<String, serde_json::Value> {
    for (key, value) in defaults {
        stored
            .entry(*key)
            .or_insert_with(|| serde_json::Value::String((*value).into()));
    }
    stored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_only_what_is_missing() {
        let mut stored = serde_json::Map::new();
        stored.insert("mark_unread".into(), "mention".into());
        let full = with_defaults(stored, CHANNEL_NOTIFY_DEFAULTS);
        assert_eq!(full["mark_unread"], "mention");
        assert_eq!(full["desktop"], "default");
        assert_eq!(full.len(), CHANNEL_NOTIFY_DEFAULTS.len());
    }
}
