-- +goose Up
-- Who may chat in a webinar: everyone | stage (attendees write to the
-- stage only) | off (attendees cannot chat).
ALTER TABLE meet_rooms ADD COLUMN webinar_chat TEXT NOT NULL DEFAULT 'everyone';

-- +goose Down
ALTER TABLE meet_rooms DROP COLUMN webinar_chat;
