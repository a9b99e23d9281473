-- +goose Up
CREATE TABLE chat_notes (
    id      INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES chat_users (id),
    body    TEXT NOT NULL
);

-- +goose Down
DROP TABLE chat_notes;
