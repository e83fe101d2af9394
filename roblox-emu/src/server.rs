//! One emulated game server: a Luau VM, the engine surface loaded into it, and the synchronous
//! Rust primitives (`rt`) the surface is written over. Rust primitives never yield and never call
//! back into game code; they return `(true, ...)` or `(false, message)` so errors reach Luau as
//! plain strings (pitfall 3).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use mlua::{Function, Lua, MultiValue, Table, Value};
use opencloud::emulator::{
    Entry, EntryKey, Message, SetCondition, StoreError, SubscriptionId, Transform, Writer,
};
use rand::Rng;

use crate::budget::{Budget, Op, Throttle};
use crate::config::TimeMode;
use crate::error::EmuError;
use crate::http::{self, HttpRequest, InFlight, RateLimit};
use crate::json::{self, Rules};
use crate::timefmt;
use crate::universe::Shared;

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
    pub subscriptions: RefCell<HashMap<String, SubscriptionId>>,
    pub players: Cell<usize>,
    pub script_errors: Cell<usize>,
}

impl ServerCtx {
    fn now_s(&self) -> f64 {
        (self.shared.now_us() - self.start_us) as f64 / 1e6
    }

    fn trace(&self, kind: &str, detail: &str) {
        self.shared.trace(Some(self.index), kind, detail);
    }

    fn out(&self, level: &str, text: &str) {
        let t_ms = self.shared.now_us() / 1000;
        tracing::debug!(server = self.index, level, "{text}");
        self.trace(level, text);
        self.output.borrow_mut().push(OutputLine {
            t_ms,
            level: level.to_owned(),
            text: text.to_owned(),
        });
    }

    fn latency(&self, range: (f64, f64)) -> f64 {
        self.shared.uniform(range)
    }

    fn entry_key(&self, name: &str, scope: &str, key: &str) -> EntryKey {
        EntryKey::scoped(self.shared.cfg.universe_id, name, scope, key)
    }

    fn writer(&self) -> Writer {
        Writer::game_server(self.job_id.clone())
    }

    fn cut_off(&self) -> bool {
        self.shared.now_us() < self.cutoff_until_us.get()
    }
}

type Reply = mlua::Result<MultiValue>;

fn reply(lua: &Lua, r: Result<Vec<Value>, String>) -> Reply {
    match r {
        Ok(mut v) => {
            v.insert(0, Value::Boolean(true));
            Ok(MultiValue::from_vec(v))
        }
        Err(e) => Ok(MultiValue::from_vec(vec![
            Value::Boolean(false),
            Value::String(lua.create_string(&e)?),
        ])),
    }
}

fn store_error(e: &StoreError) -> String {
    match e {
        StoreError::Limit(l) => {
            let text = l.to_string();
            if text.contains("too big") || text.contains("large") {
                "105: Serialized value exceeds 4MB limit.".to_owned()
            } else {
                format!("103: Value is not allowed in data store: {text}")
            }
        }
        StoreError::ExistingValueNotNumeric => {
            "IncrementAsync: the existing value is not an integer".to_owned()
        }
        StoreError::IncrementOutOfRange { .. } => {
            "IncrementAsync: the result is out of the 64-bit integer range".to_owned()
        }
        StoreError::VersionNotFound | StoreError::InvalidVersionId => {
            "Version id is not valid".to_owned()
        }
        StoreError::InvalidCursor => "The cursor is not valid".to_owned(),
        other => format!("502: API Services rejected request with error. {other}"),
    }
}

fn key_info(lua: &Lua, e: &Entry) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.set("version", e.version.as_str())?;
    t.set("created", e.created_ms as f64)?;
    t.set("updated", e.updated_ms as f64)?;
    let ids = lua.create_table()?;
    for (i, id) in e.user_ids.iter().enumerate() {
        ids.raw_set(i + 1, *id as f64)?;
    }
    t.set("userIds", ids)?;
    let meta = match &e.attributes {
        Some(text) => json::decode(lua, text).unwrap_or(Value::Nil),
        None => Value::Nil,
    };
    t.set("metadata", meta)?;
    Ok(Value::Table(t))
}

