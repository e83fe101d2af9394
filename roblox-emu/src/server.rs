//! One emulated game server: a Luau VM, the engine surface loaded into it over the Rust
//! primitives of [`crate::rt`], and the per-server state those primitives work on.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use mlua::{Function, Lua, MultiValue, Table, Value};
use opencloud::emulator::{Entry, EntryKey, Message, SubscriptionId, Writer};

use crate::budget::Throttle;
use crate::error::EmuError;
use crate::http::{InFlight, RateLimit};
use crate::json;
use crate::shared_state::Shared;

/// The engine surface, in load order (each file receives the shared engine table).
const ENGINE: &[(&str, &str)] = &[
    ("scheduler", include_str!("../engine/scheduler.luau")),
    ("signal", include_str!("../engine/signal.luau")),
    ("instance", include_str!("../engine/instance.luau")),
    ("globals", include_str!("../engine/globals.luau")),
    ("datastore", include_str!("../engine/datastore.luau")),
    ("services", include_str!("../engine/services.luau")),
    ("init", include_str!("../engine/init.luau")),
];

/// A line printed by a server (`print`, `warn`, script errors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputLine {
    /// Virtual time since the universe started, ms.
    pub t_ms: u64,
    /// `print`, `warn` or `error`.
    pub level: String,
    /// The text.
    pub text: String,
}

/// A recorded `RemoteEvent:FireClient` / `FireAllClients`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteCall {
    /// Virtual time since the universe started, ms.
    pub t_ms: u64,
    /// Full name of the RemoteEvent, e.g. `ReplicatedStorage.Economy.WalletChanged`.
    pub remote: String,
    /// `FireClient` or `FireAllClients`.
    pub method: String,
    /// Target player for `FireClient`.
    pub user_id: Option<u64>,
    /// Arguments as JSON text (values JSON cannot hold appear as their type name).
    pub args: String,
}

/// Per-server state the `rt` primitives work on.
pub(crate) struct ServerCtx {
    pub index: usize,
    pub job_id: String,
    pub start_us: u64,
    pub shared: Rc<Shared>,
    pub throttle: RefCell<Throttle>,
    pub cache: RefCell<HashMap<String, (f64, Option<Entry>)>>,
    pub cutoff_until_us: Cell<u64>,
    pub messaging_cut: Cell<bool>,
    pub output: RefCell<Vec<OutputLine>>,
    pub remote_calls: RefCell<Vec<RemoteCall>>,
    pub kicked: RefCell<Vec<(u64, String)>>,
    pub http: RefCell<HashMap<u64, InFlight>>,
    pub next_http: Cell<u64>,
    pub http_limit: RefCell<RateLimit>,
    pub inbox: Arc<Mutex<Vec<Message>>>,
    /// Bus subscription and live `SubscribeAsync` connections per topic.
    pub subscriptions: RefCell<HashMap<String, (SubscriptionId, usize)>>,
    /// Times of this server's publishes and `SubscribeAsync` calls in the last minute.
    pub msg_sent: RefCell<RateLimit>,
    pub msg_subscribes: RefCell<RateLimit>,
    pub players: Cell<usize>,
    pub script_errors: Cell<usize>,
}

impl ServerCtx {
    /// Seconds since this server started (its `time()`).
    pub(crate) fn now_s(&self) -> f64 {
        (self.shared.now_us() - self.start_us) as f64 / 1e6
    }

    /// Records an event of this server in the universe's trace.
    pub(crate) fn trace(&self, kind: &str, detail: &str) {
        self.shared.trace(Some(self.index), kind, detail);
    }

    /// A line of output (`print`, `warn`, `error`), traced and kept.
    pub(crate) fn out(&self, level: &str, text: &str) {
        let t_ms = self.shared.now_us() / 1000;
        tracing::debug!(server = self.index, level, "{text}");
        self.trace(level, text);
        self.output.borrow_mut().push(OutputLine {
            t_ms,
            level: level.to_owned(),
            text: text.to_owned(),
        });
    }

    /// A latency drawn from the universe's seeded RNG.
    pub(crate) fn latency(&self, range: (f64, f64)) -> f64 {
        self.shared.uniform(range)
    }

    /// The shared store's key of a data store entry of this universe.
    pub(crate) fn entry_key(&self, name: &str, scope: &str, key: &str) -> EntryKey {
        EntryKey::scoped(self.shared.cfg.universe_id, name, scope, key)
    }

    /// Who writes to the shared store: this server's JobId.
    pub(crate) fn writer(&self) -> Writer {
        Writer::game_server(self.job_id.clone())
    }

    /// Whether the server is cut off from the DataStore now (a zombie).
    pub(crate) fn cut_off(&self) -> bool {
        self.shared.now_us() < self.cutoff_until_us.get()
    }
}

