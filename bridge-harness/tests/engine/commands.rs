//! Discord commands through the bridge on 7 emulated servers with the real ProfileStore and
//! ProfileService and the real audit API: exactly one server (the session holder) applies, the
//! stored entry holds the balance and the ring, the player's RemoteEvent fires once, the API logs
//! one row; replays of a txn id change nothing and are answered with the recorded outcome.

use crate::support::*;
use roblox_emu::Library;
use shared::Op;

const USER: u64 = 7;

fn joined(
    lib: Library,
    api: &AuditApi,
    servers: usize,
    on: usize,
    seed: u64,
) -> roblox_emu::Universe {
    let mut u = universe(lib, servers, seed, api, 0);
    u.run_for(2.0).unwrap();
    for s in 0..servers {
        assert!(
            !lines(&u, s, "listening for commands on topic discord-commands").is_empty(),
            "server {s} did not start the bridge: {:?}",
            u.server(s).unwrap().output()
        );
    }
    u.player_join(on, USER).unwrap();
    assert!(
        u.run_until(30.0, |u| has_session(u, on, USER)).unwrap(),
        "session on server {on}"
    );
    u
}

fn seven_servers_one_applies(lib: Library) {
    let api = AuditApi::start();
    let holder_ix = 4;
    let mut u = joined(lib, &api, 7, holder_ix, 21);
    let txn = txn_id(virtual_ms(&u), 1);
    u.publish(COMMANDS, &command(&u, &txn, USER, Op::Give, 50));
    assert!(
        u.run_until(60.0, |u| !all_lines(u, &format!("committed txn {txn}"))
            .is_empty()
            && outbox(u, USER).is_empty())
            .unwrap(),
        "committed and acknowledged: {:?}",
        all_lines(&u, "")
    );
    u.run_for(5.0).unwrap();

    let applied = all_lines(&u, &format!("txn {txn} user {USER} give 50: applied"));
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert_eq!(applied[0].0, holder_ix, "only the holder applies");
    for s in (0..7).filter(|s| *s != holder_ix) {
        assert!(lines(&u, s, &txn).iter().all(|l| !l.contains("applied")));
    }
    assert_eq!(balance(&u, USER), 50);
    let ring = ring(&u, USER);
    assert_eq!(ring.len(), 1, "{ring:?}");
    assert_eq!(ring[0]["id"], txn.as_str());
    assert_eq!(ring[0]["outcome"], "applied");
    assert_eq!(ring[0]["balanceAfter"], 50);
    assert_eq!(remote_fires(&u, USER, &txn), 1, "RemoteEvent fired once");
    let rows = api.rows_of(&txn);
    assert_eq!(rows.len(), 1, "one audit row");
    let rec = &rows[0].record;
    assert_eq!(rec.balance_after, 50);
    assert_eq!(rec.user_id, USER);
    assert_eq!(
        rec.server_job_id.as_deref(),
        Some(u.server(holder_ix).unwrap().job_id())
    );
    assert_eq!(rows[0].key_id, "game");
    assert_clean(&u);
}

