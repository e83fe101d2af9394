//! Batch envelopes (docs/protocol.md §3.1) in the bridge's Luau and in `shared::decode_message`,
//! both against a model built on the Rust reference: item txn ids against
//! `shared::BatchId::item_txn`, and thousands of seeded envelope messages, mutated field by field, decoded by `MessageCodec` with
//! the label (or the carried commands) the model expects. The model types the shared fields with
//! `shared::message::decode_command_message` (an envelope's shared fields are a command's), the
//! user list as serde types a `Vec<u64>`, and applies §3.1's rules on the players.

use crate::codec::{KEY_ID, LITERALS, SECRET, base_fields, label, mutate_field, sign};
use crate::vm::{Bridge, MAX_SAFE_INTEGER};
use mlua::{Function, Table, Value};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value as J;
use shared::keys::{Key, KeyId, KeyRing, Secret};
use shared::message::decode_command_message;
use shared::{BatchId, TxnId};
use std::collections::{BTreeMap, BTreeSet};

const ENVELOPE_FIELDS: [&str; 9] = [
    "v",
    "batch",
    "op",
    "amount",
    "reason",
    "actor",
    "issuedAt",
    "expiresAt",
    "users",
];

/// §3.1's item txn id by the Rust reference (`shared::BatchId::item_txn`, itself pinned by the
/// Python model's vectors), computed outside the Luau.
fn item_txn(batch: &TxnId, user: u64) -> String {
    let batch: BatchId = batch.as_str().parse().unwrap();
    batch.item_txn(user).to_string()
}

fn random_batch(rng: &mut ChaCha8Rng) -> TxnId {
    TxnId::from_parts(
        rng.random_range(0..1u64 << 48),
        rng.random_range(0..1u128 << 80),
    )
}

fn luau_ring(b: &Bridge) -> Table {
    let key_ring: Function = b.func("CommandCodec", "keyRing");
    let secrets = b.lua.create_table().unwrap();
    secrets.set(KEY_ID, b.buffer(&SECRET)).unwrap();
    let (ring, err): (Option<Table>, Option<String>) = key_ring.call(secrets).unwrap();
    ring.unwrap_or_else(|| panic!("key ring: {err:?}"))
}

fn rust_ring() -> KeyRing {
    KeyRing::new(vec![Key::new(
        KeyId::new(KEY_ID).unwrap(),
        Secret::from_bytes(SECRET.to_vec()),
        vec![],
    )])
    .unwrap()
}

