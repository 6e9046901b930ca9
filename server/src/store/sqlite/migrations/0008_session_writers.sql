-- Schema version 8: who wrote sessions, and how often.
--
-- A server caches live sessions; a session written by another process
-- sharing the file (another `serve`, the command line's `seed`) must
-- reach that cache within 50 ms. Every transaction that writes sessions
-- counts itself here under the writing store's id (random, one per open
-- store); the server's watcher (store/sqlite/watch.rs) reads the other
-- writers' rows whenever `PRAGMA data_version` says another connection
-- committed, and forgets its cached sessions when one of them moved.
-- One row per store that ever wrote a session: a few dozen bytes each.
CREATE TABLE session_writers (
    writer    TEXT    NOT NULL PRIMARY KEY,
    revision  INTEGER NOT NULL
) WITHOUT ROWID;
