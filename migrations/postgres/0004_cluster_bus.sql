-- Plugin bundles uploaded through the API, kept so that every node (including one that
-- joins later) installs the same bytes. `upload_id` changes with each upload; a node
-- records the upload it installed beside the plugin and reinstalls when they differ.
CREATE TABLE plugin_bundles (
    plugin_id TEXT PRIMARY KEY,
    upload_id TEXT NOT NULL,
    version TEXT NOT NULL,
    bundle BYTEA NOT NULL,
    uploaded_at BIGINT NOT NULL
);

-- Each node's view of each plugin it has installed, so that the cluster-wide picture
-- (version skew, a plugin failing on one node only) is one query away.
CREATE TABLE plugin_statuses (
    node_id TEXT NOT NULL,
    plugin_id TEXT NOT NULL,
    plugin_path TEXT NOT NULL,
    state INTEGER NOT NULL,
    error TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    version TEXT NOT NULL,
    update_at BIGINT NOT NULL,
    PRIMARY KEY (node_id, plugin_id)
);

-- Cluster messages too large for a NOTIFY payload: the notification carries the row id.
CREATE TABLE cluster_messages (
    id BIGSERIAL PRIMARY KEY,
    payload TEXT NOT NULL,
    create_at BIGINT NOT NULL
);
