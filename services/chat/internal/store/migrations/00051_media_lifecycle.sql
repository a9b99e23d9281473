-- +goose Up

-- Media lifecycle (media/cleanup.go): the retention job finds old entries
-- by creation time; an entry being deleted is in state 'deleting' (no
-- longer served) until its blobs and rows are gone, so that a crash in
-- between resumes the deletion instead of leaking the bytes.
CREATE INDEX chat_media_created ON chat_media (created_ts);

-- +goose Down
DROP INDEX chat_media_created;
