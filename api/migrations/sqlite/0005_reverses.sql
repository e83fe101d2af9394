-- Reversals (docs/protocol.md §2.1, §6): the txn a record reverses, absent on every other row
-- (rows written before this column existed keep verifying: the chain hashes it only when
-- present). Adding a column rewrites no row and fires no trigger. No index: an original's
-- reversal is found by its derived txn id, which the txn_id index already serves.
ALTER TABLE audit_log ADD COLUMN reverses TEXT;
