-- Schema version 1: sessions and credentials.
--
-- Applied once, inside the BEGIN IMMEDIATE transaction that also sets
-- PRAGMA user_version = 1 (see store/sqlite.rs). Never edit a migration
-- that has shipped: add the next numbered file instead.
--
-- Conventions: ids are PFIDs as TEXT (their text sorts by time); times are
-- INTEGER Unix milliseconds (UTC); IP addresses are TEXT in Rust's
-- `IpAddr` display form; secrets are SHA-256 hashes (BLOB, 32 bytes) or
-- sealed with the server key (BLOB).

-- One row per canonical session (domain::session::Session). Expiry is not
-- stored as a status: readers derive it from expires_at.
CREATE TABLE sessions (
    id                     TEXT    NOT NULL PRIMARY KEY,
    identity_store_id      TEXT    NOT NULL,
    user_id                TEXT,
    status                 TEXT    NOT NULL,
    session_type           TEXT    NOT NULL,
    credentials_type       TEXT,
    created_at             INTEGER NOT NULL,
    expires_at             INTEGER NOT NULL,
    extended_at            INTEGER,
    extended_count         INTEGER NOT NULL,
    first_seen_at          INTEGER,
    first_seen_ip          TEXT,
    first_seen_user_agent  TEXT,
    last_seen_at           INTEGER,
    last_seen_ip           TEXT,
    last_seen_user_agent   TEXT,
    browser                TEXT,
    operating_system       TEXT,
    city                   TEXT,
    state                  TEXT,
    country                TEXT,
    sudo_user_id           TEXT,
    account_id             TEXT,
    domain_id              TEXT,
    device_id              TEXT,
    title                  TEXT,
    ended_at               INTEGER,
    version                INTEGER NOT NULL,
    -- An interaction is all or nothing: no address without a time.
    CHECK (first_seen_at IS NOT NULL
           OR (first_seen_ip IS NULL AND first_seen_user_agent IS NULL)),
    CHECK (last_seen_at IS NOT NULL
           OR (last_seen_ip IS NULL AND last_seen_user_agent IS NULL))
);

-- The listing filters, each in id (= time) order for keyset pagination
-- newest first. An unfiltered listing walks the primary key.
CREATE INDEX sessions_by_user ON sessions (user_id, id);
CREATE INDEX sessions_by_store ON sessions (identity_store_id, id);
CREATE INDEX sessions_by_store_user ON sessions (identity_store_id, user_id, id);

-- One row per credential (domain::credential::Credential) with the secrets
-- of every dialect (domain::credential::StoredSecrets). Revoked
-- credentials stay, so their secrets stay unique.
CREATE TABLE credentials (
    id                        TEXT    NOT NULL PRIMARY KEY,
    name                      TEXT,
    role                      TEXT    NOT NULL,
    identity_store_id         TEXT,
    user_id                   TEXT,
    rate_limit                INTEGER,
    created_at                INTEGER NOT NULL,
    revoked_at                INTEGER,
    native_token_hash         BLOB    NOT NULL UNIQUE CHECK (length(native_token_hash) = 32),
    prefactor_token_hash      BLOB    NOT NULL UNIQUE CHECK (length(prefactor_token_hash) = 32),
    looker_client_id          TEXT    NOT NULL UNIQUE,
    looker_client_secret_hash BLOB    NOT NULL CHECK (length(looker_client_secret_hash) = 32),
    huawei_access_key         TEXT    NOT NULL UNIQUE,
    huawei_secret_key_sealed  BLOB    NOT NULL
);

CREATE INDEX credentials_by_creation ON credentials (created_at, id);
