//! Property tests: whatever the sequence of commands, replays, reorderings and evictions,
//! no txn id changes the balance twice and the balance equals the sum of applied amounts.

use proptest::prelude::*;
use shared::keys::{Key, KeyId, KeyRing, Scope, Secret};
use shared::limits::{MAX_ACTOR_NAME_CHARS, MAX_COMMAND_TTL_MS, MAX_MESSAGE_BYTES, RING_CAPACITY};
use shared::request_signing::{RequestParts, canonical_query, sign_request, verify_request};
use shared::{
    Actor, ApplyOutcome, BatchId, Command, Envelope, Limits, MessageError, Op, TxnId, Wallet,
    apply, decode_command_message, decode_message, encode_batch_message, encode_command_message,
};
use std::collections::HashMap;

#[derive(Clone, Debug)]
enum Action {
    /// A new command issued `skew` ms around the clock (negative = issued earlier, i.e. reordered),
    /// valid for `ttl` ms.
    New {
        op: Op,
        amount: i64,
        skew: i64,
        ttl: i64,
    },
    /// Offer an earlier command again (a replay or a duplicated delivery).
    Replay(usize),
    /// Let time pass.
    Advance(i64),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => (any::<bool>(), -5i64..400, -3_000i64..70_000, 1i64..=MAX_COMMAND_TTL_MS).prop_map(
            |(give, amount, skew, ttl)| Action::New {
                op: if give { Op::Give } else { Op::Deduct },
                amount,
                skew,
                ttl,
            }
        ),
        3 => any::<usize>().prop_map(Action::Replay),
        1 => (0i64..120_000).prop_map(Action::Advance),
    ]
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn no_txn_applies_twice_and_balance_is_the_sum_of_applied(
        actions in prop::collection::vec(action(), 1..260),
        start in 0i64..2_000,
        max_amount in 1i64..500,
        cap in 1_000i64..20_000,
    ) {
        let limits = Limits::new(max_amount, cap).unwrap();
        let mut wallet = Wallet { balance: start, ..Wallet::default() };
        let mut now: i64 = 1_700_000_000_000;
        let mut issued: Vec<Command> = Vec::new();
        let mut applied_count: HashMap<TxnId, u32> = HashMap::new();
        let mut first_record = HashMap::new();
        let mut expected_balance = start;
        let mut seq = 0u128;
        for a in actions {
            let cmd = match a {
                Action::Advance(ms) => { now += ms; continue; }
                Action::New { op, amount, skew, ttl } => {
                    seq += 1;
                    let issued_at = now - skew;
                    let c = Command {
                        v: 1,
                        txn: TxnId::from_parts(issued_at as u64, seq),
                        op, amount, user_id: 1,
                        reason: "prop".into(),
                        actor: Actor { id: "1".into(), name: "p".into() },
                        issued_at,
                        expires_at: issued_at + ttl,
                        reverses: None,
                    };
                    issued.push(c.clone());
                    c
                }
                Action::Replay(i) => {
                    if issued.is_empty() { continue; }
                    issued[i % issued.len()].clone()
                }
            };
            now += 1;
            let before = (wallet.balance, wallet.ring.len(), wallet.watermark, wallet.ring.back().map(|r| r.id.clone()));
            let watermark_before = wallet.watermark;
            let outcome = apply(&mut wallet, &cmd, now, &limits);
            match &outcome {
                ApplyOutcome::Applied { balance_after } => {
                    let n = applied_count.entry(cmd.txn.clone()).or_insert(0);
                    *n += 1;
                    prop_assert_eq!(*n, 1, "txn applied twice");
                    expected_balance += match cmd.op { Op::Give => cmd.amount, Op::Deduct => -cmd.amount };
                    prop_assert_eq!(*balance_after, wallet.balance);
                }
                ApplyOutcome::Duplicate(rec) => {
                    let first = first_record.get(&cmd.txn);
                    prop_assert_eq!(Some(rec), first, "duplicate must return the first record");
                }
                ApplyOutcome::Rejected { .. } => {}
            }
            if outcome.changed_wallet() {
                // A txn is recorded at most once: a second recording would mean a second outcome.
                prop_assert!(first_record.insert(cmd.txn.clone(), wallet.ring.back().unwrap().clone()).is_none());
            } else {
                let after = (wallet.balance, wallet.ring.len(), wallet.watermark, wallet.ring.back().map(|r| r.id.clone()));
                prop_assert_eq!(after, before, "an unrecorded outcome changed the wallet");
            }
            prop_assert_eq!(wallet.balance, expected_balance);
            prop_assert!(wallet.balance >= 0 && wallet.balance <= cap.max(start));
            prop_assert!(wallet.ring.len() <= RING_CAPACITY);
            prop_assert!(wallet.watermark >= watermark_before);
        }
        prop_assert!(wallet.validate().is_ok());
        // The wallet survives its storage round trip unchanged.
        let stored = serde_json::to_string(&wallet).unwrap();
        prop_assert_eq!(&serde_json::from_str::<Wallet>(&stored).unwrap(), &wallet);
    }
}

