-- Schema version 2: Huawei temporary credentials.
--
-- A temporary AK/SK with a security token, issued for a credential whose
-- role and scope it carries (`login-sessions credentials
-- create-temporary`). Every replica must accept it the moment it is
-- issued, so it is stored, not kept in memory. The SK is sealed with the
-- server key (the server needs it to verify HMAC signatures); the security
-- token, a bearer secret, is kept only as its SHA-256. Revoking the parent
-- credential kills its temporary credentials: lookups join the parent and
-- require it unrevoked. Expired rows stay until a later migration or tool
-- prunes them; lookups report them expired.
CREATE TABLE huawei_temporary_credentials (
    access_key           TEXT    NOT NULL PRIMARY KEY,
    credential_id        TEXT    NOT NULL REFERENCES credentials (id),
    secret_key_sealed    BLOB    NOT NULL,
    security_token_hash  BLOB    NOT NULL CHECK (length(security_token_hash) = 32),
    created_at           INTEGER NOT NULL,
    expires_at           INTEGER NOT NULL,
    CHECK (expires_at > created_at)
);

CREATE INDEX huawei_temporary_credentials_by_credential
    ON huawei_temporary_credentials (credential_id);
