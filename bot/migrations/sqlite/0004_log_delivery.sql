-- Log-channel delivery, at-least-once: a movement is marked posted (logged = 1) only after
-- Discord accepted the post. While it waits (logged = 0), log_next_at is when it may be tried
-- next (a claim holds it for a lease; a failure pushes it out with backoff) and log_attempts
-- counts failed posts; after too many it is set aside (logged = 2, a dead letter) with the last
-- error in log_error until an operator retries it (`economy-bot log-channel retry`).
ALTER TABLE txns ADD COLUMN log_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE txns ADD COLUMN log_next_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE txns ADD COLUMN log_error TEXT;
CREATE INDEX txns_log_dead ON txns (settled_at) WHERE logged = 2;
