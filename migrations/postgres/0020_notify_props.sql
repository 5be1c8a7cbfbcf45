-- Notification settings, as Mattermost keeps them: a user's (mention keys, channel-wide
-- mentions, email, desktop, push) and a channel member's (mark_unread "mention" mutes the
-- channel, ignore_channel_mentions, email, desktop, push). Only the keys set are stored;
-- reads fill in Mattermost's defaults.
ALTER TABLE users ADD COLUMN notify_props jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE channel_members ADD COLUMN notify_props jsonb NOT NULL DEFAULT '{}'::jsonb;
