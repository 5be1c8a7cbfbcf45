-- Mentions and root posts counted per member, as Mattermost's ChannelMember has them:
-- mention_count_root counts mentions in root posts only, msg_count_root the root posts
-- seen; channels count their root posts beside all posts.
ALTER TABLE channels ADD COLUMN total_msg_count_root BIGINT NOT NULL DEFAULT 0;
ALTER TABLE channel_members ADD COLUMN mention_count_root BIGINT NOT NULL DEFAULT 0;
ALTER TABLE channel_members ADD COLUMN msg_count_root BIGINT NOT NULL DEFAULT 0;
UPDATE channels SET total_msg_count_root =
    (SELECT COUNT(*) FROM posts p WHERE p.channel_id = channels.id AND p.root_id = '');
UPDATE channel_members SET msg_count_root =
    (SELECT COUNT(*) FROM posts p WHERE p.channel_id = channel_members.channel_id
       AND p.root_id = '' AND p.create_at <= channel_members.last_viewed_at);
