//! The `economy-bot` command line: the same arguments, flows and words as the Discord commands
//! (`crate::frontend`), read from the command line and printed as text.

use crate::frontend::Members;
use crate::frontend::args::split_member;
use crate::frontend::flow::{self, FollowUp};
use crate::frontend::payout::{self, PayoutPreview, PayoutResult, PayoutUi};
use crate::frontend::words::{self, Card, PlainText};
use crate::frontend::{
    AuditArgs, AuditInput, BalanceArgs, Confirm, Decision, Failure, MoveArgs, MoveInput,
    MoveResult, PageLimits, PayoutArgs, PayoutInput, Prompt, ReverseArgs, ReverseInput,
};
use crate::links::MemberLink;
use crate::service::{ActorCtx, BatchCounts, BoxFut, RobloxUser, Service};
use clap::{Parser, Subcommand};
use shared::{Op, TxnId};

/// Economy Bridge bot: give / deduct / reverse / balance / audit from the command line.
#[derive(Debug, Parser)]
#[command(name = "economy-bot", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: CliCommand,
}

/// Options of give / deduct as typed (checked by the shared rules).
#[derive(Debug, clap::Args)]
pub struct MoveOptions {
    /// Roblox user id or username, or `member:<Discord user id>` (the member's linked account;
    /// needs LINK_SOURCES and DISCORD_GUILD_ID).
    pub target: String,
    /// Amount (a positive whole number).
    pub amount: i64,
    /// Why (1-200 characters; recorded in the audit log).
    #[arg(long)]
    pub reason: String,
    /// Replay an earlier command under its txn id.
    #[arg(long)]
    pub txn: Option<String>,
    /// Confirm an amount above CONFIRM_ABOVE.
    #[arg(long)]
    pub yes: bool,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Credit a player's wallet.
    Give(MoveOptions),
    /// Debit a player's wallet (refused when the balance is short).
    Deduct(MoveOptions),
    /// Undo an applied movement: the opposite movement of its amount, once per txn.
    Reverse {
        /// Txn id of the movement to undo.
        txn: String,
        /// Why (1-200 characters; recorded in the audit log).
        #[arg(long)]
        reason: String,
        /// Confirm an amount above CONFIRM_ABOVE.
        #[arg(long)]
        yes: bool,
    },
    /// Pay many players the same amount at once (always needs --yes): the preview, progress,
    /// then the summary and every player's outcome as CSV.
    #[command(group(clap::ArgGroup::new("who").required(true).args(["players", "file"])))]
    Payout {
        /// Amount each player gets.
        #[arg(long)]
        amount: i64,
        /// Why (1-200 characters; recorded in the audit log for every player).
        #[arg(long)]
        reason: String,
        /// Roblox user ids / usernames, separated by commas, spaces or semicolons.
        #[arg(long)]
        players: Option<String>,
        /// A CSV file whose first column lists the players (a header row is skipped).
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        /// Write every player's outcome as CSV to this file (default: after the summary).
        #[arg(long)]
        report: Option<std::path::PathBuf>,
        /// Confirm the payout (shown first).
        #[arg(long)]
        yes: bool,
    },
    /// Run every payout a crash or restart interrupted to its end (`serve` does this on start).
    ResumePayouts,
    /// Show a player's balance.
    Balance {
        /// Roblox user id or username, or `member:<Discord user id>` (the member's linked account).
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
        /// Records per page (1-100, default 20).
        #[arg(long)]
        limit: Option<i64>,
        /// Cursor printed by the previous page.
        #[arg(long)]
        cursor: Option<String>,
        /// From this UTC date or date-time on (2026-12-01, 2026-12-01T14:30, 2026-12-01 14:30:05).
        #[arg(long)]
        since: Option<String>,
        /// Up to this UTC date-time, or through the end of this UTC date (2026-12-07).
        #[arg(long)]
        until: Option<String>,
        /// Sums given and deducted per staff member and per player instead of records.
        #[arg(long)]
        totals: bool,
    },
    /// Settle pending txns and re-post unacknowledged audit records, then exit.
    Reconcile {
        /// Seconds to spend on each pending txn.
        #[arg(long, default_value_t = 30)]
        budget: u64,
    },
    /// The log channel's dead letters (movements set aside after too many failed posts).
    LogChannel {
        /// List them, or put them back in the queue.
        #[command(subcommand)]
        action: LogChannelAction,
    },
    /// Check the configuration and exit.
    CheckConfig,
    /// Print the link a server admin opens to add the bot (scopes `bot` and
    /// `applications.commands`, the permissions the log channel needs); reads no configuration.
    InviteUrl {
        /// The application id (Developer Portal, General Information).
        application_id: u64,
    },
    /// Check the deployment with the real settings, without moving money: one line per check
    /// (audit API, Open Cloud key, Discord), non-zero exit on any problem.
    Doctor {
        /// Also run the live canary: the bridge's self-test in a server of this test place
        /// (Open Cloud Luau Execution).
        #[arg(long)]
        canary_place: Option<u64>,
        /// The place version the canary runs (default: the current one).
        #[arg(long, requires = "canary_place")]
        canary_version: Option<u64>,
    },
    /// Run the Discord bot with the reconciler and the /healthz + /metrics endpoint until
    /// SIGTERM / Ctrl-C.
    Serve,
}

