//! The acceptance checks, one function each, in table order.

use crate::console::render;
use crate::stack::{TOPIC, console_actor};
use bot::service::{Committer, Outcome, Target};
use shared::{Op, RecordOutcome, RejectReason, TxnId};
use std::time::{Duration, Instant};

use super::driver::*;

/// Row: a give to an online player is applied by the server that holds the session.
pub(super) async fn online_give(d: &mut Demo) -> Result<String, Fail> {
    for (user, server) in [(ALICE, 0), (BOB, 1), (CAROL, 2), (DAVE, 3)] {
        d.join(user, server).await?;
    }
    for (user, server) in [(ALICE, 0), (BOB, 1), (CAROL, 2), (DAVE, 3)] {
        d.wait_holder(user, server, Duration::from_secs(30)).await?;
    }
    d.say("alice, bob, carol and dave hold wallet sessions on servers 0-3");
    let r = d.give(ALICE, 100, "demo: welcome bonus").await?;
    let (balance, by) = applied_by(&r)?;
    expect(balance == 100, || {
        format!("balance after is {balance}, not 100")
    })?;
    let job0 = d.job(0).await?;
    let record =
        d.sb.stack
            .audit_client
            .get_txn(&r.txn, None)
            .await
            .map_err(|e| format!("audit read: {e}"))?
            .ok_or("the applied txn has no audit row")?;
    expect(
        record.record.server_job_id.as_deref() == Some(job0.as_str()),
        || {
            format!(
                "audit row names server {:?}, the holder is {job0}",
                record.record.server_job_id
            )
        },
    )?;
    expect(
        matches!(by, Committer::GameServer(j) if j.as_ref().is_none_or(|j| *j == job0)),
        || format!("receipt says committed by {by:?}"),
    )?;
    Ok(format!(
        "+100 applied by server 0 ({}…), balance 100, audit row names it",
        &job0[..8.min(job0.len())]
    ))
}

/// Row: every server reads the same balance.
pub(super) async fn same_balance(d: &mut Demo) -> Result<String, Fail> {
    let answers = d.probe(ALICE).await?;
    let view =
        d.sb.stack
            .service
            .balance(&console_actor(), &Target::Id(ALICE))
            .await
            .map_err(|e| format!("/balance: {e}"))?;
    let stored: Vec<&str> = answers.values().map(|(s, _)| s.as_str()).collect();
    expect(stored.iter().all(|s| *s == "100"), || {
        format!("servers read {answers:?}")
    })?;
    expect(
        answers.get(&0).map(|(_, l)| l.as_str()) == Some("100"),
        || format!("the holder's in-memory balance is {:?}", answers.get(&0)),
    )?;
    expect(view.balance == 100 && view.in_live_server, || {
        format!(
            "/balance says {} (live: {})",
            view.balance, view.in_live_server
        )
    })?;
    Ok(format!(
        "{} servers read 100 from the DataStore; holder's live balance 100; /balance 100",
        answers.len()
    ))
}

/// Row: a replayed txn changes nothing and is reported as already processed.
pub(super) async fn replay(d: &mut Demo, first: &TxnId) -> Result<String, Fail> {
    let r = d
        .execute(
            Op::Give,
            ALICE,
            100,
            "demo: welcome bonus",
            Some(first.clone()),
        )
        .await?;
    expect(
        matches!(&r.outcome, Outcome::AlreadyProcessed { original } if outcome_balance(original) == Some(100)),
        || format!("the replay answered {:?}", r.outcome),
    )?;
    // The same signed bytes again on the topic, as a duplicated / re-sent message would arrive.
    let row =
        d.sb.stack
            .service
            .db()
            .get(first)
            .await
            .map_err(|e| format!("bot db: {e}"))?
            .ok_or("the bot does not know its own txn")?;
    let from = d.sb.world.log_since(0).len();
    d.sb.stack
        .open_cloud
        .publish(d.sb.stack.universe_id, TOPIC, &row.message)
        .await
        .map_err(|e| format!("publish through Open Cloud: {e}"))?;
    let needle = format!("duplicate txn {first}");
    let start = Instant::now();
    let mut seen = false;
    while start.elapsed() < Duration::from_secs(10) && !seen {
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen =
            d.sb.world
                .log_since(from)
                .iter()
                .any(|l| l.server == Some(0) && l.text.contains(&needle));
    }
    expect(seen, || {
        "server 0 did not report the re-sent message as a duplicate".into()
    })?;
    let wallet =
        d.sb.stack
            .stored_wallet(ALICE)
            .ok_or("alice's wallet is unreadable")?;
    let in_ring = wallet.ring.iter().filter(|t| t.id == *first).count();
    expect(wallet.balance == 100 && in_ring == 1, || {
        format!(
            "stored balance {} with the txn {in_ring} times in the ring",
            wallet.balance
        )
    })?;
    let rows = d.audit_rows_for(first).await?;
    expect(rows == 1, || format!("{rows} audit rows for the txn"))?;
    Ok("bot: already processed (+100 earlier); server 0: duplicate, nothing changed; balance 100, 1 audit row".into())
}

