-- The audit log: append-only, hash-chained (seq contiguous from 1, assigned by the writer).
CREATE TABLE audit_log (
    seq           INTEGER PRIMARY KEY,
    txn_id        TEXT    NOT NULL UNIQUE,
    source        TEXT    NOT NULL,
    user_id       INTEGER NOT NULL,
    op            TEXT    NOT NULL,
    amount        INTEGER NOT NULL,
    outcome       TEXT    NOT NULL,
    reject_reason TEXT,
    balance_after INTEGER NOT NULL,
    reason        TEXT    NOT NULL,
    actor_id      TEXT,
    actor_name    TEXT,
    server_job_id TEXT,
    issued_at     INTEGER NOT NULL,
    applied_at    INTEGER NOT NULL,
    received_at   INTEGER NOT NULL,
    key_id        TEXT    NOT NULL,
    prev_hash     BLOB    NOT NULL,
    row_hash      BLOB    NOT NULL
);
CREATE INDEX audit_log_user ON audit_log (user_id, seq);
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq) WHERE actor_id IS NOT NULL;

-- Append-only: the application has no UPDATE/DELETE paths, and the database refuses them too.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- Idempotency keys, scoped by the signing key id; the stored response is replayed to retries.
CREATE TABLE idempotency_keys (
    client_id     TEXT    NOT NULL,
    idem_key      TEXT    NOT NULL,
    fingerprint   BLOB    NOT NULL,
    response_code INTEGER NOT NULL,
    response_body TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (client_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
