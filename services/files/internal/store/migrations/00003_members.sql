-- +goose Up
-- The agents the service has seen, with the email their identity token
-- carried: an invitation to a known email becomes a membership at once.
CREATE TABLE files_agents (
    user_id    TEXT PRIMARY KEY,
    email      TEXT NOT NULL, -- lower-cased
    first_seen BIGINT NOT NULL
);
CREATE INDEX files_agents_email ON files_agents (email);

-- Invitations by email to agents not seen yet, turned into memberships at
-- their first request.
CREATE TABLE files_invitations (
    space_id   TEXT NOT NULL REFERENCES files_spaces (id) ON DELETE CASCADE,
    email      TEXT NOT NULL, -- lower-cased
    role       TEXT NOT NULL,
    invited_by TEXT NOT NULL,
    invited_at BIGINT NOT NULL,
    PRIMARY KEY (space_id, email)
);
CREATE INDEX files_invitations_email ON files_invitations (email);

-- Per-agent quota: the bytes of the versions each agent uploaded.
CREATE INDEX files_versions_uploader ON files_versions (uploaded_by);
CREATE INDEX files_uploads_user ON files_uploads (user_id);

-- +goose Down
DROP INDEX files_uploads_user;
DROP INDEX files_versions_uploader;
DROP TABLE files_invitations;
DROP TABLE files_agents;
