//! The demo's driver: the sandbox it runs on, its players, and the steps checks are made of
//! (join, give, probe every server, read the audit rows).

use crate::app::Sandbox;
use crate::console::render;
use crate::stack::{DATASTORE, KEY_PREFIX, console_actor};
use bot::service::{Committer, MoveRequest, Outcome, Receipt, Target};
use shared::{Op, TxnId};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub(super) const ALICE: u64 = 1001;
pub(super) const BOB: u64 = 1002;
pub(super) const CAROL: u64 = 1003;
pub(super) const DAVE: u64 = 1004;
pub(super) const ERIN: u64 = 1005;
pub(super) const FRANK: u64 = 1006;

/// `/audit` page size checked.
pub(super) const AUDIT_N: u32 = 4;

pub(super) type Fail = String;

pub(super) struct Demo {
    pub(super) sb: Sandbox,
    pub(super) verbose: bool,
    /// Every txn the demo saw settle as applied or rejected-and-recorded: each needs one audit row.
    pub(super) committed: Vec<TxnId>,
}

pub(super) fn outcome_balance(o: &Outcome) -> Option<i64> {
    match o {
        Outcome::Applied { balance_after, .. } => Some(*balance_after),
        Outcome::Rejected { balance, .. } => Some(*balance),
        Outcome::AlreadyProcessed { original } => outcome_balance(original),
        _ => None,
    }
}

impl Demo {
    pub(super) fn say(&self, line: &str) {
        if self.verbose {
            println!("  · {line}");
        }
    }

    pub(super) async fn job(&self, server: usize) -> Result<String, Fail> {
        let snap = self.sb.world.snapshot().await.map_err(|e| e.to_string())?;
        snap.servers
            .get(server)
            .map(|s| s.job_id.clone())
            .filter(|j| !j.is_empty())
            .ok_or_else(|| format!("server {server} is not running"))
    }

    pub(super) async fn skipped(&self) -> f64 {
        self.sb.world.snapshot().await.map_or(0.0, |s| s.skipped_s)
    }

    /// Waits (real time) until `user`'s wallet session is held by `server`.
    pub(super) async fn wait_holder(
        &self,
        user: u64,
        server: usize,
        within: Duration,
    ) -> Result<(), Fail> {
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
    pub(super) async fn fast_forward_until_holder(
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

    pub(super) async fn join(&self, user: u64, server: usize) -> Result<(), Fail> {
        self.sb
            .world
            .join(user, server)
            .await
            .map_err(|e| format!("join {user} → server {server}: {e}"))
    }

    pub(super) async fn execute(
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
            println!("{}", render::receipt(&receipt, reason, None));
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

    pub(super) async fn give(
        &mut self,
        user: u64,
        amount: i64,
        reason: &str,
    ) -> Result<Receipt, Fail> {
        self.execute(Op::Give, user, amount, reason, None).await
    }

    /// Runs a probe on every running server: the balance each reads from the DataStore, and the
    /// holder's in-memory balance through the bridge's game API.
    pub(super) async fn probe(&self, user: u64) -> Result<BTreeMap<usize, (String, String)>, Fail> {
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

    pub(super) async fn audit_rows_for(&self, txn: &TxnId) -> Result<usize, Fail> {
        let rows = self.all_rows().await?;
        Ok(rows.iter().filter(|r| r.record.txn_id == *txn).count())
    }

    pub(super) async fn all_rows(&self) -> Result<Vec<api::LoggedRecord>, Fail> {
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

pub(super) fn applied_by(r: &Receipt) -> Result<(i64, &Committer), Fail> {
    match &r.outcome {
        Outcome::Applied {
            balance_after,
            committed_by,
        } => Ok((*balance_after, committed_by)),
        other => Err(format!("txn {} was not applied: {other:?}", r.txn)),
    }
}

pub(super) fn expect(cond: bool, msg: impl FnOnce() -> String) -> Result<(), Fail> {
    if cond { Ok(()) } else { Err(msg()) }
}
