-- +goose Up

-- A user's changes to the default push rules (their own rules, and the
-- enabled flag and actions of the defaults), as one JSON document; version
-- makes concurrent changes of one user retry instead of losing one.
CREATE TABLE chat_push_rules (
    user_id TEXT PRIMARY KEY,
    changes TEXT NOT NULL,
    version BIGINT NOT NULL
);

-- Pushers. Nothing is pushed yet (no push gateway): they are stored and
-- listed for clients.
CREATE TABLE chat_pushers (
    user_id             TEXT NOT NULL,
    app_id              TEXT NOT NULL,
    pushkey             TEXT NOT NULL,
    kind                TEXT NOT NULL,
    app_display_name    TEXT NOT NULL,
    device_display_name TEXT NOT NULL,
    profile_tag         TEXT NOT NULL,
    lang                TEXT NOT NULL,
    data                TEXT NOT NULL,
    created_ts          BIGINT NOT NULL,
    PRIMARY KEY (app_id, pushkey, user_id)
);
CREATE INDEX chat_pushers_user ON chat_pushers (user_id);

-- +goose Down
DROP TABLE chat_pushers;
DROP TABLE chat_push_rules;
