//! DataStoreService over the universe's shared Open Cloud store. The Luau side (`engine/
//! datastore.luau`) owns the call flow — budgets, yields, UpdateAsync's transform — and calls
//! these primitives for admission, reads, commits and the GetAsync cache.

use std::cell::Cell;

use mlua::{Lua, Value};
use opencloud::emulator::experience::KeyDirection;
use opencloud::emulator::{Entry, EntryKey, SetCondition, Transform};

use super::ds_values::{
    WriteArgs, check_key, check_names, cursor, cutoff_error, metadata, next_cursor, store_error,
    user_ids, value_and_info,
};
use super::{Answer, Failure, Registry};
use crate::budget::{Budget, Op};
use crate::server::ServerCtx;

/// Registers every `ds_*` primitive.
pub(super) fn register(r: &Registry) -> mlua::Result<()> {
    r.answer("ds_check_names", check_names_call)?;
    r.answer("ds_encode", encode)?;
    r.answer("ds_begin", begin)?;
    r.answer("ds_commit_delay", commit_delay)?;
    r.answer("ds_cached", cached)?;
    r.answer("ds_get", get)?;
    r.answer("ds_read", read)?;
    r.answer("ds_commit", commit)?;
    r.answer("ds_set", set)?;
    r.answer("ds_remove", remove)?;
    r.answer("ds_increment", increment)?;
    r.answer("ds_get_version", get_version)?;
    r.answer("ds_list_versions", list_versions)?;
    r.answer("ds_list_keys", list_keys)?;
    r.plain("ds_budget", budget)
}

/// A data store, scope and key as the engine passes them.
type KeyArgs = (String, String, String);

/// Fails every call of a server cut off from the DataStore (a zombie).
fn reachable(c: &ServerCtx) -> Result<(), String> {
    if c.cut_off() {
        return Err(cutoff_error());
    }
    Ok(())
}

/// Spends `len` bytes of the key's throughput (shared with Open Cloud), or Roblox's `KeyThrottled`.
fn spend_key(c: &ServerCtx, key: &EntryKey, direction: KeyDirection, len: usize) -> Answer {
    let now_ms = c.shared.unix_ms();
    c.shared
        .experience
        .take_key_bytes(key, direction, len, now_ms)
        .map_err(|t| {
            let what = match direction {
                KeyDirection::Read => "read",
                KeyDirection::Write => "write",
            };
            let e = format!(
                "KeyThrottled: The request rate exceeds the allowed maximum for the key. Key = {}/{}/{} ({what} throughput over the last minute; retry in {} s)",
                key.datastore, key.scope, key.key, t.reset_seconds
            );
            c.trace("ds-fail", &e);
            Failure::from(e)
        })?;
    Ok(vec![])
}

/// The GetAsync cache's key for an entry.
fn cache_key(name: &str, scope: &str, key: &str) -> String {
    format!("{name}\0{scope}\0{key}")
}

/// Caches what this server just read or wrote for GetAsync's cache time.
fn remember(c: &ServerCtx, (name, scope, key): (&str, &str, &str), entry: Option<Entry>) {
    let exp = c.now_s() + c.shared.cfg.limits.get_cache_s;
    c.cache
        .borrow_mut()
        .insert(cache_key(name, scope, key), (exp, entry));
}

/// Drops an entry from the GetAsync cache.
fn forget(c: &ServerCtx, (name, scope, key): (&str, &str, &str)) {
    c.cache.borrow_mut().remove(&cache_key(name, scope, key));
}

fn check_names_call(_lua: &Lua, _c: &ServerCtx, (name, scope): (String, String)) -> Answer {
    check_names(&name, &scope)?;
    Ok(vec![])
}

/// Checks a value, user ids and metadata before a write is queued.
fn encode(lua: &Lua, _c: &ServerCtx, (value, ids, meta): (Value, Value, Value)) -> Answer {
    let write = WriteArgs::check(&value, &ids, &meta)?;
    Ok(vec![Value::String(lua.create_string(&write.text)?)])
}

