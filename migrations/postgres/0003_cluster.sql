-- The nodes of a deployment: each records itself at start and heartbeats; a node whose
-- heartbeat is stale is considered gone.
CREATE TABLE cluster_nodes (
    node_id TEXT PRIMARY KEY,
    cluster_name TEXT NOT NULL,
    hostname TEXT NOT NULL,
    version TEXT NOT NULL,
    address TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    last_heartbeat_at BIGINT NOT NULL
);