/// A Luau Execution task running on a server (its engine-side result table).
pub struct TaskHandle(Table);

/// A running game server.
pub struct Server {
    pub(crate) ctx: Rc<ServerCtx>,
    lua: Lua,
    // The engine table (holds `rt`); kept so unit tests can call primitives directly.
    #[cfg_attr(not(test), allow(dead_code))]
    engine: Table,
    api: Table,
    step_fn: Function,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("job_id", &self.ctx.job_id)
            .finish()
    }
}

impl Server {
    /// Builds the VM, loads the engine and mounts the place's source tree (scripts do not start yet).
    pub(crate) fn new(ctx: Rc<ServerCtx>) -> Result<Self, EmuError> {
        let lua = Lua::new();
        if ctx.shared.cfg.memory_limit > 0 {
            lua.set_memory_limit(ctx.shared.cfg.memory_limit)?;
        }
        let engine = lua.create_table()?;
        engine.set("rt", crate::rt::make_rt(&lua, &ctx)?)?;
        engine.set("G", lua.globals())?;
        let mut api = None;
        for (name, src) in ENGINE {
            let f = lua
                .load(*src)
                .set_name(format!("@engine/{name}.luau"))
                .into_function()?;
            let ret: Value = f.call(engine.clone())?;
            if let Value::Table(t) = ret {
                api = Some(t);
            }
        }
        let api = api.ok_or_else(|| EmuError::Engine("engine/init.luau returned no API".into()))?;
        let step_fn: Function = api.get("step")?;
        let server = Self {
            ctx,
            lua,
            engine,
            api,
            step_fn,
        };
        let place = server.ctx.shared.place.clone();
        for (i, item) in place.items.iter().enumerate() {
            let path = server
                .lua
                .create_sequence_from(item.path.iter().map(String::as_str))?;
            let source_id = if item.source.is_some() {
                Value::Integer(i as i64)
            } else {
                Value::Nil
            };
            server.call("mount", (path, item.class.as_str(), source_id))?;
        }
        Ok(server)
    }

    fn call(&self, name: &str, args: impl mlua::IntoLuaMulti) -> Result<MultiValue, EmuError> {
        let f: Function = self.api.get(name)?;
        Ok(f.call(args)?)
    }

    /// Starts every Script of the source tree.
    pub(crate) fn start(&self) -> Result<(), EmuError> {
        self.call("startScripts", ()).map(|_| ())
    }

    /// Runs one frame at server time `t_s`.
    pub(crate) fn step(&self, t_s: f64, dt: f64) -> Result<(), EmuError> {
        self.step_fn.call::<()>((t_s, dt))?;
        Ok(())
    }

    /// Delivers a message to this server's subscribers.
    /// In-game publishes travel as JSON text and arrive decoded; an Open Cloud publish carries a
    /// plain string (`{"message": "<string>"}`), which arrives as that string, as on Roblox.
    pub(crate) fn deliver(&self, topic: &str, data: &str, sent: f64) -> Result<(), EmuError> {
        let value = match json::decode(&self.lua, data) {
            Ok(v) => v,
            Err(_) => Value::String(self.lua.create_string(data)?),
        };
        self.call("deliverMessage", (topic, value, sent))
            .map(|_| ())
    }

    /// A player joins (fires PlayerAdded).
    pub(crate) fn player_join(&self, user_id: i64, name: &str) -> Result<(), EmuError> {
        self.ctx.players.set(self.ctx.players.get() + 1);
        self.call("playerJoin", (user_id as f64, name)).map(|_| ())
    }

    /// A player leaves (fires PlayerRemoving).
    pub(crate) fn player_leave(&self, user_id: i64) -> Result<(), EmuError> {
        self.call("playerLeave", (user_id as f64,)).map(|_| ())
    }

    /// User ids of the players on this server.
    pub fn player_ids(&self) -> Result<Vec<u64>, EmuError> {
        let t: Table = self.call("playerIds", ())?.pop_front().map_or_else(
            || Err(EmuError::Engine("playerIds returned nothing".into())),
            |v| match v {
                Value::Table(t) => Ok(t),
                _ => Err(EmuError::Engine("playerIds returned a non-table".into())),
            },
        )?;
        let mut out = Vec::new();
        for v in t.sequence_values::<f64>() {
            out.push(v? as u64);
        }
        Ok(out)
    }

    /// Starts a graceful shutdown (players leave, BindToClose callbacks run).
    pub(crate) fn begin_close(&self) -> Result<(), EmuError> {
        self.call("beginClose", ()).map(|_| ())
    }

    /// True once every BindToClose callback has returned.
    pub(crate) fn close_done(&self) -> Result<bool, EmuError> {
        let v = self.call("closeDone", ())?;
        Ok(matches!(v.front(), Some(Value::Boolean(true))))
    }

