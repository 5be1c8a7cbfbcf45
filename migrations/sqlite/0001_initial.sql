-- SQLite has no BOOLEAN the Any driver can decode: flags are INTEGER 0/1 here.
-- Users, sessions, teams, channels, memberships and posts: the chat core.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    create_at BIGINT NOT NULL,
    update_at BIGINT NOT NULL,
    delete_at BIGINT NOT NULL DEFAULT 0,
    username TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    nickname TEXT NOT NULL DEFAULT '',
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    position TEXT NOT NULL DEFAULT '',
    roles TEXT NOT NULL,
    locale TEXT NOT NULL DEFAULT 'en',
    is_bot INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    token TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users(id),
    create_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    csrf_token TEXT NOT NULL,
    device_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    create_at BIGINT NOT NULL,
    update_at BIGINT NOT NULL,
    delete_at BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL,
    allow_open_invite INTEGER NOT NULL DEFAULT 0,
    invite_id TEXT NOT NULL
);

CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    roles TEXT NOT NULL,
    delete_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members(user_id);

CREATE TABLE channels (
    id TEXT PRIMARY KEY,
    create_at BIGINT NOT NULL,
    update_at BIGINT NOT NULL,
    delete_at BIGINT NOT NULL DEFAULT 0,
    team_id TEXT NOT NULL,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    header TEXT NOT NULL DEFAULT '',
    purpose TEXT NOT NULL DEFAULT '',
    creator_id TEXT NOT NULL,
    last_post_at BIGINT NOT NULL DEFAULT 0,
    total_msg_count BIGINT NOT NULL DEFAULT 0,
    UNIQUE (team_id, name)
);

CREATE TABLE channel_members (
    channel_id TEXT NOT NULL REFERENCES channels(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    roles TEXT NOT NULL,
    last_viewed_at BIGINT NOT NULL DEFAULT 0,
    msg_count BIGINT NOT NULL DEFAULT 0,
    mention_count BIGINT NOT NULL DEFAULT 0,
    last_update_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX channel_members_user ON channel_members(user_id);

CREATE TABLE posts (
    id TEXT PRIMARY KEY,
    create_at BIGINT NOT NULL,
    update_at BIGINT NOT NULL,
    edit_at BIGINT NOT NULL DEFAULT 0,
    delete_at BIGINT NOT NULL DEFAULT 0,
    is_pinned INTEGER NOT NULL DEFAULT 0,
    user_id TEXT NOT NULL,
    channel_id TEXT NOT NULL REFERENCES channels(id),
    root_id TEXT NOT NULL DEFAULT '',
    original_id TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL,
    type TEXT NOT NULL DEFAULT '',
    props TEXT NOT NULL DEFAULT '{}',
    hashtags TEXT NOT NULL DEFAULT '',
    pending_post_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX posts_channel_create ON posts(channel_id, create_at, id);
CREATE INDEX posts_channel_update ON posts(channel_id, update_at);
CREATE INDEX posts_root ON posts(root_id);
