-- +goose Up

-- Presence of each user who ever had one (absent: offline). state is what
-- the user or their syncs set; idle and offline-after-silence are derived
-- at read time from last_active_ts and last_sync_ts (ms), so no timer runs
-- per user. stream_pos moves only on a stored change, so an incremental
-- sync finds changes by position without scanning.
CREATE TABLE chat_presence (
    user_id        TEXT PRIMARY KEY,
    state          TEXT NOT NULL,
    status_msg     TEXT NOT NULL DEFAULT '',
    last_active_ts BIGINT NOT NULL,
    last_sync_ts   BIGINT NOT NULL,
    stream_pos     BIGINT NOT NULL
);
CREATE INDEX chat_presence_pos ON chat_presence (stream_pos);

-- +goose Down
DROP TABLE chat_presence;
