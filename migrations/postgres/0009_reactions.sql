-- Emoji reactions, one per user, post and emoji; posts say whether they have any.
CREATE TABLE reactions (
    post_id TEXT NOT NULL REFERENCES posts(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    emoji_name TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    create_at BIGINT NOT NULL,
    PRIMARY KEY (post_id, user_id, emoji_name)
);
ALTER TABLE posts ADD COLUMN has_reactions BOOLEAN NOT NULL DEFAULT FALSE;
