-- Users' preferences: what Mattermost's clients keep on the server per user.
CREATE TABLE preferences (
    user_id TEXT NOT NULL REFERENCES users(id),
    category TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (user_id, category, name)
);
