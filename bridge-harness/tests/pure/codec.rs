//! Differential tests of the bridge's wire code against the Rust reference (`shared`): command
//! messages (verify + decode + validate), request signing, audit records, ULIDs and JSON integers.

use crate::vm::Bridge;
use mlua::{Function, Table, Value};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value as J, json};
use shared::keys::{Key, KeyId, KeyRing, Scope, Secret};
use shared::message::{MessageError, decode_command_message, hmac_sha256};
use shared::request_signing::{RequestParts, sign_request};

pub(crate) const KEY_ID: &str = "cmd-2026";
pub(crate) const SECRET: [u8; 32] = [0x42; 32];

pub(crate) fn label(e: &MessageError) -> &'static str {
    match e {
        MessageError::TooLarge(_) => "too_large",
        MessageError::Framing => "framing",
        MessageError::UnknownKey => "unknown_key",
        MessageError::BadSignature => "bad_signature",
        MessageError::Body => "body",
        MessageError::Invalid(_) => "invalid",
    }
}

pub(crate) fn sign(key_id: &str, body: &str) -> String {
    let sig = hex::encode(hmac_sha256(
        &SECRET,
        format!("EB1.{key_id}.{body}").as_bytes(),
    ));
    format!("EB1.{key_id}.{sig}.{body}")
}

/// Literals that probe every typing rule of the Rust decoder.
pub(crate) const LITERALS: &[&str] = &[
    "0",
    "1",
    "2",
    "-1",
    "-0",
    "1.0",
    "1e3",
    "1E3",
    "0.5",
    "01",
    "10",
    "123",
    "9007199254740991",
    "9007199254740992",
    "-9007199254740991",
    "-9007199254740992",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "4294967295",
    "4294967296",
    "1700000000001",
    "1700000300001",
    "1700000900001",
    "1700000900002",
    "1699999999999",
    "100000000000000000000",
    "-1700000000001",
    "1e400",
    r#""give""#,
    r#""deduct""#,
    r#""Give""#,
    r#""""#,
    r#"" ""#,
    r#""a\u0007b""#,
    r#""\u00e9t\u00e9""#,
    r#""\ud83d\ude00""#,
    r#""\ud83d""#,
    r#""\udc00x""#,
    r#""01HF7YAT010000000000000001""#,
    r#""01hf7yat010000000000000001""#,
    r#""81HF7YAT010000000000000001""#,
    r#""01HF7YAT01000000000000000I""#,
    r#""123""#,
    r#""12a""#,
    r#""123456789012345678901""#,
    r#""12345678901234567890""#,
    r#""x\ty""#,
    r#""\u3000""#,
    "\"\u{85}\"",
    r#""\u0085x""#,
    "\"a\u{7f}b\"",
    r#""\/slash""#,
    "null",
    "true",
    "false",
    "[]",
    "{}",
    "[1]",
    r#"{"id":"1","name":"x"}"#,
    r#"{"id":"1","name":"x","extra":1}"#,
    r#"{"id":"1"}"#,
    r#"{"id":1,"name":"x"}"#,
    r#"{"id":"1","name":"x","id":"2"}"#,
];