fn entry_value(lua: &Lua, e: &Entry) -> mlua::Result<Value> {
    json::decode(lua, &e.value).map_err(mlua::Error::runtime)
}

fn user_ids(v: &Value) -> Result<Vec<u64>, String> {
    match v {
        Value::Nil => Ok(Vec::new()),
        Value::Table(t) => {
            let mut out = Vec::new();
            for item in t.clone().sequence_values::<Value>() {
                match item.map_err(|e| e.to_string())? {
                    Value::Number(n) if n >= 0.0 && n.fract() == 0.0 => out.push(n as u64),
                    Value::Integer(i) if i >= 0 => out.push(i as u64),
                    _ => {
                        return Err(
                            "Unable to cast to Array of user ids (non-negative integers)"
                                .to_owned(),
                        );
                    }
                }
            }
            if out.len() > 4 {
                return Err("512: UserID size exceeds limit of 4".to_owned());
            }
            Ok(out)
        }
        _ => Err("Unable to cast to Array of user ids".to_owned()),
    }
}

fn metadata(v: &Value) -> Result<Option<String>, String> {
    match v {
        Value::Nil => Ok(None),
        Value::Table(t) if t.is_empty() => Ok(None),
        Value::Table(_) => {
            let text = json::encode(v, Rules::DataStore)?;
            if !text.starts_with('{') {
                return Err("511: Metadata must be a dictionary".to_owned());
            }
            if text.len() > 300 {
                return Err("511: Metadata attribute size exceeds 300 bytes limit".to_owned());
            }
            Ok(Some(text))
        }
        _ => Err("511: Metadata must be a table".to_owned()),
    }
}

fn value_text(v: &Value) -> Result<String, String> {
    let text = json::encode(v, Rules::DataStore)?;
    if text.len() > 4 * 1024 * 1024 {
        return Err("105: Serialized value exceeds 4MB limit.".to_owned());
    }
    Ok(text)
}

fn check_names(name: &str, scope: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("DataStore name can't be empty".to_owned());
    }
    if name.len() > 50 {
        return Err("DataStore name exceeds the 50 character limit".to_owned());
    }
    if scope.is_empty() || scope.len() > 50 {
        return Err("DataStore scope must be 1 to 50 characters".to_owned());
    }
    Ok(())
}

fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("101: Key name can't be empty.".to_owned());
    }
    if key.len() > 50 {
        return Err("102: Key name exceeds the 50 character limit.".to_owned());
    }
    Ok(())
}

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
        engine.set("rt", make_rt(&lua, &ctx)?)?;
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
    pub(crate) fn player_join(&self, user_id: u64, name: &str) -> Result<(), EmuError> {
        self.ctx.players.set(self.ctx.players.get() + 1);
        self.call("playerJoin", (user_id as f64, name)).map(|_| ())
    }

    /// A player leaves (fires PlayerRemoving).
    pub(crate) fn player_leave(&self, user_id: u64) -> Result<(), EmuError> {
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
        for (_, id) in self.ctx.subscriptions.borrow_mut().drain() {
            self.ctx.shared.bus.unsubscribe(id);
        }
    }
}

