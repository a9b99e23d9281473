-- +goose Up
-- Invitations by email expire (config invitation_ttl); inviting the
-- address again renews one. Those already pending get 30 days from
-- their invitation.
ALTER TABLE files_invitations ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
UPDATE files_invitations SET expires_at = invited_at + 2592000000;

-- +goose Down
ALTER TABLE files_invitations DROP COLUMN expires_at;
