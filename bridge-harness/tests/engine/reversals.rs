//! Reversals online (docs/protocol.md §2.1): the session holder applies a reversal once, however
//! often it is delivered; the ring entry and the audit record name the original; a second
//! reversal of the same original under another id is refused by the apply rule itself.

use crate::support::*;
use roblox_emu::Library;
use shared::{Op, TxnId};

const USER: u64 = 11;

fn committed(u: &mut roblox_emu::Universe, txn: &str) {
    assert!(
        u.run_until(60.0, |u| !all_lines(u, &format!("committed txn {txn}"))
            .is_empty()
            && outbox(u, USER).is_empty())
            .unwrap(),
        "{txn} committed and acknowledged: {:?}",
        all_lines(u, "")
    );
}

fn online_reversal_applies_once(lib: Library) {
    let api = AuditApi::start();
    let holder_ix = 3;
    let mut u = universe(lib, 5, 31, &api, 0);
    u.run_for(2.0).unwrap();
    u.player_join(holder_ix, USER).unwrap();
    assert!(
        u.run_until(30.0, |u| has_session(u, holder_ix, USER))
            .unwrap()
    );

    let give = txn_id(virtual_ms(&u), 1);
    u.publish(COMMANDS, &command(&u, &give, USER, Op::Give, 50));
    committed(&mut u, &give);

    // The bot derives the reversal's id from the original: every retry is the same txn.
    let rev = give.parse::<TxnId>().unwrap().reversal_id().to_string();
    let msg = reversal(&u, &rev, &give, USER, Op::Deduct, 50);
    u.publish(COMMANDS, &msg);
    u.publish(COMMANDS, &msg);
    u.run_for(0.2).unwrap();
    u.publish(COMMANDS, &msg);
    committed(&mut u, &rev);
    u.run_for(3.0).unwrap();

    let applied = all_lines(&u, &format!("txn {rev} user {USER} deduct 50: applied"));
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert_eq!(applied[0].0, holder_ix, "only the holder applies");
    assert!(
        applied[0].1.contains(&format!("reversal of {give}")),
        "{applied:?}"
    );
    assert_eq!(balance(&u, USER), 0);
    let ring = ring(&u, USER);
    assert_eq!(ring.len(), 2, "{ring:?}");
    assert_eq!(ring[1]["id"], rev.as_str());
    assert_eq!(ring[1]["reverses"], give.as_str());
    assert!(ring[0].get("reverses").is_none(), "{ring:?}");
    assert_eq!(remote_fires(&u, USER, &rev), 1);
    let rows = api.rows_of(&rev);
    assert_eq!(rows.len(), 1, "one audit row");
    assert_eq!(
        rows[0].record.reverses.as_ref().map(|t| t.to_string()),
        Some(give.clone())
    );
    assert_eq!(rows[0].record.op, Op::Deduct);

    // A sender that minted its own id for a second reversal: refused by the apply rule, recorded.
    let rogue = txn_id(virtual_ms(&u), 9);
    u.publish(COMMANDS, &reversal(&u, &rogue, &give, USER, Op::Deduct, 50));
    committed(&mut u, &rogue);
    assert_eq!(balance(&u, USER), 0);
    let ring = self::ring(&u, USER);
    assert_eq!(ring.len(), 3, "{ring:?}");
    assert_eq!(ring[2]["rejectReason"], "already_reversed");
    let rows = api.rows_of(&rogue);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].record.reject_reason,
        Some(shared::RejectReason::AlreadyReversed)
    );
    assert_eq!(api.rows().len(), 3);
    assert_clean(&u);
}

#[test]
fn online_reversal_applies_once_profile_store() {
    online_reversal_applies_once(Library::ProfileStore);
}

#[test]
fn online_reversal_applies_once_profile_service() {
    online_reversal_applies_once(Library::ProfileService);
}