fn make_rt(lua: &Lua, ctx: &Rc<ServerCtx>) -> Result<Table, EmuError> {
    let rt = lua.create_table()?;
    let cfg = &ctx.shared.cfg;
    rt.set("job_id", ctx.job_id.as_str())?;
    rt.set("place_id", cfg.place_id as f64)?;
    rt.set("universe_id", cfg.universe_id as f64)?;
    rt.set("is_studio", cfg.studio)?;
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

    macro_rules! func {
        ($name:literal, |$lua:ident, $c:ident, $args:tt : $ty:ty| $body:expr) => {{
            let $c = ctx.clone();
            rt.set(
                $name,
                lua.create_function(move |$lua, $args: $ty| {
                    let $c = &$c;
                    $body
                })?,
            )?;
        }};
    }

    func!("unix_ms", |_lua, c, (): ()| Ok(c.shared.unix_ms() as f64));
    func!("iso_date", |_lua, _c, ms: f64| Ok(timefmt::iso(ms as i64)));
    func!("parse_iso_date", |_lua, _c, s: String| Ok(
        timefmt::parse_iso(&s).map(|v| v as f64)
    ));
    func!("universal_time", |lua, _c, ms: f64| {
        let civ = timefmt::civil(ms as i64);
        let t = lua.create_table()?;
        t.set("Year", civ.year)?;
        t.set("Month", civ.month)?;
        t.set("Day", civ.day)?;
        t.set("Hour", civ.hour)?;
        t.set("Minute", civ.minute)?;
        t.set("Second", civ.second)?;
        t.set("Millisecond", civ.millisecond)?;
        Ok(t)
    });
    func!("output", |_lua, c, (level, text): (String, String)| {
        c.out(&level, &text);
        Ok(())
    });
    func!("script_error", |_lua, c, (msg, tb): (String, String)| {
        c.script_errors.set(c.script_errors.get() + 1);
        c.out("error", &format!("{msg}\n{tb}"));
        Ok(())
    });
    func!("remote_fire", |_lua,
                          c,
                          (remote, method, uid, args): (
        String,
        String,
        Option<f64>,
        Value
    )| {
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
    });
    func!("player_kicked", |_lua, c, (uid, msg): (f64, String)| {
        c.trace("kick", &format!("{uid} {msg}"));
        c.kicked.borrow_mut().push((uid as u64, msg));
        c.players.set(c.players.get().saturating_sub(1));
        Ok(())
    });
    func!("lookup_delay", |lua, c, (): ()| {
        let d = c.latency(c.shared.cfg.datastore_latency_s);
        reply(lua, Ok(vec![Value::Number(d)]))
    });
    func!("user_id_from_name", |_lua, c, name: String| Ok(c
        .shared
        .user_id_from_name(&name)
        .map(|v| v as f64)));
    func!("name_from_user_id", |_lua, c, id: f64| Ok(c
        .shared
        .name_from_user_id(id as u64)));
    func!("guid", |_lua, c, (): ()| Ok(c.shared.guid()));
    func!("url_encode", |_lua, _c, s: String| {
        Ok(percent_encode(&s))
    });
    func!("json_encode", |lua, _c, v: Value| {
        let r = match json::encode(&v, Rules::Http) {
            Ok(s) => Ok(vec![Value::String(lua.create_string(&s)?)]),
            Err(e) => Err(e),
        };
        reply(lua, r)
    });
    func!("json_decode", |lua, _c, s: mlua::LuaString| {
        let r = match s.to_str() {
            Ok(text) => json::decode(lua, &text).map(|v| vec![v]),
            Err(_) => Err("Can't parse JSON".to_owned()),
        };
        reply(lua, r)
    });
    func!("hash", |lua, _c, (buf, algo): (mlua::Buffer, String)| {
        use sha2::Digest;
        let r = match algo.as_str() {
            "Sha256" => Ok(sha2::Sha256::digest(buf.to_vec()).to_vec()),
            other => Err(format!(
                "ComputeBufferHash: HashAlgorithm.{other} is not emulated (Sha256 is)"
            )),
        };
        let r = match r {
            Ok(bytes) => Ok(vec![Value::Buffer(lua.create_buffer(bytes)?)]),
            Err(e) => Err(e),
        };
        reply(lua, r)
    });
    func!("base64", |lua, _c, (buf, encode): (mlua::Buffer, bool)| {
        use base64::Engine;
        let engine = base64::engine::general_purpose::STANDARD;
        let r = if encode {
            Ok(engine.encode(buf.to_vec()).into_bytes())
        } else {
            engine
                .decode(buf.to_vec())
                .map_err(|_| "Base64Decode: invalid base64".to_owned())
        };
        let r = match r {
            Ok(bytes) => Ok(vec![Value::Buffer(lua.create_buffer(bytes)?)]),
            Err(e) => Err(e),
        };
        reply(lua, r)
    });
    func!(
        "compile",
        |lua, c, (id, name, env): (usize, String, Table)| {
            let Some((_, src)) = c.shared.source(id) else {
                return reply(lua, Err(format!("no source for {name}")));
            };
            env.set_safeenv(true);
            // typeof stays a real call: as a fastcall builtin it would ignore the engine's
            // replacement (Luau's own typeof reports "userdata" for newproxy objects).
            let r = lua
                .load(&*src)
                .set_name(format!("@{name}"))
                .set_compiler(mlua::chunk::Compiler::new().set_disabled_builtins(["typeof"]))
                .set_environment(env)
                .into_function()
                .map(|f| vec![Value::Function(f)])
                .map_err(|e| match e {
                    mlua::Error::SyntaxError { message, .. } => message,
                    other => other.to_string(),
                });
            reply(lua, r)
        }
    );

    // DataStore ------------------------------------------------------------------------------
    func!(
        "ds_check_names",
        |lua, _c, (name, scope): (String, String)| {
            reply(lua, check_names(&name, &scope).map(|()| vec![]))
        }
    );
    func!("ds_validate", |lua,
                          _c,
                          (value, ids, meta): (
        Value,
        Value,
        Value
    )| {
        let r = value_text(&value)
            .and_then(|_| user_ids(&ids))
            .and_then(|_| metadata(&meta))
            .map(|_| vec![]);
        reply(lua, r)
    });
    func!("ds_begin", |lua,
                       c,
                       (op, name, scope, key): (
        String,
        String,
        String,
        String
    )| {
        let r = ds_begin(c, &op, &name, &scope, &key).map(|d| vec![Value::Number(d)]);
        reply(lua, r)
    });
    func!("ds_commit_delay", |lua, c, (): ()| {
        let d = c.latency(c.shared.cfg.datastore_latency_s) / 2.0;
        reply(lua, Ok(vec![Value::Number(d)]))
    });
    func!("ds_cached", |lua,
                        c,
                        (name, scope, key): (
        String,
        String,
        String
    )| {
        let id = format!("{name}\0{scope}\0{key}");
        let now = c.now_s();
        let hit = c
            .cache
            .borrow()
            .get(&id)
            .filter(|(exp, _)| *exp > now)
            .map(|(_, e)| e.clone());
        let r = match hit {
            Some(Some(e)) => vec![
                Value::Boolean(true),
                entry_value(lua, &e)?,
                key_info(lua, &e)?,
            ],
            Some(None) => vec![Value::Boolean(true), Value::Nil, Value::Nil],
            None => vec![Value::Boolean(false)],
        };
        if matches!(r.first(), Some(Value::Boolean(true))) {
            c.trace("ds", &format!("get-cached {name}/{scope}/{key}"));
        }
        reply(lua, Ok(r))
    });
    func!(
        "ds_get",
        |lua, c, (name, scope, key): (String, String, String)| {
            if c.cut_off() {
                return reply(lua, Err(cutoff_error()));
            }
            let e = c.shared.store.get(&c.entry_key(&name, &scope, &key));
            c.trace(
                "ds",
                &format!(
                    "get {name}/{scope}/{key} -> {}",
                    e.as_ref().map_or("nil", |e| e.version.as_str())
                ),
            );
            let exp = c.now_s() + c.shared.cfg.limits.get_cache_s;
            c.cache
                .borrow_mut()
                .insert(format!("{name}\0{scope}\0{key}"), (exp, e.clone()));
            let r = match e {
                Some(e) => vec![entry_value(lua, &e)?, key_info(lua, &e)?],
                None => vec![Value::Nil, Value::Nil],
            };
            reply(lua, Ok(r))
        }
    );
    func!(
        "ds_read",
        |lua, c, (name, scope, key): (String, String, String)| {
            if c.cut_off() {
                return reply(lua, Err(cutoff_error()));
            }
            let e = c.shared.store.get(&c.entry_key(&name, &scope, &key));
            let r = match e {
                Some(e) => vec![
                    entry_value(lua, &e)?,
                    key_info(lua, &e)?,
                    Value::String(lua.create_string(&e.version)?),
                ],
                None => vec![
                    Value::Nil,
                    Value::Nil,
                    Value::String(lua.create_string("")?),
                ],
            };
            reply(lua, Ok(r))
        }
    );
    func!("ds_commit", |lua,
                        c,
                        (
        name,
        scope,
        key,
        expected,
        value,
        ids,
        meta,
    ): (
        String,
        String,
        String,
        String,
        Value,
        Value,
        Value
    )| {
        if c.cut_off() {
            return reply(lua, Err(cutoff_error()));
        }
        let prepared = value_text(&value).and_then(|v| Ok((v, user_ids(&ids)?, metadata(&meta)?)));
        let (text, ids, meta) = match prepared {
            Ok(p) => p,
            Err(e) => return reply(lua, Err(e)),
        };
        let conflict = Cell::new(false);
        let ek = c.entry_key(&name, &scope, &key);
        let res = c.shared.store.update(&ek, &c.writer(), |cur| {
            let cur_version = cur.map_or("", |e| e.version.as_str());
            if cur_version != expected {
                conflict.set(true);
                return Transform::Keep;
            }
            Transform::Write {
                value: text,
                attributes: meta,
                user_ids: ids,
            }
        });
        match res {
            Ok(_) if conflict.get() => {
                c.trace("ds", &format!("update-conflict {name}/{scope}/{key}"));
                reply(lua, Ok(vec![Value::String(lua.create_string("conflict")?)]))
            }
            Ok(Some(e)) => {
                c.trace(
                    "ds",
                    &format!("update {name}/{scope}/{key} -> {}", e.version),
                );
                let exp = c.now_s() + c.shared.cfg.limits.get_cache_s;
                c.cache
                    .borrow_mut()
                    .insert(format!("{name}\0{scope}\0{key}"), (exp, Some(e.clone())));
                reply(
                    lua,
                    Ok(vec![
                        Value::String(lua.create_string("ok")?),
                        entry_value(lua, &e)?,
                        key_info(lua, &e)?,
                    ]),
                )
            }
            Ok(None) => reply(
                lua,
                Err("502: API Services rejected request with error. The write was lost".to_owned()),
            ),
            Err(e) => reply(lua, Err(store_error(&e))),
        }
    });
    func!("ds_set", |lua,
                     c,
                     (name, scope, key, value, ids, meta): (
        String,
        String,
        String,
        Value,
        Value,
        Value
    )| {
        if c.cut_off() {
            return reply(lua, Err(cutoff_error()));
        }
        let prepared = value_text(&value).and_then(|v| Ok((v, user_ids(&ids)?, metadata(&meta)?)));
        let (text, ids, meta) = match prepared {
            Ok(p) => p,
            Err(e) => return reply(lua, Err(e)),
        };
        let ek = c.entry_key(&name, &scope, &key);
        match c
            .shared
            .store
            .set(&ek, &c.writer(), text, meta, ids, SetCondition::default())
        {
            Ok(e) => {
                c.trace("ds", &format!("set {name}/{scope}/{key} -> {}", e.version));
                let exp = c.now_s() + c.shared.cfg.limits.get_cache_s;
                c.cache
                    .borrow_mut()
                    .insert(format!("{name}\0{scope}\0{key}"), (exp, Some(e.clone())));
                reply(lua, Ok(vec![Value::String(lua.create_string(&e.version)?)]))
            }
            Err(e) => reply(lua, Err(store_error(&e))),
        }
    });
    func!("ds_remove", |lua,
                        c,
                        (name, scope, key): (
        String,
        String,
        String
    )| {
        if c.cut_off() {
            return reply(lua, Err(cutoff_error()));
        }
        let ek = c.entry_key(&name, &scope, &key);
        match c.shared.store.delete(&ek, &c.writer()) {
            Ok(prev) => {
                c.trace("ds", &format!("remove {name}/{scope}/{key}"));
                c.cache
                    .borrow_mut()
                    .remove(&format!("{name}\0{scope}\0{key}"));
                let r = match prev {
                    Some(e) => vec![entry_value(lua, &e)?, key_info(lua, &e)?],
                    None => vec![Value::Nil, Value::Nil],
                };
                reply(lua, Ok(r))
            }
            Err(e) => reply(lua, Err(store_error(&e))),
        }
    });
    func!("ds_increment", |lua,
                           c,
                           (name, scope, key, delta, ids, meta): (
        String,
        String,
        String,
        f64,
        Value,
        Value
    )| {
        if c.cut_off() {
            return reply(lua, Err(cutoff_error()));
        }
        if delta.fract() != 0.0 || !delta.is_finite() {
            return reply(
                lua,
                Err("IncrementAsync: delta must be an integer".to_owned()),
            );
        }
        let prepared = user_ids(&ids).and_then(|i| Ok((i, metadata(&meta)?)));
        let (ids, meta) = match prepared {
            Ok(p) => p,
            Err(e) => return reply(lua, Err(e)),
        };
        let ek = c.entry_key(&name, &scope, &key);
        match c
            .shared
            .store
            .increment(&ek, &c.writer(), delta as i64, meta, ids)
        {
            Ok(e) => {
                c.trace(
                    "ds",
                    &format!("increment {name}/{scope}/{key} -> {}", e.version),
                );
                c.cache
                    .borrow_mut()
                    .remove(&format!("{name}\0{scope}\0{key}"));
                reply(lua, Ok(vec![entry_value(lua, &e)?, key_info(lua, &e)?]))
            }
            Err(e) => reply(lua, Err(store_error(&e))),
        }
    });
    func!("ds_get_version", |lua,
                             c,
                             (name, scope, key, version): (
        String,
        String,
        String,
        Value
    )| {
        if c.cut_off() {
            return reply(lua, Err(cutoff_error()));
        }
        let Value::String(version) = version else {
            return reply(lua, Err("Version id is not valid".to_owned()));
        };
        let version = version.to_string_lossy();
        match c
            .shared
            .store
            .get_version(&c.entry_key(&name, &scope, &key), &version)
        {
            Ok(e) if !e.deleted => reply(lua, Ok(vec![entry_value(lua, &e)?, key_info(lua, &e)?])),
            Ok(_) => reply(lua, Ok(vec![Value::Nil, Value::Nil])),
            Err(e) => reply(lua, Err(store_error(&e))),
        }
    });
    func!("ds_list_versions", |lua,
                               c,
                               (
        name,
        scope,
        key,
        desc,
        lo,
        hi,
        size,
        cursor,
    ): (
        String,
        String,
        String,
        bool,
        Option<f64>,
        Option<f64>,
        f64,
        Value
    )| {
        if c.cut_off() {
            return reply(lua, Err(cutoff_error()));
        }
        let cursor = match &cursor {
            Value::String(s) => Some(s.to_string_lossy()),
            _ => None,
        };
        let limit = if size >= 1.0 { size as usize } else { 1024 };
        let r = c.shared.store.list_versions(
            &c.entry_key(&name, &scope, &key),
            lo.map(|v| v as i64),
            hi.map(|v| v as i64),
            desc,
            limit,
            cursor.as_deref(),
        );
        match r {
            Ok(page) => {
                let items = lua.create_table()?;
                for (i, v) in page.versions.iter().enumerate() {
                    let t = lua.create_table()?;
                    t.set("version", v.version.as_str())?;
                    t.set("deleted", v.deleted)?;
                    t.set("created", v.created_ms as f64)?;
                    items.raw_set(i + 1, t)?;
                }
                let next = match page.next_cursor {
                    Some(cur) => Value::String(lua.create_string(&cur)?),
                    None => Value::Nil,
                };
                reply(lua, Ok(vec![Value::Table(items), next]))
            }
            Err(e) => reply(lua, Err(store_error(&e))),
        }
    });
    func!("ds_list_keys", |lua,
                           c,
                           (name, scope, prefix, size, cursor): (
        String,
        String,
        String,
        f64,
        Value
    )| {
        if c.cut_off() {
            return reply(lua, Err(cutoff_error()));
        }
        let cursor = match &cursor {
            Value::String(s) => Some(s.to_string_lossy()),
            _ => None,
        };
        let limit = if size >= 1.0 { size as usize } else { 50 };
        match c.shared.store.list_keys(
            c.shared.cfg.universe_id,
            &name,
            Some(&scope),
            &prefix,
            limit,
            cursor.as_deref(),
        ) {
            Ok(page) => {
                let items = lua.create_table()?;
                for (i, (_, k)) in page.keys.iter().enumerate() {
                    items.raw_set(i + 1, k.as_str())?;
                }
                let next = match page.next_cursor {
                    Some(cur) => Value::String(lua.create_string(&cur)?),
                    None => Value::Nil,
                };
                reply(lua, Ok(vec![Value::Table(items), next]))
            }
            Err(e) => reply(lua, Err(store_error(&e))),
        }
    });
    func!("ds_budget", |_lua, c, name: String| {
        let b = match name.as_str() {
            "GetAsync" => Budget::Get,
            "SetIncrementAsync" | "UpdateAsync" | "RemoveAsync" => Budget::SetIncrement,
            "ListAsync" => Budget::List,
            "GetVersionAsync" => Budget::GetVersion,
            _ => return Ok(0.0),
        };
        let now = c.now_s();
        let players = c.players.get();
        Ok(c.throttle.borrow_mut().budget(b, players, now))
    });

    // MessagingService -------------------------------------------------------------------------
    func!("msg_publish", |lua, c, (topic, data): (String, Value)| {
        let r = msg_publish(c, &topic, &data).map(|d| vec![Value::Number(d)]);
        reply(lua, r)
    });
    func!("msg_subscribe", |lua, c, topic: String| {
        let r = msg_subscribe(c, &topic).map(|d| vec![Value::Number(d)]);
        reply(lua, r)
    });

    // HttpService -----------------------------------------------------------------------------
    func!("http_start", |lua,
                         c,
                         (url, method, headers, body): (
        String,
        String,
        Table,
        Option<mlua::LuaString>
    )| {
        let r = http_start(
            c,
            url,
            method,
            &headers,
            body.map(|b| b.as_bytes().to_vec()).unwrap_or_default(),
        )
        .map(|id| vec![Value::Number(id as f64)]);
        reply(lua, r)
    });
    func!("http_poll", |lua, c, id: f64| {
        let id = id as u64;
        let deterministic = c.shared.cfg.mode == TimeMode::Deterministic;
        let now = c.shared.now_us() as f64 / 1e6;
        let mut map = c.http.borrow_mut();
        let Some(flight) = map.get_mut(&id) else {
            return Ok(MultiValue::from_vec(vec![
                Value::Boolean(true),
                Value::Boolean(false),
                Value::String(lua.create_string("HttpError: Unknown request")?),
            ]));
        };
        if deterministic && now < flight.ready_at_s {
            return Ok(MultiValue::from_vec(vec![Value::Boolean(false)]));
        }
        let Some(result) = flight.poll(deterministic).cloned() else {
            return Ok(MultiValue::from_vec(vec![Value::Boolean(false)]));
        };
        map.remove(&id);
        drop(map);
        match result {
            Ok(resp) => {
                c.trace("http", &format!("{id} -> {}", resp.status));
                let t = lua.create_table()?;
                t.set("Success", (200..300).contains(&resp.status))?;
                t.set("StatusCode", resp.status)?;
                t.set("StatusMessage", resp.status_message.as_str())?;
                let h = lua.create_table()?;
                for (k, v) in &resp.headers {
                    h.set(k.as_str(), v.as_str())?;
                }
                t.set("Headers", h)?;
                t.set("Body", lua.create_string(&resp.body)?)?;
                Ok(MultiValue::from_vec(vec![
                    Value::Boolean(true),
                    Value::Boolean(true),
                    Value::Table(t),
                ]))
            }
            Err(e) => {
                c.trace("http", &format!("{id} -> {e}"));
                Ok(MultiValue::from_vec(vec![
                    Value::Boolean(true),
                    Value::Boolean(false),
                    Value::String(lua.create_string(&e)?),
                ]))
            }
        }
    });
    Ok(rt)
}

