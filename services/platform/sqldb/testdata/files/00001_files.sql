-- +goose Up
CREATE TABLE files_objects (
    key  TEXT PRIMARY KEY,
    size BIGINT NOT NULL
);

-- +goose Down
DROP TABLE files_objects;
