-- Running totals for GET /log/totals (src/store/summary.rs): per hour of applied_at (Unix ms /
-- 3,600,000) × actor and per hour × user, the counters the totals query answers, with amounts
-- in two halves (amount >> 26, amount & (2^26 - 1)) so no cell overflows. The writer adds each
-- committed group's rows in the same transaction as the insert. actor_id '' stands for
-- game-server records (actor ids are 1-20 digits, never empty).
CREATE TABLE totals_by_actor (
    hour        INTEGER NOT NULL,
    actor_id    TEXT    NOT NULL,
    given_hi    INTEGER NOT NULL,
    given_lo    INTEGER NOT NULL,
    deducted_hi INTEGER NOT NULL,
    deducted_lo INTEGER NOT NULL,
    gives       INTEGER NOT NULL,
    deducts     INTEGER NOT NULL,
    rejected    INTEGER NOT NULL,
    PRIMARY KEY (hour, actor_id)
) WITHOUT ROWID;
CREATE TABLE totals_by_user (
    hour        INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    given_hi    INTEGER NOT NULL,
    given_lo    INTEGER NOT NULL,
    deducted_hi INTEGER NOT NULL,
    deducted_lo INTEGER NOT NULL,
    gives       INTEGER NOT NULL,
    deducts     INTEGER NOT NULL,
    rejected    INTEGER NOT NULL,
    PRIMARY KEY (hour, user_id)
) WITHOUT ROWID;

-- Backfill from the existing log (same rule as the writer's).
INSERT INTO totals_by_actor
SELECT applied_at / 3600000, coalesce(actor_id, ''),
    sum(CASE WHEN outcome = 'applied' AND op = 'give' THEN amount >> 26 ELSE 0 END),
    sum(CASE WHEN outcome = 'applied' AND op = 'give' THEN amount & 67108863 ELSE 0 END),
    sum(CASE WHEN outcome = 'applied' AND op = 'deduct' THEN amount >> 26 ELSE 0 END),
    sum(CASE WHEN outcome = 'applied' AND op = 'deduct' THEN amount & 67108863 ELSE 0 END),
    sum(CASE WHEN outcome = 'applied' AND op = 'give' THEN 1 ELSE 0 END),
    sum(CASE WHEN outcome = 'applied' AND op = 'deduct' THEN 1 ELSE 0 END),
    sum(CASE WHEN outcome = 'rejected' THEN 1 ELSE 0 END)
FROM audit_log GROUP BY 1, 2;
INSERT INTO totals_by_user
SELECT applied_at / 3600000, user_id,
    sum(CASE WHEN outcome = 'applied' AND op = 'give' THEN amount >> 26 ELSE 0 END),
    sum(CASE WHEN outcome = 'applied' AND op = 'give' THEN amount & 67108863 ELSE 0 END),
    sum(CASE WHEN outcome = 'applied' AND op = 'deduct' THEN amount >> 26 ELSE 0 END),
    sum(CASE WHEN outcome = 'applied' AND op = 'deduct' THEN amount & 67108863 ELSE 0 END),
    sum(CASE WHEN outcome = 'applied' AND op = 'give' THEN 1 ELSE 0 END),
    sum(CASE WHEN outcome = 'applied' AND op = 'deduct' THEN 1 ELSE 0 END),
    sum(CASE WHEN outcome = 'rejected' THEN 1 ELSE 0 END)
FROM audit_log GROUP BY 1, 2;

-- The partial hours at a range's ends are read from the log by appliedAt.
CREATE INDEX audit_log_applied ON audit_log (applied_at);