fn cutoff_error() -> String {
    "502: API Services rejected request with error. HTTP 0 (HttpError: ConnectFail)".to_owned()
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn ds_begin(c: &ServerCtx, op: &str, name: &str, scope: &str, key: &str) -> Result<f64, String> {
    let op = Op::parse(op).ok_or_else(|| format!("engine: unknown DataStore op {op}"))?;
    check_names(name, scope)?;
    if op != Op::List {
        check_key(key)?;
    }
    let id = format!("{name}/{scope}/{key}");
    if c.cut_off() {
        c.trace("ds-fail", &format!("{op:?} {id} cut off"));
        return Err(cutoff_error());
    }
    let p = c.shared.cfg.faults.datastore_error_rate;
    if p > 0.0 && c.shared.chance(p) {
        c.trace("ds-fail", &format!("{op:?} {id} injected 5xx"));
        return Err(
            "502: API Services rejected request with error. HTTP 500 (Internal Server Error)"
                .to_owned(),
        );
    }
    let admission = c
        .throttle
        .borrow_mut()
        .admit(op, &id, c.players.get(), c.now_s())
        .inspect_err(|e| c.trace("ds-fail", e))?;
    if let Some(w) = &admission.warning {
        c.out("warn", w);
    }
    Ok(admission.wait_s + c.latency(c.shared.cfg.datastore_latency_s) / 2.0)
}

fn msg_publish(c: &ServerCtx, topic: &str, data: &Value) -> Result<f64, String> {
    if topic.is_empty() || topic.len() > 80 {
        return Err("PublishAsync: topic must be 1 to 80 characters".to_owned());
    }
    let text = json::encode(data, Rules::DataStore)?;
    if text.len() > 1024 {
        return Err(format!(
            "PublishAsync: message size {} exceeds the 1kB limit",
            text.len()
        ));
    }
    if c.messaging_cut.get() && c.cut_off() {
        return Err("PublishAsync: request failed (HttpError: ConnectFail)".to_owned());
    }
    c.trace("publish", &format!("{topic} {text}"));
    c.shared
        .bus
        .publish_faulty(c.shared.cfg.universe_id, topic, text);
    Ok(c.latency(c.shared.cfg.message_latency_s) / 2.0)
}

fn msg_subscribe(c: &ServerCtx, topic: &str) -> Result<f64, String> {
    if topic.is_empty() || topic.len() > 80 {
        return Err("SubscribeAsync: topic must be 1 to 80 characters".to_owned());
    }
    let mut subs = c.subscriptions.borrow_mut();
    if !subs.contains_key(topic) {
        let inbox = c.inbox.clone();
        let id = c.shared.bus.subscribe(
            c.shared.cfg.universe_id,
            topic,
            Arc::new(move |m: &Message| {
                if let Ok(mut q) = inbox.lock() {
                    q.push(m.clone());
                }
            }),
        );
        subs.insert(topic.to_owned(), id);
    }
    c.trace("subscribe", topic);
    Ok(c.latency(c.shared.cfg.message_latency_s) / 2.0)
}

fn http_start(
    c: &ServerCtx,
    url: String,
    method: String,
    headers: &Table,
    body: Vec<u8>,
) -> Result<u64, String> {
    c.http_limit
        .borrow_mut()
        .admit(c.shared.now_us() as f64 / 1e6)?;
    let mut hs = Vec::new();
    for pair in headers.pairs::<String, String>() {
        let (k, v) =
            pair.map_err(|_| "RequestAsync: Headers must map strings to strings".to_owned())?;
        hs.push((k, v));
    }
    hs.sort();
    let req = HttpRequest {
        url,
        method: method.to_ascii_uppercase(),
        headers: hs,
        body,
    };
    http::validate(&req)?;
    let id = c.next_http.get() + 1;
    c.next_http.set(id);
    c.trace("http", &format!("{id} {} {}", req.method, req.url));
    let ready = c.shared.now_us() as f64 / 1e6 + c.latency(c.shared.cfg.http_latency_s);
    c.http.borrow_mut().insert(id, InFlight::start(req, ready));
    Ok(id)
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
        // environment afterwards does not reach it (pitfall 4).
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
