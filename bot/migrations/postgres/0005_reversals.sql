-- Reversals (docs/protocol.md §2.1): the txn a row reverses. One reversal per original, across
-- restarts and bot replicas sharing this database: the unique index refuses a second row naming
-- the same original (the reversal's txn id is derived from the original, so the primary key
-- refuses it too). Reversals are left out of the daily cap (see Db::reserve).
ALTER TABLE txns ADD COLUMN reverses TEXT;
CREATE UNIQUE INDEX txns_one_reversal ON txns (reverses) WHERE reverses IS NOT NULL;
