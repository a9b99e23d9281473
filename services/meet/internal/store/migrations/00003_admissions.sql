-- +goose Up
-- Who was let into a meeting in progress (admitted from the lobby,
-- promoted to speaker, a raised hand): a user id, or a guest's "guest-…"
-- id. The same person rejoining the same meeting — after the resume
-- grace, or on another node once the room's node stopped — enters
-- directly with that role. Cleared when the meeting ends (end, cancel,
-- everyone gone), when the person is removed, and purged with the room.
CREATE TABLE meet_admissions (
    room_id    TEXT NOT NULL REFERENCES meet_rooms (id) ON DELETE CASCADE,
    subject    TEXT NOT NULL,
    role       TEXT NOT NULL,
    hand       INTEGER NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, subject)
);

-- +goose Down
DROP TABLE meet_admissions;
