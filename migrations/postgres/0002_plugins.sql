-- Plugins: the key-value store shared by every copy of a plugin, the enabled state
-- and the settings of each plugin (shared configuration lives in the database so
-- that every node of a cluster sees one truth).
CREATE TABLE plugin_kv (
    plugin_id TEXT NOT NULL,
    pkey TEXT NOT NULL,
    pvalue BYTEA NOT NULL,
    -- Milliseconds since the epoch; 0 means never.
    expire_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (plugin_id, pkey)
);
CREATE INDEX plugin_kv_expiry ON plugin_kv(expire_at) WHERE expire_at > 0;

CREATE TABLE plugin_states (
    plugin_id TEXT PRIMARY KEY,
    enabled BOOLEAN NOT NULL,
    update_at BIGINT NOT NULL
);

CREATE TABLE plugin_configs (
    plugin_id TEXT PRIMARY KEY,
    config_json TEXT NOT NULL,
    update_at BIGINT NOT NULL
);
