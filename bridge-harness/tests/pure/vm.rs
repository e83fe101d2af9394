//! Loads the bridge's ModuleScripts (`bridge/EconomyBridge/*.luau`) into a plain Luau VM, without
//! the engine emulator: a `require` shim resolves `require(script.Parent.<Name>)` to `<Name>.luau`,
//! each module runs in its own safeenv environment (as Roblox runs scripts; without safeenv Luau
//! disables fast builtins and import caching), and JSON crosses into Luau through an exact converter.

#![allow(dead_code)] // the tests and the benchmark each use a different part of this module

use mlua::{Function, Lua, Table, Value};
use std::path::PathBuf;

/// Largest integer a Luau number holds exactly.
pub const MAX_SAFE_INTEGER: i64 = 9_007_199_254_740_991;

/// The bridge's source folder.
pub fn bridge_dir() -> PathBuf {
    bridge_harness::modules_dir()
}

/// Reads a shared test-vector file from `testdata/`.
pub fn vectors(name: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path:?}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// A Luau VM with the bridge's modules loadable by name.
pub struct Bridge {
    /// The VM.
    pub lua: Lua,
    require: Function,
    folder: Table,
    /// Calls to the engine hash of [`Bridge::with_engine_hash`].
    pub engine_calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Bridge {
    /// A fresh VM with the `require` shim installed.
    pub fn new() -> Self {
        let lua = Lua::new();
        let folder = lua.create_table().unwrap();
        let folder_mt = lua.create_table().unwrap();
        // `script.Parent.<Name>` yields a module reference; unknown names fail loudly, as in Roblox.
        folder_mt
            .set(
                "__index",
                lua.create_function(|lua, (_t, name): (Table, String)| {
                    if !bridge_dir().join(format!("{name}.luau")).is_file() {
                        return Err(mlua::Error::runtime(format!(
                            "{name} is not a valid member of the bridge folder"
                        )));
                    }
                    let r = lua.create_table()?;
                    r.set("__bridgeModule", name)?;
                    Ok(r)
                })
                .unwrap(),
            )
            .unwrap();
        folder.set_metatable(Some(folder_mt)).unwrap();
        let cache = lua.create_table().unwrap();
        let folder_for_require = folder.clone();
        let require = lua
            .create_function(move |lua, module: Table| {
                let name: String = module.get("__bridgeModule")?;
                let cached: Value = cache.get(name.as_str())?;
                if !cached.is_nil() {
                    return Ok(cached);
                }
                let path = bridge_dir().join(format!("{name}.luau"));
                let src = std::fs::read_to_string(&path)
                    .map_err(|e| mlua::Error::runtime(format!("read {path:?}: {e}")))?;
                let env = lua.create_table()?;
                let env_mt = lua.create_table()?;
                env_mt.set("__index", lua.globals())?;
                env.set_metatable(Some(env_mt))?;
                let script = lua.create_table()?;
                script.set("Name", name.as_str())?;
                script.set("Parent", folder_for_require.clone())?;
                env.set("script", script)?;
                env.set_safeenv(true);
                let value: Value = lua
                    .load(src)
                    .set_name(format!("={name}"))
                    .set_environment(env)
                    .call(())?;
                cache.set(name.as_str(), value.clone())?;
                Ok(value)
            })
            .unwrap();
        lua.globals().set("require", require.clone()).unwrap();
        Self {
            lua,
            require,
            folder,
            engine_calls: Default::default(),
        }
    }

    /// A VM whose `game:GetService("EncodingService"):ComputeBufferHash(buf, Enum.HashAlgorithm.Sha256)`
    /// hashes natively with Rust's `sha2`, as the engine emulator does (and Roblox does in C++).
    /// With `fail` set, every engine call raises an error (the bridge must fall back to pure Luau).
    pub fn with_engine_hash(fail: bool) -> Self {
        let b = Self::new();
        let lua = &b.lua;
        let service = lua.create_table().unwrap();
        let calls = b.engine_calls.clone();
        let hash = lua
            .create_function(
                move |lua, (_svc, buf, algo): (Table, mlua::Buffer, String)| {
                    use sha2::Digest;
                    calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if fail || algo != "Sha256" {
                        return Err(mlua::Error::runtime("ComputeBufferHash failed"));
                    }
                    lua.create_buffer(sha2::Sha256::digest(buf.to_vec()))
                },
            )
            .unwrap();
        service.set("ComputeBufferHash", hash).unwrap();
        let game = lua.create_table().unwrap();
        let get_service = lua
            .create_function(move |_, (_game, name): (Table, String)| {
                if name == "EncodingService" {
                    Ok(service.clone())
                } else {
                    Err(mlua::Error::runtime(format!("no service {name}")))
                }
            })
            .unwrap();
        game.set("GetService", get_service).unwrap();
        let algorithms = lua.create_table().unwrap();
        algorithms.set("Sha256", "Sha256").unwrap();
        let enums = lua.create_table().unwrap();
        enums.set("HashAlgorithm", algorithms).unwrap();
        lua.globals().set("game", game).unwrap();
        lua.globals().set("Enum", enums).unwrap();
        b
    }

    /// `require(script.Parent.<name>)`.
    pub fn module(&self, name: &str) -> Table {
        let r: Table = self.folder.get(name).unwrap();
        self.require
            .call(r)
            .unwrap_or_else(|e| panic!("require {name}: {e}"))
    }

    /// Runs a Luau chunk (in a safeenv environment with `script.Parent` = the bridge folder) and returns its value.
    pub fn eval<R: mlua::FromLuaMulti>(&self, src: &str) -> R {
        let env = self.lua.create_table().unwrap();
        let env_mt = self.lua.create_table().unwrap();
        env_mt.set("__index", self.lua.globals()).unwrap();
        env.set_metatable(Some(env_mt)).unwrap();
        let script = self.lua.create_table().unwrap();
        script.set("Name", "Test").unwrap();
        script.set("Parent", self.folder.clone()).unwrap();
        env.set("script", script).unwrap();
        env.set_safeenv(true);
        self.lua
            .load(src)
            .set_name("=test")
            .set_environment(env)
            .eval()
            .unwrap_or_else(|e| panic!("Luau chunk failed: {e}"))
    }

    /// A Luau buffer holding `bytes`.
    pub fn buffer(&self, bytes: &[u8]) -> mlua::Buffer {
        self.lua.create_buffer(bytes).unwrap()
    }

    /// Converts JSON into Luau values: objects and arrays become tables, integers must be exact
    /// doubles (|n| ≤ 2^53 − 1, else this panics rather than silently rounding), null becomes nil.
    pub fn to_lua(&self, v: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match v {
            J::Null => Value::Nil,
            J::Bool(b) => Value::Boolean(*b),
            J::Number(n) => {
                let i = n
                    .as_i64()
                    .unwrap_or_else(|| panic!("test vectors hold only integers, got {n}"));
                assert!(
                    (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&i),
                    "{i} is not exact in Luau"
                );
                Value::Number(i as f64)
            }
            J::String(s) => Value::String(self.lua.create_string(s).unwrap()),
            J::Array(items) => {
                let t = self.lua.create_table().unwrap();
                for (i, item) in items.iter().enumerate() {
                    t.raw_set(i + 1, self.to_lua(item)).unwrap();
                }
                Value::Table(t)
            }
            J::Object(map) => {
                let t = self.lua.create_table().unwrap();
                for (k, item) in map {
                    t.raw_set(k.as_str(), self.to_lua(item)).unwrap();
                }
                Value::Table(t)
            }
        }
    }

    /// Encodes a Luau value with the bridge's own `Json.encode` and parses the text with serde_json
    /// (so every integer the bridge writes must be plain digits an i64 parser accepts).
    pub fn to_json(&self, v: Value) -> serde_json::Value {
        let json = self.module("Json");
        let encode: Function = json.get("encode").unwrap();
        let (text, err): (Option<String>, Option<String>) = encode.call(v).unwrap();
        let text = text.unwrap_or_else(|| panic!("Json.encode refused: {err:?}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("serde_json refused {text}: {e}"))
    }

    /// A module's function.
    pub fn func(&self, module: &str, name: &str) -> Function {
        self.module(module)
            .get(name)
            .unwrap_or_else(|e| panic!("{module}.{name}: {e}"))
    }
}

impl Default for Bridge {
    fn default() -> Self {
        Self::new()
    }
}
