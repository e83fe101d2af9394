//! The console: Discord's commands typed as text, run through the bot's service against the
//! emulated universe, answered with receipts drawn as Discord embeds.
//!
//! Arguments, flows and words are the bot's shared front-end layer (`bot::frontend`); the
//! console reads text and draws the answers, and keeps its own sandbox commands.
//!
//! - [`parse`]: the command language.
//! - [`render`]: the shared words drawn as text boxes.

pub mod parse;
pub mod render;

use bot::frontend::flow::{self, FollowUp};
use bot::frontend::link;
use bot::frontend::payout::{self, PayoutPreview, PayoutResult, PayoutUi};
use bot::frontend::words;
use bot::frontend::{
    AuditArgs, BalanceArgs, CancelReason, Confirm, Decision, Failure, MemberRef, Members,
    MoveResult, Prompt, Who,
};
use bot::links::stored::StoredSource;
use bot::links::{Freshness, LinkSource, Links, MemberLink};
use bot::service::{BoxFut, Target};
use shared::Op;
use std::sync::Arc;
use std::time::Duration;

use crate::app::Sandbox;
use crate::stack::console_actor;
use parse::{ConsoleCommand, ConsoleMove, ConsolePayout, ConsoleReverse, Rules};

/// What running a command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Text to show.
    Text(String),
    /// The operator asked to quit.
    Quit,
}

/// A command that did not go through: the shared words in a refusal box; internals to the log.
fn failure(command: &str, e: impl Into<Failure>) -> String {
    let e = e.into();
    let reference = bot::frontend::error::new_reference();
    if e.is_internal() {
        tracing::error!(reference = %reference, error = %e, "console command failed");
    }
    render::refusal(command, &e.user_message(&reference))
}

/// The console's one Discord server: members named with `member:<id>` are looked up there.
pub const CONSOLE_GUILD: u64 = 1;

/// The console's account links: staff links in the bot database (set with `/link set`), the
/// same layer the bot's Discord commands use.
fn console_links(sb: &Sandbox) -> Links {
    let service = &sb.stack.service;
    let staff: Arc<dyn LinkSource> = Arc::new(StoredSource::staff(service.db().clone()));
    let freshness = Freshness {
        linked: Duration::from_secs(86_400),
        not_linked: Duration::from_secs(300),
    };
    Links::new(
        vec![staff],
        service.db().clone(),
        service.clock().clone(),
        freshness,
    )
}

/// `confirm:yes` stands in for Discord's Confirm button.
struct ConfirmOption(bool, Option<MemberLink>);

impl Confirm for ConfirmOption {
    type Error = Failure;

    fn confirm<'a>(&'a mut self, p: Prompt<'a>) -> BoxFut<'a, Result<Decision, Failure>> {
        let decision = if self.0 {
            Decision::Confirmed
        } else {
            Decision::Cancelled(CancelReason::NotConfirmed {
                flag: "confirm:yes",
                threshold: p.threshold,
            })
        };
        Box::pin(async move { Ok(decision) })
    }

    fn named_through(&mut self, link: &MemberLink) {
        self.1 = Some(link.clone());
    }
}

async fn run_move(sb: &Sandbox, op: Op, cmd: ConsoleMove) -> String {
    let command = format!("/{}", op.as_str());
    if let Who::Player(Target::Id(id)) = cmd.args.target {
        sb.know_user_if_playing(id).await;
    }
    let reason = cmd.args.reason.clone();
    let mut confirm = ConfirmOption(cmd.confirm, None);
    let service = &sb.stack.service;
    let links = console_links(sb);
    let members = Members {
        guild_id: CONSOLE_GUILD,
        links: Some(&links),
    };
    let result = flow::run_move_with(
        service,
        console_actor(),
        op,
        cmd.args,
        Some(members),
        &mut confirm,
        FollowUp::NONE,
    )
    .await;
    // The same labels as Discord's (a no-op without a metrics recorder).
    let label = result
        .as_ref()
        .map_or_else(Failure::metric_label, MoveResult::metric_label);
    bot::metrics::command(op.as_str(), label);
    match result {
        Ok(MoveResult::Cancelled { op, amount, why }) => render::cancelled(op, amount, why),
        Ok(MoveResult::Done(r) | MoveResult::SettledLater(r) | MoveResult::StillPending(r)) => {
            render::receipt(&r, &reason, confirm.1.as_ref())
        }
        Err(e) => failure(&command, e),
    }
}

async fn run_reverse(sb: &Sandbox, cmd: ConsoleReverse) -> String {
    let reason = cmd.args.reason.clone();
    let mut confirm = ConfirmOption(cmd.confirm, None);
    let service = &sb.stack.service;
    let result = flow::run_reverse(
        service,
        console_actor(),
        cmd.args,
        &mut confirm,
        FollowUp::NONE,
    )
    .await;
    let label = result
        .as_ref()
        .map_or_else(Failure::metric_label, MoveResult::metric_label);
    bot::metrics::command("reverse", label);
    match result {
        Ok(MoveResult::Cancelled { op, amount, why }) => render::cancelled(op, amount, why),
        Ok(MoveResult::Done(r) | MoveResult::SettledLater(r) | MoveResult::StillPending(r)) => {
            render::receipt(&r, &reason, None)
        }
        Err(e) => failure("/reverse", e),
    }
}

