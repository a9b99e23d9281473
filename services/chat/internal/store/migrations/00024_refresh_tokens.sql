-- +goose Up

-- Refresh tokens (hashed). An access token from a refreshable login
-- expires (expires_ts, ms; 0 = never). After a refresh, the previous
-- refresh token stays valid until the new access token is first used, so
-- a client that lost the answer can retry.
ALTER TABLE chat_devices ADD COLUMN expires_ts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE chat_devices ADD COLUMN refresh_hash TEXT;
ALTER TABLE chat_devices ADD COLUMN old_refresh_hash TEXT;
CREATE UNIQUE INDEX chat_devices_refresh ON chat_devices (refresh_hash);
CREATE INDEX chat_devices_old_refresh ON chat_devices (old_refresh_hash);

-- +goose Down
DROP INDEX chat_devices_old_refresh;
DROP INDEX chat_devices_refresh;
ALTER TABLE chat_devices DROP COLUMN old_refresh_hash;
ALTER TABLE chat_devices DROP COLUMN refresh_hash;
ALTER TABLE chat_devices DROP COLUMN expires_ts;
