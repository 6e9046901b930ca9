-- Schema version 4: a credential's secrets as rows, one per dialect.
--
-- Until version 3 every dialect's secret was a pair of columns of
-- `credentials` (native_token_hash, looker_client_id, ...), so a new
-- dialect meant a new migration, new lookups and a new cache in every
-- store. Now a secret is a row: its kind (the dialect: 'native',
-- 'prefactor', 'looker', 'huawei', ...), the key a request presents to
-- find it (the SHA-256 of a bearer token in lowercase hex, a Looker client
-- id, a Huawei access key), and what proves the request holds it (the
-- SHA-256 of a Looker client secret; a Huawei secret key sealed with the
-- server key). Existing secrets move over unchanged: nothing is reissued.

CREATE TABLE credential_secrets (
    kind           TEXT COLLATE "C" NOT NULL,
    lookup_key     TEXT COLLATE "C" NOT NULL,
    credential_id  TEXT COLLATE "C" NOT NULL REFERENCES credentials (id),
    secret_hash    BYTEA,
    secret_sealed  BYTEA,
    CONSTRAINT credential_secrets_pkey PRIMARY KEY (kind, lookup_key),
    CONSTRAINT credential_secrets_hash_length
        CHECK (secret_hash IS NULL OR octet_length(secret_hash) = 32)
);

CREATE INDEX credential_secrets_by_credential ON credential_secrets (credential_id);

INSERT INTO credential_secrets (kind, lookup_key, credential_id)
    SELECT 'native', encode(native_token_hash, 'hex'), id FROM credentials;
INSERT INTO credential_secrets (kind, lookup_key, credential_id)
    SELECT 'prefactor', encode(prefactor_token_hash, 'hex'), id FROM credentials;
INSERT INTO credential_secrets (kind, lookup_key, credential_id, secret_hash)
    SELECT 'looker', looker_client_id, id, looker_client_secret_hash FROM credentials;
INSERT INTO credential_secrets (kind, lookup_key, credential_id, secret_sealed)
    SELECT 'huawei', huawei_access_key, id, huawei_secret_key_sealed FROM credentials;

ALTER TABLE credentials
    DROP COLUMN native_token_hash,
    DROP COLUMN prefactor_token_hash,
    DROP COLUMN looker_client_id,
    DROP COLUMN looker_client_secret_hash,
    DROP COLUMN huawei_access_key,
    DROP COLUMN huawei_secret_key_sealed;
