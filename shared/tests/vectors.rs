//! Runs every shared test vector in `testdata/` against the Rust implementation.

use serde_json::Value;
use shared::keys::{Key, KeyId, KeyRing, Scope, Secret};
use shared::message::{
    MessageError, decode_command_message, decode_message, encode_batch_message,
    encode_command_message, hmac_sha256,
};
use shared::request_signing::{
    RequestParts, SignatureHeaders, canonical_query, canonical_string, sign_request, verify_request,
};
use shared::{ApplyOutcome, BatchId, Command, Envelope, Limits, Op, Wallet, apply, apply_local};

fn load(name: &str) -> Value {
    let path = format!("{}/../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn hex_bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap()
}

/// The signing key a vector case names (`keyId`, `keyHex`), with `scopes`.
fn key_of(case: &Value, scopes: Vec<Scope>) -> Key {
    Key::new(
        KeyId::new(str_of(&case["keyId"])).unwrap(),
        Secret::from_bytes(hex_bytes(&case["keyHex"])),
        scopes,
    )
}

#[test]
fn apply_rule_vectors() {
    let data = load("apply_rule.json");
    let cases = data["cases"].as_array().unwrap();
    assert!(cases.len() >= 25, "vector file lost cases");
    let mut steps_run = 0;
    for case in cases {
        let name = str_of(&case["name"]);
        let limits: Limits = serde_json::from_value(case["limits"].clone()).unwrap();
        let mut wallet: Wallet = serde_json::from_value(case["wallet"].clone()).unwrap();
        wallet.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        for (i, step) in case["steps"].as_array().unwrap().iter().enumerate() {
            let cmd: Command = serde_json::from_value(step["command"].clone()).unwrap();
            cmd.validate()
                .unwrap_or_else(|e| panic!("{name} step {i}: {e}"));
            let now = step["now"].as_i64().unwrap();
            let before = wallet.clone();
            let got = apply(&mut wallet, &cmd, now, &limits);
            let exp = &step["expect"];
            let ctx = format!("{name} step {i}");
            assert_eq!(
                wallet.balance,
                exp["balanceAfter"].as_i64().unwrap(),
                "{ctx}"
            );
            assert_eq!(
                got.changed_wallet(),
                exp["recorded"].as_bool().unwrap(),
                "{ctx}"
            );
            if !got.changed_wallet() {
                assert_eq!(
                    wallet, before,
                    "{ctx}: an unrecorded outcome changed the wallet"
                );
            }
            match (&got, str_of(&exp["outcome"])) {
                (ApplyOutcome::Applied { balance_after }, "applied") => {
                    assert_eq!(*balance_after, wallet.balance, "{ctx}")
                }
                (ApplyOutcome::Rejected { reason, balance }, "rejected") => {
                    assert_eq!(reason.as_str(), str_of(&exp["reason"]), "{ctx}");
                    assert_eq!(*balance, before.balance, "{ctx}");
                }
                (ApplyOutcome::Duplicate(rec), "duplicate") => {
                    assert_eq!(serde_json::to_value(rec).unwrap(), exp["record"], "{ctx}")
                }
                (other, want) => panic!("{ctx}: got {other:?}, want {want}"),
            }
            steps_run += 1;
        }
        assert_eq!(
            serde_json::to_value(&wallet).unwrap(),
            case["finalWallet"],
            "{name}: final wallet"
        );
    }
    assert!(steps_run > 100);

    for case in data["localCases"].as_array().unwrap() {
        let name = str_of(&case["name"]);
        let limits: Limits = serde_json::from_value(case["limits"].clone()).unwrap();
        let mut wallet = Wallet {
            balance: case["balance"].as_i64().unwrap(),
            ..Wallet::default()
        };
        let op: Op = serde_json::from_value(case["op"].clone()).unwrap();
        let got = apply_local(&mut wallet, op, case["amount"].as_i64().unwrap(), &limits);
        let exp = &case["expect"];
        assert_eq!(
            wallet.balance,
            exp["balanceAfter"].as_i64().unwrap(),
            "{name}"
        );
        match got {
            Ok(b) => {
                assert!(exp["ok"].as_bool().unwrap(), "{name}");
                assert_eq!(b, wallet.balance, "{name}");
            }
            Err(r) => assert_eq!(r.as_str(), str_of(&exp["reason"]), "{name}"),
        }
        assert!(
            wallet.ring.is_empty(),
            "{name}: local txns never enter the ring"
        );
    }
}

#[test]
fn hmac_vectors_rfc4231() {
    let data = load("signing.json");
    let cases = data["hmac"].as_array().unwrap();
    assert_eq!(cases.len(), 7);
    for case in cases {
        let mac = hex::encode(hmac_sha256(
            &hex_bytes(&case["keyHex"]),
            &hex_bytes(&case["dataHex"]),
        ));
        let want = str_of(&case["macHex"]);
        assert_eq!(&mac[..want.len()], want, "{}", case["name"]);
    }
}

fn parts(v: &Value, body: &[u8]) -> (String, String, String, String, Vec<u8>) {
    (
        str_of(&v["method"]).to_owned(),
        str_of(&v["path"]).to_owned(),
        str_of(&v["query"]).to_owned(),
        str_of(&v["idempotencyKey"]).to_owned(),
        body.to_vec(),
    )
}

#[test]
fn canonical_string_and_signature_vectors() {
    let data = load("signing.json");
    for case in data["canonical"].as_array().unwrap() {
        let name = str_of(&case["name"]);
        let (method, path, query, idem, body) = parts(case, &hex_bytes(&case["bodyHex"]));
        let p = RequestParts {
            method: &method,
            path: &path,
            query: &query,
            idempotency_key: &idem,
            body: &body,
        };
        assert_eq!(
            canonical_query(&query).unwrap(),
            str_of(&case["canonicalQuery"]),
            "{name}"
        );
        let ts = case["timestamp"].as_i64().unwrap();
        assert_eq!(
            canonical_string(ts, &p).unwrap(),
            str_of(&case["canonical"]),
            "{name}"
        );
        let key = key_of(case, vec![Scope::Write]);
        let headers = sign_request(&key, ts, &p).unwrap();
        assert_eq!(headers.signature, str_of(&case["signature"]), "{name}");
        let ring = KeyRing::new(vec![key]).unwrap();
        assert!(
            verify_request(&ring, &headers, &p, ts, Scope::Write).is_ok(),
            "{name}"
        );
    }
}

#[test]
fn verification_vectors() {
    let data = load("signing.json");
    let ring = KeyRing::parse(str_of(&data["verify"]["keys"])).unwrap();
    let cases = data["verify"]["cases"].as_array().unwrap();
    assert!(cases.len() >= 15);
    for case in cases {
        let name = str_of(&case["name"]);
        let req = &case["request"];
        let (method, path, query, idem, body) = parts(req, &hex_bytes(&req["bodyHex"]));
        let p = RequestParts {
            method: &method,
            path: &path,
            query: &query,
            idempotency_key: &idem,
            body: &body,
        };
        let h = &case["headers"];
        let headers = SignatureHeaders {
            key_id: str_of(&h["keyId"]).into(),
            timestamp: str_of(&h["timestamp"]).into(),
            signature: str_of(&h["signature"]).into(),
        };
        let scope = match str_of(&case["scope"]) {
            "read" => Scope::Read,
            _ => Scope::Write,
        };
        let got = verify_request(&ring, &headers, &p, req["now"].as_i64().unwrap(), scope);
        let label = got.map(|_| "ok").unwrap_or_else(|e| e.label());
        assert_eq!(label, str_of(&case["expect"]), "{name}");
    }
}

fn message_error_label(e: &MessageError) -> &'static str {
    match e {
        MessageError::TooLarge(_) => "too_large",
        MessageError::Framing => "framing",
        MessageError::UnknownKey => "unknown_key",
        MessageError::BadSignature => "bad_signature",
        MessageError::Body => "body",
        MessageError::Invalid(_) => "invalid",
    }
}

