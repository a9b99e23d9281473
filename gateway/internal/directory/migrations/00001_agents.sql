-- +goose Up
CREATE TABLE gateway_agents (
    id                  TEXT PRIMARY KEY,
    issuer              TEXT NOT NULL,
    subject             TEXT NOT NULL,
    email               TEXT NOT NULL,
    email_lc            TEXT NOT NULL,
    given_name          TEXT NOT NULL DEFAULT '',
    usual_name          TEXT NOT NULL DEFAULT '',
    name_lc             TEXT NOT NULL DEFAULT '',
    name_rev_lc         TEXT NOT NULL DEFAULT '',
    ministry            TEXT NOT NULL DEFAULT '',
    siret               TEXT NOT NULL DEFAULT '',
    uid                 TEXT NOT NULL DEFAULT '',
    idp_id              TEXT NOT NULL DEFAULT '',
    organizational_unit TEXT NOT NULL DEFAULT '',
    external            BOOLEAN NOT NULL DEFAULT FALSE,
    created_at          BIGINT NOT NULL,
    last_login_at       BIGINT NOT NULL,
    UNIQUE (issuer, subject)
);
CREATE INDEX gateway_agents_email_lc ON gateway_agents (email_lc);
CREATE INDEX gateway_agents_name_lc ON gateway_agents (name_lc);
CREATE INDEX gateway_agents_name_rev_lc ON gateway_agents (name_rev_lc);

-- +goose Down
DROP TABLE gateway_agents;
