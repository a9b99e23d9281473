-- +goose Up
CREATE TABLE gateway_app_passwords (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES gateway_agents (id),
    label        TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX gateway_app_passwords_user ON gateway_app_passwords (user_id);

-- +goose Down
DROP TABLE gateway_app_passwords;
