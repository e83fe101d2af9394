-- Gateway connections of the last 24 hours: Discord allows 1,000 IDENTIFY calls a day and resets
-- the bot's token when they are spent, so a crash loop must slow down (discord/identify_guard.rs).
CREATE TABLE gateway_starts (at_ms INTEGER NOT NULL);
CREATE INDEX gateway_starts_at ON gateway_starts (at_ms);
