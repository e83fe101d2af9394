//! Runs every case of the shared test vectors (`testdata/apply_rule.json`, `signing.json`,
//! `envelopes.json`, `batches.json`, `audit_bodies.json`, `text_fields.json`, `reversals.json`)
//! through the bridge's Luau modules, in a plain Luau VM.

use crate::vm::{Bridge, vectors};
use mlua::{Function, Table, Value};
use serde_json::{Value as J, json};

fn s(v: &J) -> &str {
    v.as_str().unwrap()
}

fn hex_bytes(v: &J) -> Vec<u8> {
    hex::decode(s(v)).unwrap()
}

#[test]
fn apply_rule_cases_match_the_reference() {
    let b = Bridge::new();
    let apply: Function = b.func("ApplyRule", "apply");
    let changed: Function = b.func("ApplyRule", "changedWallet");
    let data = vectors("apply_rule.json");
    assert_eq!(data["ringCapacity"], json!(64));
    assert_eq!(data["maxFutureSkewMs"], json!(60000));
    let limits_mod = b.module("Limits");
    assert_eq!(limits_mod.get::<i64>("RING_CAPACITY").unwrap(), 64);
    assert_eq!(limits_mod.get::<i64>("MAX_FUTURE_SKEW_MS").unwrap(), 60000);
    let cases = data["cases"].as_array().unwrap();
    assert!(cases.len() >= 25, "vector file lost cases");
    let mut steps_run = 0;
    for case in cases {
        let name = s(&case["name"]);
        let limits = b.to_lua(&case["limits"]);
        let wallet = b.to_lua(&case["wallet"]);
        for (i, step) in case["steps"].as_array().unwrap().iter().enumerate() {
            let ctx = format!("{name} step {i}");
            let before = b.to_json(wallet.clone());
            let cmd = b.to_lua(&step["command"]);
            let now = step["now"].as_i64().unwrap() as f64;
            let out: Table = apply
                .call((wallet.clone(), cmd, now, limits.clone()))
                .unwrap_or_else(|e| panic!("{ctx}: {e}"));
            let exp = &step["expect"];
            let after = b.to_json(wallet.clone());
            assert_eq!(after["balance"], exp["balanceAfter"], "{ctx}: balance");
            let was_changed: bool = changed.call(out.clone()).unwrap();
            assert_eq!(json!(was_changed), exp["recorded"], "{ctx}: recorded");
            if !was_changed {
                assert_eq!(
                    after, before,
                    "{ctx}: an unrecorded outcome changed the wallet"
                );
            }
            let outcome: String = out.get("outcome").unwrap();
            assert_eq!(outcome, s(&exp["outcome"]), "{ctx}: outcome");
            match outcome.as_str() {
                "applied" => {
                    let got: i64 = out.get("balanceAfter").unwrap();
                    assert_eq!(json!(got), exp["balanceAfter"], "{ctx}");
                }
                "rejected" => {
                    let reason: String = out.get("reason").unwrap();
                    assert_eq!(reason, s(&exp["reason"]), "{ctx}: reason");
                    let bal: i64 = out.get("balance").unwrap();
                    assert_eq!(json!(bal), before["balance"], "{ctx}: balance in outcome");
                }
                "duplicate" => {
                    let rec: Value = out.get("record").unwrap();
                    assert_eq!(b.to_json(rec), exp["record"], "{ctx}: recorded outcome");
                }
                other => panic!("{ctx}: unknown outcome {other}"),
            }
            steps_run += 1;
        }
        assert_eq!(
            b.to_json(wallet),
            case["finalWallet"],
            "{name}: final wallet"
        );
    }
    assert!(steps_run > 100, "only {steps_run} steps ran");

    let apply_local: Function = b.func("ApplyRule", "applyLocal");
    let local_cases = data["localCases"].as_array().unwrap();
    assert!(local_cases.len() >= 7);
    for case in local_cases {
        let name = s(&case["name"]);
        let wallet = b.to_lua(
            &json!({"v": 1, "balance": case["balance"], "ring": [], "watermark": 0, "outbox": []}),
        );
        let (bal, reason): (Option<i64>, Option<String>) = apply_local
            .call((
                wallet.clone(),
                s(&case["op"]),
                case["amount"].as_i64().unwrap() as f64,
                b.to_lua(&case["limits"]),
            ))
            .unwrap();
        let exp = &case["expect"];
        let after = b.to_json(wallet);
        assert_eq!(after["balance"], exp["balanceAfter"], "{name}");
        assert_eq!(
            after["ring"],
            json!([]),
            "{name}: local txns never enter the ring"
        );
        assert_eq!(after["watermark"], json!(0), "{name}");
        if exp["ok"].as_bool().unwrap() {
            assert_eq!(json!(bal), exp["balanceAfter"], "{name}");
            assert!(reason.is_none(), "{name}");
        } else {
            assert!(bal.is_none(), "{name}");
            assert_eq!(reason.as_deref(), Some(s(&exp["reason"])), "{name}");
        }
    }
}

