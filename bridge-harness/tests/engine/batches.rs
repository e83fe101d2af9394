//! Batch envelopes (docs/protocol.md §3.1) through the bridge on emulated servers with the real
//! ProfileStore and ProfileService and the real audit API. One signed message names several
//! players; each server applies only the players whose wallet session it holds (possibly several,
//! possibly none), each as its own txn under the derived item id, with its own ring entry, audit
//! row and RemoteEvent; a redelivered or re-packed envelope, and an item re-sent as a single
//! command, are duplicates; one player's rejection does not stop the others; an invalid envelope
//! moves nobody's money on any server.

use crate::support::*;
use roblox_emu::{Library, Universe};
use shared::{Op, RejectReason};

/// Start the bridge on `servers` servers and put each `(server, user)` player in the game.
fn with_players(
    lib: Library,
    api: &AuditApi,
    servers: usize,
    seed: u64,
    players: &[(usize, u64)],
) -> Universe {
    let mut u = universe(lib, servers, seed, api, 0);
    u.run_for(2.0).unwrap();
    for s in 0..servers {
        assert!(
            !lines(&u, s, "listening for commands on topic discord-commands").is_empty(),
            "server {s} did not start the bridge: {:?}",
            u.server(s).unwrap().output()
        );
    }
    for &(s, user) in players {
        u.player_join(s, user).unwrap();
    }
    assert!(
        u.run_until(60.0, |u| players
            .iter()
            .all(|&(s, user)| has_session(u, s, user)))
            .unwrap(),
        "sessions: {:?}",
        all_lines(&u, "session")
    );
    u
}

/// Runs until every txn of `txns` (of `users`) is committed and every outbox acknowledged.
fn settled(u: &mut Universe, txns: &[&str], users: &[u64]) {
    assert!(
        u.run_until(60.0, |u| txns.iter().all(|t| !all_lines(
            u,
            &format!("committed txn {t}")
        )
        .is_empty())
            && users.iter().all(|user| outbox(u, *user).is_empty()))
            .unwrap(),
        "{txns:?} committed and acknowledged: {:?}",
        all_lines(u, "")
    );
}

fn job(u: &Universe, server: usize) -> String {
    u.server(server).unwrap().job_id().to_owned()
}

fn each_holder_applies_only_its_players(lib: Library) {
    let api = AuditApi::start();
    // Two players on server 0, one on server 1, nobody on server 2, and one player offline.
    let (a, d, b, offline) = (101, 104, 102, 103);
    let mut u = with_players(lib, &api, 3, 41, &[(0, a), (0, d), (1, b)]);
    let batch = txn_id(virtual_ms(&u), 7);
    let msg = envelope(&u, &batch, &[a, b, offline, d], Op::Give, 25);
    let item = |user: u64| item_txn(&batch, user);
    u.publish(COMMANDS, &msg);
    settled(&mut u, &[&item(a), &item(b), &item(d)], &[a, b, d]);
    u.run_for(5.0).unwrap();

    // Every server read the envelope once and judged each player on its own.
    for s in 0..3 {
        assert_eq!(
            lines(&u, s, &format!("batch envelope {batch}: 4 players")).len(),
            1,
            "server {s}"
        );
    }
    for (user, holder_ix) in [(a, 0), (d, 0), (b, 1)] {
        let txn = item(user);
        let applied = all_lines(
            &u,
            &format!("txn {txn} user {user} give 25: applied balance 25"),
        );
        assert_eq!(applied.len(), 1, "{user}: {applied:?}");
        assert_eq!(applied[0].0, holder_ix, "only {user}'s holder applies");
        assert_eq!(balance(&u, user), 25, "{user}");
        let ring = ring(&u, user);
        assert_eq!(ring.len(), 1, "{user}: {ring:?}");
        assert_eq!(ring[0]["id"], txn.as_str(), "the derived item txn");
        assert_eq!(ring[0]["outcome"], "applied");
        assert_eq!(ring[0]["balanceAfter"], 25);
        assert_eq!(remote_fires(&u, user, &txn), 1, "{user}: RemoteEvent once");
        let rows = api.rows_of(&txn);
        assert_eq!(rows.len(), 1, "{user}: one audit row");
        let rec = &rows[0].record;
        assert_eq!(rec.user_id, user);
        assert_eq!(rec.op, Op::Give);
        assert_eq!(rec.amount, 25);
        assert_eq!(rec.balance_after, 25);
        assert_eq!(rec.reason, "event prize");
        assert_eq!(
            rec.server_job_id.as_deref(),
            Some(job(&u, holder_ix).as_str())
        );
        // The servers without this player's session ignored its command.
        for s in (0..3).filter(|s| *s != holder_ix) {
            assert_eq!(
                lines(
                    &u,
                    s,
                    &format!("txn {txn}: user {user} has no wallet session here; ignored")
                )
                .len(),
                1,
                "server {s}, user {user}"
            );
        }
    }
    // The offline player: ignored by all, no wallet written, nothing logged.
    let txn = item(offline);
    assert_eq!(
        all_lines(
            &u,
            &format!("txn {txn}: user {offline} has no wallet session here; ignored")
        )
        .len(),
        3
    );
    assert!(
        stored(&u, offline).is_none(),
        "no server loads an offline wallet"
    );
    assert!(api.rows_of(&txn).is_empty());
    assert_eq!(remote_fires(&u, offline, &txn), 0);
    assert_eq!(api.rows().len(), 3);

    // Delivered again (twice), re-packed with the same batch in another envelope (the bot's
    // second attempt for the players still unconfirmed), and one item re-sent as its own §2
    // command (the bot's fallback after two envelope attempts): all duplicates.
    u.publish(COMMANDS, &msg);
    u.publish(COMMANDS, &msg);
    u.publish(COMMANDS, &envelope(&u, &batch, &[d, b], Op::Give, 25));
    let issued = virtual_ms(&u);
    u.publish(
        COMMANDS,
        &command_at(&item(a), a, Op::Give, 25, issued, issued + 300_000),
    );
    u.run_for(10.0).unwrap();
    for (user, holder_ix, copies) in [(a, 0, 3), (d, 0, 3), (b, 1, 3)] {
        let txn = item(user);
        let dups = lines(
            &u,
            holder_ix,
            &format!("duplicate txn {txn} user {user}: recorded applied balanceAfter 25"),
        );
        assert_eq!(dups.len(), copies, "{user}: {dups:?}");
        assert_eq!(balance(&u, user), 25, "{user}: nothing moved twice");
        assert_eq!(self::ring(&u, user).len(), 1, "{user}");
        assert_eq!(remote_fires(&u, user, &txn), 1, "{user}");
        assert_eq!(api.rows_of(&txn).len(), 1, "{user}");
    }
    let applied = all_lines(&u, "applied balance 25 (saving)");
    assert_eq!(applied.len(), 3, "{applied:?}");
    assert!(stored(&u, offline).is_none());
    assert_eq!(api.rows().len(), 3);
    assert_clean(&u);
}

