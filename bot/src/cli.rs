//! The `economy-bot` command line: the same service the Discord commands use, for operators and
//! the local sandbox.

use crate::service::{BalanceView, Committer, Outcome, Receipt};
use clap::{Parser, Subcommand};
use shared::{AuditRecord, RecordOutcome, TxnId};

/// Economy Bridge bot: give / deduct / balance / audit from the command line.
#[derive(Debug, Parser)]
#[command(name = "economy-bot", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: CliCommand,
}

/// Arguments of give / deduct.
#[derive(Debug, clap::Args)]
pub struct MoveArgs {
    /// Roblox user id or username.
    pub target: String,
    /// Amount (a positive whole number).
    pub amount: i64,
    /// Why (1-200 characters; recorded in the audit log).
    #[arg(long)]
    pub reason: String,
    /// Replay an earlier command under its txn id.
    #[arg(long)]
    pub txn: Option<TxnId>,
    /// Confirm an amount above CONFIRM_ABOVE.
    #[arg(long)]
    pub yes: bool,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Credit a player's wallet.
    Give(MoveArgs),
    /// Debit a player's wallet (refused when the balance is short).
    Deduct(MoveArgs),
    /// Show a player's balance.
    Balance {
        /// Roblox user id or username.
        target: String,
    },
    /// List recent audit records.
    Audit {
        /// Only this Roblox user (id or username).
        #[arg(long)]
        user: Option<String>,
        /// Only this Discord actor id.
        #[arg(long)]
        actor: Option<String>,
        /// Records per page (1-100).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100))]
        limit: u32,
        /// Cursor printed by the previous page.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Settle pending txns and re-post unacknowledged audit records, then exit.
    Reconcile {
        /// Seconds to spend on each pending txn.
        #[arg(long, default_value_t = 30)]
        budget: u64,
    },
    /// Check the configuration and exit.
    CheckConfig,
    /// Run the Discord bot with the reconciler and the /healthz + /metrics endpoint until
    /// SIGTERM / Ctrl-C.
    Serve,
}

/// One line per outcome, in plain words.
pub fn render_outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Applied {
            balance_after,
            committed_by,
        } => {
            let by = match committed_by {
                Committer::Bot => "saved by the bot (player offline)".to_owned(),
                Committer::GameServer(Some(j)) => format!("saved by game server {j}"),
                Committer::GameServer(None) => "saved by the game server".to_owned(),
            };
            format!("applied: balance is now {balance_after} ({by})")
        }
        Outcome::Rejected { reason, balance } => {
            format!("rejected: {} (balance {balance})", reason.as_str())
        }
        Outcome::AlreadyProcessed { original } => {
            format!("already processed earlier: {}", render_outcome(original))
        }
        Outcome::NotDelivered => {
            "not delivered: no server applied it before it expired; nothing moved".to_owned()
        }
        Outcome::Pending => {
            "pending: not confirmed yet; the reconciler will follow it up".to_owned()
        }
    }
}

/// A receipt as text.
pub fn render_receipt(r: &Receipt) -> String {
    format!(
        "txn {}\n{} {} for {} (@{}, {})\n{}",
        r.txn,
        r.op.as_str(),
        r.amount,
        r.user.display_name,
        r.user.name,
        r.user.id,
        render_outcome(&r.outcome)
    )
}

/// A balance as text.
pub fn render_balance(b: &BalanceView) -> String {
    let live = if b.in_live_server {
        "in a live server (its unsaved balance may be newer)"
    } else {
        "not in a live server"
    };
    format!(
        "{} (@{}, {}): {} — {live}",
        b.user.display_name, b.user.name, b.user.id, b.balance
    )
}

/// An audit record as one line.
pub fn render_record(r: &AuditRecord) -> String {
    let outcome = match (r.outcome, r.reject_reason) {
        (RecordOutcome::Applied, _) => "applied".to_owned(),
        (RecordOutcome::Rejected, Some(reason)) => format!("rejected:{}", reason.as_str()),
        (RecordOutcome::Rejected, None) => "rejected".to_owned(),
    };
    format!(
        "{} {} user={} {} {} {} balance={} by={} reason={:?}",
        r.applied_at,
        r.txn_id,
        r.user_id,
        r.op.as_str(),
        r.amount,
        outcome,
        r.balance_after,
        r.actor_name.as_deref().unwrap_or(r.source.as_str()),
        r.reason
    )
}
