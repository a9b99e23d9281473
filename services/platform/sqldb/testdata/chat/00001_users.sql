-- +goose Up
CREATE TABLE chat_users (
    id    INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name  TEXT NOT NULL
);

-- +goose Down
DROP TABLE chat_users;
