-- +goose Up
-- Quota of a space in bytes; NULL: the configured default.
ALTER TABLE files_spaces ADD COLUMN quota BIGINT;

-- A restored version shares the blob of the version it restores.
CREATE INDEX files_versions_blob ON files_versions (blob_key);

-- Share links: a read-only or upload-only ("dépôt") capability on one
-- folder or file. Only the SHA-256 of the token is kept.
CREATE TABLE files_links (
    id            TEXT PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,
    space_id      TEXT NOT NULL REFERENCES files_spaces (id) ON DELETE CASCADE,
    node_id       TEXT NOT NULL,
    kind          TEXT NOT NULL,            -- read | upload
    password_hash TEXT NOT NULL DEFAULT '', -- bcrypt, '' without a password
    expires_at    BIGINT,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);
CREATE INDEX files_links_space ON files_links (space_id, created_at);

-- Who did what, when, in a space.
CREATE TABLE files_audit (
    id       TEXT PRIMARY KEY,
    space_id TEXT NOT NULL,
    at       BIGINT NOT NULL,
    actor    TEXT NOT NULL, -- agent id, or link:<id> for a share link
    action   TEXT NOT NULL,
    node_id  TEXT NOT NULL DEFAULT '',
    detail   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX files_audit_space ON files_audit (space_id, at);

-- +goose Down
DROP INDEX files_versions_blob;
DROP TABLE files_audit;
DROP TABLE files_links;
ALTER TABLE files_spaces DROP COLUMN quota;