/// Row: `/audit` lists the last N entries, newest first.
pub(super) async fn audit_last_n(d: &mut Demo) -> Result<String, Fail> {
    let mut issued = Vec::new();
    issued.push(d.give(BOB, 20, "demo: quest reward").await?);
    issued.push(d.give(CAROL, 5, "demo: bug report").await?);
    issued.push(
        d.execute(Op::Deduct, ALICE, 30, "demo: refund", None)
            .await?,
    );
    let rejected = d
        .execute(Op::Deduct, ALICE, 1_000, "demo: too much", None)
        .await?;
    expect(
        matches!(
            rejected.outcome,
            Outcome::Rejected {
                reason: RejectReason::InsufficientFunds,
                balance: 70
            }
        ),
        || format!("deducting 1000 from 70 answered {:?}", rejected.outcome),
    )?;
    issued.push(rejected);
    let page =
        d.sb.stack
            .service
            .audit(
                &console_actor(),
                &bot::service::AuditQuery {
                    limit: AUDIT_N,
                    ..bot::service::AuditQuery::default()
                },
            )
            .await
            .map_err(|e| format!("/audit: {e}"))?;
    if d.verbose {
        println!("{}", render::audit_page(&page, ""));
    }
    let want: Vec<&TxnId> = issued.iter().rev().map(|r| &r.txn).collect();
    let got: Vec<&TxnId> = page.records.iter().map(|r| &r.txn_id).collect();
    expect(got == want, || {
        format!("/audit limit:{AUDIT_N} listed {got:?}, expected {want:?}")
    })?;
    expect(
        page.records[0].outcome == RecordOutcome::Rejected
            && page.records[0].reject_reason == Some(RejectReason::InsufficientFunds),
        || "the newest row is not the recorded rejection".into(),
    )?;
    expect(page.next_cursor.is_some(), || {
        "no cursor to older rows".into()
    })?;
    Ok(format!(
        "limit:{AUDIT_N} → the {AUDIT_N} newest (incl. a recorded rejection), newest first, with a cursor"
    ))
}

/// Row: the lock holder crashes; after the library's timeout another server holds the wallet
/// and applies commands.
pub(super) async fn crash_takeover(d: &mut Demo) -> Result<(String, f64), Fail> {
    let r = d.give(DAVE, 10, "demo: before the crash").await?;
    applied_by(&r)?;
    let before = d.skipped().await;
    d.sb.world.crash(3).await.map_err(|e| e.to_string())?;
    d.say(
        "server 3 (dave's session holder) crashed: no BindToClose, the lock stays in the DataStore",
    );
    d.join(DAVE, 4).await?;
    let took = d.fast_forward_until_holder(DAVE, 4, 240.0).await?;
    d.say(&format!(
        "server 4 took dave's session over after {took:.0} virtual s"
    ));
    let r = d.give(DAVE, 15, "demo: after the crash").await?;
    let (balance, _) = applied_by(&r)?;
    let job4 = d.job(4).await?;
    let record =
        d.sb.stack
            .audit_client
            .get_txn(&r.txn, None)
            .await
            .map_err(|e| format!("audit read: {e}"))?
            .ok_or("no audit row for the give after the takeover")?;
    expect(balance == 25, || {
        format!("dave's balance is {balance}, expected 25")
    })?;
    expect(
        record.record.server_job_id.as_deref() == Some(job4.as_str()),
        || format!("applied by {:?}, not server 4", record.record.server_job_id),
    )?;
    let skipped = d.skipped().await - before;
    Ok((
        format!(
            "server 4 held dave's wallet {took:.0} s after asking (ProfileStore steals after 40 s); +15 applied there, balance 25"
        ),
        skipped,
    ))
}

/// Row: an offline player is credited by the bot's compare-and-swap write, and a server that
/// loads the wallet later carries on from it.
pub(super) async fn offline_credit(d: &mut Demo) -> Result<String, Fail> {
    expect(d.sb.stack.session_holder(ERIN).is_none(), || {
        "erin should be offline".into()
    })?;
    let r = d.give(ERIN, 25, "demo: offline gift").await?;
    let (balance, by) = applied_by(&r)?;
    expect(balance == 25 && *by == Committer::Bot, || {
        format!("applied by {by:?} to balance {balance}")
    })?;
    let wallet =
        d.sb.stack
            .stored_wallet(ERIN)
            .ok_or("erin's wallet is unreadable")?;
    expect(wallet.balance == 25, || {
        format!("stored balance {}", wallet.balance)
    })?;
    let row =
        d.sb.stack
            .audit_client
            .get_txn(&r.txn, None)
            .await
            .map_err(|e| format!("audit read: {e}"))?
            .ok_or("no audit row for the offline credit")?;
    expect(row.record.server_job_id.is_none(), || {
        "the row names a server".into()
    })?;
    d.join(ERIN, 5).await?;
    d.wait_holder(ERIN, 5, Duration::from_secs(30)).await?;
    let r = d.give(ERIN, 5, "demo: online again").await?;
    let (balance, _) = applied_by(&r)?;
    expect(balance == 30, || {
        format!("after joining, +5 gave {balance}, expected 30")
    })?;
    Ok(
        "+25 by the bot's compare-and-swap (no session), 1 audit row; server 5 loaded it, +5 → 30"
            .into(),
    )
}

