//! The bridge under faults, on both libraries, with the real audit API: a player hopping servers
//! with commands in flight, the holder crashing after applying but before saving and after saving
//! but before posting the audit record, the API down for 10 virtual minutes, dropped / duplicated /
//! reordered messages, and a zombie server returning after its lock was taken. The bot's part is
//! played by the test: it re-publishes a command until the wallet entry (the authority) holds it.

use crate::support::*;
use roblox_emu::{Faults, Library, Universe};
use shared::Op;

const USER: u64 = 9;

fn in_ring(u: &Universe, txn: &str) -> bool {
    ring(u, USER).iter().any(|r| r["id"] == txn)
}

/// Publishes `msg` every `every_s` until the stored ring holds `txn` (the bot's confirm loop).
fn publish_until_stored(u: &mut Universe, msg: &str, txn: &str, every_s: f64, max_s: f64) -> bool {
    let end = u.now_s() + max_s;
    while u.now_s() < end {
        u.publish(COMMANDS, msg);
        if u.run_until(every_s, |u| in_ring(u, txn)).unwrap() {
            return true;
        }
    }
    false
}

fn session_on(u: &mut Universe, server: usize, max_s: f64) {
    assert!(
        u.run_until(max_s, |u| has_session(u, server, USER))
            .unwrap(),
        "session on server {server}: {:?}",
        all_lines(u, "")
    );
}

/// Every txn in `txns` has exactly one audit row; the stored outbox is empty.
fn audited_once(api: &AuditApi, u: &Universe, txns: &[String]) {
    assert!(outbox(u, USER).is_empty(), "outbox: {:?}", outbox(u, USER));
    let rows = api.rows();
    for t in txns {
        let n = rows
            .iter()
            .filter(|r| r.record.txn_id.as_str() == t)
            .count();
        assert_eq!(n, 1, "audit rows of {t}");
    }
}

fn hop_with_commands_in_flight(lib: Library) {
    let api = AuditApi::start();
    let (a, b) = (0, 2);
    let mut u = universe(lib, 3, 31, &api, 0);
    u.run_for(2.0).unwrap();
    u.player_join(a, USER).unwrap();
    session_on(&mut u, a, 30.0);
    let t1 = txn_id(virtual_ms(&u), 1);
    let t2 = txn_id(virtual_ms(&u), 2);
    let m1 = command(&u, &t1, USER, Op::Give, 70);
    let m2 = command(&u, &t2, USER, Op::Deduct, 20);
    u.publish(COMMANDS, &m1);
    u.run_for(0.1).unwrap();
    // The player leaves A while the commands travel and turns up on B at once.
    u.player_leave(a, USER).unwrap();
    u.publish(COMMANDS, &m2);
    u.player_join(b, USER).unwrap();
    session_on(&mut u, b, 120.0);
    assert!(publish_until_stored(&mut u, &m1, &t1, 5.0, 120.0));
    assert!(publish_until_stored(&mut u, &m2, &t2, 5.0, 120.0));
    assert!(u.run_until(60.0, |u| outbox(u, USER).is_empty()).unwrap());
    u.run_for(5.0).unwrap();
    assert_eq!(balance(&u, USER), 50);
    assert_eq!(ring(&u, USER).len(), 2);
    audited_once(&api, &u, &[t1.clone(), t2.clone()]);
    assert_eq!(all_lines(&u, &format!("committed txn {t1}")).len(), 1);
    assert_eq!(all_lines(&u, &format!("committed txn {t2}")).len(), 1);
    assert_clean(&u);
}

fn crash_after_apply_before_save(lib: Library) {
    let api = AuditApi::start();
    let (a, b) = (0, 1);
    let mut u = universe(lib, 2, 32, &api, 0);
    u.run_for(2.0).unwrap();
    u.player_join(a, USER).unwrap();
    session_on(&mut u, a, 30.0);
    let t = txn_id(virtual_ms(&u), 1);
    let m = command(&u, &t, USER, Op::Give, 25);
    u.publish(COMMANDS, &m);
    let applied = format!("txn {t} user {USER} give 25: applied");
    assert!(
        u.run_until(10.0, |u| !lines(u, a, &applied).is_empty())
            .unwrap()
    );
    // Applied in memory; the save has not been requested yet (it waits a frame).
    u.crash(a).unwrap();
    // The stored wallet is still the one the session started with: no balance written yet.
    assert!(
        data(&u, USER).get("balance").is_none_or(|b| b == 0),
        "not saved: {}",
        data(&u, USER)
    );
    assert!(ring(&u, USER).is_empty(), "not saved");
    u.run_for(1.0).unwrap();
    assert!(api.rows().is_empty(), "nothing audited");
    assert_eq!(remote_fires(&u, USER, &t), 0);
    u.player_join(b, USER).unwrap();
    session_on(&mut u, b, 300.0);
    assert!(publish_until_stored(&mut u, &m, &t, 5.0, 60.0));
    assert!(u.run_until(60.0, |u| outbox(u, USER).is_empty()).unwrap());
    assert_eq!(balance(&u, USER), 25);
    audited_once(&api, &u, std::slice::from_ref(&t));
    assert_eq!(
        api.rows_of(&t)[0].record.server_job_id.as_deref(),
        Some(u.server(b).unwrap().job_id())
    );
    assert_eq!(remote_fires(&u, USER, &t), 1);
    assert_clean(&u);
}