/// Admits a request: names, cut-off, injected 5xx, budget and throttle queue. Answers how long
/// the call waits before it reads.
fn begin(
    _lua: &Lua,
    c: &ServerCtx,
    (op, name, scope, key): (String, String, String, String),
) -> Answer {
    let op = Op::parse(&op).ok_or_else(|| format!("engine: unknown DataStore op {op}"))?;
    check_names(&name, &scope)?;
    if op != Op::List {
        check_key(&key)?;
    }
    let id = format!("{name}/{scope}/{key}");
    if c.cut_off() {
        c.trace("ds-fail", &format!("{op:?} {id} cut off"));
        return Err(cutoff_error().into());
    }
    let p = c.shared.cfg.faults.datastore_error_rate;
    if p > 0.0 && c.shared.chance(p) {
        c.trace("ds-fail", &format!("{op:?} {id} injected 5xx"));
        return Err(
            "502: API Services rejected request with error. HTTP 500 (Internal Server Error)"
                .to_owned()
                .into(),
        );
    }
    // The experience-wide budget is shared with every server and Open Cloud: over it, the call
    // fails with Roblox's `Standard*ExperienceThrottled` (spent before the server's own queue, so
    // a refused call costs the server nothing).
    c.shared
        .experience
        .take_requests(
            c.shared.cfg.universe_id,
            op.request_types(),
            c.shared.unix_ms(),
        )
        .map_err(|t| {
            let e = t.request_type.engine_error();
            c.trace("ds-fail", &format!("{op:?} {id} {e}"));
            e
        })?;
    let admission = c
        .throttle
        .borrow_mut()
        .admit(op, &id, c.players.get(), c.now_s())
        .inspect_err(|e| c.trace("ds-fail", e))?;
    if let Some(w) = &admission.warning {
        c.out("warn", w);
    }
    let wait = admission.wait_s + c.latency(c.shared.cfg.datastore_latency_s) / 2.0;
    Ok(vec![Value::Number(wait)])
}

/// Whether a write that just landed answers with an error anyway (`datastore_lost_answer_rate`).
fn answer_lost(c: &ServerCtx, what: &str) -> Result<(), Failure> {
    let p = c.shared.cfg.faults.datastore_lost_answer_rate;
    if p > 0.0 && c.shared.chance(p) {
        c.trace("ds-fail", &format!("{what} landed, answer lost"));
        return Err(
            "502: API Services rejected request with error. HTTP 500 (Internal Server Error)"
                .to_owned()
                .into(),
        );
    }
    Ok(())
}

/// Half a request's latency: the time between an UpdateAsync's read and its commit.
fn commit_delay(_lua: &Lua, c: &ServerCtx, (): ()) -> Answer {
    let d = c.latency(c.shared.cfg.datastore_latency_s) / 2.0;
    Ok(vec![Value::Number(d)])
}

/// A GetAsync cache hit: `true, value, info`; a miss: `false`.
fn cached(lua: &Lua, c: &ServerCtx, (name, scope, key): KeyArgs) -> Answer {
    let now = c.now_s();
    let hit = c
        .cache
        .borrow()
        .get(&cache_key(&name, &scope, &key))
        .filter(|(exp, _)| *exp > now)
        .map(|(_, e)| e.clone());
    let Some(entry) = hit else {
        return Ok(vec![Value::Boolean(false)]);
    };
    let mut r = vec![Value::Boolean(true)];
    r.extend(value_and_info(lua, entry.as_ref())?);
    c.trace("ds", &format!("get-cached {name}/{scope}/{key}"));
    Ok(r)
}

/// GetAsync's read (fills the cache).
fn get(lua: &Lua, c: &ServerCtx, (name, scope, key): KeyArgs) -> Answer {
    reachable(c)?;
    let ek = c.entry_key(&name, &scope, &key);
    let e = c.shared.store.get(&ek);
    spend_key(
        c,
        &ek,
        KeyDirection::Read,
        e.as_ref().map_or(0, |e| e.value.len()),
    )?;
    c.trace(
        "ds",
        &format!(
            "get {name}/{scope}/{key} -> {}",
            e.as_ref().map_or("nil", |e| e.version.as_str())
        ),
    );
    remember(c, (&name, &scope, &key), e.clone());
    Ok(value_and_info(lua, e.as_ref())?)
}

/// UpdateAsync's read: value, info and the version the commit must find (`""` when absent).
fn read(lua: &Lua, c: &ServerCtx, (name, scope, key): KeyArgs) -> Answer {
    reachable(c)?;
    let ek = c.entry_key(&name, &scope, &key);
    let e = c.shared.store.get(&ek);
    spend_key(
        c,
        &ek,
        KeyDirection::Read,
        e.as_ref().map_or(0, |e| e.value.len()),
    )?;
    let mut r = value_and_info(lua, e.as_ref())?;
    let version = e.as_ref().map_or("", |e| e.version.as_str());
    r.push(Value::String(lua.create_string(version)?));
    Ok(r)
}

