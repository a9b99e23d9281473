-- +goose Up
-- The offset of a tail object made stale by a part commit (-1: none), so
-- that it is deleted even if the process died right after the commit.
ALTER TABLE files_uploads ADD COLUMN stale_tail BIGINT NOT NULL DEFAULT -1;

-- +goose Down
ALTER TABLE files_uploads DROP COLUMN stale_tail;
