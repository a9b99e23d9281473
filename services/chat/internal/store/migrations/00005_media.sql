-- +goose Up

-- The media repository: one row per mxc://server/media_id. The bytes are in
-- the blob store under blob_key; state is the upload and antivirus
-- lifecycle: reserved (created, bytes not yet uploaded), pending (awaiting
-- the scan), clean, unscanned (scanning off), infected (blob deleted),
-- unscannable (too large for clamd: never served).
CREATE TABLE chat_media (
    media_id     TEXT PRIMARY KEY,
    uploader     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    filename     TEXT NOT NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    blob_key     TEXT NOT NULL,
    state        TEXT NOT NULL,
    signature    TEXT NOT NULL DEFAULT '',
    created_ts   BIGINT NOT NULL,
    expires_ts   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX chat_media_state ON chat_media (state, created_ts);
CREATE INDEX chat_media_uploader ON chat_media (uploader, created_ts);

-- Generated thumbnails, at the standard sizes only.
CREATE TABLE chat_media_thumbnails (
    media_id     TEXT NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    method       TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    blob_key     TEXT NOT NULL,
    PRIMARY KEY (media_id, width, height, method)
);

-- +goose Down
DROP TABLE chat_media_thumbnails;
DROP TABLE chat_media;