/// `log-channel` subcommands.
#[derive(Debug, Subcommand)]
pub enum LogChannelAction {
    /// List the dead letters: txn id, when it settled, failed posts, the last error.
    DeadLetters,
    /// Put dead letters back in the queue with fresh attempts; the running bot posts them.
    #[command(group(clap::ArgGroup::new("which").required(true).args(["txn", "all"])))]
    Retry {
        /// The txn id of one dead letter.
        txn: Option<String>,
        /// Every dead letter.
        #[arg(long)]
        all: bool,
    },
}

/// `audit` pages.
pub const PAGES: PageLimits = PageLimits {
    default: 20,
    max: 100,
};

/// How the CLI writes the shared words: plain text, options as `--name`.
pub const DIALECT: PlainText = PlainText {
    option: |name| format!("--{name}"),
};

/// A card as text: the title, then one `Label: value` line per field, then the small print.
pub fn draw(card: &Card) -> String {
    let mut out = vec![card.title.clone()];
    out.extend(card.description.iter().map(|d| format!("  {d}")));
    for f in &card.fields {
        let value = f.value.replace('\n', "\n    ");
        out.push(format!("  {}: {value}", f.name));
    }
    out.extend(card.footer.iter().map(|f| format!("  {f}")));
    out.join("\n")
}

/// An audit record as one line: the headline, then the details.
pub fn record_line(r: &shared::AuditRecord) -> String {
    record_line_named(r, &crate::service::names::Names::new())
}

/// [`record_line`] with the player's username next to the id when `names` has it.
pub fn record_line_named(r: &shared::AuditRecord, names: &crate::service::names::Names) -> String {
    let (head, details) = words::record_line_named(r, names, 200, &DIALECT);
    format!("{head} · {}", details.replace('\n', " · "))
}

/// A failure for stderr: the member-facing words; internals go to the log under the reference.
fn failure(e: impl Into<Failure>) -> anyhow::Error {
    let e = e.into();
    let reference = crate::frontend::error::new_reference();
    if e.is_internal() {
        tracing::error!(reference = %reference, error = %e, "command failed");
    }
    anyhow::anyhow!(e.user_message(&reference))
}

/// `--yes` answers the confirmation; "sending" is printed so the resolved player shows first.
struct Flag {
    yes: bool,
    /// The member the player was named through (shown on "sending" and the receipt).
    member: Option<MemberLink>,
}

impl Confirm for Flag {
    type Error = Failure;

    fn confirm<'a>(&'a mut self, p: Prompt<'a>) -> BoxFut<'a, Result<Decision, Failure>> {
        let decision = if self.yes {
            Decision::Confirmed
        } else {
            Decision::Cancelled(crate::frontend::CancelReason::NotConfirmed {
                flag: "--yes",
                threshold: p.threshold,
            })
        };
        Box::pin(async move { Ok(decision) })
    }

    fn named_through(&mut self, link: &MemberLink) {
        self.member = Some(link.clone());
    }

    fn working<'a>(
        &'a mut self,
        op: Op,
        amount: i64,
        player: &'a RobloxUser,
    ) -> BoxFut<'a, Result<(), Failure>> {
        let card = with_member(
            words::working(op, amount, player, &DIALECT),
            self.member.as_ref(),
        );
        println!("{}", draw(&card));
        Box::pin(async { Ok(()) })
    }
}

