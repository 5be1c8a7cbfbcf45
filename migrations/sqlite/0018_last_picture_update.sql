-- When a user last set (positive) or reset (negative) their profile image, as
-- Mattermost's User.LastPictureUpdate; 0 is a user who never had one.
ALTER TABLE users ADD COLUMN last_picture_update BIGINT NOT NULL DEFAULT 0;
