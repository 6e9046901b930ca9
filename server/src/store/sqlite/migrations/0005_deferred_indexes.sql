-- Schema version 5: indexes set aside during a bulk load.
--
-- Seeding into a store that holds fewer sessions than are coming drops the
-- secondary indexes of `sessions` and builds them again once at the end
-- (store::SessionStore::begin_bulk_load): sorting every key once is much
-- faster than inserting each into a B-tree at a random place. The
-- definitions wait here meanwhile, written in the transaction that drops
-- the index, so a load that is interrupted loses nothing: the next process
-- to open the database builds what is listed and empties the table.
-- Readers see the same answers throughout, only slower.
CREATE TABLE deferred_indexes (
    name        TEXT NOT NULL PRIMARY KEY,
    definition  TEXT NOT NULL
) WITHOUT ROWID;