/// Every `reject` case's message is refused by `decode`, under the case's key, with the error
/// its `expect` names.
fn assert_rejects<T>(cases: &[Value], decode: impl Fn(&str, &KeyRing) -> Result<T, MessageError>) {
    for case in cases {
        let name = str_of(&case["name"]);
        let ring = KeyRing::new(vec![key_of(case, vec![])]).unwrap();
        let Err(err) = decode(str_of(&case["message"]), &ring) else {
            panic!("{name}: accepted");
        };
        assert_eq!(
            message_error_label(&err),
            str_of(&case["expect"]),
            "{name}: {err}"
        );
    }
}

#[test]
fn envelope_vectors() {
    let data = load("envelopes.json");
    let max = data["maxBytes"].as_u64().unwrap() as usize;
    for case in data["encode"].as_array().unwrap() {
        let name = str_of(&case["name"]);
        let key = key_of(case, vec![]);
        let cmd: Command = serde_json::from_value(case["command"].clone()).unwrap();
        let msg = encode_command_message(&cmd, &key).unwrap();
        assert_eq!(msg, str_of(&case["message"]), "{name}: exact bytes");
        assert_eq!(msg.len() as u64, case["bytes"].as_u64().unwrap(), "{name}");
        assert!(msg.len() <= max, "{name}");
        let ring = KeyRing::new(vec![key]).unwrap();
        assert_eq!(decode_command_message(&msg, &ring).unwrap(), cmd, "{name}");
    }
    assert_rejects(data["reject"].as_array().unwrap(), decode_command_message);
}