/// UpdateAsync's commit: writes only if the entry is still at `expected`, else answers
/// `"conflict"` (the engine re-runs the transform).
fn commit(
    lua: &Lua,
    c: &ServerCtx,
    (name, scope, key, expected, text, ids, meta): (
        String,
        String,
        String,
        String,
        String,
        Value,
        Value,
    ),
) -> Answer {
    reachable(c)?;
    let write = WriteArgs::encoded(text, &ids, &meta)?;
    let conflict = Cell::new(false);
    let ek = c.entry_key(&name, &scope, &key);
    spend_key(c, &ek, KeyDirection::Write, write.text.len())?;
    let res = c.shared.store.update(&ek, &c.writer(), |cur| {
        let cur_version = cur.map_or("", |e| e.version.as_str());
        if cur_version != expected {
            conflict.set(true);
            return Transform::Keep;
        }
        Transform::Write {
            value: write.text,
            attributes: write.metadata,
            user_ids: write.user_ids,
        }
    });
    match res {
        Ok(_) if conflict.get() => {
            c.trace("ds", &format!("update-conflict {name}/{scope}/{key}"));
            Ok(vec![Value::String(lua.create_string("conflict")?)])
        }
        Ok(Some(e)) => {
            c.trace(
                "ds",
                &format!("update {name}/{scope}/{key} -> {}", e.version),
            );
            remember(c, (&name, &scope, &key), Some(e.clone()));
            answer_lost(c, &format!("update {name}/{scope}/{key}"))?;
            let mut r = vec![Value::String(lua.create_string("ok")?)];
            r.extend(value_and_info(lua, Some(&e))?);
            Ok(r)
        }
        Ok(None) => Err(
            "502: API Services rejected request with error. The write was lost"
                .to_owned()
                .into(),
        ),
        Err(e) => Err(store_error(&e).into()),
    }
}

/// SetAsync: answers the new version.
fn set(
    lua: &Lua,
    c: &ServerCtx,
    (name, scope, key, text, ids, meta): (String, String, String, String, Value, Value),
) -> Answer {
    reachable(c)?;
    let write = WriteArgs::encoded(text, &ids, &meta)?;
    let ek = c.entry_key(&name, &scope, &key);
    spend_key(c, &ek, KeyDirection::Write, write.text.len())?;
    let e = c
        .shared
        .store
        .set(
            &ek,
            &c.writer(),
            write.text,
            write.metadata,
            write.user_ids,
            SetCondition::default(),
        )
        .map_err(|e| store_error(&e))?;
    c.trace("ds", &format!("set {name}/{scope}/{key} -> {}", e.version));
    remember(c, (&name, &scope, &key), Some(e.clone()));
    answer_lost(c, &format!("set {name}/{scope}/{key}"))?;
    Ok(vec![Value::String(lua.create_string(&e.version)?)])
}

/// RemoveAsync: answers the removed value and its info (nils when there was none).
fn remove(lua: &Lua, c: &ServerCtx, (name, scope, key): KeyArgs) -> Answer {
    reachable(c)?;
    let ek = c.entry_key(&name, &scope, &key);
    // A removal is billed as the 1 KB minimum of the key's write throughput.
    spend_key(c, &ek, KeyDirection::Write, 0)?;
    let prev = c
        .shared
        .store
        .delete(&ek, &c.writer())
        .map_err(|e| store_error(&e))?;
    c.trace("ds", &format!("remove {name}/{scope}/{key}"));
    forget(c, (&name, &scope, &key));
    Ok(value_and_info(lua, prev.as_ref())?)
}

/// IncrementAsync by an integer `delta`: answers the new value and its info.
fn increment(
    lua: &Lua,
    c: &ServerCtx,
    (name, scope, key, delta, ids, meta): (String, String, String, f64, Value, Value),
) -> Answer {
    reachable(c)?;
    if delta.fract() != 0.0 || !delta.is_finite() {
        return Err("IncrementAsync: delta must be an integer".to_owned().into());
    }
    let ids = user_ids(&ids)?;
    let meta = metadata(&meta)?;
    let ek = c.entry_key(&name, &scope, &key);
    let len = c.shared.store.get(&ek).map_or(0, |e| e.value.len());
    spend_key(c, &ek, KeyDirection::Write, len)?;
    let e = c
        .shared
        .store
        .increment(&ek, &c.writer(), delta as i64, meta, ids)
        .map_err(|e| store_error(&e))?;
    c.trace(
        "ds",
        &format!("increment {name}/{scope}/{key} -> {}", e.version),
    );
    forget(c, (&name, &scope, &key));
    Ok(value_and_info(lua, Some(&e))?)
}

