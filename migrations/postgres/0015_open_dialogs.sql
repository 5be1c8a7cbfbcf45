-- Interactive dialogs the server opened for a user, so that a submission can be checked
-- against one (Chorus's own rule: Mattermost forwards any submission). Shared by every
-- node, as a dialog opened through one may be submitted through another.
CREATE TABLE open_dialogs (
    user_id TEXT NOT NULL,
    url TEXT NOT NULL,
    callback_id TEXT NOT NULL,
    expire_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, url, callback_id)
);
CREATE INDEX open_dialogs_expire_at ON open_dialogs (expire_at);
