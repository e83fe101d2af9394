//! `sandbox demo`: the seed's acceptance checks, end to end on the real pieces (7 game servers
//! running the Luau bridge on ProfileStore, the Open Cloud emulator over HTTP, the audit API on
//! SQLite, the bot's service), with a pass/fail table. Virtual time is paced to the wall clock
//! and fast-forwarded only where the library's own timeouts would take minutes; each row says
//! which.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bot::service::{Committer, MoveRequest, Outcome, Receipt, Target};
use shared::{Op, RecordOutcome, RejectReason, TxnId};

use crate::app::{Options, Sandbox};
use crate::console::render;
use crate::stack::{DATASTORE, KEY_PREFIX, TOPIC, console_actor};
use crate::world::Pace;

/// How a check used time.
#[derive(Clone, Debug, PartialEq)]
pub enum TimeUse {
    /// Virtual time paced to the wall clock (as a real universe runs).
    RealTime,
    /// Part of it ran in fast-forwarded virtual time (seconds skipped).
    FastForward(f64),
}

/// One row of the table.
#[derive(Clone, Debug)]
pub struct Check {
    /// What is checked.
    pub name: &'static str,
    /// Whether it held.
    pub passed: bool,
    /// How time was used.
    pub time: TimeUse,
    /// What was seen (numbers, ids).
    pub detail: String,
}

/// The demo's result.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The checks in order.
    pub checks: Vec<Check>,
    /// Wall time of the whole run.
    pub wall: Duration,
}

impl Report {
    /// Whether every check passed (and there was at least one).
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.passed)
    }

    /// The pass/fail table.
    pub fn table(&self) -> String {
        let name_w = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(5);
        let mut out = format!("{:<4}  {:<name_w$}  {:<22}  detail\n", "", "check", "time");
        for c in &self.checks {
            let time = match c.time {
                TimeUse::RealTime => "real time".to_owned(),
                TimeUse::FastForward(s) => format!("virtual, {s:.0} s skipped"),
            };
            out.push_str(&format!(
                "{:<4}  {:<name_w$}  {:<22}  {}\n",
                if c.passed { "PASS" } else { "FAIL" },
                c.name,
                time,
                c.detail
            ));
        }
        let failed = self.checks.iter().filter(|c| !c.passed).count();
        out.push_str(&format!(
            "{} of {} checks passed in {:.0} s{}",
            self.checks.len() - failed,
            self.checks.len(),
            self.wall.as_secs_f64(),
            if failed > 0 { " — FAILED" } else { "" }
        ));
        out
    }
}

/// Demo settings.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Seed of the universe and the simulated players.
    pub seed: u64,
    /// Game servers (the acceptance check asks for 7).
    pub servers: usize,
    /// Databases go here (temporary when `None`).
    pub data_dir: Option<std::path::PathBuf>,
    /// Print receipts and progress while running.
    pub verbose: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            seed: 20_261_122,
            servers: 7,
            data_dir: None,
            verbose: true,
        }
    }
}

const ALICE: u64 = 1001;
const BOB: u64 = 1002;
const CAROL: u64 = 1003;
const DAVE: u64 = 1004;
const ERIN: u64 = 1005;
const FRANK: u64 = 1006;

/// `/audit` page size checked.
const AUDIT_N: u32 = 4;

type Fail = String;

struct Demo {
    sb: Sandbox,
    verbose: bool,
    /// Every txn the demo saw settle as applied or rejected-and-recorded: each needs one audit row.
    committed: Vec<TxnId>,
}

fn outcome_balance(o: &Outcome) -> Option<i64> {
    match o {
        Outcome::Applied { balance_after, .. } => Some(*balance_after),
        Outcome::Rejected { balance, .. } => Some(*balance),
        Outcome::AlreadyProcessed { original } => outcome_balance(original),
        _ => None,
    }
}

impl Demo {
    fn say(&self, line: &str) {
        if self.verbose {
            println!("  · {line}");
        }
    }

