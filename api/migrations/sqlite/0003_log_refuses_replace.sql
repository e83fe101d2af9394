-- Append-only against INSERT OR REPLACE too: REPLACE deletes the conflicting row without firing
-- delete triggers, so a row with an existing seq or txn id is refused before it is inserted
-- (PostgreSQL has no REPLACE; its ON CONFLICT DO UPDATE fires the update trigger). The writer
-- never inserts such a row: it looks txn ids up first and numbers seqs after the head.
CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log
WHEN EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq)
  OR EXISTS (SELECT 1 FROM audit_log WHERE txn_id = NEW.txn_id)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