pub(crate) fn base_fields(rng: &mut ChaCha8Rng) -> Vec<(String, String)> {
    let issued: i64 = 1_700_000_000_001;
    let window = *[1i64, 300_000, 900_000, 900_001, 0, -5]
        .choose(rng)
        .unwrap();
    let reason = match rng.random_range(0..8) {
        0 => "x".repeat(200),
        1 => "x".repeat(201),
        2 => "é".repeat(200),
        3 => "😀".repeat(100),
        4 => "😀".repeat(101),
        5 => "\u{3000}\u{2003}".into(),
        6 => "a.b.c".into(),
        _ => "event prize".into(),
    };
    let amount = *[10i64, 0, -3, 1_000_000_000, 9_007_199_254_740_991]
        .choose(rng)
        .unwrap();
    vec![
        ("v".into(), "1".into()),
        ("txn".into(), r#""01HF7YAT010000000000000001""#.into()),
        ("op".into(), r#""give""#.into()),
        ("userId".into(), "123".into()),
        ("amount".into(), amount.to_string()),
        ("reason".into(), serde_json::to_string(&reason).unwrap()),
        (
            "actor".into(),
            r#"{"id":"123456789012345678","name":"Mod"}"#.into(),
        ),
        ("issuedAt".into(), issued.to_string()),
        ("expiresAt".into(), (issued + window).to_string()),
    ]
}

/// The mutations the command and envelope fuzzers share, chosen by `op` (0–4): a field's value
/// replaced by a literal (0–2), a field removed (3), a field repeated (4).
pub(crate) fn mutate_field(fields: &mut Vec<(String, String)>, op: u32, rng: &mut ChaCha8Rng) {
    let i = rng.random_range(0..fields.len());
    match op {
        3 => {
            fields.remove(i);
        }
        4 => {
            let dup = fields[i].clone();
            fields.push(dup);
        }
        _ => fields[i].1 = LITERALS.choose(rng).unwrap().to_string(),
    }
}

fn mutated_body(rng: &mut ChaCha8Rng) -> String {
    let mut fields = base_fields(rng);
    for _ in 0..rng.random_range(0..3) {
        match rng.random_range(0..7) {
            op @ 0..=4 => mutate_field(&mut fields, op, rng),
            5 => fields.push(("extra".into(), LITERALS.choose(rng).unwrap().to_string())),
            _ => fields.shuffle(rng),
        }
    }
    let ws = if rng.random_bool(0.2) { " \n\t" } else { "" };
    let inner: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{ws}\"{k}\"{ws}:{ws}{v}{ws}"))
        .collect();
    let mut body = format!("{{{}}}", inner.join(","));
    match rng.random_range(0..20) {
        0 => body.push(','),
        1 => body = format!("{ws}{body}{ws}"),
        2 => {
            let mut cut = body.len() / 2;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body.truncate(cut);
        }
        3 => body = "not json".into(),
        4 => body.push_str(" {}"),
        _ => {}
    }
    body
}

fn mutated_message(rng: &mut ChaCha8Rng) -> String {
    let body = mutated_body(rng);
    let msg = sign(KEY_ID, &body);
    match rng.random_range(0..14) {
        0 => sign("other", &body),
        1 => msg.replacen("EB1", "EB2", 1),
        2 => {
            // A flipped signature digit.
            let mut bytes = msg.into_bytes();
            let i = 4 + KEY_ID.len() + 1 + rng.random_range(0..64);
            bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
            String::from_utf8(bytes).unwrap()
        }
        3 => msg.to_uppercase(),
        4 => format!("{msg}{}", " ".repeat(1024)),
        5 => msg.replacen(&format!("{KEY_ID}."), "", 1),
        6 => sign("", &body),
        _ => msg,
    }
}

#[test]
fn command_decoding_agrees_with_the_rust_reference_on_mutated_messages() {
    let b = Bridge::new();
    let key_ring: Function = b.func("CommandCodec", "keyRing");
    let decode: Function = b.func("CommandCodec", "decode");
    // The handler's entry point reads a command message as a list of one, refused alike.
    let decode_all: Function = b.func("MessageCodec", "decode");
    let secrets = b.lua.create_table().unwrap();
    secrets.set(KEY_ID, b.buffer(&SECRET)).unwrap();
    let (ring, _): (Option<Table>, Option<String>) = key_ring.call(secrets).unwrap();
    let ring = ring.unwrap();
    let keys = KeyRing::new(vec![Key::new(
        KeyId::new(KEY_ID).unwrap(),
        Secret::from_bytes(SECRET.to_vec()),
        vec![],
    )])
    .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(0xEB1);
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    for i in 0..4000 {
        let msg = mutated_message(&mut rng);
        let want = decode_command_message(&msg, &keys);
        let (cmd, got, detail): (Value, Option<String>, Option<String>) =
            decode.call((msg.as_str(), ring.clone())).unwrap();
        let (cmds, got_all, detail_all): (Value, Option<String>, Option<String>) =
            decode_all.call((msg.as_str(), ring.clone())).unwrap();
        match &want {
            Ok(c) => {
                assert!(
                    got.is_none(),
                    "case {i}: Luau refused ({got:?}, {detail:?}) {msg}"
                );
                let c = serde_json::to_value(c).unwrap();
                assert_eq!(b.to_json(cmd), c, "case {i}: {msg}");
                assert!(
                    got_all.is_none(),
                    "case {i}: MessageCodec refused ({got_all:?}, {detail_all:?}) {msg}"
                );
                assert_eq!(b.to_json(cmds), json!([c]), "case {i}: {msg}");
                *seen.entry("ok").or_default() += 1;
            }
            Err(e) => {
                assert!(
                    cmd.is_nil() && cmds.is_nil(),
                    "case {i}: Luau accepted what Rust refused ({e}): {msg}"
                );
                assert_eq!(
                    got.as_deref(),
                    Some(label(e)),
                    "case {i} ({detail:?}): {msg}"
                );
                assert_eq!(
                    got_all.as_deref(),
                    Some(label(e)),
                    "case {i}, MessageCodec ({detail_all:?}): {msg}"
                );
                *seen.entry(label(e)).or_default() += 1;
            }
        }
    }
    // The generator must reach every outcome, or the comparison proves little.
    for l in [
        "ok",
        "too_large",
        "framing",
        "unknown_key",
        "bad_signature",
        "body",
        "invalid",
    ] {
        assert!(
            seen.get(l).copied().unwrap_or(0) >= 20,
            "{l} reached only {seen:?}"
        );
    }
}

