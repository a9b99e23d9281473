-- +goose Up

-- m.relates_to of each event that has one (threads, edits, reactions,
-- references), for /relations, /threads and the bundled aggregations.
CREATE TABLE chat_relations (
    event_id   TEXT PRIMARY KEY,
    room_id    TEXT NOT NULL,
    parent_id  TEXT NOT NULL,
    rel_type   TEXT NOT NULL,
    event_type TEXT NOT NULL,
    sender     TEXT NOT NULL,
    stream_pos BIGINT NOT NULL
);
CREATE INDEX chat_relations_parent ON chat_relations (parent_id, rel_type, stream_pos);
CREATE INDEX chat_relations_room ON chat_relations (room_id, rel_type, stream_pos);

-- +goose Down
DROP TABLE chat_relations;