#[test]
fn item_txns_agree_with_a_rust_derivation() {
    // The model itself against the protocol's pinned value.
    let pinned: TxnId = "01M7XPE6000000000000000007".parse().unwrap();
    assert_eq!(item_txn(&pinned, 1001), "01M7XPE600TSEBCWH922VG2JT1");

    let b = Bridge::new();
    let luau_item: Function = b.func("BatchEnvelope", "itemTxn");
    let from_parts: Function = b.func("Ulid", "fromParts");
    let mut rng = ChaCha8Rng::seed_from_u64(0xBA7C);
    let edges = [
        0u64,
        1,
        9,
        10,
        99,
        100,
        1001,
        4_294_967_295,
        4_294_967_296,
        9_999_999_999,
        10_000_000_000,
        MAX_SAFE_INTEGER as u64,
    ];
    let mut seen = BTreeSet::new();
    for i in 0..1500 {
        let batch = if i % 100 == 0 {
            // The extremes of the time and random parts.
            TxnId::from_parts(
                if i % 200 == 0 { 0 } else { (1 << 48) - 1 },
                if i % 300 == 0 { 0 } else { (1 << 80) - 1 },
            )
        } else {
            random_batch(&mut rng)
        };
        let user = if i % 3 == 0 {
            *edges.choose(&mut rng).unwrap()
        } else {
            rng.random_range(1..=MAX_SAFE_INTEGER as u64)
        };
        let want = item_txn(&batch, user);
        let got: String = luau_item
            .call((batch.as_str(), user as f64))
            .unwrap_or_else(|e| panic!("{batch} {user}: {e}"));
        assert_eq!(got, want, "item txn of batch {batch}, user {user}");
        let parsed: TxnId = got.parse().unwrap();
        assert_eq!(parsed.timestamp_ms(), batch.timestamp_ms());
        seen.insert(got);

        // The ULID encoder on its own: any 10 bytes, any 48-bit time.
        let ms = rng.random_range(0..1u64 << 48);
        let bytes: [u8; 10] = rng.random();
        let mut random = [0u8; 16];
        random[6..].copy_from_slice(&bytes);
        // A longer buffer: only its first 10 bytes count.
        let mut longer = bytes.to_vec();
        longer.extend_from_slice(&[0xFF; 22]);
        for buf in [&bytes[..], &longer[..]] {
            let got: String = from_parts.call((ms as f64, b.buffer(buf))).unwrap();
            assert_eq!(
                got,
                TxnId::from_parts(ms, u128::from_be_bytes(random)).to_string(),
                "Ulid.fromParts({ms}, {bytes:02x?})"
            );
        }
    }
    assert!(seen.len() > 1400, "item txns collide: {}", seen.len());

    // Inputs the derivation refuses loudly rather than hashing something else.
    let refused: Table = b.eval(
        r#"
        local BatchEnvelope = require(script.Parent.BatchEnvelope)
        local Ulid = require(script.Parent.Ulid)
        local out = {}
        for _, case in {
            { "01m7xpe6000000000000000007", 1 },
            { "01M7XPE600000000000000000", 1 },
            { "01M7XPE6000000000000000007", 1.5 },
            { "01M7XPE6000000000000000007", -1 },
            { "01M7XPE6000000000000000007", 2 ^ 53 },
        } do
            table.insert(out, (pcall(BatchEnvelope.itemTxn, case[1], case[2])))
        end
        table.insert(out, (pcall(Ulid.fromParts, 2 ^ 48, buffer.create(10))))
        table.insert(out, (pcall(Ulid.fromParts, 1, buffer.create(9))))
        return out
    "#,
    );
    let refused: Vec<bool> = refused.sequence_values().map(|v| v.unwrap()).collect();
    assert_eq!(refused, vec![false; 7], "bad inputs were accepted");
}

/// A users literal: usually an array of ids (valid ones of every width, edge and badly typed
/// literals, repeats), sometimes not an array at all, sometimes long enough to pass 1 KiB.
fn users_literal(rng: &mut ChaCha8Rng) -> String {
    let n = match rng.random_range(0..40) {
        0 => return "null".into(),
        1 => return "1001".into(),
        2 => return "{}".into(),
        3 => return r#""1001""#.into(),
        4 => return r#"{"0":1001}"#.into(),
        5 => 0,
        6..=10 => rng.random_range(40..100),
        11..=20 => rng.random_range(7..40),
        _ => rng.random_range(1..=6),
    };
    // Most lists are clean (valid distinct ids, to reach acceptance with many players); the
    // others hold a repeat or an edge or badly typed literal now and then.
    let faults = if rng.random_bool(0.4) { 12 } else { 0 };
    let mut items: Vec<String> = Vec::with_capacity(n);
    for _ in 0..n {
        let item = match rng.random_range(0..40 + faults) {
            0 | 1 if faults > 0 && !items.is_empty() => items.choose(rng).unwrap().clone(),
            2..=4 if faults > 0 => (*[
                "0",
                "-5",
                "-0",
                "1002.0",
                "1.002e3",
                "1E3",
                r#""1002""#,
                "null",
                "true",
                "[1001]",
                "{}",
                "9007199254740991",
                "9007199254740992",
                "9007199254740993",
                "18446744073709551615",
                "18446744073709551616",
                "1",
            ]
            .choose(rng)
            .unwrap())
            .to_owned(),
            3..=12 => rng.random_range(1..=10_000u64).to_string(),
            13..=30 => rng
                .random_range(1_000_000_000..10_000_000_000u64)
                .to_string(),
            _ => rng.random_range(1..=MAX_SAFE_INTEGER as u64).to_string(),
        };
        items.push(item);
    }
    let sep = if rng.random_bool(0.1) { " , " } else { "," };
    format!("[{}]", items.join(sep))
}