/// `give` / `deduct`: prints the receipt; a cancel or a failure is the error (non-zero exit).
pub async fn run_move(
    service: &Service,
    actor: ActorCtx,
    op: Op,
    o: MoveOptions,
    members: Option<Members<'_>>,
) -> anyhow::Result<()> {
    let (user, member) = split_member(&o.target).map_err(failure)?;
    let input = MoveInput {
        user,
        member,
        amount: o.amount,
        reason: o.reason,
        txn: o.txn,
    };
    let args = MoveArgs::parse(&input, service.config().limits.max_amount).map_err(failure)?;
    let mut flag = Flag {
        yes: o.yes,
        member: None,
    };
    let result =
        flow::run_move_with(service, actor, op, args, members, &mut flag, FollowUp::NONE).await;
    // The same labels as Discord's (a no-op without the daemon's recorder).
    let label = result
        .as_ref()
        .map_or_else(Failure::metric_label, MoveResult::metric_label);
    crate::metrics::command(op.as_str(), label);
    print_result(result.map_err(failure)?, flag.member.as_ref())
}

/// `reverse`: prints the receipt; a cancel or a failure is the error (non-zero exit).
pub async fn run_reverse(
    service: &Service,
    actor: ActorCtx,
    txn: String,
    reason: String,
    yes: bool,
) -> anyhow::Result<()> {
    let args = ReverseArgs::parse(&ReverseInput { txn, reason }).map_err(failure)?;
    let mut flag = Flag { yes, member: None };
    let result = flow::run_reverse(service, actor, args, &mut flag, FollowUp::NONE).await;
    let label = result
        .as_ref()
        .map_or_else(Failure::metric_label, MoveResult::metric_label);
    crate::metrics::command("reverse", label);
    print_result(result.map_err(failure)?, None)
}

/// `card` with the member the player was named through, when one was.
fn with_member(card: Card, member: Option<&MemberLink>) -> Card {
    match member {
        Some(link) => card.with_member(link, &DIALECT),
        None => card,
    }
}

/// A give / deduct / reverse that ran: the receipt, or the cancel as the error.
fn print_result(result: MoveResult, member: Option<&MemberLink>) -> anyhow::Result<()> {
    match result {
        MoveResult::Cancelled { op, amount, why } => {
            anyhow::bail!("{}", draw(&words::cancelled(op, amount, why)))
        }
        MoveResult::Done(r) | MoveResult::SettledLater(r) | MoveResult::StillPending(r) => {
            let card = with_member(words::receipt(&r, None, &DIALECT), member);
            println!("{}", draw(&card));
            Ok(())
        }
    }
}

/// A payout's options as the CLI read them.
#[derive(Debug)]
pub struct PayoutOptions {
    /// Amount per player.
    pub amount: i64,
    /// Why.
    pub reason: String,
    /// Pasted list.
    pub players: Option<String>,
    /// CSV file.
    pub file: Option<std::path::PathBuf>,
    /// Where the outcome CSV goes.
    pub report: Option<std::path::PathBuf>,
    /// Confirmed.
    pub yes: bool,
}

/// Largest CSV file a payout reads (10,000 rows of ids and names fit many times over).
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// `--yes` answers the payout's confirmation; the preview and progress are printed.
struct PayoutFlag {
    yes: bool,
    last_shown: usize,
}

impl PayoutUi for PayoutFlag {
    type Error = Failure;

    fn confirm_payout<'a>(
        &'a mut self,
        preview: &'a PayoutPreview,
    ) -> BoxFut<'a, Result<Decision, Failure>> {
        println!("{}", draw(&words::payout_preview(preview, &DIALECT)));
        let decision = if self.yes {
            Decision::Confirmed
        } else {
            Decision::Cancelled(crate::frontend::CancelReason::NotConfirmed {
                flag: "--yes",
                threshold: 0,
            })
        };
        Box::pin(async move { Ok(decision) })
    }

    fn progress<'a>(&'a mut self, counts: &'a BatchCounts) -> BoxFut<'a, ()> {
        // A line per 100 settled items (and the last), not one per player.
        let settled = counts.settled();
        if settled >= self.last_shown + 100
            || (settled == counts.players && settled != self.last_shown)
        {
            self.last_shown = settled;
            println!(
                "{}",
                draw(&words::payout_progress(counts, &DIALECT))
                    .lines()
                    .next()
                    .unwrap_or_default()
            );
        }
        Box::pin(async {})
    }
}

