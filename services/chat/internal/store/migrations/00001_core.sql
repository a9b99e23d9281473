-- +goose Up

-- One row: the last stream position handed out. Writers take its row lock
-- for the length of their transaction, so positions become visible in
-- order and a sync never skips a position that commits late.
CREATE TABLE chat_stream (
    id  INTEGER PRIMARY KEY,
    pos BIGINT NOT NULL
);
INSERT INTO chat_stream (id, pos) VALUES (1, 0);

CREATE TABLE chat_users (
    user_id      TEXT PRIMARY KEY,
    bureau_id    TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    created_ts   BIGINT NOT NULL
);

CREATE TABLE chat_devices (
    user_id      TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    display_name TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_ts   BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id)
);

CREATE TABLE chat_login_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    expires_ts BIGINT NOT NULL
);

CREATE TABLE chat_rooms (
    room_id      TEXT PRIMARY KEY,
    room_version TEXT NOT NULL,
    -- Forward extremity and its depth: the prev_event of the next local
    -- event. Updated conditionally (optimistic concurrency), so replicas
    -- sharing PostgreSQL cannot fork a room by accident.
    last_event_id TEXT NOT NULL,
    depth         BIGINT NOT NULL
);

-- Every event, in stream order. For local rooms the stream order is the
-- topological order; federation will add a topological column.
CREATE TABLE chat_events (
    stream_pos BIGINT PRIMARY KEY,
    event_id   TEXT NOT NULL UNIQUE,
    room_id    TEXT NOT NULL,
    type       TEXT NOT NULL,
    state_key  TEXT,
    sender     TEXT NOT NULL,
    -- The sending device and its transaction id, for the sender's
    -- unsigned.transaction_id (clients match their local echo with it).
    device_id  TEXT,
    txn_id     TEXT,
    json       TEXT NOT NULL
);
CREATE INDEX chat_events_room ON chat_events (room_id, stream_pos);

-- Current state of each room.
CREATE TABLE chat_room_state (
    room_id    TEXT NOT NULL,
    type       TEXT NOT NULL,
    state_key  TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    stream_pos BIGINT NOT NULL,
    PRIMARY KEY (room_id, type, state_key)
);
CREATE INDEX chat_room_state_pos ON chat_room_state (room_id, stream_pos);

-- Current membership of each (room, user): the m.room.member rows of the
-- current state, indexed by user for /sync and joined_rooms.
CREATE TABLE chat_memberships (
    room_id    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    membership TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    stream_pos BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX chat_memberships_user ON chat_memberships (user_id, membership);

-- Transaction ids, idempotent per device.
CREATE TABLE chat_txns (
    user_id   TEXT NOT NULL,
    device_id TEXT NOT NULL,
    txn_id    TEXT NOT NULL,
    event_id  TEXT NOT NULL,
    PRIMARY KEY (user_id, device_id, txn_id)
);

CREATE TABLE chat_filters (
    user_id   TEXT NOT NULL,
    filter_id BIGINT NOT NULL,
    json      TEXT NOT NULL,
    PRIMARY KEY (user_id, filter_id)
);

-- +goose Down
DROP TABLE chat_filters;
DROP TABLE chat_txns;
DROP TABLE chat_memberships;
DROP TABLE chat_room_state;
DROP TABLE chat_events;
DROP TABLE chat_rooms;
DROP TABLE chat_login_tokens;
DROP TABLE chat_devices;
DROP TABLE chat_users;
DROP TABLE chat_stream;
