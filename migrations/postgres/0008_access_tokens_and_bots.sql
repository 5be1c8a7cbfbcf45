-- Personal access tokens: only the SHA-256 of each token is kept.
CREATE TABLE user_access_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users(id),
    description TEXT NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    create_at BIGINT NOT NULL
);
CREATE INDEX user_access_tokens_user ON user_access_tokens(user_id);

-- Bot accounts: the user row (is_bot) and what only bots have. A bot's display name
-- is its user's first name, as in Mattermost.
CREATE TABLE bots (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    description TEXT NOT NULL DEFAULT '',
    owner_id TEXT NOT NULL,
    create_at BIGINT NOT NULL,
    update_at BIGINT NOT NULL,
    delete_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX bots_owner ON bots(owner_id);

-- Bots made by plugins before this table existed kept their display name in
-- nickname and their description in position.
INSERT INTO bots (user_id, description, owner_id, create_at, update_at, delete_at)
    SELECT id, position, '', create_at, update_at, delete_at FROM users WHERE is_bot;
UPDATE users SET first_name = nickname, nickname = '', position = '' WHERE is_bot;
