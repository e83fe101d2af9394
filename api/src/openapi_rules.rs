//! Every rule the server enforces on a POST body and its headers, written into the OpenAPI
//! document from the same constants the validation uses (`shared::limits`, the text rules, the
//! ULID alphabet), so a client generated from the document sends only what is accepted.

use serde_json::{Value, json};
use shared::RejectReason;
use shared::limits::{MAX_ACTOR_NAME_CHARS, MAX_JOB_ID_CHARS, MAX_REASON_CHARS, MAX_SAFE_INTEGER};

/// Canonical ULID: 26 upper-case Crockford base32 characters, the first `0`-`7`.
pub const ULID_PATTERN: &str = "^[0-7][0-9A-HJKMNP-TV-Z]{25}$";
/// Idempotency-Key: 1-255 visible ASCII characters without `"` or `\`, bare or as an sf-string.
pub const IDEMPOTENCY_KEY_PATTERN: &str = r#"^([!#-\[\]-~]{1,255}|"[!#-\[\]-~]{1,255}")$"#;
/// A Discord snowflake as the protocol carries it.
pub const ACTOR_ID_PATTERN: &str = "^[0-9]{1,20}$";
/// Not blank, and no control (Cc), bidirectional-control or zero-width character
/// (`shared::command::is_disguising`).
pub const TEXT_PATTERN: &str = "^(?=.*[^\\s])[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060\\u2066-\\u2069\\ufeff]+$";
/// The seven `rejectReason` values.
pub const REJECT_REASONS: [RejectReason; 7] = [
    RejectReason::InsufficientFunds,
    RejectReason::AmountOutOfRange,
    RejectReason::BalanceOverflow,
    RejectReason::Expired,
    RejectReason::NotYetValid,
    RejectReason::Stale,
    RejectReason::AlreadyReversed,
];

fn int(min: i64, max: i64) -> Value {
    json!({"type": "integer", "minimum": min, "maximum": max})
}

fn text(max: usize, extra: &str) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": TEXT_PATTERN,
           "description": format!("1-{max} characters, not blank, no control, bidi-control or zero-width characters{extra}")})
}

/// The AuditRecord schema with every rule `AuditRecord::validate` applies.
pub fn audit_record() -> Value {
    let max = MAX_SAFE_INTEGER;
    let reasons: Vec<&str> = REJECT_REASONS.iter().map(|r| r.as_str()).collect();
    json!({
        "type": "object",
        "description": "One committed txn (docs/protocol.md §6). Integers are written without a fraction or exponent (`1.0` is refused).",
        "additionalProperties": false,
        "required": ["txnId", "source", "userId", "op", "amount", "outcome", "balanceAfter",
                     "reason", "issuedAt", "appliedAt"],
        "properties": {
            "txnId": {"type": "string", "pattern": ULID_PATTERN, "description": "Canonical ULID; stored at most once."},
            "source": {"type": "string", "enum": ["discord", "game"]},
            "userId": int(1, max),
            "op": {"type": "string", "enum": ["give", "deduct"]},
            "amount": int(-max, max),
            "outcome": {"type": "string", "enum": ["applied", "rejected"]},
            "rejectReason": {"type": "string", "enum": reasons},
            "balanceAfter": int(0, max),
            "reason": text(MAX_REASON_CHARS, " and at most 400 UTF-8 bytes"),
            "actorId": {"type": "string", "pattern": ACTOR_ID_PATTERN},
            "actorName": text(MAX_ACTOR_NAME_CHARS, ""),
            "serverJobId": {"type": "string", "minLength": 1, "maxLength": MAX_JOB_ID_CHARS,
                            "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]+$"},
            "issuedAt": int(1, max),
            "appliedAt": int(1, max),
            "reverses": {"type": "string", "pattern": ULID_PATTERN,
                         "description": "The txn this one reverses: a canonical ULID other than `txnId`, on discord records only."},
        },
        "allOf": [
            {"if": {"properties": {"outcome": {"const": "applied"}}},
             "then": {"properties": {"amount": {"minimum": 1}}, "not": {"required": ["rejectReason"]}},
             "else": {"required": ["rejectReason"]}},
            {"if": {"properties": {"source": {"const": "discord"}}},
             "then": {"required": ["actorId", "actorName"]},
             "else": {"not": {"anyOf": [{"required": ["actorId"]}, {"required": ["actorName"]}, {"required": ["reverses"]}]}}},
        ],
    })
}

