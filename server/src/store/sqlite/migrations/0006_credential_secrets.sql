-- Schema version 6: a credential's secrets as rows, one per dialect.
--
-- Until version 5 every dialect's secret was a pair of columns of
-- `credentials` (native_token_hash, looker_client_id, ...), so a new
-- dialect meant a new migration, new lookups and a new cache in every
-- store. Now a secret is a row: its kind (the dialect: 'native',
-- 'prefactor', 'looker', 'huawei', ...), the key a request presents to
-- find it (the SHA-256 of a bearer token in lowercase hex, a Looker client
-- id, a Huawei access key), and what proves the request holds it (the
-- SHA-256 of a Looker client secret; a Huawei secret key sealed with the
-- server key). Existing secrets move over unchanged: nothing is reissued.
--
-- `credentials` loses the old columns by being rebuilt (SQLite cannot drop
-- a UNIQUE column); the migration runs with foreign keys off and checks
-- them before it commits (store/sqlite/schema.rs).

CREATE TABLE credential_secrets (
    kind           TEXT NOT NULL,
    lookup_key     TEXT NOT NULL,
    credential_id  TEXT NOT NULL REFERENCES credentials (id),
    secret_hash    BLOB CHECK (secret_hash IS NULL OR length(secret_hash) = 32),
    secret_sealed  BLOB,
    PRIMARY KEY (kind, lookup_key)
) WITHOUT ROWID;

CREATE INDEX credential_secrets_by_credential ON credential_secrets (credential_id);

INSERT INTO credential_secrets (kind, lookup_key, credential_id)
    SELECT 'native', lower(hex(native_token_hash)), id FROM credentials;
INSERT INTO credential_secrets (kind, lookup_key, credential_id)
    SELECT 'prefactor', lower(hex(prefactor_token_hash)), id FROM credentials;
INSERT INTO credential_secrets (kind, lookup_key, credential_id, secret_hash)
    SELECT 'looker', looker_client_id, id, looker_client_secret_hash FROM credentials;
INSERT INTO credential_secrets (kind, lookup_key, credential_id, secret_sealed)
    SELECT 'huawei', huawei_access_key, id, huawei_secret_key_sealed FROM credentials;

CREATE TABLE credentials_without_secrets (
    id                 TEXT    NOT NULL PRIMARY KEY,
    name               TEXT,
    role               TEXT    NOT NULL,
    identity_store_id  TEXT,
    user_id            TEXT,
    rate_limit         INTEGER,
    created_at         INTEGER NOT NULL,
    revoked_at         INTEGER
);

INSERT INTO credentials_without_secrets
    SELECT id, name, role, identity_store_id, user_id, rate_limit, created_at, revoked_at
    FROM credentials;

DROP TABLE credentials;
ALTER TABLE credentials_without_secrets RENAME TO credentials;
CREATE INDEX credentials_by_creation ON credentials (created_at, id);
