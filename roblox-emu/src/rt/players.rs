//! Players and remotes: user names registered on the universe, kicks, and the RemoteEvent calls a
//! server makes to clients (recorded, since there are no clients).

use mlua::{Lua, Value};

use super::{Answer, Registry};
use crate::json::{self, Rules};
use crate::server::{RemoteCall, ServerCtx};

/// Registers `remote_fire`, `player_kicked`, `lookup_delay`, `user_id_from_name` and
/// `name_from_user_id`.
pub(super) fn register(r: &Registry) -> mlua::Result<()> {
    r.plain("remote_fire", remote_fire)?;
    r.plain("player_kicked", player_kicked)?;
    r.answer("lookup_delay", lookup_delay)?;
    r.plain("user_id_from_name", user_id_from_name)?;
    r.plain("name_from_user_id", name_from_user_id)
}

/// Records `FireClient` / `FireAllClients`; the packed arguments become JSON text.
fn remote_fire(
    _lua: &Lua,
    c: &ServerCtx,
    (remote, method, uid, args): (String, String, Option<f64>, Value),
) -> mlua::Result<()> {
    let args = match &args {
        Value::Table(t) => {
            let n: usize = t.get("n").unwrap_or(0);
            let items: Vec<serde_json::Value> = (1..=n)
                .map(|i| {
                    let v: Value = t.raw_get(i).unwrap_or(Value::Nil);
                    json::to_json(&v, Rules::Http).unwrap_or_else(|_| {
                        serde_json::Value::String(format!("<{}>", v.type_name()))
                    })
                })
                .collect();
            serde_json::to_string(&items).unwrap_or_default()
        }
        _ => "[]".to_owned(),
    };
    c.trace("remote", &format!("{remote} {method} {uid:?} {args}"));
    c.remote_calls.borrow_mut().push(RemoteCall {
        t_ms: c.shared.now_us() / 1000,
        remote,
        method,
        user_id: uid.map(|u| u as u64),
        args,
    });
    Ok(())
}

/// `Player:Kick`: the player is gone from this server.
fn player_kicked(_lua: &Lua, c: &ServerCtx, (uid, msg): (f64, String)) -> mlua::Result<()> {
    c.trace("kick", &format!("{uid} {msg}"));
    c.kicked.borrow_mut().push((uid as u64, msg));
    c.players.set(c.players.get().saturating_sub(1));
    Ok(())
}

/// How long a user lookup (`GetUserIdFromNameAsync`, ...) takes.
fn lookup_delay(_lua: &Lua, c: &ServerCtx, (): ()) -> Answer {
    Ok(vec![Value::Number(
        c.latency(c.shared.cfg.datastore_latency_s),
    )])
}

fn user_id_from_name(_lua: &Lua, c: &ServerCtx, name: String) -> mlua::Result<Option<f64>> {
    Ok(c.shared.user_id_from_name(&name).map(|v| v as f64))
}

fn name_from_user_id(_lua: &Lua, c: &ServerCtx, id: f64) -> mlua::Result<Option<String>> {
    Ok(c.shared.name_from_user_id(id as u64))
}
