-- +goose Up

-- History visibility reads, per reader, the room's history_visibility
-- events and the reader's own member events: an index on the state key
-- finds them without scanning the room.
CREATE INDEX chat_events_state ON chat_events (room_id, type, state_key, stream_pos);

-- +goose Down
DROP INDEX chat_events_state;
