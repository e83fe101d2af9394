//! Luau CPU cost of the bridge's hot paths, in the plain Luau interpreter (safeenv, as Roblox runs
//! scripts): HMAC-SHA256 of 1 KiB, verify + decode + apply of one command message, and the whole
//! per-command path of the runtime bridge (verify, apply, audit record into the outbox, the audit
//! request body encoded, hashed and signed as the Outbox sends it).

#[path = "../tests/pure/vm.rs"]
mod vm;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use mlua::Function;
use std::hint::black_box;
use vm::{Bridge, vectors};

fn luau_bridge(c: &mut Criterion) {
    let b = Bridge::new();
    let key = b.buffer(&[7u8; 32]);
    let data = b.buffer(&[0x5a; 1024]);
    let signer: mlua::Table = b.func("Hmac", "new").call(key).unwrap();
    let mac: Function = signer.get("mac").unwrap();
    c.bench_function("luau hmac-sha256 1 KiB (keyed signer)", |bench| {
        bench.iter(|| {
            let _: mlua::Buffer = mac.call(black_box(&data)).unwrap();
        })
    });
    // The same signer where the engine hashes (EncodingService, here Rust's sha2 as in the engine
    // emulator; C++ on Roblox): what a game server runs.
    let be = Bridge::with_engine_hash(false);
    let signer_e: mlua::Table = be.func("Hmac", "new").call(be.buffer(&[7u8; 32])).unwrap();
    let mac_e: Function = signer_e.get("mac").unwrap();
    let data_e = be.buffer(&[0x5a; 1024]);
    c.bench_function(
        "luau hmac-sha256 1 KiB (keyed signer, engine hash)",
        |bench| {
            bench.iter(|| {
                let _: mlua::Buffer = mac_e.call(black_box(&data_e)).unwrap();
            })
        },
    );
    let sha: Function = b.func("Sha256", "pureDigest");
    c.bench_function("luau sha256 1 KiB", |bench| {
        bench.iter(|| {
            let _: mlua::Buffer = sha.call(black_box(&data)).unwrap();
        })
    });

    // One typical command: verify the signature, decode and validate it, apply it to a wallet
    // whose ring is full (the worst case for the duplicate scan and eviction).
    let env = vectors("envelopes.json");
    let case = &env["encode"][0];
    let message = case["message"].as_str().unwrap().to_owned();
    let key_hex = case["keyHex"].as_str().unwrap();
    let key_id = case["keyId"].as_str().unwrap();
    for (label, bridge) in [("", &b), (", engine hash", &be)] {
        let (make_wallet, run, full): (Function, Function, Function) =
            bridge.eval(&format!(
        r#"
        local CommandCodec = require(script.Parent.CommandCodec)
        local ApplyRule = require(script.Parent.ApplyRule)
        local Hex = require(script.Parent.Hex)
        local Limits = require(script.Parent.Limits)
        local ring = assert(CommandCodec.keyRing({{ ["{key_id}"] = assert(Hex.decode("{key_hex}")) }}))
        local function fullWallet()
            local w = {{ v = 1, balance = 1000, ring = {{}}, watermark = 0, outbox = {{}} }}
            for i = 1, 64 do
                table.insert(w.ring, {{ id = string.format("01HF7YAT01%016d", 100 + i), op = "give", amount = 1,
                    outcome = "applied", balanceAfter = 1000, issuedAt = 1600000000000 + i, at = 1600000000000 + i }})
            end
            return w
        end
        local AuditRecord = require(script.Parent.AuditRecord)
        local Json = require(script.Parent.Json)
        local RequestSigner = require(script.Parent.RequestSigner)
        local Sha256 = require(script.Parent.Sha256)
        local Wallet = require(script.Parent.Wallet)
        local auditKey = RequestSigner.key("game", assert(Hex.decode(string.rep("67", 32))))
        return fullWallet, function(message: string, wallet: any)
            local cmd, refusal = CommandCodec.decode(message, ring)
            assert(cmd, refusal)
            local out = ApplyRule.apply(wallet, cmd, cmd.issuedAt + 5, Limits.DEFAULT)
            assert(out.outcome == "applied")
        end, function(message: string, wallet: any)
            -- CommandHandler.handle + Outbox.send for one record (a batch of one: the worst case).
            local cmd, refusal = CommandCodec.decode(message, ring)
            assert(cmd, refusal)
            local out = ApplyRule.apply(wallet, cmd, cmd.issuedAt + 5, Limits.DEFAULT)
            assert(out.outcome == "applied")
            local rec = Wallet.find(wallet, cmd.txn) :: any
            local audit = AuditRecord.fromCommand(cmd, rec, "7a0c1e2d-0000-4000-8000-000000000000")
            table.insert(wallet.outbox, audit)
            local body = assert(Json.encode(audit))
            local idem = "eb-" .. Hex.encode(Sha256.digest(buffer.fromstring(body)))
            local headers = RequestSigner.sign(auditKey, 1700000000, {{
                method = "POST", path = "/log/transactions", query = "", idempotencyKey = idem, body = body,
            }})
            assert(headers ~= nil)
        end
    "#
        ));
        for (name, path) in [
            ("luau verify+decode+apply one command", &run),
            (
                "luau applied command: verify+apply+outbox+audit signing",
                &full,
            ),
        ] {
            c.bench_function(&format!("{name}{label}"), |bench| {
                bench.iter_batched(
                    || make_wallet.call::<mlua::Table>(()).unwrap(),
                    |wallet| {
                        path.call::<()>((black_box(message.as_str()), wallet))
                            .unwrap()
                    },
                    BatchSize::SmallInput,
                )
            });
        }
    }
}

criterion_group!(benches, luau_bridge);
criterion_main!(benches);