    /// Runs Luau source as a new Script under ServerScriptService.
    pub(crate) fn run_snippet(&self, name: &str, source: &str) -> Result<(), EmuError> {
        let id = self.ctx.shared.add_source(name, source);
        self.call("runSnippet", (Value::Integer(id as i64), name))
            .map(|_| ())
    }

    /// Runs Luau source as a Luau Execution task's script; its result is read with
    /// [`Server::task_result`].
    pub(crate) fn run_task(&self, name: &str, source: &str) -> Result<TaskHandle, EmuError> {
        let id = self.ctx.shared.add_source(name, source);
        let result = self
            .call("runTask", (Value::Integer(id as i64), name))?
            .pop_front();
        match result {
            Some(Value::Table(t)) => Ok(TaskHandle(t)),
            _ => Err(EmuError::Engine("runTask returned no result table".into())),
        }
    }

    /// A task's end: `None` while it runs; its return values as JSON (values JSON cannot hold
    /// become null) or its error message.
    pub(crate) fn task_result(
        &self,
        task: &TaskHandle,
    ) -> Result<Option<Result<Vec<serde_json::Value>, String>>, EmuError> {
        if !task.0.get::<bool>("done")? {
            return Ok(None);
        }
        if !task.0.get::<bool>("ok")? {
            let message: String = task.0.get("error").unwrap_or_default();
            return Ok(Some(Err(message)));
        }
        let values: Table = task.0.get("values")?;
        let n: i64 = values.get("n")?;
        let mut out = Vec::new();
        for i in 1..=n {
            let v: Value = values.get(i)?;
            out.push(json::to_json(&v, json::Rules::Http).unwrap_or(serde_json::Value::Null));
        }
        Ok(Some(Ok(out)))
    }

    /// A client fires a RemoteEvent at this server.
    pub(crate) fn client_fire(
        &self,
        remote: &str,
        user_id: u64,
        args_json: &str,
    ) -> Result<(), EmuError> {
        let args = json::decode(&self.lua, args_json).map_err(EmuError::Engine)?;
        self.call("clientFire", (remote, user_id as f64, args))
            .map(|_| ())
    }

    /// Lua heap in bytes.
    pub fn used_memory(&self) -> usize {
        self.lua.used_memory()
    }

    /// This server's `game.JobId`.
    pub fn job_id(&self) -> &str {
        &self.ctx.job_id
    }

    /// Everything printed so far.
    pub fn output(&self) -> Vec<OutputLine> {
        self.ctx.output.borrow().clone()
    }

    /// The text of every `print` so far (warnings and errors left out).
    pub fn printed(&self) -> Vec<String> {
        self.ctx
            .output
            .borrow()
            .iter()
            .filter(|l| l.level == "print")
            .map(|l| l.text.clone())
            .collect()
    }

    /// Recorded RemoteEvent calls.
    pub fn remote_calls(&self) -> Vec<RemoteCall> {
        self.ctx.remote_calls.borrow().clone()
    }

    /// Players kicked (user id, message).
    pub fn kicked(&self) -> Vec<(u64, String)> {
        self.ctx.kicked.borrow().clone()
    }

    /// Uncaught errors in script threads so far.
    pub fn script_errors(&self) -> usize {
        self.ctx.script_errors.get()
    }

    /// Unsubscribes from the bus (the server is gone).
    pub(crate) fn detach(&self) {
        for (_, (id, _)) in self.ctx.subscriptions.borrow_mut().drain() {
            self.ctx.shared.bus.unsubscribe(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Place, Universe, UniverseConfig};
    use mlua::{Function, Table};

    #[test]
    fn scripts_compile_with_safeenv_on() {
        let mut u = Universe::new(UniverseConfig::default(), Place::new());
        let s = u.start_server().unwrap();
        let server = u.server(s).unwrap();
        let lua = &server.lua;
        let rt: Table = server.engine.get("rt").unwrap();
        let compile: Function = rt.get("compile").unwrap();
        let id = server
            .ctx
            .shared
            .add_source("probe", "return function() return math.floor(2.5) end");
        let env = lua.create_table().unwrap();
        env.set("math", lua.globals().get::<Table>("math").unwrap())
            .unwrap();
        let (ok, chunk): (bool, Function) = compile.call((id, "probe", env.clone())).unwrap();
        assert!(ok);
        let probe: Function = chunk.call(()).unwrap();
        // Under safeenv the import was resolved when `probe` was created: patching the
        // environment afterwards does not reach it.
        let patched = lua.create_table().unwrap();
        patched
            .set("floor", lua.create_function(|_, ()| Ok("patched")).unwrap())
            .unwrap();
        env.set("math", patched).unwrap();
        let v: mlua::Value = probe.call(()).unwrap();
        assert!(
            matches!(v, mlua::Value::Integer(2)) || v.as_f64() == Some(2.0),
            "{v:?}"
        );
    }
}
