-- Log-channel bookkeeping: a settled txn is posted once (claimed by setting logged = 1).
ALTER TABLE txns ADD COLUMN logged BIGINT NOT NULL DEFAULT 0;
UPDATE txns SET logged = 1 WHERE state <> 'pending';
CREATE INDEX txns_unlogged ON txns (settled_at) WHERE logged = 0 AND state <> 'pending';