fn one_rejection_does_not_stop_the_others(lib: Library) {
    let api = AuditApi::start();
    let (rich, poor, other) = (201, 202, 203);
    let mut u = with_players(lib, &api, 2, 42, &[(0, rich), (0, poor), (1, other)]);
    let now = virtual_ms(&u);
    let funding = [
        (txn_id(now, 1), rich, 100),
        (txn_id(now, 2), poor, 10),
        (txn_id(now, 3), other, 60),
    ];
    for (txn, user, amount) in &funding {
        u.publish(COMMANDS, &command(&u, txn, *user, Op::Give, *amount));
    }
    let txns: Vec<&str> = funding.iter().map(|(t, _, _)| t.as_str()).collect();
    settled(&mut u, &txns, &[rich, poor, other]);

    let batch = txn_id(virtual_ms(&u), 8);
    u.publish(
        COMMANDS,
        &envelope(&u, &batch, &[rich, poor, other], Op::Deduct, 50),
    );
    let items: Vec<String> = [rich, poor, other]
        .iter()
        .map(|x| item_txn(&batch, *x))
        .collect();
    let items_ref: Vec<&str> = items.iter().map(String::as_str).collect();
    settled(&mut u, &items_ref, &[rich, poor, other]);
    u.run_for(3.0).unwrap();

    for (user, txn, holder_ix, after) in [(rich, &items[0], 0, 50), (other, &items[2], 1, 10)] {
        assert_eq!(
            lines(
                &u,
                holder_ix,
                &format!("txn {txn} user {user} deduct 50: applied balance {after}")
            )
            .len(),
            1,
            "{user}"
        );
        assert_eq!(balance(&u, user), after, "{user}");
        let ring = ring(&u, user);
        assert_eq!(ring.len(), 2, "{user}: {ring:?}");
        assert_eq!(ring[1]["id"], txn.as_str());
        assert_eq!(ring[1]["outcome"], "applied");
        let rows = api.rows_of(txn);
        assert_eq!(rows.len(), 1, "{user}");
        assert_eq!(rows[0].record.balance_after, after);
        assert_eq!(remote_fires(&u, user, txn), 1);
    }
    // The player who could not pay: rejected and recorded (ring, audit row, told), balance kept.
    let txn = &items[1];
    assert_eq!(
        lines(
            &u,
            0,
            &format!("txn {txn} user {poor} deduct 50: rejected insufficient_funds balance 10")
        )
        .len(),
        1,
        "{:?}",
        lines(&u, 0, txn)
    );
    assert_eq!(balance(&u, poor), 10);
    let ring = ring(&u, poor);
    assert_eq!(ring.len(), 2, "{ring:?}");
    assert_eq!(ring[1]["id"], txn.as_str());
    assert_eq!(ring[1]["outcome"], "rejected");
    assert_eq!(ring[1]["rejectReason"], "insufficient_funds");
    assert_eq!(ring[1]["balanceAfter"], 10);
    let rows = api.rows_of(txn);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].record.reject_reason,
        Some(RejectReason::InsufficientFunds)
    );
    assert_eq!(rows[0].record.balance_after, 10);
    assert_eq!(remote_fires(&u, poor, txn), 1);
    assert_eq!(api.rows().len(), 6);
    assert_clean(&u);
}

