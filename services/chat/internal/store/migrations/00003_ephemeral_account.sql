-- +goose Up

-- Account data, global (room_id = '') and per room, on the common stream.
CREATE TABLE chat_account_data (
    user_id    TEXT NOT NULL,
    room_id    TEXT NOT NULL,
    type       TEXT NOT NULL,
    content    TEXT NOT NULL,
    stream_pos BIGINT NOT NULL,
    PRIMARY KEY (user_id, room_id, type)
);
CREATE INDEX chat_account_data_pos ON chat_account_data (user_id, stream_pos);

-- Read receipts: the latest of each (room, user, type, thread).
CREATE TABLE chat_receipts (
    room_id      TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    receipt_type TEXT NOT NULL,
    thread_id    TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    ts           BIGINT NOT NULL,
    stream_pos   BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id, receipt_type, thread_id)
);
CREATE INDEX chat_receipts_pos ON chat_receipts (room_id, stream_pos);

-- Profile and directory: the avatar, and the ministry and external flag
-- of the agent's last login (user directory scope).
ALTER TABLE chat_users ADD COLUMN avatar_url TEXT NOT NULL DEFAULT '';
ALTER TABLE chat_users ADD COLUMN ministry TEXT NOT NULL DEFAULT '';
ALTER TABLE chat_users ADD COLUMN external BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE chat_users DROP COLUMN external;
ALTER TABLE chat_users DROP COLUMN ministry;
ALTER TABLE chat_users DROP COLUMN avatar_url;
DROP TABLE chat_receipts;
DROP TABLE chat_account_data;
