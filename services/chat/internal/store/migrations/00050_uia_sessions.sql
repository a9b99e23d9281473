-- +goose Up

-- User-interactive authentication sessions, shared by the replicas: the
-- SSO fallback page may be served by another replica than the request
-- that started the session. completed_ts (ms) is 0 until the stage is
-- done; a session is used once and expires at expires_ts (ms).
CREATE TABLE chat_uia_sessions (
    session_id   TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    completed_ts BIGINT NOT NULL DEFAULT 0,
    expires_ts   BIGINT NOT NULL
);
CREATE INDEX chat_uia_sessions_expires ON chat_uia_sessions (expires_ts);

-- +goose Down
DROP TABLE chat_uia_sessions;
