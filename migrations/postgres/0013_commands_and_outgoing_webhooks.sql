-- Custom slash commands: a team's trigger that the server runs by calling a URL.
CREATE TABLE commands (
    id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    create_at BIGINT NOT NULL,
    update_at BIGINT NOT NULL,
    delete_at BIGINT NOT NULL DEFAULT 0,
    creator_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    trigger TEXT NOT NULL,
    method TEXT NOT NULL,
    username TEXT NOT NULL DEFAULT '',
    icon_url TEXT NOT NULL DEFAULT '',
    auto_complete BOOLEAN NOT NULL DEFAULT FALSE,
    auto_complete_desc TEXT NOT NULL DEFAULT '',
    auto_complete_hint TEXT NOT NULL DEFAULT '',
    display_name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL
);
-- One live command per trigger and team, whichever node creates it.
CREATE UNIQUE INDEX commands_team_trigger ON commands (team_id, trigger) WHERE delete_at = 0;

-- Outgoing webhooks: posts in a channel, or starting with a trigger word, are sent to
-- callback URLs. Lists are JSON arrays of strings.
CREATE TABLE outgoing_webhooks (
    id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    create_at BIGINT NOT NULL,
    update_at BIGINT NOT NULL,
    delete_at BIGINT NOT NULL DEFAULT 0,
    creator_id TEXT NOT NULL,
    channel_id TEXT NOT NULL DEFAULT '',
    team_id TEXT NOT NULL,
    trigger_words TEXT NOT NULL DEFAULT '[]',
    trigger_when INTEGER NOT NULL DEFAULT 0,
    callback_urls TEXT NOT NULL DEFAULT '[]',
    display_name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL DEFAULT '',
    username TEXT NOT NULL DEFAULT '',
    icon_url TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outgoing_webhooks_team ON outgoing_webhooks (team_id) WHERE delete_at = 0;
