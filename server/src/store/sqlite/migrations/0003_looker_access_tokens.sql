-- Schema version 2: access tokens (Looker's POST /api/4.0/login and
-- POST /api/4.0/login/{user_id}).
--
-- Applied once, inside the BEGIN IMMEDIATE transaction that also sets
-- PRAGMA user_version (see store/sqlite.rs). Never edit a migration that
-- has shipped: add the next numbered file instead.
--
-- One row per access token (domain::access_token::AccessToken). The token
-- itself is never stored, only its SHA-256. A token works while it is not
-- revoked, not expired, and its credential is not revoked; its scope and
-- rate limit are its credential's. Expired rows are deleted (they can never
-- work again); revoked ones stay until they expire.
CREATE TABLE looker_access_tokens (
    token_hash      BLOB    NOT NULL PRIMARY KEY CHECK (length(token_hash) = 32),
    credential_id   TEXT    NOT NULL REFERENCES credentials (id),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    revoked_at      INTEGER,
    -- A sudo token (login_user): the user it acts as, and the session
    -- recorded for it.
    acting_user_id  TEXT,
    session_id      TEXT,
    CHECK (expires_at > created_at)
);

-- Deleting expired tokens walks this index.
CREATE INDEX looker_access_tokens_by_expiry ON looker_access_tokens (expires_at);
