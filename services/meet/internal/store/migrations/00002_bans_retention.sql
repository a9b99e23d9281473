-- +goose Up
-- Who a moderator removed from a meeting: a user id, or a guest's
-- "guest-…" id (derived from the key the guest's browser keeps). They
-- cannot come back for the meeting's lifetime.
CREATE TABLE meet_bans (
    room_id    TEXT NOT NULL REFERENCES meet_rooms (id) ON DELETE CASCADE,
    subject    TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, subject)
);

-- The last time someone left the meeting (or its creation): an instant
-- meeting unused for the retention period is purged.
ALTER TABLE meet_rooms ADD COLUMN last_used_at BIGINT;
UPDATE meet_rooms SET last_used_at = updated_at;

-- +goose Down
ALTER TABLE meet_rooms DROP COLUMN last_used_at;
DROP TABLE meet_bans;
