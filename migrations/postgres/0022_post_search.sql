-- Full-text search of posts: Mattermost's own PostgreSQL search runs
-- to_tsvector('english', message) @@ to_tsquery('english', …); this index serves
-- exactly that expression.
CREATE INDEX posts_message_search ON posts USING gin (to_tsvector('english', message));