/// Writes the rules into `doc`: the AuditRecord schema, the batch size, the Idempotency-Key
/// format and the list endpoint's integer bounds.
pub fn apply(doc: &mut Value) {
    let schemas = &mut doc["components"]["schemas"];
    schemas["AuditRecord"] = audit_record();
    let batch = &mut schemas["BatchBody"];
    batch["additionalProperties"] = json!(false);
    batch["properties"]["records"]["minItems"] = json!(1);
    batch["properties"]["records"]["maxItems"] = json!(crate::model::MAX_BATCH);
    if let Some(params) = doc["paths"]["/log/transactions"]["post"]["parameters"].as_array_mut() {
        for p in params.iter_mut().filter(|p| p["name"] == "Idempotency-Key") {
            p["schema"] = json!({"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN});
        }
    }
    let max = MAX_SAFE_INTEGER;
    let bounds = [
        ("userId", int(1, max)),
        ("since", int(0, max)),
        ("until", int(0, max)),
        ("limit", int(1, max)),
        (
            "actor",
            json!({"type": "string", "pattern": ACTOR_ID_PATTERN}),
        ),
        ("format", json!({"type": "string", "enum": ["json", "csv"]})),
        (
            "cursor",
            json!({"type": "string", "pattern": "^[0-9a-f]{48}$"}),
        ),
    ];
    let group_by = (
        "groupBy",
        json!({"type": "string", "enum": ["actor", "user"]}),
    );
    for path in ["/log/transactions", "/log/totals"] {
        if let Some(params) = doc["paths"][path]["get"]["parameters"].as_array_mut() {
            for p in params.iter_mut() {
                if let Some((_, schema)) = bounds
                    .iter()
                    .chain(std::iter::once(&group_by))
                    .find(|(n, _)| p["name"] == *n)
                {
                    p["schema"] = schema.clone();
                }
            }
        }
    }
    let one = &mut doc["paths"]["/log/transactions/{txnId}"]["get"]["parameters"];
    if let Some(params) = one.as_array_mut() {
        for p in params.iter_mut() {
            if p["name"] == "txnId" {
                p["schema"] = json!({"type": "string", "pattern": ULID_PATTERN});
            } else if p["name"] == "wait" {
                p["schema"] = json!({"type": "integer", "minimum": 0});
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The code points TEXT_PATTERN's negated class excludes, as inclusive ranges.
    fn excluded() -> Vec<(u32, u32)> {
        let class = TEXT_PATTERN.split("[^").nth(2).unwrap();
        let class = class.split(']').next().unwrap();
        let mut out = Vec::new();
        let mut rest = class;
        while let Some(tail) = rest.strip_prefix("\\u") {
            let lo = u32::from_str_radix(&tail[..4], 16).unwrap();
            rest = &tail[4..];
            let hi = match rest.strip_prefix("-\\u") {
                Some(t) => {
                    rest = &t[4..];
                    u32::from_str_radix(&t[..4], 16).unwrap()
                }
                None => lo,
            };
            out.push((lo, hi));
        }
        assert!(rest.is_empty(), "unparsed: {rest}");
        out
    }

    #[test]
    fn the_text_pattern_excludes_exactly_what_the_text_rules_refuse() {
        let ranges = excluded();
        for cp in 0..=0xFFFFu32 {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let refused = c.is_control() || shared::command::is_disguising(c);
            let in_pattern = ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&cp));
            assert_eq!(refused, in_pattern, "U+{cp:04X}");
        }
    }

    #[test]
    fn the_seven_reject_reasons_are_the_wire_names() {
        for r in REJECT_REASONS {
            let back: RejectReason = serde_json::from_value(json!(r.as_str())).unwrap();
            assert_eq!(back, r);
        }
        assert!(serde_json::from_value::<RejectReason>(json!("other")).is_err());
    }

    #[test]
    fn the_document_carries_the_rules() {
        let doc: Value = serde_json::from_str(&crate::openapi::document()).unwrap();
        let rec = &doc["components"]["schemas"]["AuditRecord"];
        assert_eq!(
            rec["properties"]["userId"]["maximum"],
            json!(MAX_SAFE_INTEGER)
        );
        assert_eq!(
            rec["properties"]["rejectReason"]["enum"]
                .as_array()
                .unwrap()
                .len(),
            7
        );
        assert_eq!(
            rec["properties"]["reverses"]["pattern"],
            json!(ULID_PATTERN)
        );
        assert!(
            rec["allOf"]
                .to_string()
                .contains(r#"{"required":["reverses"]}"#),
            "a game record carries no reverses"
        );
        assert_eq!(rec["properties"]["issuedAt"]["minimum"], json!(1));
        let post = &doc["paths"]["/log/transactions"]["post"]["parameters"];
        assert!(post.to_string().contains("pattern"), "{post}");
        let list = &doc["paths"]["/log/transactions"]["get"]["responses"]["200"]["content"];
        assert!(list["text/csv"].is_object(), "{list}");
        assert!(list["application/json"].is_object());
        // The ULID pattern accepts exactly the canonical ids.
        assert!(ULID_PATTERN.starts_with("^[0-7]"));
        assert!(
            "01ARZ3NDEKTSV4RRFFQ69G5FAV"
                .parse::<shared::TxnId>()
                .is_ok()
        );
    }
}