#[test]
fn hmac_rfc4231_vectors() {
    let b = Bridge::new();
    let hmac_hex: Function = b.func("Hmac", "sha256Hex");
    let data = vectors("signing.json");
    let cases = data["hmac"].as_array().unwrap();
    assert_eq!(cases.len(), 7);
    for case in cases {
        let key = b.buffer(&hex_bytes(&case["keyHex"]));
        let msg = b.buffer(&hex_bytes(&case["dataHex"]));
        let mac: String = hmac_hex.call((key, msg)).unwrap();
        let want = s(&case["macHex"]);
        assert_eq!(mac.len(), 64);
        // Test case 5 pins only a truncated MAC.
        assert_eq!(&mac[..want.len()], want, "{}", case["name"]);
    }
}

fn request(b: &Bridge, v: &J) -> Table {
    let t = b.lua.create_table().unwrap();
    t.set("method", s(&v["method"])).unwrap();
    t.set("path", s(&v["path"])).unwrap();
    t.set("query", s(&v["query"])).unwrap();
    t.set("idempotencyKey", s(&v["idempotencyKey"])).unwrap();
    t.set(
        "body",
        b.lua.create_string(hex_bytes(&v["bodyHex"])).unwrap(),
    )
    .unwrap();
    t
}

#[test]
fn canonical_request_vectors() {
    let b = Bridge::new();
    let canonical_query: Function = b.func("RequestSigner", "canonicalQuery");
    let canonical_string: Function = b.func("RequestSigner", "canonicalString");
    let key: Function = b.func("RequestSigner", "key");
    let sign: Function = b.func("RequestSigner", "sign");
    let data = vectors("signing.json");
    let cases = data["canonical"].as_array().unwrap();
    assert!(cases.len() >= 9);
    for case in cases {
        let name = s(&case["name"]);
        let q: Option<String> = canonical_query.call(s(&case["query"])).unwrap();
        assert_eq!(q.as_deref(), Some(s(&case["canonicalQuery"])), "{name}");
        let ts = case["timestamp"].as_i64().unwrap() as f64;
        let c: Option<String> = canonical_string.call((ts, request(&b, case))).unwrap();
        assert_eq!(c.as_deref(), Some(s(&case["canonical"])), "{name}");
        let k: Table = key
            .call((s(&case["keyId"]), b.buffer(&hex_bytes(&case["keyHex"]))))
            .unwrap();
        let (headers, err): (Option<Table>, Option<String>) =
            sign.call((k, ts, request(&b, case))).unwrap();
        let headers = headers.unwrap_or_else(|| panic!("{name}: {err:?}"));
        assert_eq!(
            headers.get::<String>("X-Key-Id").unwrap(),
            s(&case["keyId"])
        );
        assert_eq!(
            headers.get::<String>("X-Timestamp").unwrap(),
            case["timestamp"].to_string()
        );
        assert_eq!(
            headers.get::<String>("X-Signature").unwrap(),
            s(&case["signature"]),
            "{name}"
        );
        let idem: Option<String> = headers.get("Idempotency-Key").unwrap();
        let want_idem = s(&case["idempotencyKey"]);
        assert_eq!(
            idem.as_deref(),
            (!want_idem.is_empty()).then_some(want_idem),
            "{name}"
        );
    }
}

#[test]
fn request_verify_vectors() {
    let b = Bridge::new();
    let key: Function = b.func("RequestSigner", "key");
    let verify: Function = b.func("RequestSigner", "verify");
    let data = vectors("signing.json");
    let keys = b.lua.create_table().unwrap();
    for spec in s(&data["verify"]["keys"]).split(',') {
        let mut parts = spec.splitn(3, ':');
        let (id, scopes, secret) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let scopes: Vec<&str> = scopes.split('+').collect();
        let k: Table = key
            .call((id, b.buffer(&hex::decode(secret).unwrap()), scopes))
            .unwrap();
        keys.set(id, k).unwrap();
    }
    let cases = data["verify"]["cases"].as_array().unwrap();
    assert!(cases.len() >= 16);
    for case in cases {
        let name = s(&case["name"]);
        let h = b.lua.create_table().unwrap();
        h.set("keyId", s(&case["headers"]["keyId"])).unwrap();
        h.set("timestamp", s(&case["headers"]["timestamp"]))
            .unwrap();
        h.set("signature", s(&case["headers"]["signature"]))
            .unwrap();
        let now = case["request"]["now"].as_i64().unwrap() as f64;
        let got: Option<String> = verify
            .call((
                keys.clone(),
                h,
                request(&b, &case["request"]),
                now,
                s(&case["scope"]),
            ))
            .unwrap();
        assert_eq!(got.as_deref().unwrap_or("ok"), s(&case["expect"]), "{name}");
    }
}

