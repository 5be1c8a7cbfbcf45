-- Full-text search of posts: an FTS5 index over the posts' messages, kept by triggers
-- (an external-content table: the text stays only in posts). Rows are matched by
-- posts' rowid, which only VACUUM renumbers; Chorus never runs it (see
-- docs/api.md on rebuilding the index after one).
CREATE VIRTUAL TABLE posts_fts USING fts5(
    message,
    content = 'posts',
    content_rowid = 'rowid',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO posts_fts (rowid, message) SELECT rowid, message FROM posts;
CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts (rowid, message) VALUES (new.rowid, new.message);
END;
CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, message) VALUES ('delete', old.rowid, old.message);
END;
CREATE TRIGGER posts_fts_update AFTER UPDATE OF message ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, message) VALUES ('delete', old.rowid, old.message);
    INSERT INTO posts_fts (rowid, message) VALUES (new.rowid, new.message);
END;
