-- The audit log: append-only, hash-chained (seq contiguous from 1, assigned by the writer
-- under a transaction-scoped advisory lock, so no identity gaps).
CREATE TABLE audit_log (
    seq           BIGINT  PRIMARY KEY,
    txn_id        TEXT    NOT NULL UNIQUE,
    source        TEXT    NOT NULL,
    user_id       BIGINT  NOT NULL,
    op            TEXT    NOT NULL,
    amount        BIGINT  NOT NULL,
    outcome       TEXT    NOT NULL,
    reject_reason TEXT,
    balance_after BIGINT  NOT NULL,
    reason        TEXT    NOT NULL,
    actor_id      TEXT,
    actor_name    TEXT,
    server_job_id TEXT,
    issued_at     BIGINT  NOT NULL,
    applied_at    BIGINT  NOT NULL,
    received_at   BIGINT  NOT NULL,
    key_id        TEXT    NOT NULL,
    prev_hash     BYTEA   NOT NULL,
    row_hash      BYTEA   NOT NULL
);
CREATE INDEX audit_log_user ON audit_log (user_id, seq);
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq) WHERE actor_id IS NOT NULL;

-- Append-only: the application has no UPDATE/DELETE paths, and the database refuses them too.
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

-- Idempotency keys, scoped by the signing key id; the stored response is replayed to retries.
CREATE TABLE idempotency_keys (
    client_id     TEXT    NOT NULL,
    idem_key      TEXT    NOT NULL,
    fingerprint   BYTEA   NOT NULL,
    response_code INTEGER NOT NULL,
    response_body TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    PRIMARY KEY (client_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
