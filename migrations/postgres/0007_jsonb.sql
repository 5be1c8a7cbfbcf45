-- JSON columns become jsonb: PostgreSQL checks them on write and the native driver
-- reads them as JSON, not as text to parse.
ALTER TABLE posts ALTER COLUMN props DROP DEFAULT;
ALTER TABLE posts ALTER COLUMN props TYPE jsonb USING props::jsonb;
ALTER TABLE posts ALTER COLUMN props SET DEFAULT '{}'::jsonb;
ALTER TABLE plugin_configs ALTER COLUMN config_json TYPE jsonb USING config_json::jsonb;
