//! HttpService: `RequestAsync` starts a real HTTP request on a worker thread and the Luau thread
//! polls it every frame. In deterministic mode the result is handed over at a seeded virtual time
//! (the frame blocks on the worker then), so a run never depends on wall-clock speed.

use mlua::{Lua, LuaString, MultiValue, Table, Value};

use super::{Answer, Registry};
use crate::config::TimeMode;
use crate::http::{self, HttpRequest, InFlight};
use crate::server::ServerCtx;

/// Roblox's error when the experience has not allowed HTTP requests.
pub const HTTP_DISABLED: &str = "Http requests are not enabled. Enable via game settings";

/// Registers `http_start` and `http_poll`.
pub(super) fn register(r: &Registry) -> mlua::Result<()> {
    r.answer("http_start", start)?;
    r.plain("http_poll", poll)
}

/// Checks the request (rate limit, headers, URL) and starts it; answers its id.
fn start(
    _lua: &Lua,
    c: &ServerCtx,
    (url, method, headers, body): (String, String, Table, Option<LuaString>),
) -> Answer {
    if !c.shared.cfg.http_enabled {
        return Err(HTTP_DISABLED.to_owned().into());
    }
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
        body: body.map(|b| b.as_bytes().to_vec()).unwrap_or_default(),
    };
    http::validate(&req)?;
    let id = c.next_http.get() + 1;
    c.next_http.set(id);
    c.trace("http", &format!("{id} {} {}", req.method, req.url));
    let ready = c.shared.now_us() as f64 / 1e6 + c.latency(c.shared.cfg.http_latency_s);
    c.http.borrow_mut().insert(id, InFlight::start(req, ready));
    Ok(vec![Value::Number(id as f64)])
}

/// `false` while request `id` is in flight; then `true, true, response` or `true, false, error`.
fn poll(lua: &Lua, c: &ServerCtx, id: f64) -> mlua::Result<MultiValue> {
    let id = id as u64;
    let deterministic = c.shared.cfg.mode == TimeMode::Deterministic;
    let now = c.shared.now_us() as f64 / 1e6;
    let mut map = c.http.borrow_mut();
    let Some(flight) = map.get_mut(&id) else {
        return done(lua, Err("HttpError: Unknown request".to_owned()));
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
            let names = c.shared.cfg.http_header_names;
            for (k, v) in &resp.headers {
                h.set(names.spell(k), v.as_str())?;
            }
            t.set("Headers", h)?;
            t.set("Body", lua.create_string(&resp.body)?)?;
            done(lua, Ok(t))
        }
        Err(e) => {
            c.trace("http", &format!("{id} -> {e}"));
            done(lua, Err(e))
        }
    }
}

/// A finished request: `true, true, response` or `true, false, message`.
fn done(lua: &Lua, result: Result<Table, String>) -> mlua::Result<MultiValue> {
    let (ok, value) = match result {
        Ok(t) => (true, Value::Table(t)),
        Err(e) => (false, Value::String(lua.create_string(&e)?)),
    };
    Ok(MultiValue::from_vec(vec![
        Value::Boolean(true),
        Value::Boolean(ok),
        value,
    ]))
}
