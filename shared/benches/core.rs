//! Criterion benchmarks: the apply rule, ring lookup, and signing/verifying a 1 KiB body.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use shared::keys::{Key, KeyId, KeyRing, Scope, Secret};
use shared::request_signing::{RequestParts, sign_request, verify_request};
use shared::{
    Actor, Command, Limits, Op, TxnId, Wallet, apply, decode_command_message,
    encode_command_message,
};

const T0: i64 = 1_700_000_000_000;

fn command(n: u64) -> Command {
    Command {
        v: 1,
        txn: TxnId::from_parts(T0 as u64 + n, n as u128),
        op: Op::Give,
        user_id: 123,
        amount: 1,
        reason: "benchmark".into(),
        actor: Actor {
            id: "123456789012345678".into(),
            name: "Bench".into(),
        },
        issued_at: T0 + n as i64,
        expires_at: T0 + n as i64 + 300_000,
        reverses: None,
    }
}

/// A wallet whose ring is full, as on any busy player.
fn full_wallet() -> Wallet {
    let mut w = Wallet::default();
    for n in 0..64 {
        apply(&mut w, &command(n), T0 + 100, &Limits::default());
    }
    w
}

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let full = full_wallet();
    let fresh = command(10_000);
    c.bench_function("apply: new txn into a full ring (evicts)", |b| {
        b.iter_batched(
            || full.clone(),
            |mut w| apply(&mut w, black_box(&fresh), T0 + 200, &limits),
            criterion::BatchSize::SmallInput,
        )
    });
    let dup = command(63);
    c.bench_function("apply: duplicate (newest ring entry)", |b| {
        b.iter_batched(
            || full.clone(),
            |mut w| apply(&mut w, black_box(&dup), T0 + 200, &limits),
            criterion::BatchSize::SmallInput,
        )
    });
    let miss = fresh.txn.clone();
    c.bench_function("ring lookup: miss over 64 entries", |b| {
        b.iter(|| full.find(black_box(&miss)).is_some())
    });

    let key = Key::new(
        KeyId::new("k1").unwrap(),
        Secret::from_bytes(vec![7u8; 32]),
        vec![Scope::Write],
    );
    let ring = KeyRing::new(vec![key.clone()]).unwrap();
    let body = vec![b'x'; 1024];
    let parts = RequestParts {
        method: "POST",
        path: "/log/transactions",
        query: "",
        idempotency_key: "01HF7Z1R0000000000000000AB",
        body: &body,
    };
    c.bench_function("request: sign 1 KiB body", |b| {
        b.iter(|| sign_request(&key, black_box(1_000), black_box(&parts)).unwrap())
    });
    let headers = sign_request(&key, 1_000, &parts).unwrap();
    c.bench_function("request: verify 1 KiB body", |b| {
        b.iter(|| verify_request(&ring, &headers, black_box(&parts), 1_000, Scope::Write).unwrap())
    });
    let cmd = command(1);
    c.bench_function("command: encode + sign message", |b| {
        b.iter(|| encode_command_message(black_box(&cmd), &key).unwrap())
    });
    let msg = encode_command_message(&cmd, &key).unwrap();
    c.bench_function("command: verify + decode message", |b| {
        b.iter(|| decode_command_message(black_box(&msg), &ring).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
