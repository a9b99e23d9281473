-- +goose Up
-- WebDAV dead properties (PROPPATCH), e.g. the Win32 times Windows sets.
CREATE TABLE files_props (
    node_id TEXT NOT NULL, -- a node's id, or a space's id for its root folder
    ns      TEXT NOT NULL,
    name    TEXT NOT NULL,
    lang    TEXT NOT NULL DEFAULT '',
    value   TEXT NOT NULL, -- the property's inner XML
    PRIMARY KEY (node_id, ns, name)
);

-- WebDAV locks, shared by the replicas and kept across restarts.
CREATE TABLE files_dav_locks (
    token       TEXT PRIMARY KEY,
    root        TEXT NOT NULL, -- /<space id>/names… as the client wrote them
    root_key    TEXT NOT NULL, -- lower-cased root, what is compared
    zero_depth  INTEGER NOT NULL,
    owner_xml   TEXT NOT NULL,
    duration_ms BIGINT NOT NULL, -- -1: infinite
    expires_at  BIGINT NOT NULL, -- 0: never
    created_by  TEXT NOT NULL
);
CREATE INDEX files_dav_locks_root ON files_dav_locks (root_key);

-- +goose Down
DROP TABLE files_dav_locks;
DROP TABLE files_props;