fn crash_after_save_before_audit(lib: Library) {
    let api = AuditApi::start();
    let (a, b) = (0, 1);
    let mut u = universe(lib, 2, 33, &api, 0);
    u.run_for(2.0).unwrap();
    u.player_join(a, USER).unwrap();
    session_on(&mut u, a, 30.0);
    let job_a = u.server(a).unwrap().job_id().to_owned();
    let t = txn_id(virtual_ms(&u), 1);
    u.publish(COMMANDS, &command(&u, &t, USER, Op::Give, 33));
    let committed = format!("committed txn {t}");
    assert!(
        u.run_until(20.0, |u| !lines(u, a, &committed).is_empty())
            .unwrap()
    );
    // Saved; the outbox posts on its next tick, which never comes.
    u.crash(a).unwrap();
    assert_eq!(balance(&u, USER), 33);
    assert_eq!(
        outbox(&u, USER).len(),
        1,
        "the record waits in the stored outbox"
    );
    u.run_for(2.0).unwrap();
    assert!(api.rows().is_empty());
    u.player_join(b, USER).unwrap();
    session_on(&mut u, b, 300.0);
    assert!(u.run_until(60.0, |u| outbox(u, USER).is_empty()).unwrap());
    audited_once(&api, &u, std::slice::from_ref(&t));
    let rows = api.rows_of(&t);
    assert_eq!(
        rows[0].record.server_job_id.as_deref(),
        Some(job_a.as_str()),
        "the committing server"
    );
    assert_eq!(balance(&u, USER), 33);
    assert_clean(&u);
}

fn api_down_ten_minutes(lib: Library) {
    let mut api = AuditApi::start();
    // Virtual time runs ahead of the API's wall clock: start 8 minutes behind so that the
    // requests after the outage carry timestamps within the API's ±300 s.
    let mut u = universe(lib, 2, 34, &api, 480);
    api.stop();
    let on = 1;
    u.run_for(2.0).unwrap();
    u.player_join(on, USER).unwrap();
    session_on(&mut u, on, 30.0);
    let mut txns = Vec::new();
    for i in 0..6 {
        let t = txn_id(virtual_ms(&u), i);
        let op = if i % 3 == 2 { Op::Deduct } else { Op::Give };
        u.publish(COMMANDS, &command(&u, &t, USER, op, 10));
        txns.push(t);
        u.run_for(3.0).unwrap();
    }
    let start = u.now_s();
    u.run_for(600.0 - (u.now_s() - 2.0)).unwrap();
    assert!(u.now_s() - start > 500.0);
    assert_eq!(
        ring(&u, USER).len(),
        6,
        "all committed while the API is down"
    );
    assert_eq!(outbox(&u, USER).len(), 6, "every record kept");
    assert_eq!(balance(&u, USER), 20);
    assert!(!lines(&u, on, "audit API unreachable").is_empty());
    api.restart();
    assert!(
        u.run_until(120.0, |u| outbox(u, USER).is_empty()).unwrap(),
        "flushed after the outage: {:?}",
        lines(&u, on, "audit")
    );
    audited_once(&api, &u, &txns);
    assert_eq!(api.rows().len(), 6);
    assert_clean(&u);
}

