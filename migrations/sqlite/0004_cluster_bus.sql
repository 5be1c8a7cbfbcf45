-- See the PostgreSQL migration of the same name. A SQLite server is never clustered,
-- but it keeps uploaded bundles and statuses the same way so that one code path
-- serves both backends.
CREATE TABLE plugin_bundles (
    plugin_id TEXT PRIMARY KEY,
    upload_id TEXT NOT NULL,
    version TEXT NOT NULL,
    bundle BLOB NOT NULL,
    uploaded_at BIGINT NOT NULL
);

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

CREATE TABLE cluster_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    payload TEXT NOT NULL,
    create_at BIGINT NOT NULL
);
