-- Revocation marks and the janitor's indexes.
--
-- Numbered 0004 to follow the Looker (0002) and Huawei (0003) migrations
-- developed alongside it; in MIGRATIONS it is appended after whatever
-- precedes it. Never edit a migration that has shipped.

-- One row per user and scope that `revoke_user_sessions` ran for: the
-- latest time it ran. A session of the user created before that time and
-- inserted after it is stored revoked (store::apply_revocation_marks).
-- identity_store_id is '' when the revocation covered every store (no
-- real identity store id is empty).
CREATE TABLE revocation_marks (
    user_id           TEXT    NOT NULL,
    identity_store_id TEXT    NOT NULL,
    revoked_at        INTEGER NOT NULL,
    PRIMARY KEY (user_id, identity_store_id)
) WITHOUT ROWID;

-- The janitor deletes sessions that ended (ended_at) or expired
-- (expires_at) before the retention cutoff, in small batches.
CREATE INDEX sessions_by_end ON sessions (ended_at);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