/// The Luau key ring of a vector case (`keyId`, `keyHex`).
fn ring_for(b: &Bridge, case: &J) -> Table {
    let key_ring: Function = b.func("CommandCodec", "keyRing");
    let secrets = b.lua.create_table().unwrap();
    secrets
        .set(s(&case["keyId"]), b.buffer(&hex_bytes(&case["keyHex"])))
        .unwrap();
    let (ring, err): (Option<Table>, Option<String>) = key_ring.call(secrets).unwrap();
    ring.unwrap_or_else(|| panic!("key ring: {err:?}"))
}

#[test]
fn envelope_vectors_decode_or_refuse_like_the_reference() {
    let b = Bridge::new();
    let decode: Function = b.func("CommandCodec", "decode");
    // The entry point of the handler: every message as the list of commands it carries.
    let decode_all: Function = b.func("MessageCodec", "decode");
    let data = vectors("envelopes.json");
    assert_eq!(data["maxBytes"], json!(1024));
    let encode_cases = data["encode"].as_array().unwrap();
    assert!(encode_cases.len() >= 3);
    for case in encode_cases {
        let name = s(&case["name"]);
        let msg = s(&case["message"]);
        assert_eq!(json!(msg.len()), case["bytes"], "{name}: vector length");
        let (cmd, label, detail): (Value, Option<String>, Option<String>) =
            decode.call((msg, ring_for(&b, case))).unwrap();
        assert!(label.is_none(), "{name}: refused as {label:?} ({detail:?})");
        assert_eq!(b.to_json(cmd), case["command"], "{name}: decoded command");
        let (cmds, label, detail): (Value, Option<String>, Option<String>) =
            decode_all.call((msg, ring_for(&b, case))).unwrap();
        assert!(label.is_none(), "{name}: refused as {label:?} ({detail:?})");
        assert!(
            detail.is_none(),
            "{name}: a single command described as {detail:?}"
        );
        assert_eq!(
            b.to_json(cmds),
            json!([case["command"]]),
            "{name}: a single command is a list of one"
        );
    }
    let reject_cases = data["reject"].as_array().unwrap();
    assert!(reject_cases.len() >= 12);
    for case in reject_cases {
        let name = s(&case["name"]);
        for f in [&decode, &decode_all] {
            let (cmd, label, _detail): (Value, Option<String>, Option<String>) =
                f.call((s(&case["message"]), ring_for(&b, case))).unwrap();
            assert!(cmd.is_nil(), "{name}: accepted");
            assert_eq!(label.as_deref(), Some(s(&case["expect"])), "{name}");
        }
    }
}