fn message_faults(lib: Library) {
    let api = AuditApi::start();
    let mut u = universe_cfg(lib, 3, &api.access(), |cfg| {
        cfg.seed = 35;
        cfg.faults = Faults {
            message_drop: 0.3,
            message_duplicate: 0.3,
            message_delay: 0.5,
            message_delay_s: (0.5, 8.0),
            ..Faults::default()
        };
    });
    let on = 2;
    u.run_for(2.0).unwrap();
    u.player_join(on, USER).unwrap();
    session_on(&mut u, on, 30.0);
    let mut txns = Vec::new();
    let mut msgs = Vec::new();
    for i in 0..8 {
        let t = txn_id(virtual_ms(&u), i);
        let op = if i % 4 == 3 { Op::Deduct } else { Op::Give };
        msgs.push(command(&u, &t, USER, op, 5 + i as i64));
        txns.push(t);
    }
    // All published at once (reordered by the delays), then re-published until stored.
    for m in &msgs {
        u.publish(COMMANDS, m);
    }
    for (m, t) in msgs.iter().zip(&txns) {
        assert!(
            publish_until_stored(&mut u, m, t, 6.0, 180.0),
            "{t} never stored"
        );
    }
    assert!(u.run_until(60.0, |u| outbox(u, USER).is_empty()).unwrap());
    u.run_for(20.0).unwrap();
    // Reordering may deliver a deduct before the gives that fund it: it is then rejected (and
    // recorded). Replay the ring in the order the holder applied it: every applied entry moves the
    // balance to its recorded balanceAfter, every rejection is for insufficient funds at that point.
    let stored_ring = ring(&u, USER);
    assert_eq!(stored_ring.len(), 8);
    let mut running = 0;
    for r in &stored_ring {
        let amount = r["amount"].as_i64().unwrap();
        let signed = if r["op"] == "give" { amount } else { -amount };
        match r["outcome"].as_str().unwrap() {
            "applied" => {
                running += signed;
                assert_eq!(r["balanceAfter"].as_i64(), Some(running), "{r}");
            }
            "rejected" => {
                assert_eq!(r["rejectReason"], "insufficient_funds", "{r}");
                assert!(r["op"] == "deduct" && running < amount, "{r}");
            }
            other => panic!("unexpected outcome {other}: {r}"),
        }
    }
    assert_eq!(balance(&u, USER), running);
    audited_once(&api, &u, &txns);
    for t in &txns {
        assert_eq!(remote_fires(&u, USER, t), 1, "{t}");
        assert_eq!(all_lines(&u, &format!("committed txn {t}")).len(), 1);
    }
    assert!(
        !all_lines(&u, "duplicate txn").is_empty(),
        "duplicates were delivered"
    );
    assert_clean(&u);
}

fn zombie_returns(lib: Library) {
    let api = AuditApi::start();
    let (a, b) = (0, 1);
    let mut u = universe(lib, 2, 36, &api, 0);
    u.run_for(2.0).unwrap();
    u.player_join(a, USER).unwrap();
    session_on(&mut u, a, 30.0);
    let before = txn_id(virtual_ms(&u), 1);
    u.publish(COMMANDS, &command(&u, &before, USER, Op::Give, 100));
    assert!(
        u.run_until(30.0, |u| in_ring(u, &before) && outbox(u, USER).is_empty())
            .unwrap()
    );
    // A loses the DataStore (and publishing) for longer than the library's steal time.
    u.cut_off(a, 200.0, true).unwrap();
    let zombie = txn_id(virtual_ms(&u), 2);
    let zm = command(&u, &zombie, USER, Op::Deduct, 60);
    u.publish(COMMANDS, &zm);
    u.run_for(3.0).unwrap();
    assert_eq!(
        lines(
            &u,
            a,
            &format!("txn {zombie} user {USER} deduct 60: applied")
        )
        .len(),
        1
    );
    u.player_join(b, USER).unwrap();
    session_on(&mut u, b, 190.0);
    assert!(publish_until_stored(&mut u, &zm, &zombie, 5.0, 60.0));
    // A comes back after the cut: its copy must never overwrite B's, and A tells nobody.
    u.run_for(240.0).unwrap();
    assert!(has_session(&u, b, USER), "B still holds");
    assert_eq!(balance(&u, USER), 40);
    let committed = all_lines(&u, &format!("committed txn {zombie}"));
    assert_eq!(committed.len(), 1, "{committed:?}");
    assert_eq!(committed[0].0, b);
    assert_eq!(remote_fires(&u, USER, &zombie), 1);
    audited_once(&api, &u, &[before.clone(), zombie.clone()]);
    assert_eq!(
        api.rows_of(&zombie)[0].record.server_job_id.as_deref(),
        Some(u.server(b).unwrap().job_id())
    );
    assert_clean(&u);
}

macro_rules! suite {
    ($m:ident, $lib:expr) => {
        mod $m {
            use super::*;
            #[test]
            fn hop_with_commands_in_flight() {
                super::hop_with_commands_in_flight($lib);
            }
            #[test]
            fn crash_after_apply_before_save() {
                super::crash_after_apply_before_save($lib);
            }
            #[test]
            fn crash_after_save_before_audit() {
                super::crash_after_save_before_audit($lib);
            }
            #[test]
            fn api_down_ten_virtual_minutes() {
                super::api_down_ten_minutes($lib);
            }
            #[test]
            fn message_drop_duplicate_reorder() {
                super::message_faults($lib);
            }
            #[test]
            fn zombie_returns_after_its_lock_was_taken() {
                super::zombie_returns($lib);
            }
        }
    };
}

suite!(profile_store, Library::ProfileStore);
suite!(profile_service, Library::ProfileService);