fn replays_change_nothing(lib: Library) {
    let api = AuditApi::start();
    let (a, b) = (1, 5);
    let mut u = joined(lib, &api, 7, a, 22);
    let give = txn_id(virtual_ms(&u), 1);
    let msg = command(&u, &give, USER, Op::Give, 40);
    // Three copies in flight at once: before the save, two of them are replays.
    u.publish(COMMANDS, &msg);
    u.publish(COMMANDS, &msg);
    u.run_for(0.2).unwrap();
    u.publish(COMMANDS, &msg);
    assert!(
        u.run_until(30.0, |u| !all_lines(u, &format!("committed txn {give}"))
            .is_empty())
            .unwrap()
    );
    let before_save: Vec<_> = lines(&u, a, &format!("duplicate txn {give}"));
    assert_eq!(before_save.len(), 2, "{before_save:?}");
    assert!(
        before_save
            .iter()
            .all(|l| l.contains("recorded applied balanceAfter 40"))
    );

    // A recorded rejection is a txn too: deduct more than the balance.
    let deduct = txn_id(virtual_ms(&u), 2);
    let deduct_msg = command(&u, &deduct, USER, Op::Deduct, 1_000);
    u.publish(COMMANDS, &deduct_msg);
    assert!(
        u.run_until(30.0, |u| !all_lines(u, &format!("committed txn {deduct}"))
            .is_empty()
            && outbox(u, USER).is_empty())
            .unwrap()
    );
    // After the save, on the same server.
    u.publish(COMMANDS, &msg);
    u.publish(COMMANDS, &deduct_msg);
    u.run_for(5.0).unwrap();
    let after_save = lines(&u, a, &format!("duplicate txn {give}"));
    assert_eq!(after_save.len(), 3, "{after_save:?}");
    assert!(after_save[2].contains("(committed)"), "{after_save:?}");
    assert_eq!(
        lines(&u, a, &format!("duplicate txn {deduct} user {USER}: recorded rejected insufficient_funds balanceAfter 40")).len(),
        1
    );

    // The player hops; the new holder answers from the stored ring.
    u.player_leave(a, USER).unwrap();
    assert!(u.run_until(30.0, |u| holder(u, USER).is_none()).unwrap());
    u.player_join(b, USER).unwrap();
    assert!(u.run_until(60.0, |u| has_session(u, b, USER)).unwrap());
    u.publish(COMMANDS, &msg);
    u.publish(COMMANDS, &deduct_msg);
    u.run_for(10.0).unwrap();
    assert_eq!(lines(&u, b, &format!("duplicate txn {give}")).len(), 1);
    assert_eq!(lines(&u, b, &format!("duplicate txn {deduct}")).len(), 1);

    assert_eq!(balance(&u, USER), 40);
    let ring = ring(&u, USER);
    assert_eq!(ring.len(), 2, "{ring:?}");
    assert_eq!(ring[1]["outcome"], "rejected");
    assert_eq!(ring[1]["rejectReason"], "insufficient_funds");
    assert_eq!(remote_fires(&u, USER, &give), 1);
    assert_eq!(remote_fires(&u, USER, &deduct), 1);
    assert_eq!(api.rows_of(&give).len(), 1);
    let rejected = api.rows_of(&deduct);
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].record.balance_after, 40);
    assert_eq!(api.rows().len(), 2);
    let applied = all_lines(&u, "applied balance 40 (saving)");
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert_clean(&u);
}

fn forged_and_expired_change_nothing(lib: Library) {
    let api = AuditApi::start();
    let mut u = joined(lib, &api, 2, 0, 23);
    let now = virtual_ms(&u);
    // Signed with the right key, then one body byte changed: refused before parsing.
    let good = command(&u, &txn_id(now, 1), USER, Op::Give, 10);
    let forged = good.replace("\"amount\":10", "\"amount\":99");
    u.publish(COMMANDS, &forged);
    // Expired: recorded as a rejection (it reached the holder after expiresAt).
    let expired = txn_id(now, 2);
    u.publish(
        COMMANDS,
        &command_at(&expired, USER, Op::Give, 10, now - 600_000, now - 1_000),
    );
    u.run_for(20.0).unwrap();
    assert_eq!(lines(&u, 0, "command refused (bad_signature)").len(), 1);
    assert_eq!(lines(&u, 1, "command refused (bad_signature)").len(), 1);
    assert_eq!(balance(&u, USER), 0);
    let ring = ring(&u, USER);
    assert_eq!(ring.len(), 1);
    assert_eq!(ring[0]["rejectReason"], "expired");
    assert_clean(&u);
}

macro_rules! suite {
    ($m:ident, $lib:expr) => {
        mod $m {
            use super::*;
            #[test]
            fn seven_servers_exactly_one_applies() {
                seven_servers_one_applies($lib);
            }
            #[test]
            fn replays_change_nothing_and_answer_the_recorded_outcome() {
                replays_change_nothing($lib);
            }
            #[test]
            fn forged_and_expired_commands_change_nothing() {
                forged_and_expired_change_nothing($lib);
            }
        }
    };
}

suite!(profile_store, Library::ProfileStore);
suite!(profile_service, Library::ProfileService);
