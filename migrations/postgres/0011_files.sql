-- Uploaded files: one row per file (its blobs live in FileSettings' driver), attached to
-- at most one post; posts list their files' ids.
CREATE TABLE file_infos (
    id TEXT PRIMARY KEY,
    creator_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    post_id TEXT NOT NULL DEFAULT '',
    create_at BIGINT NOT NULL,
    update_at BIGINT NOT NULL,
    delete_at BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    extension TEXT NOT NULL,
    size BIGINT NOT NULL,
    mime_type TEXT NOT NULL,
    width INTEGER NOT NULL DEFAULT 0,
    height INTEGER NOT NULL DEFAULT 0,
    has_preview_image BOOLEAN NOT NULL DEFAULT FALSE,
    mini_preview BYTEA,
    path TEXT NOT NULL,
    thumbnail_path TEXT NOT NULL DEFAULT '',
    preview_path TEXT NOT NULL DEFAULT ''
);
CREATE INDEX file_infos_post ON file_infos (post_id) WHERE post_id <> '';
ALTER TABLE posts ADD COLUMN file_ids jsonb NOT NULL DEFAULT '[]'::jsonb;

-- The `database` file driver: each blob in chunks of at most 1 MiB.
CREATE TABLE file_chunks (
    path TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (path, seq)
);
-- Blobs being written and not yet owned by a file info: a node that dies mid-upload
-- leaves its chunks listed here, and a sweep removes them.
CREATE TABLE file_blobs_pending (
    path TEXT PRIMARY KEY,
    create_at BIGINT NOT NULL
);

-- Server-wide values every node must agree on (the public-link salt when
-- FileSettings.PublicLinkSalt is empty), written once by whichever node needs them first.
CREATE TABLE systems (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
