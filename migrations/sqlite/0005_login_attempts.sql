-- Failed logins in a row, and when the last one happened, for ServiceSettings.MaximumLoginAttempts.
ALTER TABLE users ADD COLUMN failed_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_failed_at BIGINT NOT NULL DEFAULT 0;
