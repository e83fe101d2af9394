-- PostgreSQL twin of migrations/sqlite/0007_member_links.sql (same tables, same meaning).
CREATE TABLE link_cache (
    guild_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    source TEXT NOT NULL,
    roblox_id BIGINT,
    fetched_at BIGINT NOT NULL,
    PRIMARY KEY (guild_id, member_id, source)
);
CREATE TABLE member_links (
    guild_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    source TEXT NOT NULL,
    roblox_id BIGINT NOT NULL,
    set_by TEXT NOT NULL,
    set_at BIGINT NOT NULL,
    PRIMARY KEY (guild_id, member_id, source)
);
CREATE TABLE oauth_states (
    state TEXT PRIMARY KEY,
    guild_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
