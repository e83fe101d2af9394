//! JSON as signed bytes must be read: a key twice in one object is an error, not "the last one
//! wins". Two parsers of the same bytes (the audit API, the bridge's Luau decoder, an auditor's
//! tool) must never disagree about what a record says, so every reader refuses duplicates.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::fmt;

/// Why bytes are not strict JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrictJsonError {
    /// A key appears twice in one object; `path` names it (`amount`, `records[2].txnId`).
    #[error("duplicate field {path}")]
    DuplicateKey {
        /// Where, as a dotted path with array indices.
        path: String,
    },
    /// Not JSON at all (the parser's message: position and what was expected).
    #[error("not valid JSON: {0}")]
    Syntax(String),
}

/// Marker inside serde's error text that carries a duplicate key's path out of the deserializer.
const DUPLICATE: &str = "\u{0}duplicate field\u{0}";

/// Parses `bytes` as one JSON value, refusing a key that appears twice in any object.
pub fn parse(bytes: &[u8]) -> Result<Value, StrictJsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Node {
        path: String::new(),
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v))
    .map_err(|e| {
        let text = e.to_string();
        match text.split_once(DUPLICATE) {
            Some((_, rest)) => StrictJsonError::DuplicateKey {
                path: rest.split(DUPLICATE).next().unwrap_or_default().to_owned(),
            },
            None => StrictJsonError::Syntax(text),
        }
    })?;
    Ok(value)
}

/// One value at `path` in the document.
struct Node {
    path: String,
}

impl Node {
    fn child(&self, key: &str) -> Node {
        let path = if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        };
        Node { path }
    }
}

impl<'de> DeserializeSeed<'de> for Node {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Node {
            path: format!("{}[{}]", self.path, out.len()),
        })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let child = self.child(&key);
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!(
                    "{DUPLICATE}{}{DUPLICATE}",
                    child.path
                )));
            }
            let v = map.next_value_seed(child)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dup(text: &str) -> Option<String> {
        match parse(text.as_bytes()) {
            Err(StrictJsonError::DuplicateKey { path }) => Some(path),
            _ => None,
        }
    }

    #[test]
    fn a_key_twice_at_any_depth_is_named() {
        assert_eq!(dup(r#"{"a":5,"b":1,"a":7}"#).as_deref(), Some("a"));
        assert_eq!(
            dup(r#"{"a":5,"a":5}"#).as_deref(),
            Some("a"),
            "same value too"
        );
        assert_eq!(
            dup(r#"{"records":[{"x":1},{"x":1,"y":{"z":1,"z":2}}]}"#).as_deref(),
            Some("records[1].y.z")
        );
        assert_eq!(
            dup(r#"{"records":[],"records":[]}"#).as_deref(),
            Some("records")
        );
        // The same key in sibling objects is not a duplicate.
        assert!(parse(br#"{"a":{"k":1},"b":{"k":1}}"#).is_ok());
    }

    #[test]
    fn values_read_as_serde_json_reads_them() {
        let text = r#"{"n":-3,"u":18446744073709551615,"f":1.5,"s":"é\u00e9","l":[true,null]}"#;
        assert_eq!(
            parse(text.as_bytes()).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
    }

    #[test]
    fn broken_json_and_trailing_bytes_are_syntax_errors() {
        for bad in ["{", "{\"a\":1} x", "", "[1,]"] {
            assert!(
                matches!(parse(bad.as_bytes()), Err(StrictJsonError::Syntax(_))),
                "{bad}"
            );
        }
    }
}
