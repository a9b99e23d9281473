-- Times are Unix milliseconds (BIGINT): the same on SQLite and PostgreSQL.

-- +goose Up
CREATE TABLE meet_rooms (
    id           TEXT PRIMARY KEY,
    title        TEXT NOT NULL,
    kind         TEXT NOT NULL,   -- meeting | webinar
    access       TEXT NOT NULL,   -- ministry | invited | agents
    host_id      TEXT NOT NULL,
    host_name    TEXT NOT NULL,
    ministry     TEXT NOT NULL,
    starts_at    BIGINT,          -- NULL: an instant meeting
    ends_at      BIGINT,
    locked       INTEGER NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    cancelled_at BIGINT           -- NULL while the meeting is on
);
CREATE INDEX meet_rooms_host ON meet_rooms (host_id);

-- Who is named in a room: invitees, moderators, presenters (lower-case
-- emails). A table rather than a column so "my meetings" is one indexed
-- query.
CREATE TABLE meet_room_people (
    room_id TEXT NOT NULL REFERENCES meet_rooms (id) ON DELETE CASCADE,
    role    TEXT NOT NULL,        -- invitee | moderator | presenter
    email   TEXT NOT NULL,
    pos     INTEGER NOT NULL,     -- order given by the host
    PRIMARY KEY (room_id, role, email)
);
CREATE INDEX meet_room_people_email ON meet_room_people (email);

-- Guest links: only a SHA-256 of the token is kept, so a copy of the
-- database does not let anyone in.
CREATE TABLE meet_guest_links (
    id         TEXT PRIMARY KEY,
    room_id    TEXT NOT NULL REFERENCES meet_rooms (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    label      TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,            -- NULL: valid until revoked
    revoked_at BIGINT
);
CREATE INDEX meet_guest_links_room ON meet_guest_links (room_id);

-- +goose Down
DROP TABLE meet_guest_links;
DROP TABLE meet_room_people;
DROP TABLE meet_rooms;
