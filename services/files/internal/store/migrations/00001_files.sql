-- Times are Unix milliseconds (BIGINT): the same on SQLite and PostgreSQL.

-- +goose Up
CREATE TABLE files_spaces (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,            -- personal | team
    name       TEXT NOT NULL,
    owner_id   TEXT NOT NULL DEFAULT '', -- the agent, for a personal space
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX files_spaces_personal ON files_spaces (owner_id) WHERE kind = 'personal';

CREATE TABLE files_members (
    space_id TEXT NOT NULL REFERENCES files_spaces (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL,
    role     TEXT NOT NULL, -- owner | manager | editor | reader
    added_by TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (space_id, user_id)
);
CREATE INDEX files_members_user ON files_members (user_id);

CREATE TABLE files_nodes (
    id          TEXT PRIMARY KEY,
    space_id    TEXT NOT NULL REFERENCES files_spaces (id) ON DELETE CASCADE,
    parent_id   TEXT NOT NULL,            -- '' at the root of the space
    kind        TEXT NOT NULL,            -- folder | file
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,            -- names.Key(name)
    version_id  TEXT NOT NULL DEFAULT '', -- current version of a file
    size        BIGINT NOT NULL DEFAULT 0,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    trashed_at  BIGINT,                   -- NULL while not in the trash
    trashed_by  TEXT NOT NULL DEFAULT ''
);
-- One live name per folder, case-insensitively; trashed items keep theirs.
CREATE UNIQUE INDEX files_nodes_name ON files_nodes (space_id, parent_id, name_key) WHERE trashed_at IS NULL;
CREATE INDEX files_nodes_trash ON files_nodes (space_id, trashed_at) WHERE trashed_at IS NOT NULL;

CREATE TABLE files_versions (
    id             TEXT PRIMARY KEY,
    node_id        TEXT NOT NULL REFERENCES files_nodes (id) ON DELETE CASCADE,
    blob_key       TEXT NOT NULL,
    size           BIGINT NOT NULL,
    content_type   TEXT NOT NULL,
    uploaded_by    TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    scan_state     TEXT NOT NULL, -- pending | clean | infected | unscannable | skipped
    scan_signature TEXT NOT NULL DEFAULT '',
    scanned_at     BIGINT
);
CREATE INDEX files_versions_node ON files_versions (node_id, created_at);
CREATE INDEX files_versions_pending ON files_versions (created_at) WHERE scan_state = 'pending';

-- Resumable (tus) uploads in progress. The bytes received are the parts
-- already in the multipart upload plus a tail object of fewer than
-- part-size bytes, so that nothing received is lost when a connection drops.
CREATE TABLE files_uploads (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    space_id     TEXT NOT NULL REFERENCES files_spaces (id) ON DELETE CASCADE,
    parent_id    TEXT NOT NULL,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    length       BIGINT NOT NULL,
    blob_key     TEXT NOT NULL,
    multipart_id TEXT NOT NULL,
    parts_size   BIGINT NOT NULL DEFAULT 0,
    tail_size    BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX files_uploads_updated ON files_uploads (updated_at);

CREATE TABLE files_upload_parts (
    upload_id TEXT NOT NULL REFERENCES files_uploads (id) ON DELETE CASCADE,
    number    INTEGER NOT NULL,
    etag      TEXT NOT NULL,
    size      BIGINT NOT NULL,
    PRIMARY KEY (upload_id, number)
);

-- +goose Down
DROP TABLE files_upload_parts;
DROP TABLE files_uploads;
DROP TABLE files_versions;
DROP TABLE files_nodes;
DROP TABLE files_members;
DROP TABLE files_spaces;
