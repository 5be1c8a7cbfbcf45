-- A channel's pinned posts are read newest first for its pinned list and counted for
-- its stats; few posts are pinned, so a partial index keeps this cheap.
CREATE INDEX posts_pinned ON posts (channel_id, create_at) WHERE is_pinned = TRUE AND delete_at = 0;
-- Its stats count the files of its live posts too.
CREATE INDEX file_infos_channel ON file_infos (channel_id) WHERE post_id <> '' AND delete_at = 0;
