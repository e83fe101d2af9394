-- Every command the bot originated or replayed: the state that must survive a restart
-- (pending confirmations) and the ledger the per-actor daily cap and cooldown are computed from.
CREATE TABLE txns (
    txn_id        TEXT PRIMARY KEY,
    actor_id      TEXT NOT NULL,
    actor_name    TEXT NOT NULL,
    user_id       INTEGER NOT NULL,
    op            TEXT NOT NULL CHECK (op IN ('give', 'deduct')),
    amount        INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    -- The signed message exactly as first published: re-publishing sends identical bytes.
    message       TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'applied', 'rejected', 'not_delivered')),
    reject_reason TEXT,
    balance_after INTEGER,
    committed_by  TEXT,
    settled_at    INTEGER,
    -- Audit record the bot committed itself (offline path) and must post until acknowledged.
    audit_record  TEXT,
    audit_acked   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX txns_actor_created ON txns (actor_id, created_at);
CREATE INDEX txns_state ON txns (state);
CREATE INDEX txns_unacked ON txns (audit_acked) WHERE audit_record IS NOT NULL;
