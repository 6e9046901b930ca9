-- Indexes set aside during a bulk load.
--
-- Seeding into a store that holds fewer sessions than are coming drops the
-- secondary indexes of `sessions` and builds them again once at the end
-- (store::SessionStore::begin_bulk_load): building an index from sorted
-- keys is much faster than inserting each key at a random place. The
-- definitions (pg_get_indexdef) wait here meanwhile, written in the
-- transaction that drops the index, so a load that is interrupted loses
-- nothing: the next process to open the database builds what is listed
-- and empties the table. Readers see the same answers throughout, only
-- slower.
CREATE TABLE deferred_indexes (
    name        TEXT NOT NULL PRIMARY KEY,
    definition  TEXT NOT NULL
);
