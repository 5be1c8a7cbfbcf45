-- Incoming webhooks: each posts into its channel as the user who made it.
CREATE TABLE incoming_webhooks (
    id TEXT PRIMARY KEY,
    create_at BIGINT NOT NULL,
    update_at BIGINT NOT NULL,
    delete_at BIGINT NOT NULL DEFAULT 0,
    user_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    username TEXT NOT NULL DEFAULT '',
    icon_url TEXT NOT NULL DEFAULT '',
    channel_locked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX incoming_webhooks_team ON incoming_webhooks (team_id) WHERE delete_at = 0;
