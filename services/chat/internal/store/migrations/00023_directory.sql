-- +goose Up

-- Room aliases of this server (#name:server_name → room).
CREATE TABLE chat_room_aliases (
    alias      TEXT PRIMARY KEY,
    room_id    TEXT NOT NULL,
    creator    TEXT NOT NULL,
    created_ts BIGINT NOT NULL
);
CREATE INDEX chat_room_aliases_room ON chat_room_aliases (room_id);

-- Rooms published in the public room directory.
CREATE TABLE chat_public_rooms (
    room_id TEXT PRIMARY KEY
);

-- +goose Down
DROP TABLE chat_public_rooms;
DROP TABLE chat_room_aliases;
