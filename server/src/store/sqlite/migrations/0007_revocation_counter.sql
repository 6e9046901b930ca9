-- Schema version 7: a counter every revoking write bumps.
--
-- A server caches credential lookups; a credential revoked by another
-- process (the command line's `credentials revoke`) must be refused by the
-- server within 50 ms. The revoking transaction bumps this counter; the
-- server watches it (store/sqlite/watch.rs), reading it only when
-- `PRAGMA data_version` says another connection committed something.
CREATE TABLE revocations (
    singleton   INTEGER NOT NULL PRIMARY KEY CHECK (singleton = 1),
    generation  INTEGER NOT NULL
);

INSERT INTO revocations (singleton, generation) VALUES (1, 0);
