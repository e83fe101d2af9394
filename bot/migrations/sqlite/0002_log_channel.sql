-- Log-channel bookkeeping: a settled txn is posted once (claimed by setting logged = 1).
-- Txns settled before this migration are not posted again.
ALTER TABLE txns ADD COLUMN logged INTEGER NOT NULL DEFAULT 0;
UPDATE txns SET logged = 1 WHERE state <> 'pending';
CREATE INDEX txns_unlogged ON txns (settled_at) WHERE logged = 0 AND state <> 'pending';
