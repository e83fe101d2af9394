-- PostgreSQL twin of migrations/sqlite/0008_batches.sql (same tables, same meaning).
CREATE TABLE batches (
    batch_id TEXT PRIMARY KEY,
    actor_id TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    amount BIGINT NOT NULL,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE TABLE batch_items (
    batch_id TEXT NOT NULL REFERENCES batches (batch_id),
    seq BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    txn_id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    detail TEXT,
    PRIMARY KEY (batch_id, user_id)
);
CREATE INDEX batches_unfinished ON batches (created_at) WHERE finished_at IS NULL;