#[test]
fn request_signing_agrees_with_the_rust_reference() {
    let b = Bridge::new();
    let key_fn: Function = b.func("RequestSigner", "key");
    let sign_fn: Function = b.func("RequestSigner", "sign");
    let secret: Vec<u8> = (0u8..48).collect();
    let lkey: Table = key_fn.call(("game-1", b.buffer(&secret))).unwrap();
    let rkey = Key::new(
        KeyId::new("game-1").unwrap(),
        Secret::from_bytes(secret.clone()),
        vec![Scope::Write],
    );
    let pieces = [
        "a",
        "b",
        "=",
        "&",
        "+",
        "%20",
        "%2B",
        "%C3%BC",
        "%C3",
        "%zz",
        "%",
        "ü",
        "~",
        ".",
        "*",
        "/",
        "x=1",
        "limit=20",
        "&&",
        "%41",
        "%e2%82%ac",
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(0x5161);
    let mut refused = 0;
    for i in 0..1500 {
        let query: String = (0..rng.random_range(0..8))
            .map(|_| *pieces.choose(&mut rng).unwrap())
            .collect();
        let body: Vec<u8> = (0..rng.random_range(0..200))
            .map(|_| rng.random_range(0x20u8..0x7f))
            .collect();
        let body = String::from_utf8(body).unwrap();
        let method = *["GET", "post", "Post", "DELETE"].choose(&mut rng).unwrap();
        let path = *[
            "/log/transactions",
            "/log/transactions/01HF7YAT010000000000000001",
        ]
        .choose(&mut rng)
        .unwrap();
        let idem = if rng.random_bool(0.5) { "idem-42" } else { "" };
        let ts: i64 = rng.random_range(1_600_000_000..1_900_000_000);
        let parts = RequestParts {
            method,
            path,
            query: &query,
            idempotency_key: idem,
            body: body.as_bytes(),
        };
        let want = sign_request(&rkey, ts, &parts);
        let req = b.lua.create_table().unwrap();
        req.set("method", method).unwrap();
        req.set("path", path).unwrap();
        req.set("query", query.as_str()).unwrap();
        req.set("idempotencyKey", idem).unwrap();
        req.set("body", body.as_str()).unwrap();
        let (headers, _err): (Option<Table>, Option<String>) =
            sign_fn.call((lkey.clone(), ts as f64, req)).unwrap();
        match (want, headers) {
            (Ok(w), Some(h)) => {
                assert_eq!(
                    h.get::<String>("X-Signature").unwrap(),
                    w.signature,
                    "case {i}: {query}"
                );
                assert_eq!(h.get::<String>("X-Timestamp").unwrap(), w.timestamp);
                assert_eq!(h.get::<String>("X-Key-Id").unwrap(), w.key_id);
            }
            (Err(_), None) => refused += 1,
            (w, h) => panic!("case {i}: Rust {w:?}, Luau {h:?} for query {query}"),
        }
    }
    assert!(refused > 20, "malformed queries were never generated");
}

#[test]
fn audit_records_built_in_luau_are_accepted_by_the_rust_model() {
    let b = Bridge::new();
    let build: Function = b.eval(
        r#"
        local CommandCodec = require(script.Parent.CommandCodec)
        local ApplyRule = require(script.Parent.ApplyRule)
        local AuditRecord = require(script.Parent.AuditRecord)
        local Wallet = require(script.Parent.Wallet)
        local Limits = require(script.Parent.Limits)
        return function(message: string, secret: buffer, balance: number)
            local ring = assert(CommandCodec.keyRing({ ["cmd-2026"] = secret }))
            local cmd = assert(CommandCodec.decode(message, ring))
            local wallet = assert(Wallet.adopt({ balance = balance }))
            local out = ApplyRule.apply(wallet, cmd, cmd.issuedAt + 419, Limits.DEFAULT)
            local rec = assert(Wallet.find(wallet, cmd.txn))
            local record = AuditRecord.fromCommand(cmd, rec, "7a0c2f1e-job")
            local localRecord = AuditRecord.fromLocal({
                txnId = "01HF7YAT0Z0000000000000009", userId = cmd.userId, op = "deduct", amount = 5,
                balanceAfter = 1, reason = "shop: sword", jobId = "7a0c2f1e-job", at = 1700000000999,
            })
            return record, localRecord, AuditRecord.validate(record), AuditRecord.validate(localRecord), out.outcome
        end
    "#,
    );
    let body = r#"{"v":1,"txn":"01HF7YAT010000000000000001","op":"deduct","userId":9007199254740991,"amount":10,"reason":"refund","actor":{"id":"123456789012345678","name":"Mod"},"issuedAt":1700000000001,"expiresAt":1700000300001}"#;
    let msg = sign_with("cmd-2026", body);
    for (balance, outcome) in [(100.0, "applied"), (3.0, "rejected")] {
        let (rec, local, err1, err2, got_outcome): (
            Value,
            Value,
            Option<String>,
            Option<String>,
            String,
        ) = build
            .call((msg.as_str(), b.buffer(&SECRET), balance))
            .unwrap();
        assert_eq!(got_outcome, outcome);
        assert_eq!(
            (err1, err2),
            (None, None),
            "Luau validation refused its own record"
        );
        let rec_json = b.to_json(rec);
        let parsed: shared::audit::AuditRecord = serde_json::from_value(rec_json.clone())
            .unwrap_or_else(|e| panic!("API model refused {rec_json}: {e}"));
        parsed.validate().unwrap();
        let mut want = json!({
            "txnId": "01HF7YAT010000000000000001", "source": "discord", "userId": 9007199254740991i64,
            "op": "deduct", "amount": 10, "outcome": outcome,
            "balanceAfter": if outcome == "applied" { 90 } else { 3 },
            "reason": "refund", "actorId": "123456789012345678", "actorName": "Mod",
            "serverJobId": "7a0c2f1e-job", "issuedAt": 1700000000001i64, "appliedAt": 1700000000420i64
        });
        if outcome == "rejected" {
            want["rejectReason"] = json!("insufficient_funds");
        }
        assert_eq!(rec_json, want);
        // The Rust builder (the bot's offline commit) gives the same record from the same inputs.
        let cmd: shared::Command = serde_json::from_str(body).unwrap();
        let mut wallet = shared::Wallet {
            balance: balance as i64,
            ..shared::Wallet::default()
        };
        shared::apply(
            &mut wallet,
            &cmd,
            cmd.issued_at + 419,
            &shared::Limits::default(),
        );
        let ring_entry = wallet.find(&cmd.txn).unwrap();
        let rust = shared::AuditRecord::from_command(&cmd, ring_entry, Some("7a0c2f1e-job".into()));
        assert_eq!(
            rust, parsed,
            "Rust from_command and Luau fromCommand disagree"
        );
        let local_json = b.to_json(local);
        let parsed: shared::audit::AuditRecord =
            serde_json::from_value(local_json.clone()).unwrap();
        parsed.validate().unwrap();
        assert_eq!(local_json["source"], json!("game"));
        assert!(local_json.get("actorId").is_none() && local_json.get("rejectReason").is_none());
    }
}

fn sign_with(key_id: &str, body: &str) -> String {
    sign(key_id, body)
}

#[test]
fn audit_validation_agrees_with_the_rust_model_on_broken_records() {
    let b = Bridge::new();
    let validate: Function = b.func("AuditRecord", "validate");
    let good = json!({
        "txnId": "01HF7YAT010000000000000001", "source": "discord", "userId": 5, "op": "give",
        "amount": 10, "outcome": "applied", "balanceAfter": 10, "reason": "prize",
        "actorId": "1", "actorName": "Mod", "serverJobId": "job", "issuedAt": 1, "appliedAt": 2
    });
    let mutations: Vec<(&str, J)> = vec![
        ("userId", json!(0)),
        ("amount", json!(0)),
        ("balanceAfter", json!(-1)),
        ("reason", json!(" ")),
        ("reason", json!("x".repeat(201))),
        ("actorId", json!("12a")),
        ("actorName", json!("n".repeat(33))),
        ("serverJobId", json!("")),
        ("serverJobId", json!("j".repeat(65))),
        ("issuedAt", json!(0)),
        ("rejectReason", json!("expired")),
        ("source", json!("game")),
    ];
    assert_eq!(
        validate.call::<Option<String>>(b.to_lua(&good)).unwrap(),
        None
    );
    for (field, value) in mutations {
        let mut r = good.clone();
        r[field] = value.clone();
        let rust: shared::audit::AuditRecord = serde_json::from_value(r.clone()).unwrap();
        assert!(
            rust.validate().is_err(),
            "{field}={value} should be refused by Rust"
        );
        let got: Option<String> = validate.call(b.to_lua(&r)).unwrap();
        assert!(got.is_some(), "Luau accepted {field}={value}");
    }
}

#[test]
fn ulids_are_canonical_monotonic_and_carry_their_time() {
    let b = Bridge::new();
    let gen_ids: Function = b.eval(
        r#"
        local Ulid = require(script.Parent.Ulid)
        return function(times: { number }, seed: number)
            local state = seed
            local gen = Ulid.newGenerator(function(): number
                state = (state * 1103515245 + 12345) % 2147483648
                return state // 65536
            end)
            local ids = {}
            for _, t in times do
                table.insert(ids, gen.next(t))
            end
            return ids
        end
    "#,
    );
    let timestamp: Function = b.func("Ulid", "timestamp");
    let is_canonical: Function = b.func("Ulid", "isCanonical");
    let times = [
        0i64,
        1,
        1_700_000_000_000,
        1_700_000_000_000,
        1_700_000_000_000,
        1_700_000_000_001,
        281_474_976_710_655,
    ];
    let ids: Vec<String> = gen_ids
        .call::<Table>((times.iter().map(|t| *t as f64).collect::<Vec<_>>(), 7.0))
        .unwrap()
        .sequence_values()
        .map(|v| v.unwrap())
        .collect();
    assert_eq!(ids.len(), times.len());
    for (id, t) in ids.iter().zip(times) {
        let parsed: shared::TxnId = id.parse().unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(parsed.timestamp_ms(), t as u64, "{id}");
        assert_eq!(timestamp.call::<Option<i64>>(id.as_str()).unwrap(), Some(t));
        assert!(is_canonical.call::<bool>(id.as_str()).unwrap());
    }
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids not strictly increasing: {ids:?}"
    );
    for bad in [
        ids[2].to_lowercase(),
        "81ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
        "01ARZ3NDEKTSV4RRFFQ69G5FAI".into(),
        "01ARZ3NDEKTSV4RRFFQ69G5FA".into(),
    ] {
        assert!(!is_canonical.call::<bool>(bad.as_str()).unwrap(), "{bad}");
        assert!(bad.parse::<shared::TxnId>().is_err());
    }
    // The default random source (math.random here, Random in Roblox) also gives canonical ids.
    let id: String = b.eval(
        "local Ulid = require(script.Parent.Ulid) return Ulid.newGenerator().next(1700000000000)",
    );
    assert!(id.parse::<shared::TxnId>().is_ok(), "{id}");
}

