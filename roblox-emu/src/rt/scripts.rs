//! Scripts: compiling a script's source in its own environment, and what scripts print or throw.

use mlua::{Lua, Table, Value};

use super::{Answer, Registry};
use crate::server::ServerCtx;

/// Registers `compile`, `output` and `script_error`.
pub(super) fn register(r: &Registry) -> mlua::Result<()> {
    r.answer("compile", compile)?;
    r.plain("output", output)?;
    r.plain("script_error", script_error)
}

/// Compiles source `id` of the place as `name` in `env` (marked safeenv, as Roblox runs scripts).
fn compile(lua: &Lua, c: &ServerCtx, (id, name, env): (usize, String, Table)) -> Answer {
    let Some((_, src)) = c.shared.source(id) else {
        return Err(format!("no source for {name}").into());
    };
    env.set_safeenv(true);
    // typeof stays a real call: as a fastcall builtin it would ignore the engine's
    // replacement (Luau's own typeof reports "userdata" for newproxy objects).
    let f = lua
        .load(&*src)
        .set_name(format!("@{name}"))
        .set_compiler(mlua::chunk::Compiler::new().set_disabled_builtins(["typeof"]))
        .set_environment(env)
        .into_function()
        .map_err(|e| match e {
            mlua::Error::SyntaxError { message, .. } => message,
            other => other.to_string(),
        })?;
    Ok(vec![Value::Function(f)])
}

/// A `print` / `warn` line.
fn output(_lua: &Lua, c: &ServerCtx, (level, text): (String, String)) -> mlua::Result<()> {
    c.out(&level, &text);
    Ok(())
}

/// An uncaught error in a script thread, with its traceback.
fn script_error(_lua: &Lua, c: &ServerCtx, (msg, tb): (String, String)) -> mlua::Result<()> {
    c.script_errors.set(c.script_errors.get() + 1);
    c.out("error", &format!("{msg}\n{tb}"));
    Ok(())
}