#[derive(Clone, Debug)]
enum Move {
    /// A new ordinary command.
    New { give: bool, amount: i64 },
    /// The reversal of an earlier command, under its derived id (a retried `/reverse` included).
    Reverse(usize),
    /// A reversal of an earlier command under a fresh id (a sender that minted its own).
    Rogue(usize),
}

fn reversal_command(seq: u128, now: i64, original: &Command) -> Command {
    Command {
        v: 1,
        txn: TxnId::from_parts(now as u64, seq),
        op: original.op.opposite(),
        user_id: 1,
        amount: original.amount,
        reason: "undo".into(),
        actor: Actor {
            id: "1".into(),
            name: "p".into(),
        },
        issued_at: now,
        expires_at: now + 60_000,
        reverses: Some(original.txn.clone()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// While the ring holds them (fewer than 64 remote txns here), an original is reversed at
    /// most once whatever ids the reversals carry, and the balance is the sum of what applied.
    #[test]
    fn an_original_is_reversed_at_most_once(
        moves in prop::collection::vec(prop_oneof![
            3 => (any::<bool>(), 1i64..300).prop_map(|(give, amount)| Move::New { give, amount }),
            2 => any::<usize>().prop_map(Move::Reverse),
            2 => any::<usize>().prop_map(Move::Rogue),
        ], 1..60),
        start in 0i64..600,
    ) {
        let limits = Limits::default();
        let mut wallet = Wallet { balance: start, ..Wallet::default() };
        let mut now: i64 = 1_700_000_000_000;
        let mut originals: Vec<Command> = Vec::new();
        let mut reversed: HashMap<TxnId, u32> = HashMap::new();
        let mut expected = start;
        let mut seq = 0u128;
        for m in moves {
            now += 1;
            seq += 1;
            let cmd = match m {
                Move::New { give, amount } => {
                    let c = Command {
                        v: 1, txn: TxnId::from_parts(now as u64, seq),
                        op: if give { Op::Give } else { Op::Deduct }, user_id: 1, amount,
                        reason: "prop".into(), actor: Actor { id: "1".into(), name: "p".into() },
                        issued_at: now, expires_at: now + 60_000, reverses: None,
                    };
                    originals.push(c.clone());
                    c
                }
                Move::Reverse(i) | Move::Rogue(i) if originals.is_empty() => { let _ = i; continue; }
                Move::Reverse(i) => {
                    let o = &originals[i % originals.len()];
                    let mut c = reversal_command(seq, now, o);
                    c.txn = o.txn.reversal_id();
                    c
                }
                Move::Rogue(i) => reversal_command(seq, now, &originals[i % originals.len()]),
            };
            prop_assert_eq!(cmd.validate(), Ok(()));
            if let ApplyOutcome::Applied { .. } = apply(&mut wallet, &cmd, now, &limits) {
                expected += match cmd.op { Op::Give => cmd.amount, Op::Deduct => -cmd.amount };
                if let Some(o) = &cmd.reverses {
                    let n = reversed.entry(o.clone()).or_insert(0);
                    *n += 1;
                    prop_assert_eq!(*n, 1, "original reversed twice");
                }
            }
            prop_assert_eq!(wallet.balance, expected);
        }
        prop_assert!(wallet.validate().is_ok());
        let stored = serde_json::to_string(&wallet).unwrap();
        prop_assert_eq!(&serde_json::from_str::<Wallet>(&stored).unwrap(), &wallet);
    }
}

fn text(max_chars: usize) -> impl Strategy<Value = String> {
    // Mixes 1-4 byte characters and the two characters JSON escapes, the worst case for size.
    prop::collection::vec(
        prop_oneof![
            Just('"'),
            Just('\\'),
            Just('a'),
            Just('é'),
            Just('€'),
            Just('😀')
        ],
        1..=max_chars,
    )
    .prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn every_valid_command_fits_one_message_and_round_trips(
        reason in text(200),
        name in text(MAX_ACTOR_NAME_CHARS),
        amount in -(1i64 << 53) + 1..(1i64 << 53),
        user in 1u64..(1u64 << 53),
        issued in 1i64..(1i64 << 52),
        ttl in 1i64..=MAX_COMMAND_TTL_MS,
        kid in "[A-Za-z0-9_-]{1,32}",
        reverses in any::<bool>(),
    ) {
        let cmd = Command {
            v: 1, txn: TxnId::from_parts(issued as u64 & ((1 << 48) - 1), 9), op: Op::Deduct,
            user_id: user, amount, reason, actor: Actor { id: "18446744073709551615".into(), name },
            issued_at: issued, expires_at: issued + ttl,
            reverses: reverses.then(|| TxnId::from_parts((1 << 48) - 1, u128::MAX)),
        };
        let key = Key::new(KeyId::new(&kid).unwrap(), Secret::from_bytes(vec![7u8; 32]), vec![]);
        match cmd.validate() {
            Ok(()) => {
                let msg = encode_command_message(&cmd, &key).unwrap();
                prop_assert!(msg.len() <= MAX_MESSAGE_BYTES);
                let ring = KeyRing::new(vec![key]).unwrap();
                prop_assert_eq!(decode_command_message(&msg, &ring).unwrap(), cmd);
            }
            // Only the byte cap on the reason may refuse these inputs.
            Err(e) => prop_assert!(cmd.reason.len() > 400, "{e}"),
        }
    }

    #[test]
    fn an_envelope_carries_exactly_the_commands_its_players_would_get_alone(
        reason in text(60),
        users in prop::collection::hash_set(1u64..(1u64 << 53), 1..80),
        amount in 1i64..1_000_000,
        issued in 1i64..(1i64 << 47),
        seed in any::<u64>(),
    ) {
        let users: Vec<u64> = users.into_iter().collect();
        let batch = BatchId::from_parts(issued as u64, u128::from(seed));
        let env = Envelope {
            v: 1, batch: batch.clone(), op: Op::Give, amount, reason,
            actor: Actor { id: "42".into(), name: "Mod".into() },
            issued_at: issued, expires_at: issued + 300_000, users: users.clone(),
        };
        let key = Key::new(KeyId::new("k1").unwrap(), Secret::from_bytes(vec![7u8; 32]), vec![]);
        let ring = KeyRing::new(vec![key.clone()]).unwrap();
        match encode_batch_message(&env, &key) {
            Ok(msg) => {
                prop_assert!(msg.len() <= MAX_MESSAGE_BYTES);
                let cmds = decode_message(&msg, &ring).unwrap();
                prop_assert_eq!(cmds.len(), users.len());
                for (cmd, user) in cmds.iter().zip(&users) {
                    // The same command the bot signs alone for that player, under the same id.
                    prop_assert_eq!(cmd.user_id, *user);
                    prop_assert_eq!(&cmd.txn, &batch.item_txn(*user));
                    prop_assert!(env.carries(cmd));
                    let alone = encode_command_message(cmd, &key).unwrap();
                    prop_assert_eq!(&decode_command_message(&alone, &ring).unwrap(), cmd);
                }
                // An envelope is never read as a single command.
                prop_assert_eq!(decode_command_message(&msg, &ring), Err(MessageError::Body));
            }
            Err(MessageError::TooLarge(n)) => prop_assert!(n > MAX_MESSAGE_BYTES),
            Err(e) => prop_assert!(false, "{e}"),
        }
    }

    #[test]
    fn any_change_to_a_signed_request_breaks_its_signature(
        body in prop::collection::vec(any::<u8>(), 0..300),
        flip in any::<usize>(),
        path in "/[a-z/]{0,20}",
        idem in "[a-zA-Z0-9-]{0,40}",
    ) {
        let key = Key::new(KeyId::new("k").unwrap(), Secret::from_bytes(vec![1u8; 32]), vec![Scope::Write]);
        let ring = KeyRing::new(vec![key.clone()]).unwrap();
        let parts = RequestParts { method: "POST", path: &path, query: "", idempotency_key: &idem, body: &body };
        let headers = sign_request(&key, 1_000, &parts).unwrap();
        prop_assert!(verify_request(&ring, &headers, &parts, 1_000, Scope::Write).is_ok());
        let mut tampered = body.clone();
        if tampered.is_empty() { tampered.push(0) } else { let i = flip % tampered.len(); tampered[i] ^= 1 }
        let bad = RequestParts { body: &tampered, ..parts };
        prop_assert!(verify_request(&ring, &headers, &bad, 1_000, Scope::Write).is_err());
        let other_idem = format!("{idem}x");
        let bad = RequestParts { idempotency_key: &other_idem, ..parts };
        prop_assert!(verify_request(&ring, &headers, &bad, 1_000, Scope::Write).is_err());
    }

    #[test]
    fn canonical_query_ignores_pair_order(pairs in prop::collection::vec(("[a-z]{1,4}", "[a-zA-Z0-9 +%ü]{0,6}"), 0..6)) {
        let enc = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
        let fwd: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
        let mut rev = fwd.clone();
        rev.reverse();
        prop_assert_eq!(canonical_query(&fwd.join("&")).unwrap(), canonical_query(&rev.join("&")).unwrap());
    }
}