    async fn job(&self, server: usize) -> Result<String, Fail> {
        let snap = self.sb.world.snapshot().await.map_err(|e| e.to_string())?;
        snap.servers
            .get(server)
            .map(|s| s.job_id.clone())
            .filter(|j| !j.is_empty())
            .ok_or_else(|| format!("server {server} is not running"))
    }

    async fn skipped(&self) -> f64 {
        self.sb.world.snapshot().await.map_or(0.0, |s| s.skipped_s)
    }

    /// Waits (real time) until `user`'s wallet session is held by `server`.
    async fn wait_holder(&self, user: u64, server: usize, within: Duration) -> Result<(), Fail> {
        let job = self.job(server).await?;
        let start = Instant::now();
        while start.elapsed() < within {
            if self.sb.stack.session_holder(user) == Some(job.clone()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!(
            "user {user}'s wallet session was not held by server {server} within {} s (holder: {:?})",
            within.as_secs(),
            self.sb.stack.session_holder(user)
        ))
    }

    /// Fast-forwards in steps until `user`'s session is held by `server`; returns virtual seconds.
    async fn fast_forward_until_holder(
        &self,
        user: u64,
        server: usize,
        max_s: f64,
    ) -> Result<f64, Fail> {
        let job = self.job(server).await?;
        let mut spent = 0.0;
        while spent < max_s {
            if self.sb.stack.session_holder(user) == Some(job.clone()) {
                return Ok(spent);
            }
            self.sb
                .world
                .fast_forward(2.0)
                .await
                .map_err(|e| e.to_string())?;
            spent += 2.0;
            // Let the async side (the emulator, the API) answer what the servers asked.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(format!(
            "user {user}'s session did not move to server {server} within {max_s:.0} virtual s"
        ))
    }

    async fn join(&self, user: u64, server: usize) -> Result<(), Fail> {
        self.sb
            .world
            .join(user, server)
            .await
            .map_err(|e| format!("join {user} → server {server}: {e}"))
    }

    async fn execute(
        &mut self,
        op: Op,
        user: u64,
        amount: i64,
        reason: &str,
        replay: Option<TxnId>,
    ) -> Result<Receipt, Fail> {
        let receipt = self
            .sb
            .stack
            .service
            .execute(MoveRequest {
                actor: console_actor(),
                op,
                target: Target::Id(user),
                amount,
                reason: reason.into(),
                replay,
            })
            .await
            .map_err(|e| format!("/{} user:{user} amount:{amount}: {e}", op.as_str()))?;
        if self.verbose {
            println!("{}", render::receipt(&receipt, reason));
        }
        match &receipt.outcome {
            Outcome::Applied { .. } => self.committed.push(receipt.txn.clone()),
            Outcome::Rejected { reason, .. } if reason.is_recorded() => {
                self.committed.push(receipt.txn.clone());
            }
            _ => {}
        }
        Ok(receipt)
    }

    async fn give(&mut self, user: u64, amount: i64, reason: &str) -> Result<Receipt, Fail> {
        self.execute(Op::Give, user, amount, reason, None).await
    }