/// `confirm:yes` stands in for Discord's Confirm button; the preview is kept for the reply.
struct PayoutConfirm {
    yes: bool,
    shown: Vec<String>,
}

impl PayoutUi for PayoutConfirm {
    type Error = Failure;

    fn confirm_payout<'a>(
        &'a mut self,
        preview: &'a PayoutPreview,
    ) -> BoxFut<'a, Result<Decision, Failure>> {
        self.shown.push(render::card(&words::payout_preview(
            preview,
            &render::DIALECT,
        )));
        let decision = if self.yes {
            Decision::Confirmed
        } else {
            Decision::Cancelled(CancelReason::NotConfirmed {
                flag: "confirm:yes",
                threshold: 0,
            })
        };
        Box::pin(async move { Ok(decision) })
    }
}

/// Rows of the outcome CSV the console prints (the rest is counted).
const CSV_ROWS_SHOWN: usize = 20;

async fn run_payout(sb: &Sandbox, cmd: ConsolePayout) -> String {
    let mut ui = PayoutConfirm {
        yes: cmd.confirm,
        shown: Vec::new(),
    };
    let service = &sb.stack.service;
    let result = payout::run_payout(service, console_actor(), cmd.args, None, &mut ui).await;
    let label = result
        .as_ref()
        .map_or_else(Failure::metric_label, PayoutResult::metric_label);
    bot::metrics::command("payout", label);
    let mut out = ui.shown;
    match result {
        Ok(PayoutResult::Cancelled { preview, why }) => {
            out.push(render::card(&words::payout_cancelled(&preview, why)));
        }
        Ok(PayoutResult::Done { preview, report }) => {
            out.push(render::card(&words::payout_done(
                &preview,
                &report,
                &render::DIALECT,
            )));
            let csv = words::payout_csv(&report);
            let lines: Vec<&str> = csv.lines().collect();
            out.push(
                lines
                    .iter()
                    .take(CSV_ROWS_SHOWN + 1)
                    .copied()
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
            if lines.len() > CSV_ROWS_SHOWN + 1 {
                out.push(format!("… {} more rows", lines.len() - CSV_ROWS_SHOWN - 1));
            }
        }
        Err(e) => out.push(failure("/payout", e)),
    }
    out.join("\n")
}

async fn run_balance(sb: &Sandbox, args: BalanceArgs) -> String {
    let links = console_links(sb);
    let members = Members {
        guild_id: CONSOLE_GUILD,
        links: Some(&links),
    };
    match flow::run_balance_with(&sb.stack.service, &console_actor(), &args, Some(members)).await {
        Ok(answer) => render::balance_of(&answer.view, answer.member.as_ref()),
        Err(e) => failure("/balance", e),
    }
}

/// `/link set` / `/link remove`: the front end's staff-link rules, as the console operator.
async fn run_link(sb: &Sandbox, set: Option<String>, member: MemberRef) -> String {
    let links = console_links(sb);
    let service = &sb.stack.service;
    let actor = console_actor();
    let result = match set {
        Some(roblox) => {
            link::set_staff_link(
                service,
                &actor,
                Some(&links),
                CONSOLE_GUILD,
                member,
                &roblox,
            )
            .await
        }
        None => link::remove_staff_link(service, &actor, Some(&links), CONSOLE_GUILD, member).await,
    };
    match result {
        Ok(change) => render::link_change(&change, &actor.id),
        Err(e) => failure("/link", e),
    }
}

async fn run_audit(sb: &Sandbox, args: AuditArgs) -> String {
    if args.totals {
        return match flow::run_audit_totals(&sb.stack.service, &console_actor(), &args, None).await
        {
            Ok(answer) => render::totals_answer(&answer),
            Err(e) => failure("/audit", e),
        };
    }
    match flow::run_audit(&sb.stack.service, &console_actor(), &args, None).await {
        Ok(answer) => render::audit_answer(&answer),
        Err(e) => failure("/audit", e),
    }
}

async fn players(sb: &Sandbox) -> String {
    let snap = match sb.world.snapshot().await {
        Ok(s) => s,
        Err(e) => return e.to_string(),
    };
    let name = |id: u64| {
        sb.users
            .iter()
            .find(|(u, _)| *u == id)
            .map_or_else(|| format!("Player{id}"), |(_, n)| n.clone())
    };
    let mut lines = Vec::new();
    let mut online = Vec::new();
    for s in snap.servers.iter().filter(|s| s.state == "running") {
        let list: Vec<String> = s
            .players
            .iter()
            .map(|p| format!("{} ({p})", name(*p)))
            .collect();
        online.extend(s.players.iter().copied());
        lines.push(format!(
            "server {}: {}",
            s.index,
            if list.is_empty() {
                "nobody".to_owned()
            } else {
                list.join(", ")
            }
        ));
    }
    let offline: Vec<String> = crate::app::NAMED_USERS
        .iter()
        .filter(|(id, _)| !online.contains(id))
        .map(|(id, n)| format!("{n} ({id})"))
        .collect();
    lines.push(format!("offline (named): {}", offline.join(", ")));
    lines.join("\n")
}

async fn servers(sb: &Sandbox) -> String {
    let snap = match sb.world.snapshot().await {
        Ok(s) => s,
        Err(e) => return e.to_string(),
    };
    let mut lines = vec![format!(
        "virtual time {:.1} s; {} DataStore writes, {} single-writer violations",
        snap.now_s,
        sb.world.writes(),
        snap.violations.len()
    )];
    for s in &snap.servers {
        lines.push(format!(
            "server {:>2}  {:<8} JobId {}  {} players  {} script errors",
            s.index,
            s.state,
            if s.job_id.is_empty() { "-" } else { &s.job_id },
            s.players.len(),
            s.script_errors
        ));
    }
    for v in &snap.violations {
        lines.push(format!(
            "VIOLATION {}: {} ({})",
            v.invariant, v.detail, v.key
        ));
    }
    lines.join("\n")
}

/// Formats one world log line for the console.
pub fn log_line(line: &crate::world::LogLine) -> String {
    match line.server {
        Some(s) => format!(
            "[{:>8.1}s server {s}] {}",
            line.t_ms as f64 / 1000.0,
            line.text
        ),
        None => format!("[{:>8.1}s] · {}", line.t_ms as f64 / 1000.0, line.text),
    }
}

impl Sandbox {
    /// A player typed in by hand who is on a server is known to the users API.
    async fn know_user_if_playing(&self, id: u64) {
        if let Ok(snap) = self.world.snapshot().await {
            if snap.servers.iter().any(|s| s.players.contains(&id)) {
                self.know_user(id);
            }
        }
    }

    /// Runs one parsed console command.
    pub async fn run_command(&self, cmd: ConsoleCommand) -> Reply {
        let text = match cmd {
            ConsoleCommand::Give(args) => run_move(self, Op::Give, args).await,
            ConsoleCommand::Deduct(args) => run_move(self, Op::Deduct, args).await,
            ConsoleCommand::Reverse(args) => run_reverse(self, args).await,
            ConsoleCommand::Payout(args) => run_payout(self, args).await,
            ConsoleCommand::Balance(args) => run_balance(self, args).await,
            ConsoleCommand::LinkSet { member, roblox } => {
                run_link(self, Some(roblox), member).await
            }
            ConsoleCommand::LinkRemove(member) => run_link(self, None, member).await,
            ConsoleCommand::Audit(args) => run_audit(self, args).await,
            ConsoleCommand::Players => players(self).await,
            ConsoleCommand::Servers => servers(self).await,
            ConsoleCommand::Crash(n) => match self.world.crash(n).await {
                Ok(()) => format!(
                    "server {n} crashed: its sessions stay locked until another server takes them over \
                     (ProfileStore steals after ~40 s of asking)"
                ),
                Err(e) => format!("crash {n}: {e}"),
            },
            ConsoleCommand::Start => match self.world.start_server().await {
                Ok(i) => format!("server {i} started"),
                Err(e) => format!("start: {e}"),
            },
            ConsoleCommand::Join { user, server } => {
                self.know_user(user);
                match self.world.join(user, server).await {
                    Ok(()) => format!("player {user} joins server {server}"),
                    Err(e) => format!("join: {e}"),
                }
            }
            ConsoleCommand::Leave { user } => match self.world.leave(user).await {
                Ok(()) => format!("player {user} left"),
                Err(e) => format!("leave: {e}"),
            },
            ConsoleCommand::Logs { lines } => {
                let all = self.world.log_since(0);
                let from = all.len().saturating_sub(lines);
                all[from..]
                    .iter()
                    .map(log_line)
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            ConsoleCommand::Help => parse::HELP.to_owned(),
            ConsoleCommand::Quit => return Reply::Quit,
        };
        Reply::Text(text)
    }

    /// The shared option rules as this sandbox's service applies them.
    pub fn console_rules(&self) -> Rules {
        Rules {
            max_amount: self.stack.service.config().limits.max_amount,
            pages: parse::AUDIT_PAGES,
            now_ms: self.stack.service.clock().now_ms(),
            max_players: self.stack.service.config().bulk.max_items,
        }
    }

    /// Parses and runs one console line; a parse error is shown as the reply.
    pub async fn run_line(&self, line: &str) -> Option<Reply> {
        match parse::parse(line, &self.console_rules()) {
            Ok(Some(cmd)) => Some(self.run_command(cmd).await),
            Ok(None) => None,
            Err(e) => Some(Reply::Text(format!("{e}"))),
        }
    }
}
