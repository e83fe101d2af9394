//! Suggestions for the `user` option while it is typed (Discord's autocomplete): the players
//! staff named most recently and the accounts the bot's own links name, filtered by what was
//! typed so far, each shown as "username (id)" and filled in as the id. Never fails: a database
//! or name look-up problem only leaves suggestions out.

use crate::service::Service;

/// Most suggestions one answer holds (Discord's limit on autocomplete choices).
pub const MAX_SUGGESTIONS: usize = 25;

/// One suggestion: what the member sees, and what the option is filled with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// Shown: `username (id)`, or the id alone when the name is unknown.
    pub label: String,
    /// Filled in: the Roblox user id.
    pub value: String,
}

/// Up to [`MAX_SUGGESTIONS`] players matching `typed` (an id prefix, or part of a username,
/// case-insensitive; a leading `@` ignored): recent targets first, then linked accounts.
pub async fn user_suggestions(service: &Service, guild_id: u64, typed: &str) -> Vec<Suggestion> {
    let limit = MAX_SUGGESTIONS as u32;
    let mut ids = service
        .db()
        .recent_targets(limit)
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "recent targets unavailable"))
        .unwrap_or_default();
    let linked = service
        .db()
        .linked_accounts(guild_id, limit)
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "linked accounts unavailable"))
        .unwrap_or_default();
    for id in linked {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let names = service.user_names(ids.clone()).await;
    let typed = typed.trim();
    let typed = typed
        .strip_prefix('@')
        .unwrap_or(typed)
        .to_ascii_lowercase();
    ids.into_iter()
        .filter_map(|id| {
            let name = names.get(&id);
            let matches = typed.is_empty()
                || id.to_string().starts_with(&typed)
                || name.is_some_and(|n| n.to_ascii_lowercase().contains(&typed));
            matches.then(|| Suggestion {
                label: match name {
                    Some(n) => format!("{n} ({id})"),
                    None => id.to_string(),
                },
                value: id.to_string(),
            })
        })
        .take(MAX_SUGGESTIONS)
        .collect()
}