#[test]
fn batch_vectors_derive_expand_and_refuse_like_the_model() {
    let b = Bridge::new();
    let item_txn: Function = b.func("BatchEnvelope", "itemTxn");
    let decode_all: Function = b.func("MessageCodec", "decode");
    let decode_one: Function = b.func("CommandCodec", "decode");
    let data = vectors("batches.json");
    assert_eq!(data["maxBytes"], json!(1024));

    let ids = data["itemTxns"].as_array().unwrap();
    assert!(ids.len() >= 6, "vector file lost cases");
    for case in ids {
        // User ids up to 2^53 − 1: exact as a Luau number.
        let user = case["userId"].as_u64().unwrap() as f64;
        let got: String = item_txn.call((s(&case["batch"]), user)).unwrap();
        assert_eq!(got, s(&case["txn"]), "item txn of {case}");
    }

    let encode_cases = data["encode"].as_array().unwrap();
    assert!(encode_cases.len() >= 4, "vector file lost cases");
    let mut commands_seen = 0;
    for case in encode_cases {
        let name = s(&case["name"]);
        let msg = s(&case["message"]);
        assert_eq!(json!(msg.len()), case["bytes"], "{name}: vector length");
        let (cmds, label, detail): (Value, Option<String>, Option<String>) =
            decode_all.call((msg, ring_for(&b, case))).unwrap();
        assert!(label.is_none(), "{name}: refused as {label:?} ({detail:?})");
        let want = case["commands"].as_array().unwrap();
        assert_eq!(
            want.len(),
            case["envelope"]["users"].as_array().unwrap().len(),
            "{name}: one command per player"
        );
        assert_eq!(
            b.to_json(cmds),
            case["commands"],
            "{name}: carried commands"
        );
        assert_eq!(
            detail,
            Some(format!(
                "batch envelope {}: {} players",
                s(&case["envelope"]["batch"]),
                want.len()
            )),
            "{name}: description"
        );
        commands_seen += want.len();
        // A bridge that reads single commands only (one that predates envelopes) refuses it as `body`.
        let (cmd, label, _): (Value, Option<String>, Option<String>) =
            decode_one.call((msg, ring_for(&b, case))).unwrap();
        assert!(
            cmd.is_nil(),
            "{name}: the single-command decoder accepted an envelope"
        );
        assert_eq!(label.as_deref(), Some("body"), "{name}");
    }
    assert!(commands_seen >= 70, "only {commands_seen} commands");

    let reject_cases = data["reject"].as_array().unwrap();
    assert!(reject_cases.len() >= 20, "vector file lost cases");
    let mut labels = std::collections::BTreeSet::new();
    for case in reject_cases {
        let name = s(&case["name"]);
        let (cmds, label, detail): (Value, Option<String>, Option<String>) = decode_all
            .call((s(&case["message"]), ring_for(&b, case)))
            .unwrap();
        assert!(cmds.is_nil(), "{name}: accepted (no player may be handled)");
        assert_eq!(
            label.as_deref(),
            Some(s(&case["expect"])),
            "{name} ({detail:?})"
        );
        labels.insert(s(&case["expect"]).to_owned());
    }
    assert_eq!(
        labels.into_iter().collect::<Vec<_>>(),
        ["bad_signature", "body", "invalid", "too_large"],
        "the vectors reach every refusal an envelope can get past framing"
    );
}

#[test]
fn audit_body_vectors_refuse_the_same_duplicates() {
    let b = Bridge::new();
    let decode: Function = b.func("Json", "decode");
    let data = vectors("audit_bodies.json");
    let cases = data["cases"].as_array().unwrap();
    assert!(cases.len() >= 10, "vector file lost cases");
    for case in cases {
        let name = s(&case["name"]);
        let (value, err): (Value, Option<String>) = decode.call(s(&case["body"])).unwrap();
        match case["duplicate"].as_str() {
            None => assert!(err.is_none() && !value.is_nil(), "{name}: {err:?}"),
            Some(path) => {
                assert!(value.is_nil(), "{name}: accepted");
                let err = err.unwrap_or_default();
                assert!(
                    err.ends_with(&format!("duplicate key {path}")),
                    "{name}: {err}"
                );
            }
        }
    }
}

#[test]
fn text_field_vectors_match_the_reference() {
    let b = Bridge::new();
    let is_reason: Function = b.func("Text", "isReason");
    let is_name: Function = b.func("Text", "isActorName");
    let data = vectors("text_fields.json");
    let cases = data["cases"].as_array().unwrap();
    assert!(cases.len() >= 20, "vector file lost cases");
    for case in cases {
        let name = s(&case["name"]);
        let check = if s(&case["field"]) == "reason" {
            &is_reason
        } else {
            &is_name
        };
        let got: bool = check.call(s(&case["text"])).unwrap();
        assert_eq!(json!(got), case["ok"], "{name}");
    }
}

#[test]
fn reversal_records_are_judged_like_the_reference() {
    let b = Bridge::new();
    let decode: Function = b.func("Json", "decode");
    let validate: Function = b.func("AuditRecord", "validate");
    let data = vectors("reversals.json");
    let cases = data["records"].as_array().unwrap();
    assert!(cases.len() >= 8, "vector file lost cases");
    for case in cases {
        let name = s(&case["name"]);
        // Decoded from the JSON text, as the bridge reads it: `null` stays Json.null, not nil.
        let text = case["record"].to_string();
        let (record, err): (Value, Option<String>) = decode.call(text).unwrap();
        assert!(err.is_none(), "{name}: {err:?}");
        let problem: Option<String> = validate.call(record).unwrap();
        assert_eq!(
            json!(problem.is_none()),
            case["ok"],
            "{name}: Luau said {problem:?}"
        );
    }
}