#[test]
fn json_writes_every_integer_as_plain_digits_an_i64_parser_accepts() {
    let b = Bridge::new();
    let encode: Function = b.func("Json", "encode");
    for n in [
        0i64,
        1,
        -1,
        1_000_000_000_000_000,
        100_000_000_000_000_000 / 100,
        1_700_000_000_001,
        9_007_199_254_740_991,
        -9_007_199_254_740_991,
        4_294_967_296,
        123_456_789_012_345,
    ] {
        let (text, err): (Option<String>, Option<String>) = encode.call(n as f64).unwrap();
        let text = text.unwrap_or_else(|| panic!("{n}: {err:?}"));
        assert_eq!(text, n.to_string());
        assert_eq!(serde_json::from_str::<i64>(&text).unwrap(), n);
    }
    // Inside a document too (the audit body), and strings escape like JSON requires.
    let t: Value = b.eval(
        r#"return { amount = 1e15, at = 2^53 - 1, reason = "a\"b\\c\n\1é", list = { 1, 2 } }"#,
    );
    let (text, _): (Option<String>, Option<String>) = encode.call(t).unwrap();
    let text = text.unwrap();
    assert!(!text.contains('e') || !text.contains("e+"), "{text}");
    let v: J = serde_json::from_str(&text).unwrap();
    assert_eq!(v["amount"].as_i64(), Some(1_000_000_000_000_000));
    assert_eq!(v["at"].as_i64(), Some(9_007_199_254_740_991));
    assert_eq!(v["reason"], json!("a\"b\\c\n\u{1}é"));
    assert_eq!(v["list"], json!([1, 2]));
    // Numbers the protocol never carries are refused, not rounded or written in exponent form.
    for src in [
        "return 0.5",
        "return 2^53",
        "return -2^53",
        "return 0/0",
        "return math.huge",
        "return 1e300",
    ] {
        let v: Value = b.eval(src);
        let (text, err): (Option<String>, Option<String>) = encode.call(v).unwrap();
        assert!(text.is_none() && err.is_some(), "{src} encoded as {text:?}");
    }
    let (text, _): (Option<String>, Option<String>) =
        encode.call(b.eval::<Value>("return -0")).unwrap();
    assert_eq!(text.as_deref(), Some("0"));
}

