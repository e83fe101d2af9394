//! List Guild Members (`GET /guilds/{guild}/members?limit=&after=`): guild member objects sorted
//! by user id, `limit` 1–1000 (default 1), `after` the highest user id of the previous page
//! (default 0). Discord restricts it by whether the Server Members Intent (GUILD_MEMBERS) is
//! enabled for the application in its portal; without it the fake answers 403 / 50001 Missing
//! Access, as Discord is observed to (the status and code are undocumented: docs/platform.md D6).

use crate::check::Shape;
use crate::error::ApiError;
use crate::interactions::Reply;
use crate::model;
use crate::world::{Member, World};

/// Most members one page holds.
pub const MAX_LIMIT: u64 = 1000;

/// A query parameter's value, if present (`key=value` pairs joined by `&`).
fn param<'q>(query: Option<&'q str>, key: &str) -> Option<&'q str> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// `GET /guilds/{guild}/members`.
pub fn list(w: &World, guild: u64, query: Option<&str>) -> Result<Reply, ApiError> {
    let Some(g) = w.guilds.get(&guild) else {
        // A guild the bot is not in (Discord answers the same for one that does not exist).
        return Err(ApiError::missing_access());
    };
    if !w.config.members_intent {
        return Err(ApiError::missing_access());
    }
    let limit = match param(query, "limit") {
        None => 1,
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| ApiError::invalid_form("limit: must be between 1 and 1000"))?,
    };
    let after = match param(query, "after") {
        None => 0,
        Some(v) => v
            .parse::<u64>()
            .map_err(|_| ApiError::invalid_form("after: not a snowflake"))?,
    };
    // The bot is a member of its guild too (a bot user, as every bot account).
    let bot = Member {
        user_id: w.config.application_id,
        name: w.config.bot_name.clone(),
        roles: Vec::new(),
        permissions: 0,
        bot: true,
    };
    let mut everyone: Vec<&Member> = g.members.values().collect();
    if !g.members.contains_key(&bot.user_id) {
        everyone.push(&bot);
    }
    everyone.sort_by_key(|m| m.user_id);
    let page: Vec<serde_json::Value> = everyone
        .into_iter()
        .filter(|m| m.user_id > after)
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|m| model::guild_member(m, crate::clock::START_MS))
        .collect();
    Ok(Reply {
        status: 200,
        body: Some(serde_json::Value::Array(page)),
        shape: Shape::Members(guild),
    })
}
