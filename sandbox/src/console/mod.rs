//! The console: Discord's commands typed as text, run through the bot's service against the
//! emulated universe, answered with receipts drawn as Discord embeds.
//!
//! - [`parse`]: the command language.
//! - [`render`]: receipts, balances and audit pages.

pub mod parse;
pub mod render;

use bot::service::{AuditQuery, MoveRequest, ServiceError, Target};
use shared::Op;

use crate::app::Sandbox;
use crate::stack::console_actor;
use parse::{AuditArgs, ConsoleCommand, MoveArgs};

/// What running a command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Text to show.
    Text(String),
    /// The operator asked to quit.
    Quit,
}

fn service_error(command: &str, e: &ServiceError) -> String {
    let message = match e {
        ServiceError::Refused(r) => r.to_string(),
        ServiceError::Unavailable(p) => p.to_string(),
        // The database error's details are for the log, not the operator's screen.
        ServiceError::Db(_) => {
            tracing::error!(error = %e, "bot database failed");
            "the bot's database failed; see the log".to_owned()
        }
    };
    render::refusal(command, &message)
}

fn target(user: &str) -> Target {
    user.parse().unwrap_or(Target::Name(user.to_owned()))
}

async fn run_move(sb: &Sandbox, op: Op, args: MoveArgs) -> String {
    let command = format!("/{}", op.as_str());
    if let Target::Id(id) = target(&args.user) {
        sb.know_user_if_playing(id).await;
    }
    let service = &sb.stack.service;
    let user = match service.resolve(&target(&args.user)).await {
        Ok(u) => u,
        Err(e) => return service_error(&command, &e),
    };
    if service.needs_confirmation(args.amount) && !args.confirm {
        return render::refusal(
            &command,
            &format!(
                "{} is above the confirmation threshold ({}): repeat the command with confirm:yes",
                args.amount,
                service.config().policy.confirm_above
            ),
        );
    }
    let request = MoveRequest {
        actor: console_actor(),
        op,
        target: Target::Id(user.id),
        amount: args.amount,
        reason: args.reason.clone(),
        replay: args.txn,
    };
    match service.execute(request).await {
        Ok(receipt) => render::receipt(&receipt, &args.reason),
        Err(e) => service_error(&command, &e),
    }
}

async fn run_audit(sb: &Sandbox, args: AuditArgs) -> String {
    let service = &sb.stack.service;
    let user_id = match &args.user {
        Some(u) => match service.resolve(&target(u)).await {
            Ok(user) => Some(user.id),
            Err(e) => return service_error("/audit", &e),
        },
        None => None,
    };
    let query = AuditQuery {
        user_id,
        actor_id: args.actor.clone(),
        limit: args.limit,
        cursor: args.cursor.clone(),
    };
    let mut filter = String::new();
    if let Some(id) = user_id {
        filter.push_str(&format!(" for user {id}"));
    }
    if let Some(actor) = &args.actor {
        filter.push_str(&format!(" by actor {actor}"));
    }
    match service.audit(&console_actor(), &query).await {
        Ok(page) => render::audit_page(&page, &filter),
        Err(e) => service_error("/audit", &e),
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
            ConsoleCommand::Balance { user } => {
                match self
                    .stack
                    .service
                    .balance(&console_actor(), &target(&user))
                    .await
                {
                    Ok(view) => render::balance(&view),
                    Err(e) => service_error("/balance", &e),
                }
            }
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

    /// Parses and runs one console line; a parse error is shown as the reply.
    pub async fn run_line(&self, line: &str) -> Option<Reply> {
        match parse::parse(line) {
            Ok(Some(cmd)) => Some(self.run_command(cmd).await),
            Ok(None) => None,
            Err(e) => Some(Reply::Text(format!("{e}"))),
        }
    }
}
