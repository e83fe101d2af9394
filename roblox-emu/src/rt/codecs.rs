//! Encodings: HttpService's JSON (Roblox's rules), GUIDs and URL encoding, EncodingService's
//! SHA-256 and base64.

use mlua::{Buffer, Lua, LuaString, Value};

use super::{Answer, Registry};
use crate::json::{self, Rules};
use crate::server::ServerCtx;

/// Registers `guid`, `url_encode`, `json_encode`, `json_decode`, `hash` and `base64`.
pub(super) fn register(r: &Registry) -> mlua::Result<()> {
    r.plain("guid", guid)?;
    r.plain("url_encode", url_encode)?;
    r.answer("json_encode", json_encode)?;
    r.answer("json_decode", json_decode)?;
    r.answer("hash", hash)?;
    r.answer("base64", base64)
}

/// A GUID from the universe's seeded RNG.
fn guid(_lua: &Lua, c: &ServerCtx, (): ()) -> mlua::Result<String> {
    Ok(c.shared.guid())
}

/// `HttpService:UrlEncode`: everything but unreserved characters percent-encoded.
fn url_encode(_lua: &Lua, _c: &ServerCtx, s: String) -> mlua::Result<String> {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(out)
}

fn json_encode(lua: &Lua, _c: &ServerCtx, v: Value) -> Answer {
    let text = json::encode(&v, Rules::Http)?;
    Ok(vec![Value::String(lua.create_string(&text)?)])
}

fn json_decode(lua: &Lua, _c: &ServerCtx, s: LuaString) -> Answer {
    let Ok(text) = s.to_str() else {
        return Err("Can't parse JSON".to_owned().into());
    };
    Ok(vec![json::decode(lua, &text)?])
}

/// `ComputeBufferHash` (only SHA-256 is emulated).
fn hash(lua: &Lua, _c: &ServerCtx, (buf, algo): (Buffer, String)) -> Answer {
    use sha2::Digest;
    if algo != "Sha256" {
        return Err(
            format!("ComputeBufferHash: HashAlgorithm.{algo} is not emulated (Sha256 is)").into(),
        );
    }
    let digest = sha2::Sha256::digest(buf.to_vec());
    Ok(vec![Value::Buffer(lua.create_buffer(digest)?)])
}

/// `Base64Encode` (`encode` true) or `Base64Decode`.
fn base64(lua: &Lua, _c: &ServerCtx, (buf, encode): (Buffer, bool)) -> Answer {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let bytes = if encode {
        engine.encode(buf.to_vec()).into_bytes()
    } else {
        engine
            .decode(buf.to_vec())
            .map_err(|_| "Base64Decode: invalid base64".to_owned())?
    };
    Ok(vec![Value::Buffer(lua.create_buffer(bytes)?)])
}