#[test]
fn batch_vectors() {
    let data = load("batches.json");
    let max = data["maxBytes"].as_u64().unwrap() as usize;
    let ids = data["itemTxns"].as_array().unwrap();
    assert!(ids.len() >= 5, "vector file lost cases");
    for case in ids {
        let batch: BatchId = str_of(&case["batch"]).parse().unwrap();
        let user = case["userId"].as_u64().unwrap();
        assert_eq!(
            batch.item_txn(user).as_str(),
            str_of(&case["txn"]),
            "{case}"
        );
    }
    let encode = data["encode"].as_array().unwrap();
    assert!(encode.len() >= 4, "vector file lost cases");
    for case in encode {
        let name = str_of(&case["name"]);
        let key = key_of(case, vec![]);
        let env: Envelope = serde_json::from_value(case["envelope"].clone()).unwrap();
        let msg = encode_batch_message(&env, &key).unwrap();
        assert_eq!(msg, str_of(&case["message"]), "{name}: exact bytes");
        assert_eq!(msg.len() as u64, case["bytes"].as_u64().unwrap(), "{name}");
        assert!(msg.len() <= max, "{name}");
        let ring = KeyRing::new(vec![key]).unwrap();
        let want: Vec<Command> = serde_json::from_value(case["commands"].clone()).unwrap();
        assert_eq!(decode_message(&msg, &ring).unwrap(), want, "{name}");
        assert_eq!(env.commands(), want, "{name}");
    }
    let reject = data["reject"].as_array().unwrap();
    assert!(reject.len() >= 20, "vector file lost cases");
    assert_rejects(reject, decode_message);
    // Every single-command vector reads the same through the envelope-aware decoder.
    let singles = load("envelopes.json");
    for case in singles["encode"].as_array().unwrap() {
        let ring = KeyRing::new(vec![key_of(case, vec![])]).unwrap();
        let cmd: Command = serde_json::from_value(case["command"].clone()).unwrap();
        assert_eq!(
            decode_message(str_of(&case["message"]), &ring).unwrap(),
            vec![cmd]
        );
    }
    assert_rejects(singles["reject"].as_array().unwrap(), decode_message);
}

#[test]
fn audit_body_vectors() {
    use shared::strict_json::{StrictJsonError, parse};
    let data = load("audit_bodies.json");
    let cases = data["cases"].as_array().unwrap();
    assert!(cases.len() >= 10, "vector file lost cases");
    for case in cases {
        let name = str_of(&case["name"]);
        let body = str_of(&case["body"]).as_bytes();
        // Every case is JSON a lax parser accepts: only the duplicate makes it invalid.
        assert!(serde_json::from_slice::<Value>(body).is_ok(), "{name}");
        match (&case["duplicate"], parse(body)) {
            (Value::Null, Ok(_)) => {}
            (Value::String(want), Err(StrictJsonError::DuplicateKey { path })) => {
                assert_eq!(&path, want, "{name}")
            }
            (want, got) => panic!("{name}: expected {want}, got {got:?}"),
        }
    }
}

