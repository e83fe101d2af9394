-- PostgreSQL twin of migrations/sqlite/0004_reverses.sql: the txn a record reverses (absent on
-- every other row; the chain hashes it only when present, so older rows keep verifying).
-- ADD COLUMN without a default rewrites no row and fires no trigger.
ALTER TABLE audit_log ADD COLUMN reverses TEXT;
