-- Running totals for GET /log/totals (src/store/summary.rs): per hour of applied_at (Unix ms /
-- 3,600,000) × actor and per hour × user, the counters the totals query answers, with amounts
-- in two halves (amount >> 26, amount & (2^26 - 1)) so no cell overflows. The writer adds each
-- committed group's rows in the same transaction as the insert, under the chain lock. actor_id
-- '' stands for game-server records (actor ids are 1-20 digits, never empty).
CREATE TABLE totals_by_actor (
    hour        BIGINT NOT NULL,
    actor_id    TEXT   NOT NULL,
    given_hi    BIGINT NOT NULL,
    given_lo    BIGINT NOT NULL,
    deducted_hi BIGINT NOT NULL,
    deducted_lo BIGINT NOT NULL,
    gives       BIGINT NOT NULL,
    deducts     BIGINT NOT NULL,
    rejected    BIGINT NOT NULL,
    PRIMARY KEY (hour, actor_id)
);
CREATE TABLE totals_by_user (
    hour        BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    given_hi    BIGINT NOT NULL,
    given_lo    BIGINT NOT NULL,
    deducted_hi BIGINT NOT NULL,
    deducted_lo BIGINT NOT NULL,
    gives       BIGINT NOT NULL,
    deducts     BIGINT NOT NULL,
    rejected    BIGINT NOT NULL,
    PRIMARY KEY (hour, user_id)
);

-- Backfill from the existing log (same rule as the writer's). The chain lock keeps a replica
-- that is still running the old version from appending meanwhile.
SELECT pg_advisory_xact_lock(17731, 1);
INSERT INTO totals_by_actor
SELECT applied_at / 3600000, coalesce(actor_id, ''),
    sum(CASE WHEN outcome = 'applied' AND op = 'give' THEN amount >> 26 ELSE 0 END),
    sum(CASE WHEN outcome = 'applied' AND op = 'give' THEN amount & 67108863 ELSE 0 END),
    sum(CASE WHEN outcome = 'applied' AND op = 'deduct' THEN amount >> 26 ELSE 0 END),
    sum(CASE WHEN outcome = 'applied' AND op = 'deduct' THEN amount & 67108863 ELSE 0 END),
    count(*) FILTER (WHERE outcome = 'applied' AND op = 'give'),
    count(*) FILTER (WHERE outcome = 'applied' AND op = 'deduct'),
    count(*) FILTER (WHERE outcome = 'rejected')
FROM audit_log GROUP BY 1, 2;
INSERT INTO totals_by_user
SELECT applied_at / 3600000, user_id,
    sum(CASE WHEN outcome = 'applied' AND op = 'give' THEN amount >> 26 ELSE 0 END),
    sum(CASE WHEN outcome = 'applied' AND op = 'give' THEN amount & 67108863 ELSE 0 END),
    sum(CASE WHEN outcome = 'applied' AND op = 'deduct' THEN amount >> 26 ELSE 0 END),
    sum(CASE WHEN outcome = 'applied' AND op = 'deduct' THEN amount & 67108863 ELSE 0 END),
    count(*) FILTER (WHERE outcome = 'applied' AND op = 'give'),
    count(*) FILTER (WHERE outcome = 'applied' AND op = 'deduct'),
    count(*) FILTER (WHERE outcome = 'rejected')
FROM audit_log GROUP BY 1, 2;

-- The partial hours at a range's ends are read from the log by appliedAt.
CREATE INDEX audit_log_applied ON audit_log (applied_at);