/// An envelope's fields as (key, literal), mutated like the command fuzz mutates commands.
fn envelope_fields(rng: &mut ChaCha8Rng) -> Vec<(String, String)> {
    // Half the time the shared fields are valid to start with (the command fuzz's base fields
    // break the window or the reason often).
    let clean = rng.random_bool(0.5);
    let mut fields: Vec<(String, String)> = base_fields(rng)
        .into_iter()
        .filter(|(k, _)| k != "userId")
        .map(|(k, v)| match k.as_str() {
            "txn" => ("batch".to_owned(), format!("\"{}\"", random_batch(rng))),
            "reason" if clean => (k, r#""event prize""#.to_owned()),
            "expiresAt" if clean => (k, "1700000300001".to_owned()),
            _ => (k, v),
        })
        .collect();
    fields.push(("users".into(), users_literal(rng)));
    for _ in 0..rng.random_range(0..if clean { 2 } else { 3 }) {
        match rng.random_range(0..9) {
            op @ 0..=4 => mutate_field(&mut fields, op, rng),
            5 => {
                // Fields of a command, or unknown ones.
                let k = *["txn", "userId", "reverses", "extra"].choose(rng).unwrap();
                let v = match k {
                    "txn" | "reverses" => r#""01HF7YAT010000000000000001""#,
                    "userId" => "123",
                    _ => *LITERALS.choose(rng).unwrap(),
                };
                fields.push((k.into(), v.into()));
            }
            6 => {
                let i = rng.random_range(0..fields.len());
                fields[i].1 = users_literal(rng);
            }
            _ => fields.shuffle(rng),
        }
    }
    fields
}

fn body_of(fields: &[(String, String)], ws: &str) -> String {
    let inner: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{ws}\"{k}\"{ws}:{ws}{v}{ws}"))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// What a receiver must do with the message (docs/protocol.md §3, §3.1): the commands it carries
/// in order, or the refusal label.
fn model(
    msg: &str,
    signed: bool,
    body_is_json: bool,
    fields: &[(String, String)],
    keys: &KeyRing,
) -> Result<Vec<J>, &'static str> {
    if msg.len() > 1024 {
        return Err("too_large");
    }
    if !signed {
        return Err("bad_signature");
    }
    if !body_is_json {
        return Err("body");
    }
    let keys_of: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    let distinct: BTreeSet<&str> = keys_of.iter().copied().collect();
    if distinct.len() != keys_of.len() {
        return Err("body"); // a key twice
    }
    if distinct != ENVELOPE_FIELDS.into_iter().collect::<BTreeSet<_>>() {
        // Not an envelope; perhaps a command (then the Rust decoder is the reference).
        return decode_command_message(msg, keys)
            .map(|c| vec![serde_json::to_value(c).unwrap()])
            .map_err(|e| label(&e));
    }
    // The shared fields, typed and checked as a command's (user 1, the batch id as its txn).
    let literal = |k: &str| fields.iter().find(|(f, _)| f == k).unwrap().1.clone();
    let as_command: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| match k.as_str() {
            "batch" => ("txn".to_owned(), v.clone()),
            "users" => ("userId".to_owned(), "1".to_owned()),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    let cmd = match decode_command_message(&sign(KEY_ID, &body_of(&as_command, "")), keys) {
        Ok(c) => Some(c),
        Err(e) => match label(&e) {
            "body" => return Err("body"),
            "invalid" => None,
            other => panic!("the shared fields refused as {other}"),
        },
    };
    // Typing comes before validation: a badly typed user list is `body` even when a shared field
    // is also invalid.
    let users: Vec<u64> = serde_json::from_str(&literal("users")).map_err(|_| "body")?;
    let Some(cmd) = cmd else {
        return Err("invalid");
    };
    let distinct_users: BTreeSet<u64> = users.iter().copied().collect();
    if users.is_empty()
        || distinct_users.len() != users.len()
        || users
            .iter()
            .any(|u| *u == 0 || *u > MAX_SAFE_INTEGER as u64)
    {
        return Err("invalid");
    }
    Ok(users
        .into_iter()
        .map(|u| {
            let mut c = cmd.clone();
            c.user_id = u;
            c.txn = item_txn(&cmd.txn, u).parse().unwrap();
            serde_json::to_value(c).unwrap()
        })
        .collect())
}

