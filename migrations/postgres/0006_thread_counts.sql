-- A thread's size and latest reply, kept on its root, so that reading a thread no longer
-- counts its replies once per row.
ALTER TABLE posts ADD COLUMN reply_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN last_reply_at BIGINT NOT NULL DEFAULT 0;
UPDATE posts SET
    reply_count = (SELECT COUNT(*) FROM posts r WHERE r.root_id = posts.id AND r.delete_at = 0),
    last_reply_at = COALESCE((SELECT MAX(r.create_at) FROM posts r WHERE r.root_id = posts.id AND r.delete_at = 0), 0)
WHERE root_id = '';
CREATE INDEX posts_root_create ON posts(root_id, create_at, id);
