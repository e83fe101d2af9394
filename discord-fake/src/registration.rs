//! Application-command registration: bulk overwrite of the global list or one guild's list
//! (the whole list is replaced; a command keeps its id when it keeps its name), reading them
//! back, and the failures that bite (a guild the bot is not in → 403 / 50001; scripted outages).

use crate::check::Shape;
use crate::error::ApiError;
use crate::interactions::Reply;
use crate::model;
use crate::world::{Fault, World};
use serde_json::Value;

fn scope_list(w: &World, guild: Option<u64>) -> Vec<Value> {
    match guild {
        None => w.global_commands.clone(),
        Some(g) => w.guild_commands.get(&g).cloned().unwrap_or_default(),
    }
}

fn check_access(w: &World, app: u64, guild: Option<u64>) -> Result<(), ApiError> {
    if app != w.config.application_id {
        return Err(ApiError::missing_access());
    }
    match guild {
        Some(g) if !w.guilds.contains_key(&g) => Err(ApiError::missing_access()),
        _ => Ok(()),
    }
}

/// `GET /applications/{app}[/guilds/{guild}]/commands`.
pub fn list(w: &World, app: u64, guild: Option<u64>) -> Result<Reply, ApiError> {
    check_access(w, app, guild)?;
    Ok(Reply {
        status: 200,
        body: Some(Value::Array(scope_list(w, guild))),
        shape: Shape::Commands,
    })
}

fn check_command(c: &Value, i: usize) -> Result<&str, ApiError> {
    let name = c.get("name").and_then(Value::as_str).unwrap_or("");
    let kind = c.get("type").and_then(Value::as_u64).unwrap_or(1);
    let description = c.get("description").and_then(Value::as_str).unwrap_or("");
    if name.is_empty() || name.chars().count() > 32 {
        return Err(ApiError::invalid_form(format!(
            "[{i}].name must be 1-32 characters"
        )));
    }
    if kind == 1
        && (name.chars().any(char::is_uppercase)
            || description.is_empty()
            || description.chars().count() > 100)
    {
        return Err(ApiError::invalid_form(format!(
            "[{i}]: a slash command needs a lowercase name and a 1-100 character description"
        )));
    }
    Ok(name)
}

/// `PUT /applications/{app}[/guilds/{guild}]/commands`: replaces the scope's whole list.
pub fn overwrite(
    w: &mut World,
    app: u64,
    guild: Option<u64>,
    body: &Value,
) -> Result<Reply, ApiError> {
    check_access(w, app, guild)?;
    if let Some(fault) = w.registration_faults.pop_front() {
        return Err(match fault {
            Fault::ServerError => ApiError::server_error(),
            Fault::MissingAccess => ApiError::missing_access(),
        });
    }
    let sent = body
        .as_array()
        .ok_or_else(|| ApiError::invalid_form("the body must be a list of commands"))?;
    if sent.len() > 100 {
        return Err(ApiError::invalid_form("more than 100 commands"));
    }
    let before = scope_list(w, guild);
    let mut stored = Vec::new();
    for (i, c) in sent.iter().enumerate() {
        let name = check_command(c, i)?;
        let id = before
            .iter()
            .find(|b| b.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|b| b.get("id")?.as_str()?.parse().ok())
            .unwrap_or_else(|| w.next_id());
        stored.push(model::stored_command(c, id, guild, w));
    }
    match guild {
        None => w.global_commands = stored.clone(),
        Some(g) => {
            w.guild_commands.insert(g, stored.clone());
        }
    }
    w.registrations.push(guild);
    Ok(Reply {
        status: 200,
        body: Some(Value::Array(stored)),
        shape: Shape::Commands,
    })
}