#[test]
fn envelope_decoding_agrees_with_the_model_on_mutated_messages() {
    let b = Bridge::new();
    let decode_all: Function = b.func("MessageCodec", "decode");
    let ring = luau_ring(&b);
    let keys = rust_ring();
    let mut rng = ChaCha8Rng::seed_from_u64(0xE4B1);
    let mut seen = BTreeMap::<&str, usize>::new();
    let mut carried = 0;
    for i in 0..3000 {
        let fields = envelope_fields(&mut rng);
        let ws = if rng.random_bool(0.2) { " \n\t" } else { "" };
        let mut body = body_of(&fields, ws);
        let mut body_is_json = true;
        match rng.random_range(0..25) {
            0 => {
                body.push(',');
                body_is_json = false;
            }
            1 => body = format!(" {body}\n"),
            2 => {
                body.truncate(body.len() - 1);
                body_is_json = false;
            }
            3 => {
                body.push_str(" {}");
                body_is_json = false;
            }
            _ => {}
        }
        // Nested faults (a key twice inside `actor`, a lone surrogate) are not JSON for serde either.
        body_is_json &= serde_json::from_str::<J>(&body).is_ok_and(|v| v.is_object());
        let mut msg = sign(KEY_ID, &body);
        let signed = rng.random_range(0..15) != 0;
        if !signed {
            // One signature digit changed.
            let mut bytes = msg.into_bytes();
            let at = 4 + KEY_ID.len() + 1 + rng.random_range(0..64);
            bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
            msg = String::from_utf8(bytes).unwrap();
        }
        let want = model(&msg, signed, body_is_json, &fields, &keys);
        // The Rust receiver (`shared::decode_message`) agrees with the model, so Luau and Rust
        // agree with each other.
        let rust = shared::message::decode_message(&msg, &keys)
            .map(|cs| {
                cs.into_iter()
                    .map(|c| serde_json::to_value(c).unwrap())
                    .collect::<Vec<J>>()
            })
            .map_err(|e| label(&e));
        assert_eq!(
            rust, want,
            "case {i}: the Rust decoder and the model differ: {msg}"
        );
        let (cmds, got, detail): (Value, Option<String>, Option<String>) =
            decode_all.call((msg.as_str(), ring.clone())).unwrap();
        match want {
            Ok(commands) => {
                assert!(
                    got.is_none(),
                    "case {i}: Luau refused ({got:?}, {detail:?}) {msg}"
                );
                let n = commands.len();
                assert_eq!(b.to_json(cmds), J::Array(commands), "case {i}: {msg}");
                if fields.iter().any(|(k, _)| k == "batch") {
                    assert_eq!(
                        detail
                            .as_deref()
                            .map(|d| d.ends_with(&format!(": {n} players"))),
                        Some(true),
                        "case {i}: {detail:?}"
                    );
                    *seen.entry("envelope").or_default() += 1;
                    carried += n;
                } else {
                    *seen.entry("command").or_default() += 1;
                }
            }
            Err(l) => {
                assert!(
                    cmds.is_nil(),
                    "case {i}: Luau accepted what the model refuses ({l}): {msg}"
                );
                assert_eq!(got.as_deref(), Some(l), "case {i} ({detail:?}): {msg}");
                *seen.entry(l).or_default() += 1;
            }
        }
    }
    // Printed (visible with --no-capture) so a generator change that starves a case shows.
    println!("{seen:?}, {carried} commands carried");
    // The generator must reach every outcome, or the comparison proves little.
    for (l, at_least) in [
        ("envelope", 400),
        ("too_large", 20),
        ("bad_signature", 20),
        ("body", 200),
        ("invalid", 200),
    ] {
        assert!(
            seen.get(l).copied().unwrap_or(0) >= at_least,
            "{l} reached only {seen:?}"
        );
    }
    assert!(
        carried >= 3000,
        "accepted envelopes carried only {carried} commands"
    );
}
