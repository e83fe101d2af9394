//! Which changes a saved wallet document proves stored (`SessionAdapter.documentContains`).

use crate::vm::Bridge;

/// Regression (issue 19, found by the whole-system campaign): a stale session and the live
/// session of one server both applied the same txn id; the stale session's save reported the
/// live session's document, whose record of that txn carries this server's JobId. Only the
/// record with the change's own `appliedAt` proves the change stored.
#[test]
fn a_record_of_the_same_txn_by_another_session_of_this_server_proves_nothing() {
    let b = Bridge::new();
    let (other_session, this_session, other_server, removal): (bool, bool, bool, bool) = b.eval(
        r#"
        local SessionAdapter = require(script.Parent.SessionAdapter)
        local saved = { outbox = { { txnId = "T1", serverJobId = "job-a", appliedAt = 2000 } } }
        local function change(at: number?)
            return { kind = "txn", txnId = "T1", mark = 1, appliedAt = at }
        end
        return SessionAdapter.documentContains(saved, change(1000), "job-a"),
            SessionAdapter.documentContains(saved, change(2000), "job-a"),
            SessionAdapter.documentContains(saved, change(2000), "job-b"),
            SessionAdapter.documentContains(saved, { kind = "removal", txnId = "T1", mark = 2 }, "job-a")
        "#,
    );
    assert!(
        !other_session,
        "another session's record of the txn is not this change"
    );
    assert!(
        this_session,
        "the record this session wrote proves its change stored"
    );
    assert!(!other_server, "another server's record proves nothing");
    assert!(
        !removal,
        "the record is still there: its removal is not stored"
    );
}
