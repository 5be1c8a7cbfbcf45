-- Users' props (Mattermost's User.Props: the custom status, among others), as jsonb.
ALTER TABLE users ADD COLUMN props jsonb NOT NULL DEFAULT '{}'::jsonb;