/// GetVersionAsync: the value and info of one version (nils for a deleted version).
fn get_version(
    lua: &Lua,
    c: &ServerCtx,
    (name, scope, key, version): (String, String, String, Value),
) -> Answer {
    reachable(c)?;
    let Value::String(version) = version else {
        return Err("Version id is not valid".to_owned().into());
    };
    let version = version.to_string_lossy();
    let ek = c.entry_key(&name, &scope, &key);
    let e = c
        .shared
        .store
        .get_version(&ek, &version)
        .map_err(|e| store_error(&e))?;
    spend_key(c, &ek, KeyDirection::Read, e.value.len())?;
    let live = (!e.deleted).then_some(&e);
    Ok(value_and_info(lua, live)?)
}

/// ListVersionsAsync: one page of `{version, deleted, created}` and the next cursor.
fn list_versions(
    lua: &Lua,
    c: &ServerCtx,
    (name, scope, key, desc, lo, hi, size, cursor_arg): (
        String,
        String,
        String,
        bool,
        Option<f64>,
        Option<f64>,
        f64,
        Value,
    ),
) -> Answer {
    reachable(c)?;
    let limit = if size >= 1.0 { size as usize } else { 1024 };
    let ek = c.entry_key(&name, &scope, &key);
    // Listing versions counts in the key's read throughput (billed as the 1 KB minimum).
    spend_key(c, &ek, KeyDirection::Read, 0)?;
    let page = c
        .shared
        .store
        .list_versions(
            &ek,
            lo.map(|v| v as i64),
            hi.map(|v| v as i64),
            desc,
            limit,
            cursor(&cursor_arg).as_deref(),
        )
        .map_err(|e| store_error(&e))?;
    let items = lua.create_table()?;
    for (i, v) in page.versions.iter().enumerate() {
        let t = lua.create_table()?;
        t.set("version", v.version.as_str())?;
        t.set("deleted", v.deleted)?;
        t.set("created", v.created_ms as f64)?;
        items.raw_set(i + 1, t)?;
    }
    Ok(vec![
        Value::Table(items),
        next_cursor(lua, page.next_cursor)?,
    ])
}

/// ListKeysAsync: one page of key names with `prefix` and the next cursor.
fn list_keys(
    lua: &Lua,
    c: &ServerCtx,
    (name, scope, prefix, size, cursor_arg): (String, String, String, f64, Value),
) -> Answer {
    reachable(c)?;
    let limit = if size >= 1.0 { size as usize } else { 50 };
    let page = c
        .shared
        .store
        .list_keys(
            c.shared.cfg.universe_id,
            &name,
            Some(&scope),
            &prefix,
            limit,
            cursor(&cursor_arg).as_deref(),
        )
        .map_err(|e| store_error(&e))?;
    let items = lua.create_table()?;
    for (i, (_, k)) in page.keys.iter().enumerate() {
        items.raw_set(i + 1, k.as_str())?;
    }
    Ok(vec![
        Value::Table(items),
        next_cursor(lua, page.next_cursor)?,
    ])
}

/// `GetRequestBudgetForRequestType`: requests left now (0 for types not emulated). The legacy
/// items name the standard type that now holds their budget; UpdateAsync is the smaller of the
/// two it spends.
fn budget(_lua: &Lua, c: &ServerCtx, name: String) -> mlua::Result<f64> {
    let budgets: &[Budget] = match name.as_str() {
        "StandardRead" | "GetAsync" | "GetVersionAsync" => &[Budget::Read],
        "StandardWrite" | "SetIncrementAsync" => &[Budget::Write],
        "UpdateAsync" => &[Budget::Read, Budget::Write],
        "StandardRemove" => &[Budget::Remove],
        "StandardList" | "ListAsync" => &[Budget::List],
        _ => return Ok(0.0),
    };
    let now = c.now_s();
    let players = c.players.get();
    let mut throttle = c.throttle.borrow_mut();
    Ok(budgets
        .iter()
        .map(|b| throttle.budget(*b, players, now))
        .fold(f64::INFINITY, f64::min))
}
