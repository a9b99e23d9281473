-- +goose Up

-- A redacted event's row holds the redacted PDU (the room version's
-- algorithm, which keeps what signatures and auth need); this column holds
-- the redaction that did it ({"event_id", "pdu"}), served to clients as
-- unsigned.redacted_because.
ALTER TABLE chat_events ADD COLUMN redacted_because TEXT;

-- +goose Down
ALTER TABLE chat_events DROP COLUMN redacted_because;
