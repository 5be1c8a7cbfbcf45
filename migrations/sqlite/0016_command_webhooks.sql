-- The response_url of one run of a custom command: its integration may answer later,
-- a few times, for a while (Mattermost's CommandWebhooks). Shared by every node.
CREATE TABLE command_webhooks (
    id TEXT PRIMARY KEY,
    command_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    root_id TEXT NOT NULL DEFAULT '',
    create_at BIGINT NOT NULL,
    use_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX command_webhooks_create_at ON command_webhooks (create_at);
