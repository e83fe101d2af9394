-- Bulk payouts (issue 18): one row per batch and one per distinct player in it. A player's txn
-- id is derived from (batch id, player id) (bot::service::bulk::ids), so a batch resumed after a
-- restart names the same txn again and the txns table's primary key, the wallet's ring and the
-- audit log pay it once. An item's outcome is its txn's row (joined on txn_id); `state` says
-- whether the item was issued ('todo' until then) or refused before a txn existed ('refused',
-- with the refusal in `detail`). A batch with finished_at NULL is resumed on startup.
CREATE TABLE batches (
    batch_id TEXT PRIMARY KEY,
    actor_id TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    amount INTEGER NOT NULL,
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE TABLE batch_items (
    batch_id TEXT NOT NULL REFERENCES batches (batch_id),
    seq INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    txn_id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    detail TEXT,
    PRIMARY KEY (batch_id, user_id)
);
CREATE INDEX batches_unfinished ON batches (created_at) WHERE finished_at IS NULL;
