-- Schema version 1 of the PostgreSQL store: sessions, credentials and
-- revocation marks.
--
-- Applied once, inside the transaction that holds the migration advisory
-- lock and records the version in login_sessions_schema (see
-- store/postgres.rs). Never edit a migration that has shipped: add the
-- next numbered file instead.
--
-- Conventions (as in the SQLite store): ids are PFIDs as TEXT in the "C"
-- collation (byte order, which is their time order); times are BIGINT Unix
-- milliseconds (UTC); IP addresses are TEXT in Rust's `IpAddr` display
-- form; secrets are SHA-256 hashes (BYTEA, 32 bytes) or sealed with the
-- server key (BYTEA).

-- One row per canonical session (domain::session::Session). Expiry is not
-- stored as a status: readers derive it from expires_at.
CREATE TABLE sessions (
    id                     TEXT COLLATE "C" NOT NULL,
    identity_store_id      TEXT    NOT NULL,
    user_id                TEXT,
    status                 TEXT    NOT NULL,
    session_type           TEXT    NOT NULL,
    credentials_type       TEXT,
    created_at             BIGINT  NOT NULL,
    expires_at             BIGINT  NOT NULL,
    extended_at            BIGINT,
    extended_count         BIGINT  NOT NULL,
    first_seen_at          BIGINT,
    first_seen_ip          TEXT,
    first_seen_user_agent  TEXT,
    last_seen_at           BIGINT,
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
    ended_at               BIGINT,
    version                BIGINT  NOT NULL,
    CONSTRAINT sessions_pkey PRIMARY KEY (id),
    -- An interaction is all or nothing: no address without a time.
    CONSTRAINT sessions_first_seen_whole CHECK (first_seen_at IS NOT NULL
           OR (first_seen_ip IS NULL AND first_seen_user_agent IS NULL)),
    CONSTRAINT sessions_last_seen_whole CHECK (last_seen_at IS NOT NULL
           OR (last_seen_ip IS NULL AND last_seen_user_agent IS NULL))
);

-- The listing filters, each in id (= time) order for keyset pagination.
-- An unfiltered listing walks the primary key.
CREATE INDEX sessions_by_user ON sessions (user_id, id);
CREATE INDEX sessions_by_store ON sessions (identity_store_id, id);
CREATE INDEX sessions_by_store_user ON sessions (identity_store_id, user_id, id);

-- The janitor deletes sessions that ended (ended_at) or expired
-- (expires_at) before the retention cutoff, in small batches.
CREATE INDEX sessions_by_end ON sessions (ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- One row per credential (domain::credential::Credential) with the secrets
-- of every dialect (domain::credential::StoredSecrets). Revoked
-- credentials stay, so their secrets stay unique.
CREATE TABLE credentials (
    id                        TEXT COLLATE "C" NOT NULL,
    name                      TEXT,
    role                      TEXT    NOT NULL,
    identity_store_id         TEXT,
    user_id                   TEXT,
    rate_limit                BIGINT,
    created_at                BIGINT  NOT NULL,
    revoked_at                BIGINT,
    native_token_hash         BYTEA   NOT NULL,
    prefactor_token_hash      BYTEA   NOT NULL,
    looker_client_id          TEXT    NOT NULL,
    looker_client_secret_hash BYTEA   NOT NULL,
    huawei_access_key         TEXT    NOT NULL,
    huawei_secret_key_sealed  BYTEA   NOT NULL,
    CONSTRAINT credentials_pkey PRIMARY KEY (id),
    CONSTRAINT credentials_native_token_hash_key UNIQUE (native_token_hash),
    CONSTRAINT credentials_prefactor_token_hash_key UNIQUE (prefactor_token_hash),
    CONSTRAINT credentials_looker_client_id_key UNIQUE (looker_client_id),
    CONSTRAINT credentials_huawei_access_key_key UNIQUE (huawei_access_key),
    CONSTRAINT credentials_native_token_hash_length CHECK (octet_length(native_token_hash) = 32),
    CONSTRAINT credentials_prefactor_token_hash_length
        CHECK (octet_length(prefactor_token_hash) = 32),
    CONSTRAINT credentials_looker_client_secret_hash_length
        CHECK (octet_length(looker_client_secret_hash) = 32)
);

CREATE INDEX credentials_by_creation ON credentials (created_at, id);

-- One row per user and scope that revoke_user_sessions ran for: the latest
-- time it ran. A session of the user created before that time and
-- inserted after it is stored revoked (store::apply_revocation_marks).
-- identity_store_id is '' when the revocation covered every store (no real
-- identity store id is empty).
CREATE TABLE revocation_marks (
    user_id           TEXT   NOT NULL,
    identity_store_id TEXT   NOT NULL,
    revoked_at        BIGINT NOT NULL,
    CONSTRAINT revocation_marks_pkey PRIMARY KEY (user_id, identity_store_id)
);
