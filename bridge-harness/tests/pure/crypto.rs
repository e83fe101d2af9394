//! SHA-256 and HMAC-SHA256 in Luau against Rust's `sha2` and `hmac` on seeded random messages of
//! every length from 0 to 300 bytes (every padding boundary) and random keys, including keys
//! longer than the 64-byte block and the empty key.

use crate::vm::Bridge;
use hmac::{Hmac, Mac};
use mlua::{Buffer, Function, Table};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

fn random_bytes(rng: &mut ChaCha8Rng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.random()).collect()
}

#[test]
fn sha256_matches_rust_for_every_length_0_to_300() {
    let b = Bridge::new();
    let pure: Function = b.func("Sha256", "pureDigest");
    let digest: Function = b.func("Sha256", "digest");
    let mut rng = ChaCha8Rng::seed_from_u64(0x5A256);
    for len in 0..=300 {
        for _ in 0..3 {
            let msg = random_bytes(&mut rng, len);
            let want = Sha256::digest(&msg).to_vec();
            let got: Buffer = pure.call(b.buffer(&msg)).unwrap();
            assert_eq!(got.to_vec(), want, "pure SHA-256 of {len} bytes");
            // No engine here, so `digest` must fall back to the pure path and agree.
            let got: Buffer = digest.call(b.buffer(&msg)).unwrap();
            assert_eq!(got.to_vec(), want, "SHA-256 of {len} bytes");
        }
    }
    // Long inputs cross many blocks; bit lengths beyond 2^32 are out of reach here, but 2^16+ are not.
    for len in [1023usize, 1024, 4096, 65_537] {
        let msg = random_bytes(&mut rng, len);
        let got: Buffer = pure.call(b.buffer(&msg)).unwrap();
        assert_eq!(got.to_vec(), Sha256::digest(&msg).to_vec(), "{len} bytes");
    }
}

#[test]
fn hmac_matches_rust_for_every_length_0_to_300_and_random_keys() {
    let b = Bridge::new();
    let hmac_fn: Function = b.func("Hmac", "sha256");
    let new_signer: Function = b.func("Hmac", "new");
    let mut rng = ChaCha8Rng::seed_from_u64(0x4D4143);
    for len in 0..=300 {
        // Key lengths cover empty, short, exactly one block, and longer than a block (hashed first).
        let key_len = match len % 6 {
            0 => 0,
            1 => rng.random_range(1..64),
            2 => 64,
            3 => 65,
            4 => rng.random_range(66..200),
            _ => 32,
        };
        let key = random_bytes(&mut rng, key_len);
        let msg = random_bytes(&mut rng, len);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
        mac.update(&msg);
        let want = mac.finalize().into_bytes().to_vec();
        let got: Buffer = hmac_fn.call((b.buffer(&key), b.buffer(&msg))).unwrap();
        assert_eq!(
            got.to_vec(),
            want,
            "HMAC, key {key_len} bytes, message {len} bytes"
        );
        // A keyed signer reused for several messages keeps its pad states intact.
        let signer: Table = new_signer.call(b.buffer(&key)).unwrap();
        let signer_hex: Function = signer.get("hex").unwrap();
        for _ in 0..2 {
            let got: String = signer_hex.call(b.buffer(&msg)).unwrap();
            assert_eq!(got, hex::encode(&want), "keyed signer, message {len} bytes");
        }
    }
}

#[test]
fn a_changed_bit_changes_the_mac_and_compare_is_exact() {
    let b = Bridge::new();
    let hmac_hex: Function = b.func("Hmac", "sha256Hex");
    let eq: Function = b.func("Hmac", "constantTimeEquals");
    let key = b.buffer(b"k");
    let a: String = hmac_hex
        .call((key.clone(), b.buffer(b"amount=10")))
        .unwrap();
    let c: String = hmac_hex.call((key, b.buffer(b"amount=11"))).unwrap();
    assert_ne!(a, c);
    assert!(eq.call::<bool>((a.as_str(), a.as_str())).unwrap());
    assert!(!eq.call::<bool>((a.as_str(), c.as_str())).unwrap());
    assert!(!eq.call::<bool>((a.as_str(), &a[..63])).unwrap());
    assert!(!eq.call::<bool>(("", "x")).unwrap());
    assert!(eq.call::<bool>(("", "")).unwrap());
}

#[test]
fn hex_round_trips_and_refuses_non_hex() {
    let b = Bridge::new();
    let enc: Function = b.func("Hex", "encode");
    let dec: Function = b.func("Hex", "decode");
    let bytes: Vec<u8> = (0..=255).collect();
    let text: String = enc.call(b.buffer(&bytes)).unwrap();
    assert_eq!(text, hex::encode(&bytes));
    let back: Buffer = dec.call(text.to_uppercase()).unwrap();
    assert_eq!(back.to_vec(), bytes);
    for bad in ["0", "zz", "0g", "abc"] {
        let got: Option<Buffer> = dec.call(bad).unwrap();
        assert!(got.is_none(), "{bad} decoded");
    }
}

#[test]
fn hmac_through_the_engine_hash_matches_rust_and_falls_back_when_the_engine_fails() {
    // Where the engine hashes, HMAC runs there; when the engine call fails, the pure-Luau path
    // must give the same MAC.
    let mut rng = ChaCha8Rng::seed_from_u64(0xE461E);
    for fail in [false, true] {
        let b = Bridge::with_engine_hash(fail);
        let new_signer: Function = b.func("Hmac", "new");
        let engine: Function = b.func("Sha256", "engine");
        let found: mlua::Value = engine.call(()).unwrap();
        assert!(!found.is_nil(), "the engine hash is found (fail={fail})");
        for len in [0usize, 1, 55, 56, 63, 64, 65, 300, 1024] {
            let key = random_bytes(&mut rng, 32);
            let msg = random_bytes(&mut rng, len);
            let signer: Table = new_signer.call(b.buffer(&key)).unwrap();
            let mac: Function = signer.get("mac").unwrap();
            let got: Buffer = mac.call(b.buffer(&msg)).unwrap();
            let mut want = Hmac::<Sha256>::new_from_slice(&key).unwrap();
            want.update(&msg);
            assert_eq!(
                got.to_vec(),
                want.finalize().into_bytes().to_vec(),
                "HMAC of {len} bytes (engine fails: {fail})"
            );
        }
        // Working engine: two hashes per MAC (inner, outer). Failing engine: one try per MAC.
        let calls = b.engine_calls.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            calls,
            if fail { 9 } else { 18 },
            "engine calls (fail={fail})"
        );
    }
}
