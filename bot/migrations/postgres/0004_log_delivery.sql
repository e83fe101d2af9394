-- PostgreSQL twin of migrations/sqlite/0004_log_delivery.sql (same columns, same meaning).
ALTER TABLE txns ADD COLUMN log_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE txns ADD COLUMN log_next_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE txns ADD COLUMN log_error TEXT;
CREATE INDEX txns_log_dead ON txns (settled_at) WHERE logged = 2;
