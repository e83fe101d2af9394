//! Lua values to and from JSON text with Roblox's rules: every read is a fresh copy, and values
//! Roblox cannot store (functions, userdata, mixed or sparse tables, NaN, cycles) are rejected
//! with Roblox's messages.

use mlua::{Lua, Table, Value};
use serde_json::{Map, Number, Value as Json};

/// Nesting limit of both DataStore values and `JSONEncode`.
const MAX_DEPTH: usize = 100;

/// Which rule set applies: DataStore values (error 104 texts) or `HttpService:JSONEncode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rules {
    /// DataStore values, metadata and message payloads.
    DataStore,
    /// `HttpService:JSONEncode`.
    Http,
}

fn reject(rules: Rules, what: &str) -> String {
    match rules {
        Rules::DataStore => format!(
            "104: Cannot store {what} in data store. Data stores can only accept valid UTF-8 characters."
        ),
        Rules::Http => format!("Can't convert to JSON: {what} is not supported"),
    }
}

/// Converts a Lua value into JSON under `rules`.
pub fn to_json(value: &Value, rules: Rules) -> Result<Json, String> {
    convert(value, rules, 0)
}

fn number(n: f64, rules: Rules) -> Result<Json, String> {
    if !n.is_finite() {
        return Err(reject(rules, "NaN or infinity"));
    }
    // Whole numbers within 2^53 are written without a fraction, as Roblox does.
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        return Ok(Json::Number(Number::from(n as i64)));
    }
    Number::from_f64(n)
        .map(Json::Number)
        .ok_or_else(|| reject(rules, "number"))
}

fn convert(value: &Value, rules: Rules, depth: usize) -> Result<Json, String> {
    match value {
        Value::Nil => Ok(Json::Null),
        Value::Boolean(b) => Ok(Json::Bool(*b)),
        Value::Integer(i) => Ok(Json::Number(Number::from(*i))),
        Value::Number(n) => number(*n, rules),
        Value::String(s) => match s.to_str() {
            Ok(text) => Ok(Json::String(text.to_owned())),
            Err(_) => Err(reject(rules, "a string that is not valid UTF-8")),
        },
        Value::Table(t) => table(t, rules, depth),
        Value::Function(_) => Err(reject(rules, "function")),
        Value::Thread(_) => Err(reject(rules, "thread")),
        Value::UserData(_) | Value::LightUserData(_) => Err(reject(rules, "userdata")),
        Value::Buffer(_) => Err(reject(rules, "buffer")),
        other => Err(reject(rules, other.type_name())),
    }
}

fn table(t: &Table, rules: Rules, depth: usize) -> Result<Json, String> {
    if depth >= MAX_DEPTH {
        return Err(match rules {
            Rules::DataStore => {
                "104: Cannot store Dictionary in data store: nested too deeply (a cycle?)"
                    .to_owned()
            }
            Rules::Http => "Can't convert to JSON: nested too deeply (a cycle?)".to_owned(),
        });
    }
    let len = t.raw_len();
    let mut count = 0usize;
    let mut string_keys = 0usize;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair.map_err(|e| e.to_string())?;
        count += 1;
        if matches!(k, Value::String(_)) {
            string_keys += 1;
        }
    }
    if count == 0 {
        return Ok(Json::Array(Vec::new()));
    }
    if string_keys == 0 && count == len {
        let mut out = Vec::with_capacity(len);
        for i in 1..=len {
            let v: Value = t.raw_get(i).map_err(|e| e.to_string())?;
            out.push(convert(&v, rules, depth + 1)?);
        }
        return Ok(Json::Array(out));
    }
    if string_keys != count {
        return Err(match rules {
            Rules::DataStore => {
                "104: Cannot store Array with mixed or non-sequential keys in data store."
                    .to_owned()
            }
            Rules::Http => {
                "Can't convert to JSON: tables with mixed or sparse keys are not supported"
                    .to_owned()
            }
        });
    }
    let mut map = Map::new();
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| e.to_string())?;
        let key = match &k {
            Value::String(s) => s
                .to_str()
                .map_err(|_| reject(rules, "a key that is not valid UTF-8"))?
                .to_owned(),
            _ => return Err(reject(rules, "a non-string key")),
        };
        map.insert(key, convert(&v, rules, depth + 1)?);
    }
    Ok(Json::Object(map))
}

/// Builds a fresh Lua value from JSON (JSON null becomes nil).
pub fn from_json(lua: &Lua, json: &Json) -> mlua::Result<Value> {
    Ok(match json {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
        Json::String(s) => Value::String(lua.create_string(s)?),
        Json::Array(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, from_json(lua, item)?)?;
            }
            Value::Table(t)
        }
        Json::Object(map) => {
            let t = lua.create_table_with_capacity(0, map.len())?;
            for (k, v) in map {
                t.raw_set(k.as_str(), from_json(lua, v)?)?;
            }
            Value::Table(t)
        }
    })
}

/// Parses JSON text into a fresh Lua value.
pub fn decode(lua: &Lua, text: &str) -> Result<Value, String> {
    let json: Json = serde_json::from_str(text).map_err(|_| "Can't parse JSON".to_owned())?;
    from_json(lua, &json).map_err(|e| e.to_string())
}

/// Encodes a Lua value as JSON text under `rules`.
pub fn encode(value: &Value, rules: Rules) -> Result<String, String> {
    let json = to_json(value, rules)?;
    serde_json::to_string(&json).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(lua: &Lua, src: &str) -> Value {
        lua.load(src).eval().unwrap()
    }

    #[test]
    fn arrays_objects_and_numbers_round_trip() {
        let lua = Lua::new();
        let v = eval(&lua, "return {a = {1, 2, 3}, b = 'x', c = 1.5, d = true}");
        let text = encode(&v, Rules::DataStore).unwrap();
        assert_eq!(text, r#"{"a":[1,2,3],"b":"x","c":1.5,"d":true}"#);
        let back = decode(&lua, &text).unwrap();
        assert_eq!(encode(&back, Rules::DataStore).unwrap(), text);
    }

    #[test]
    fn rejects_what_roblox_cannot_store() {
        let lua = Lua::new();
        for (src, needle) in [
            ("return {f = function() end}", "104: Cannot store function"),
            ("return {[1] = 1, [3] = 3}", "mixed or non-sequential"),
            ("return {1, x = 2}", "mixed"),
            ("return 0/0", "NaN"),
            ("local t = {} t.t = t return t", "nested too deeply"),
            ("return newproxy()", "userdata"),
        ] {
            let err = encode(&eval(&lua, src), Rules::DataStore).unwrap_err();
            assert!(err.contains(needle), "{src}: {err}");
        }
    }

    #[test]
    fn decode_rejects_bad_text() {
        let lua = Lua::new();
        assert_eq!(decode(&lua, "{").unwrap_err(), "Can't parse JSON");
    }
}
