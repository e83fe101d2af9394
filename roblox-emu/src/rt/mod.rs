//! The synchronous Rust primitives (`rt`) the Luau engine surface is written over, one module per
//! engine area. Primitives never yield and never call back into game code; a primitive that can
//! fail answers `(true, ...)` or `(false, message)`, so every engine error reaches Luau as a plain
//! string, as on Roblox (an error raised from Rust would reach a script's `pcall` as an mlua
//! error object, not a string).
//!
//! - [`time`]: virtual Unix time and `DateTime` formatting.
//! - [`scripts`]: compiling scripts, their output and uncaught errors.
//! - [`codecs`]: JSON, hashing, base64, URL encoding, GUIDs.
//! - [`datastore`]: DataStoreService over the shared Open Cloud store ([`ds_values`]: the values
//!   and names it accepts, its answers).
//! - [`messaging`]: MessagingService over the shared bus.
//! - [`http`]: HttpService requests on worker threads.
//! - [`players`]: players, user names and RemoteEvent calls.

mod codecs;
mod datastore;
mod ds_values;
mod http;
mod messaging;
mod players;
mod scripts;
mod time;

use std::rc::Rc;

use mlua::{FromLuaMulti, IntoLuaMulti, Lua, MultiValue, Table, Value};
use rand::Rng;

use crate::error::EmuError;
use crate::server::ServerCtx;

/// Why a primitive did not answer with values.
pub(crate) enum Failure {
    /// An engine error for the script: handed to Luau as `(false, message)`.
    Refused(String),
    /// The VM itself failed (e.g. out of memory): raised as a Lua error.
    Lua(mlua::Error),
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Refused(message)
    }
}

impl From<mlua::Error> for Failure {
    fn from(e: mlua::Error) -> Self {
        Failure::Lua(e)
    }
}

/// What an answering primitive returns: the values after `true`, or why not.
pub(crate) type Answer = Result<Vec<Value>, Failure>;

/// Turns an [`Answer`] into the `(true, values...)` / `(false, message)` Luau sees.
fn reply(lua: &Lua, answer: Answer) -> mlua::Result<MultiValue> {
    match answer {
        Ok(mut values) => {
            values.insert(0, Value::Boolean(true));
            Ok(MultiValue::from_vec(values))
        }
        Err(Failure::Refused(message)) => Ok(MultiValue::from_vec(vec![
            Value::Boolean(false),
            Value::String(lua.create_string(&message)?),
        ])),
        Err(Failure::Lua(e)) => Err(e),
    }
}

/// Adds primitives to the `rt` table, each bound to one server's context.
pub(crate) struct Registry<'a> {
    lua: &'a Lua,
    rt: &'a Table,
    ctx: &'a Rc<ServerCtx>,
}

impl Registry<'_> {
    /// A primitive that answers `(true, values...)` or `(false, message)`.
    fn answer<A: FromLuaMulti + 'static>(
        &self,
        name: &str,
        f: fn(&Lua, &ServerCtx, A) -> Answer,
    ) -> mlua::Result<()> {
        let ctx = self.ctx.clone();
        let func = self
            .lua
            .create_function(move |lua, args: A| reply(lua, f(lua, &ctx, args)))?;
        self.rt.set(name, func)
    }

    /// A primitive that returns its values as they are (it has no engine error to report).
    fn plain<A: FromLuaMulti + 'static, R: IntoLuaMulti + 'static>(
        &self,
        name: &str,
        f: fn(&Lua, &ServerCtx, A) -> mlua::Result<R>,
    ) -> mlua::Result<()> {
        let ctx = self.ctx.clone();
        let func = self
            .lua
            .create_function(move |lua, args: A| f(lua, &ctx, args))?;
        self.rt.set(name, func)
    }
}

/// The `rt` table of one server: its constants and every primitive.
pub(crate) fn make_rt(lua: &Lua, ctx: &Rc<ServerCtx>) -> Result<Table, EmuError> {
    let rt = lua.create_table()?;
    let cfg = &ctx.shared.cfg;
    // Studio's `game.JobId` is "" (DataModel.JobId); the server keeps its GUID for traces and the
    // session-lock invariant.
    rt.set("job_id", if cfg.studio { "" } else { ctx.job_id.as_str() })?;
    rt.set("place_id", cfg.place_id as f64)?;
    rt.set("universe_id", cfg.universe_id as f64)?;
    rt.set("is_studio", cfg.studio)?;
    rt.set("http_enabled", cfg.http_enabled)?;
    // Both draws come from the universe's seeded RNG, in this order (a run's trace depends on it).
    let offset = if cfg.clock_zero {
        0.0
    } else {
        100.0 + ctx.shared.uniform((0.0, 1000.0))
    };
    rt.set("clock_offset", offset)?;
    rt.set(
        "math_seed",
        ctx.shared.rng.borrow_mut().random_range(0..i32::MAX),
    )?;

    let registry = Registry { lua, rt: &rt, ctx };
    time::register(&registry)?;
    scripts::register(&registry)?;
    codecs::register(&registry)?;
    players::register(&registry)?;
    datastore::register(&registry)?;
    messaging::register(&registry)?;
    http::register(&registry)?;
    Ok(rt)
}