#[test]
fn json_decoding_accepts_exactly_what_a_strict_parser_accepts() {
    let b = Bridge::new();
    let decode: Function = b.func("Json", "decode");
    let docs = [
        r#"{"a":1}"#,
        r#" [1, 2 , 3] "#,
        r#"{"a":[]}"#,
        r#""\u00e9\ud83d\ude00""#,
        "-0",
        "1.5e-3",
        "1E+2",
        "true",
        "null",
        r#"{"a":{"b":{"c":[null]}}}"#,
        r#"[1,]"#,
        r#"{"a":1,}"#,
        "01",
        "1.",
        ".5",
        "+1",
        "- 1",
        r#""\ud83d""#,
        r#""\x""#,
        "\"a\tb\"",
        "[1] x",
        "",
        " ",
        "nul",
        r#"{"a" 1}"#,
        r#"{1:2}"#,
        "[1 2]",
        "// c\n1",
        "'a'",
        "1e",
        "NaN",
        "Infinity",
        r#""\u00""#,
        "\u{feff}1",
        "\"a\u{0}b\"",
        "\"a\u{1f}b\"",
        "\"a\u{7f}b\"",
        r#""\u0000""#,
        "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]",
    ];
    for doc in docs {
        let strict = serde_json::from_str::<J>(doc).is_ok();
        let (_v, err): (Value, Option<String>) = decode.call(doc).unwrap();
        assert_eq!(err.is_none(), strict, "{doc:?}: Luau {err:?}");
    }
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let (_v, err): (Value, Option<String>) = decode.call(deep.as_str()).unwrap();
    assert!(err.is_some(), "200 levels of nesting were accepted");
    let (_v, err): (Value, Option<String>) = decode.call(r#"{"a":1,"a":2}"#).unwrap();
    assert!(err.is_some(), "duplicate keys were accepted");
}