fn refused_envelopes_move_nothing(lib: Library) {
    let api = AuditApi::start();
    let (a, b) = (301, 302);
    let mut u = with_players(lib, &api, 2, 43, &[(0, a), (1, b)]);
    let batch = txn_id(virtual_ms(&u), 9);
    // A player named twice: the whole envelope is invalid, for every player in it.
    u.publish(COMMANDS, &envelope(&u, &batch, &[a, b, a], Op::Give, 30));
    // User id 0 beside real players.
    u.publish(COMMANDS, &envelope(&u, &batch, &[b, 0, a], Op::Give, 30));
    // A reversal cannot be packed: an unknown field for an envelope (`body`).
    let mut body = envelope_body(&u, &batch, &[a, b], Op::Deduct, 30);
    body["reverses"] = serde_json::json!(txn_id(virtual_ms(&u), 3));
    u.publish(COMMANDS, &signed(&body.to_string()));
    // A player added after signing.
    let good = envelope(&u, &batch, &[a], Op::Give, 30);
    u.publish(
        COMMANDS,
        &good.replace(&format!("[{a}]"), &format!("[{a},{b}]")),
    );
    u.run_for(15.0).unwrap();

    for s in 0..2 {
        let invalid = lines(&u, s, "command refused (invalid)");
        assert_eq!(invalid.len(), 2, "server {s}: {invalid:?}");
        for why in [
            format!("user {a} named twice"),
            "user id out of range".to_owned(),
        ] {
            let want = format!("invalid batch envelope {batch}: {why}");
            assert!(
                invalid.iter().any(|l| l.contains(&want)),
                "{want}: {invalid:?}"
            );
        }
        assert_eq!(
            lines(&u, s, "command refused (body)").len(),
            1,
            "server {s}"
        );
        assert_eq!(
            lines(&u, s, "command refused (bad_signature)").len(),
            1,
            "server {s}"
        );
        // Refused as a whole: no player's command was even looked at.
        assert!(
            lines(&u, s, &batch)
                .iter()
                .all(|l| l.contains("command refused")),
            "{:?}",
            lines(&u, s, &batch)
        );
    }
    for user in [a, b] {
        assert_eq!(data(&u, user)["balance"].as_i64().unwrap_or(0), 0, "{user}");
        assert!(ring(&u, user).is_empty(), "{user}");
        assert!(all_lines(&u, &item_txn(&batch, user)).is_empty(), "{user}");
    }
    assert!(api.rows().is_empty());

    // The same servers still apply a valid envelope of the same batch: the refusals above were
    // the envelopes' own.
    u.publish(COMMANDS, &envelope(&u, &batch, &[a, b], Op::Give, 30));
    let (ia, ib) = (item_txn(&batch, a), item_txn(&batch, b));
    settled(&mut u, &[&ia, &ib], &[a, b]);
    assert_eq!(balance(&u, a), 30);
    assert_eq!(balance(&u, b), 30);
    assert_eq!(api.rows().len(), 2);
    assert_clean(&u);
}

macro_rules! suite {
    ($m:ident, $lib:expr) => {
        mod $m {
            use super::*;
            #[test]
            fn each_holder_applies_only_its_players_once() {
                each_holder_applies_only_its_players($lib);
            }
            #[test]
            fn one_rejected_player_does_not_stop_the_others() {
                one_rejection_does_not_stop_the_others($lib);
            }
            #[test]
            fn refused_envelopes_move_nothing_on_any_server() {
                refused_envelopes_move_nothing($lib);
            }
        }
    };
}

suite!(profile_store, Library::ProfileStore);
suite!(profile_service, Library::ProfileService);