    /// Runs a probe on every running server: the balance each reads from the DataStore, and the
    /// holder's in-memory balance through the bridge's game API.
    async fn probe(&self, user: u64) -> Result<BTreeMap<usize, (String, String)>, Fail> {
        let snap = self.sb.world.snapshot().await.map_err(|e| e.to_string())?;
        let running: Vec<usize> = snap
            .servers
            .iter()
            .filter(|s| s.state == "running")
            .map(|s| s.index)
            .collect();
        let nonce = TxnId::generate().to_string();
        let from = self.sb.world.log_since(0).len();
        let source = format!(
            r#"local DataStoreService = game:GetService("DataStoreService")
local Players = game:GetService("Players")
local ServerStorage = game:GetService("ServerStorage")
local ok, value = pcall(function()
	return DataStoreService:GetDataStore("{DATASTORE}"):GetAsync("{KEY_PREFIX}{user}")
end)
local stored = "none"
if not ok then
	stored = "error"
elseif type(value) == "table" and type(value.Data) == "table" and type(value.Data.balance) == "number" then
	stored = string.format("%d", value.Data.balance)
end
local live = "none"
local okLive, balance = pcall(function()
	local api = require(ServerStorage.EconomyBridge.Bridge).api()
	local player = Players:GetPlayerByUserId({user})
	if api ~= nil and player ~= nil then
		return api.getBalance(player)
	end
	return nil
end)
if okLive and type(balance) == "number" then
	live = string.format("%d", balance)
end
print("SANDBOX_PROBE {nonce} " .. stored .. " " .. live)
"#
        );
        for s in &running {
            self.sb
                .world
                .run_snippet(*s, source.clone())
                .await
                .map_err(|e| format!("probe on server {s}: {e}"))?;
        }
        let start = Instant::now();
        let mut answers = BTreeMap::new();
        while start.elapsed() < Duration::from_secs(15) && answers.len() < running.len() {
            tokio::time::sleep(Duration::from_millis(100)).await;
            for line in self.sb.world.log_since(from) {
                let (Some(server), Some(rest)) = (
                    line.server,
                    line.text.strip_prefix(&format!("SANDBOX_PROBE {nonce} ")),
                ) else {
                    continue;
                };
                let mut parts = rest.split(' ');
                let stored = parts.next().unwrap_or("?").to_owned();
                let live = parts.next().unwrap_or("?").to_owned();
                answers.insert(server, (stored, live));
            }
        }
        if answers.len() < running.len() {
            return Err(format!(
                "only {} of {} servers answered the balance probe",
                answers.len(),
                running.len()
            ));
        }
        Ok(answers)
    }

    async fn audit_rows_for(&self, txn: &TxnId) -> Result<usize, Fail> {
        let rows = self.all_rows().await?;
        Ok(rows.iter().filter(|r| r.record.txn_id == *txn).count())
    }

    async fn all_rows(&self) -> Result<Vec<api::LoggedRecord>, Fail> {
        let mut rows = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .sb
                .stack
                .audit_client
                .list(&api::ListParams {
                    limit: Some(500),
                    cursor: cursor.clone(),
                    ..api::ListParams::default()
                })
                .await
                .map_err(|e| format!("audit list: {e}"))?;
            rows.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(rows),
            }
        }
    }
}

fn applied_by(r: &Receipt) -> Result<(i64, &Committer), Fail> {
    match &r.outcome {
        Outcome::Applied {
            balance_after,
            committed_by,
        } => Ok((*balance_after, committed_by)),
        other => Err(format!("txn {} was not applied: {other:?}", r.txn)),
    }
}

fn expect(cond: bool, msg: impl FnOnce() -> String) -> Result<(), Fail> {
    if cond { Ok(()) } else { Err(msg()) }
}

