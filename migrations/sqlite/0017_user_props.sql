-- Users' props (Mattermost's User.Props: the custom status, among others), as JSON text.
ALTER TABLE users ADD COLUMN props TEXT NOT NULL DEFAULT '{}';