#[test]
fn text_field_vectors() {
    use shared::{AuditRecord, CommandError};
    let data = load("text_fields.json");
    let cases = data["cases"].as_array().unwrap();
    assert!(cases.len() >= 20, "vector file lost cases");
    let cmd: Command =
        serde_json::from_value(load("envelopes.json")["encode"][0]["command"].clone()).unwrap();
    let record = AuditRecord {
        txn_id: cmd.txn.clone(),
        source: shared::Source::Discord,
        user_id: cmd.user_id,
        op: cmd.op,
        amount: cmd.amount,
        outcome: shared::RecordOutcome::Applied,
        reject_reason: None,
        balance_after: cmd.amount,
        reason: cmd.reason.clone(),
        actor_id: Some(cmd.actor.id.clone()),
        actor_name: Some(cmd.actor.name.clone()),
        server_job_id: None,
        issued_at: cmd.issued_at,
        applied_at: cmd.issued_at,
        reverses: None,
    };
    assert_eq!(cmd.validate(), Ok(()));
    assert_eq!(record.validate(), Ok(()));
    for case in cases {
        let name = str_of(&case["name"]);
        let text = str_of(&case["text"]).to_owned();
        let ok = case["ok"].as_bool().unwrap();
        let (mut c, mut r) = (cmd.clone(), record.clone());
        let want = match str_of(&case["field"]) {
            "reason" => {
                c.reason = text.clone();
                r.reason = text;
                CommandError::Reason
            }
            _ => {
                c.actor.name = text.clone();
                r.actor_name = Some(text);
                CommandError::ActorName
            }
        };
        assert_eq!(c.validate(), if ok { Ok(()) } else { Err(want) }, "{name}");
        assert_eq!(r.validate().is_ok(), ok, "{name}: audit record");
    }
}

#[test]
fn stored_number_vectors() {
    let data = load("stored_numbers.json");
    let cases = data["cases"].as_array().unwrap();
    assert!(cases.len() >= 10, "vector file lost cases");
    for case in cases {
        let name = str_of(&case["name"]);
        let literal = str_of(&case["literal"]);
        let text = format!(r#"{{"v":1,"balance":{literal},"ring":[],"watermark":0,"outbox":[]}}"#);
        let doc: Value = serde_json::from_str(&text).unwrap();
        let read = shared::Wallet::from_stored(&doc).ok().map(|w| w.balance);
        assert_eq!(read, case["balance"].as_i64(), "{name}: {literal}");
    }
    // Nested numbers too: a ring entry's amount written in exponent form.
    let doc: Value = serde_json::from_str(
        r#"{"v":1,"balance":2e3,"ring":[{"id":"01HF0000000000000000000000","op":"give","amount":2e3,
            "outcome":"applied","balanceAfter":2.0e3,"issuedAt":1.7e12,"at":1.7e12}],"watermark":0}"#,
    )
    .unwrap();
    let wallet = shared::Wallet::from_stored(&doc).unwrap();
    assert_eq!(wallet.ring[0].amount, 2000);
    assert_eq!(wallet.ring[0].issued_at, 1_700_000_000_000);
}

#[test]
fn reversal_vectors() {
    use shared::{AuditRecord, TxnId};
    let data = load("reversals.json");
    let ids = data["ids"].as_array().unwrap();
    assert!(ids.len() >= 4, "vector file lost cases");
    for case in ids {
        let original: TxnId = str_of(&case["original"]).parse().unwrap();
        assert_eq!(
            original.reversal_id().as_str(),
            str_of(&case["reversal"]),
            "{original}"
        );
    }
    let records = data["records"].as_array().unwrap();
    assert!(records.len() >= 8, "vector file lost cases");
    for case in records {
        let name = str_of(&case["name"]);
        let stored = serde_json::from_value::<AuditRecord>(case["record"].clone())
            .map_err(|e| e.to_string())
            .and_then(|r| r.validate().map_err(|e| e.to_string()));
        assert_eq!(
            stored.is_ok(),
            case["ok"].as_bool().unwrap(),
            "{name}: {stored:?}"
        );
    }
}
