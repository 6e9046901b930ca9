-- Looker access tokens (only their SHA-256 is kept) and Huawei temporary
-- credentials (the SK sealed with the server key, the security token as
-- its SHA-256), both tied to a parent credential.

CREATE TABLE looker_access_tokens (
    token_hash      BYTEA   NOT NULL PRIMARY KEY CHECK (length(token_hash) = 32),
    credential_id   TEXT    NOT NULL REFERENCES credentials (id),
    created_at      BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL,
    revoked_at      BIGINT,
    -- A sudo token (login_user): the user it acts as, and the session
    -- recorded for it.
    acting_user_id  TEXT,
    session_id      TEXT,
    CHECK (expires_at > created_at)
);

CREATE INDEX looker_access_tokens_by_expiry ON looker_access_tokens (expires_at);

CREATE TABLE huawei_temporary_credentials (
    access_key           TEXT    NOT NULL PRIMARY KEY,
    credential_id        TEXT    NOT NULL REFERENCES credentials (id),
    secret_key_sealed    BYTEA   NOT NULL,
    security_token_hash  BYTEA   NOT NULL CHECK (length(security_token_hash) = 32),
    created_at           BIGINT  NOT NULL,
    expires_at           BIGINT  NOT NULL,
    CHECK (expires_at > created_at)
);

CREATE INDEX huawei_temporary_credentials_by_credential
    ON huawei_temporary_credentials (credential_id);
