-- Discord member → Roblox account links (issue 17).
-- link_cache: the last answer of each remote provider (Bloxlink, RoVer) per member, with when it
-- was fetched; roblox_id is NULL when the provider answered "no link". Answers older than the
-- configured age are asked again before use.
CREATE TABLE link_cache (
    guild_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    source TEXT NOT NULL,
    roblox_id INTEGER,
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (guild_id, member_id, source)
);
-- member_links: links the bot itself holds: set by staff (`staff`) or verified with Roblox OAuth
-- (`oauth`), who set it (Discord id; the member themself for OAuth) and when.
CREATE TABLE member_links (
    guild_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    source TEXT NOT NULL,
    roblox_id INTEGER NOT NULL,
    set_by TEXT NOT NULL,
    set_at INTEGER NOT NULL,
    PRIMARY KEY (guild_id, member_id, source)
);
-- oauth_states: one row per Roblox OAuth sign-in in progress (`/link`): the random state sent to
-- Roblox, the member and server it is bound to, the PKCE code verifier (secret) and when it
-- expires. The callback deletes the row as it reads it: a state works once.
CREATE TABLE oauth_states (
    state TEXT PRIMARY KEY,
    guild_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
