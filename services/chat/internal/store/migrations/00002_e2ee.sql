-- +goose Up

-- Device keys (keys/upload device_keys), as signed by the device.
CREATE TABLE chat_device_keys (
    user_id   TEXT NOT NULL,
    device_id TEXT NOT NULL,
    json      TEXT NOT NULL,
    PRIMARY KEY (user_id, device_id)
);

-- One-time keys, claimed (deleted) one at a time.
CREATE TABLE chat_one_time_keys (
    user_id   TEXT NOT NULL,
    device_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    key_id    TEXT NOT NULL,
    json      TEXT NOT NULL,
    PRIMARY KEY (user_id, device_id, algorithm, key_id)
);

-- Fallback keys: one per (device, algorithm), handed out when the
-- one-time keys run out, until replaced.
CREATE TABLE chat_fallback_keys (
    user_id   TEXT NOT NULL,
    device_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    key_id    TEXT NOT NULL,
    json      TEXT NOT NULL,
    used      BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, device_id, algorithm)
);

-- Cross-signing keys: master, self_signing, user_signing.
CREATE TABLE chat_cross_signing_keys (
    user_id  TEXT NOT NULL,
    key_type TEXT NOT NULL,
    json     TEXT NOT NULL,
    PRIMARY KEY (user_id, key_type)
);

-- Signatures uploaded with keys/signatures/upload, merged into keys/query.
-- target_key is a device id or a cross-signing public key.
CREATE TABLE chat_key_signatures (
    target_user TEXT NOT NULL,
    target_key  TEXT NOT NULL,
    signer_user TEXT NOT NULL,
    signer_key  TEXT NOT NULL,
    signature   TEXT NOT NULL,
    PRIMARY KEY (target_user, target_key, signer_user, signer_key)
);

-- Last stream position at which a user's device list or keys changed
-- (device_lists.changed, keys/changes).
CREATE TABLE chat_key_changes (
    user_id    TEXT PRIMARY KEY,
    stream_pos BIGINT NOT NULL
);
CREATE INDEX chat_key_changes_pos ON chat_key_changes (stream_pos);

-- To-device messages, on the common stream; deleted when the device
-- syncs with a token past them.
CREATE TABLE chat_to_device (
    stream_pos BIGINT NOT NULL,
    user_id    TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    sender     TEXT NOT NULL,
    type       TEXT NOT NULL,
    content    TEXT NOT NULL,
    PRIMARY KEY (user_id, device_id, stream_pos)
);

-- Server-side room key backup.
CREATE TABLE chat_backup_versions (
    user_id   TEXT NOT NULL,
    version   BIGINT NOT NULL,
    algorithm TEXT NOT NULL,
    auth_data TEXT NOT NULL,
    etag      BIGINT NOT NULL,
    deleted   BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, version)
);

CREATE TABLE chat_backup_keys (
    user_id    TEXT NOT NULL,
    version    BIGINT NOT NULL,
    room_id    TEXT NOT NULL,
    session_id TEXT NOT NULL,
    json       TEXT NOT NULL,
    PRIMARY KEY (user_id, version, room_id, session_id)
);

-- +goose Down
DROP TABLE chat_backup_keys;
DROP TABLE chat_backup_versions;
DROP TABLE chat_to_device;
DROP TABLE chat_key_changes;
DROP TABLE chat_key_signatures;
DROP TABLE chat_cross_signing_keys;
DROP TABLE chat_fallback_keys;
DROP TABLE chat_one_time_keys;
DROP TABLE chat_device_keys;