/// Row: the API goes down; commands still settle; after it returns, every committed txn has
/// exactly one audit row and the chain verifies.
pub(super) async fn api_down(d: &mut Demo) -> Result<(String, f64), Fail> {
    let before = d.skipped().await;
    d.sb.stack.api.stop().await.map_err(|e| e.to_string())?;
    d.say("audit API stopped");
    let online = d.give(ALICE, 7, "demo: while the API is down").await?;
    let (balance, _) = applied_by(&online)?;
    expect(balance == 77, || {
        format!("alice's balance is {balance}, expected 77")
    })?;
    let offline = d
        .give(FRANK, 9, "demo: offline while the API is down")
        .await?;
    let (_, by) = applied_by(&offline)?;
    expect(*by == Committer::Bot, || {
        format!("frank's credit committed by {by:?}")
    })?;
    let wallet =
        d.sb.stack
            .stored_wallet(ALICE)
            .ok_or("alice's wallet is unreadable")?;
    expect(wallet.outbox.iter().any(|r| r.txn_id == online.txn), || {
        "the server's audit record is not in alice's wallet outbox".into()
    })?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    d.sb.stack.api.restart().await.map_err(|e| e.to_string())?;
    d.say("audit API back on the same port and database");
    let report =
        d.sb.stack
            .service
            .reconcile(Duration::from_secs(5))
            .await
            .map_err(|e| format!("reconcile: {e}"))?;
    d.say(&format!(
        "bot reconciler re-posted {} record(s)",
        report.audit_posted
    ));
    // The bridge retries with backoff (≤ 60 s) in virtual time.
    let mut spent = 0.0;
    while spent < 120.0 && d.audit_rows_for(&online.txn).await? == 0 {
        d.sb.world
            .fast_forward(2.0)
            .await
            .map_err(|e| e.to_string())?;
        tokio::time::sleep(Duration::from_millis(50)).await;
        spent += 2.0;
    }
    let rows = d.all_rows().await?;
    let mut missing = Vec::new();
    let mut doubled = Vec::new();
    for txn in &d.committed {
        match rows.iter().filter(|r| r.record.txn_id == *txn).count() {
            0 => missing.push(txn.to_string()),
            1 => {}
            _ => doubled.push(txn.to_string()),
        }
    }
    expect(missing.is_empty() && doubled.is_empty(), || {
        format!("missing audit rows {missing:?}, doubled {doubled:?}")
    })?;
    let verify =
        d.sb.stack
            .audit_client
            .verify()
            .await
            .map_err(|e| format!("verify: {e}"))?;
    expect(verify.ok, || {
        format!("the hash chain does not verify: {verify:?}")
    })?;
    let skipped = d.skipped().await - before;
    Ok((
        format!(
            "2 txns settled while down (server outbox + bot retry queue); all {} committed txns have exactly 1 row; chain verifies ({} rows)",
            d.committed.len(),
            rows.len()
        ),
        skipped,
    ))
}

/// Row: 7 servers, at most one writer per wallet on every DataStore write, no script errors.
pub(super) async fn single_writer(d: &Demo, servers: usize) -> Result<String, Fail> {
    let snap = d.sb.world.snapshot().await.map_err(|e| e.to_string())?;
    let writes = d.sb.world.writes();
    let moves =
        d.sb.world
            .log_since(0)
            .iter()
            .filter(|l| {
                l.server.is_none()
                    && (l.text.contains(" joins ")
                        || l.text.contains(" leaves")
                        || l.text.contains(" hops "))
            })
            .count();
    let errors: usize = snap.servers.iter().map(|s| s.script_errors).sum();
    expect(snap.servers.len() >= servers, || {
        format!("{} servers started", snap.servers.len())
    })?;
    expect(snap.violations.is_empty(), || {
        format!(
            "{} single-writer violations: {:?}",
            snap.violations.len(),
            snap.violations.first()
        )
    })?;
    expect(writes > 0, || "no DataStore writes were checked".into())?;
    expect(errors == 0, || format!("{errors} Luau script errors"))?;
    Ok(format!(
        "{servers} servers, {writes} DataStore writes checked, 0 violations, {moves} joins/leaves/hops, 0 script errors"
    ))
}