/// Row: a give to an online player is applied by the server that holds the session.
async fn online_give(d: &mut Demo) -> Result<String, Fail> {
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
async fn same_balance(d: &mut Demo) -> Result<String, Fail> {
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
async fn replay(d: &mut Demo, first: &TxnId) -> Result<String, Fail> {
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
async fn audit_last_n(d: &mut Demo) -> Result<String, Fail> {
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
async fn crash_takeover(d: &mut Demo) -> Result<(String, f64), Fail> {
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
async fn offline_credit(d: &mut Demo) -> Result<String, Fail> {
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
async fn api_down(d: &mut Demo) -> Result<(String, f64), Fail> {
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
async fn single_writer(d: &Demo, servers: usize) -> Result<String, Fail> {
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

fn row(name: &'static str, time: TimeUse, result: Result<String, Fail>) -> Check {
    match result {
        Ok(detail) => Check {
            name,
            passed: true,
            time,
            detail,
        },
        Err(detail) => Check {
            name,
            passed: false,
            time,
            detail,
        },
    }
}

fn ff(skipped: f64) -> TimeUse {
    if skipped > 0.0 {
        TimeUse::FastForward(skipped)
    } else {
        TimeUse::RealTime
    }
}

/// The names of the checks, in table order.
pub const CHECKS: &[&str] = &[
    "online give applied by the lock holder",
    "same balance read from every server",
    "replayed txn ignored, reported as already processed",
    "/audit lists the last N entries",
    "lock holder crashes, another server continues",
    "offline player credited (bot's CAS)",
    "API down: no audit row lost",
    "7 servers, single writer",
];

/// Runs the demo. A check that cannot run (its precondition failed) fails with the reason;
/// nothing is ever reported as passed without being checked.
pub async fn run(options: DemoOptions) -> anyhow::Result<Report> {
    let started = Instant::now();
    let verbose = options.verbose;
    let status: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(move |line: &str| {
        if verbose {
            println!("▸ {line}");
        }
    });
    let sandbox = Sandbox::start(
        Options {
            servers: options.servers,
            seed: options.seed,
            data_dir: options.data_dir.clone(),
            players: 12,
            online: 6,
            churn_per_minute: 12.0,
            pace: Pace::PacedVirtual,
            ..Options::default()
        },
        status,
    )
    .await;
    let sandbox = match sandbox {
        Ok(s) => s,
        Err(e) => {
            // Nothing could run: every row fails with the reason.
            let reason = format!("the sandbox did not start: {e:#}");
            return Ok(Report {
                checks: CHECKS
                    .iter()
                    .map(|name| row(name, TimeUse::RealTime, Err(reason.clone())))
                    .collect(),
                wall: started.elapsed(),
            });
        }
    };
    let mut d = Demo {
        sb: sandbox,
        verbose,
        committed: Vec::new(),
    };
    let mut checks = Vec::new();

    let first = online_give(&mut d).await;
    let first_txn = d.committed.first().cloned();
    let first_ok = first.is_ok();
    checks.push(row(CHECKS[0], TimeUse::RealTime, first));
    let needs_first = || Err::<String, Fail>("skipped: the first give did not apply".into());
    checks.push(row(
        CHECKS[1],
        TimeUse::RealTime,
        if first_ok {
            same_balance(&mut d).await
        } else {
            needs_first()
        },
    ));
    checks.push(row(
        CHECKS[2],
        TimeUse::RealTime,
        match (&first_txn, first_ok) {
            (Some(txn), true) => replay(&mut d, &txn.clone()).await,
            _ => needs_first(),
        },
    ));
    checks.push(row(
        CHECKS[3],
        TimeUse::RealTime,
        if first_ok {
            audit_last_n(&mut d).await
        } else {
            needs_first()
        },
    ));
    let (crash, skipped) = match crash_takeover(&mut d).await {
        Ok((detail, s)) => (Ok(detail), s),
        Err(e) => (Err(e), 0.0),
    };
    checks.push(row(CHECKS[4], ff(skipped), crash));
    checks.push(row(
        CHECKS[5],
        TimeUse::RealTime,
        offline_credit(&mut d).await,
    ));
    let (down, skipped) = if first_ok {
        match api_down(&mut d).await {
            Ok((detail, s)) => (Ok(detail), s),
            Err(e) => (Err(e), 0.0),
        }
    } else {
        (needs_first(), 0.0)
    };
    checks.push(row(CHECKS[6], ff(skipped), down));
    let total_skipped = d.skipped().await;
    checks.push(row(
        CHECKS[7],
        ff(total_skipped),
        single_writer(&d, options.servers).await,
    ));
    if let Err(e) = d.sb.shutdown().await {
        tracing::warn!(error = %e, "sandbox shutdown after the demo");
    }
    Ok(Report {
        checks,
        wall: started.elapsed(),
    })
}
