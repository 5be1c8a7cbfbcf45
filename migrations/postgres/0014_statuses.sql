-- Each user's status, shared by every node.
CREATE TABLE user_statuses (
    user_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    manual BOOLEAN NOT NULL DEFAULT FALSE,
    last_activity_at BIGINT NOT NULL DEFAULT 0,
    -- Seconds, as Mattermost's; 0: none.
    dnd_end_time BIGINT NOT NULL DEFAULT 0,
    prev_status TEXT NOT NULL DEFAULT ''
);

-- Which nodes hold a live websocket of which user; a user with no row on a live node
-- is offline. Rows of a node that stopped heartbeating are swept by the others.
CREATE TABLE user_presence (
    node_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (node_id, user_id)
);
CREATE INDEX user_presence_user ON user_presence (user_id);