/// `payout`: the preview, progress lines, the summary and the outcome CSV.
pub async fn run_payout(
    service: &Service,
    actor: ActorCtx,
    o: PayoutOptions,
) -> anyhow::Result<()> {
    let file = match &o.file {
        Some(path) => {
            let size = std::fs::metadata(path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?
                .len();
            if size > MAX_FILE_BYTES {
                anyhow::bail!("{} is larger than {MAX_FILE_BYTES} bytes", path.display());
            }
            Some(
                std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("cannot read {} as text: {e}", path.display()))?,
            )
        }
        None => None,
    };
    let input = PayoutInput {
        amount: o.amount,
        reason: o.reason,
        role: None,
        players: o.players,
        file,
    };
    let config = service.config();
    let args = PayoutArgs::parse(&input, config.limits.max_amount, config.bulk.max_items)
        .map_err(failure)?;
    let mut ui = PayoutFlag {
        yes: o.yes,
        last_shown: 0,
    };
    let result = payout::run_payout(service, actor, args, None, &mut ui).await;
    let label = result
        .as_ref()
        .map_or_else(Failure::metric_label, PayoutResult::metric_label);
    crate::metrics::command("payout", label);
    match result.map_err(failure)? {
        PayoutResult::Cancelled { preview, why } => {
            anyhow::bail!("{}", draw(&words::payout_cancelled(&preview, why)))
        }
        PayoutResult::Done { preview, report } => {
            println!("{}", draw(&words::payout_done(&preview, &report, &DIALECT)));
            let csv = words::payout_csv(&report);
            match &o.report {
                Some(path) => {
                    std::fs::write(path, csv)
                        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                    println!("  outcomes: {}", path.display());
                }
                None => print!("{csv}"),
            }
            Ok(())
        }
    }
}

/// `balance`.
pub async fn run_balance(
    service: &Service,
    actor: &ActorCtx,
    user: &str,
    members: Option<Members<'_>>,
) -> anyhow::Result<()> {
    let (user, member) = split_member(user).map_err(failure)?;
    let args = BalanceArgs::parse_one(user.as_deref(), member).map_err(failure)?;
    let answer = flow::run_balance_with(service, actor, &args, members)
        .await
        .map_err(failure)?;
    let card = with_member(
        words::balance(&answer.view, &DIALECT),
        answer.member.as_ref(),
    );
    println!("{}", draw(&card));
    Ok(())
}

/// `log-channel dead-letters` / `log-channel retry`.
pub async fn run_log_channel(service: &Service, action: LogChannelAction) -> anyhow::Result<()> {
    match action {
        LogChannelAction::DeadLetters => {
            let letters = service.log_dead_letters().await?;
            if letters.is_empty() {
                println!("no dead letters");
            }
            for l in letters {
                println!(
                    "{} · settled {} · {} failed posts · {}",
                    l.txn,
                    words::utc(l.settled_at_ms),
                    l.attempts,
                    l.error
                );
            }
        }
        LogChannelAction::Retry { txn, .. } => {
            let txn = match txn {
                Some(t) => Some(t.trim().parse::<TxnId>().map_err(|_| {
                    anyhow::anyhow!("{t:?} is not a txn id (26 characters, as listed)")
                })?),
                None => None,
            };
            let back = service.retry_log_dead_letters(txn.as_ref()).await?;
            if let Some(t) = &txn
                && back == 0
            {
                anyhow::bail!(
                    "{t} is not a dead letter (see `economy-bot log-channel dead-letters`)"
                );
            }
            println!(
                "{back} dead letter(s) back in the queue; the running bot posts them on its next pass"
            );
        }
    }
    Ok(())
}

/// `audit`: one record per line, newest first, then how to get the next page.
pub async fn run_audit(
    service: &Service,
    actor: &ActorCtx,
    input: &AuditInput,
) -> anyhow::Result<()> {
    let args = AuditArgs::parse(input, PAGES, service.clock().now_ms()).map_err(failure)?;
    if args.totals {
        let answer = flow::run_audit_totals(service, actor, &args, None)
            .await
            .map_err(failure)?;
        let filter = words::audit_filter(answer.player.as_ref(), answer.actor.as_deref(), &DIALECT);
        println!("{}", draw(&words::audit_totals(&filter, &answer, &DIALECT)));
        return Ok(());
    }
    let answer = flow::run_audit(service, actor, &args, None)
        .await
        .map_err(failure)?;
    for record in &answer.page.records {
        println!("{}", record_line_named(record, &answer.names));
    }
    if let Some(next) = answer.page.next_cursor {
        println!("next page: --cursor {next}");
    }
    Ok(())
}
