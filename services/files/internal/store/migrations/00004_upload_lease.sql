-- +goose Up
-- The PATCH writing to an upload holds a lease on it, so that two
-- replicas never append to the same upload at once: lease_owner is the
-- PATCH's random token, lease_until when the lease lapses unless renewed.
ALTER TABLE files_uploads ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE files_uploads ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE files_uploads DROP COLUMN lease_until;
ALTER TABLE files_uploads DROP COLUMN lease_owner;
