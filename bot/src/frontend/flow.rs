//! The flows of the commands, the same for every front end: a give / deduct (authorize, resolve,
//! confirm, execute, follow a pending txn), a balance, an audit page. A front end takes part
//! through [`Confirm`] and draws what comes back.

use super::args::{AuditArgs, BalanceArgs, MoveArgs, ReverseArgs, Who};
use super::member::{Members, member_link, resolve_who};
use crate::links::MemberLink;
use crate::service::names::Names;
use crate::service::{
    ActorCtx, AuditPage, AuditQuery, BalanceView, BoxFut, GroupBy, MoveRequest, Outcome, Receipt,
    Refusal, ReverseRequest, RobloxUser, Service, ServiceError, Target, Totals, TotalsQuery,
    WalletRead,
};
use shared::{AuditRecord, Op, TxnId};
use std::time::Duration;
use tokio::time::Instant;

/// Why a confirmation ended without going ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// The invoker pressed Cancel.
    ByInvoker,
    /// Nobody confirmed before the deadline.
    TimedOut,
    /// The bot began shutting down while the prompt was open.
    Restarting,
    /// The command lacked the front end's explicit "yes" (the CLI's `--yes`, `confirm:yes`).
    NotConfirmed {
        /// How to say yes in this front end.
        flag: &'static str,
        /// The confirmation threshold.
        threshold: i64,
    },
}

/// The end of a confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The invoker confirmed in time.
    Confirmed,
    /// Not going ahead.
    Cancelled(CancelReason),
}

/// What a confirmation prompt is about.
#[derive(Debug, Clone, Copy)]
pub struct Prompt<'a> {
    /// Give or deduct.
    pub op: Op,
    /// How much.
    pub amount: i64,
    /// The resolved player.
    pub player: &'a RobloxUser,
    /// The Discord member the player was named through, and where the link came from.
    pub member: Option<&'a MemberLink>,
    /// Why.
    pub reason: &'a str,
    /// The confirmation threshold the amount is above.
    pub threshold: i64,
    /// The player's wallet as read for this prompt, when the front end shows it
    /// ([`Confirm::shows_balance`]) and the read succeeded.
    pub wallet: Option<&'a WalletRead>,
    /// The txn this reverses, when it is a reversal.
    pub reverses: Option<&'a TxnId>,
}

/// How a front end takes part in a give / deduct: it asks the member to confirm, and may show
/// progress. Its errors (a failed reply) end the flow.
pub trait Confirm: Send {
    /// The front end's error; a service error converts into it.
    type Error: From<ServiceError> + Send;

    /// Asks the member whether `prompt` goes ahead.
    fn confirm<'a>(&'a mut self, prompt: Prompt<'a>) -> BoxFut<'a, Result<Decision, Self::Error>>;

    /// Whether the prompt shows the player's current balance: the wallet is then read before
    /// the prompt, and that read is the delivery's first (no extra Open Cloud call).
    fn shows_balance(&self) -> bool {
        false
    }

    /// Resolves when the front end is shutting down: a pending receipt stops being followed
    /// (the reconciler settles it) and gets its last message at once.
    fn closing(&self) -> BoxFut<'static, ()> {
        Box::pin(std::future::pending())
    }

    /// The player was named through a Discord member: what follows (the "sending" message, the
    /// receipt) shows the member and where the link came from beside the player.
    fn named_through(&mut self, link: &MemberLink) {
        let _ = link;
    }

    /// Money is about to move to or from `player` (shown before the service is asked).
    fn working<'a>(
        &'a mut self,
        op: Op,
        amount: i64,
        player: &'a RobloxUser,
    ) -> BoxFut<'a, Result<(), Self::Error>> {
        let _ = (op, amount, player);
        Box::pin(async { Ok(()) })
    }

    /// The receipt came back pending; the flow now follows it up.
    fn pending<'a>(&'a mut self, receipt: &'a Receipt) -> BoxFut<'a, Result<(), Self::Error>> {
        let _ = receipt;
        Box::pin(async { Ok(()) })
    }
}

/// How long and how often a pending receipt re-reads its txn's stored state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowUp {
    /// Give up this long after the command started (not after the receipt: the confirmation
    /// prompt and the delivery count too, since Discord's token expires 15 minutes after the
    /// interaction whatever happened meanwhile); the reconciler keeps driving the txn.
    pub within: Duration,
    /// Pause between two reads.
    pub every: Duration,
}

impl FollowUp {
    /// No follow-up: a pending receipt is the answer.
    pub const NONE: FollowUp = FollowUp {
        within: Duration::ZERO,
        every: Duration::from_secs(1),
    };
    /// Discord: the interaction token lives 15 minutes; follow up for 14, every 2 s.
    pub const DISCORD: FollowUp = FollowUp {
        within: Duration::from_secs(14 * 60),
        every: Duration::from_secs(2),
    };
}

/// How a give / deduct ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveResult {
    /// Not confirmed: nothing was sent.
    Cancelled {
        /// Give or deduct.
        op: Op,
        /// How much.
        amount: i64,
        /// Why not.
        why: CancelReason,
    },
    /// The service answered with a settled outcome at once.
    Done(Receipt),
    /// Pending at first; settled while followed up (this receipt holds the settled outcome).
    SettledLater(Receipt),
    /// Still pending when the follow-up ended; the reconciler settles it.
    StillPending(Receipt),
}

impl MoveResult {
    /// The label of the command counter (`crate::metrics::command`).
    pub fn metric_label(&self) -> &'static str {
        match self {
            MoveResult::Cancelled { .. } => "cancelled",
            MoveResult::Done(r) | MoveResult::SettledLater(r) => outcome_label(&r.outcome),
            MoveResult::StillPending(_) => "pending",
        }
    }

    /// The last receipt, unless cancelled.
    pub fn receipt(&self) -> Option<&Receipt> {
        match self {
            MoveResult::Cancelled { .. } => None,
            MoveResult::Done(r) | MoveResult::SettledLater(r) | MoveResult::StillPending(r) => {
                Some(r)
            }
        }
    }
}

/// The metric label of an outcome.
pub fn outcome_label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Applied { .. } => "applied",
        Outcome::Rejected { .. } => "rejected",
        Outcome::AlreadyProcessed { .. } => "duplicate",
        Outcome::NotDelivered => "not_delivered",
        Outcome::Pending => "pending",
    }
}

/// A give / deduct: refuses an amount over the actor's role maximum, and a new command the
/// cooldown or daily cap would refuse, before anything is asked; resolves the player, asks to
/// confirm above the threshold, executes, and follows a pending receipt up to `follow.within`
/// (sleeping on tokio's clock, so tests can pause time).
pub async fn run_move<C: Confirm>(
    service: &Service,
    actor: ActorCtx,
    op: Op,
    args: MoveArgs,
    ui: &mut C,
    follow: FollowUp,
) -> Result<MoveResult, C::Error> {
    run_move_with(service, actor, op, args, None, ui, follow).await
}

/// [`run_move`] where the player may be named as a Discord member of `members` (resolved
/// through the member's link after the actor is authorised, before anything is asked).
pub async fn run_move_with<C: Confirm>(
    service: &Service,
    actor: ActorCtx,
    op: Op,
    args: MoveArgs,
    members: Option<Members<'_>>,
    ui: &mut C,
    follow: FollowUp,
) -> Result<MoveResult, C::Error> {
    let started = Instant::now();
    service
        .config()
        .policy
        .authorize(&actor, args.amount)
        .map_err(ServiceError::from)?;
    if args.replay.is_none() {
        // A replay of a known txn reserves nothing, so only new commands are checked here.
        service.check_limits(&actor, args.amount).await?;
    }
    let resolved = resolve_who(service, members, &args.target).await?;
    let player = resolved.player;
    if let Some(link) = &resolved.member {
        ui.named_through(link);
    }
    let mut wallet = None;
    if service.needs_confirmation(args.amount) {
        if ui.shows_balance() && args.replay.is_none() {
            // A failed read only leaves the balance off the prompt; delivery reads again.
            wallet = service
                .read_wallet(&player)
                .await
                .inspect_err(|e| tracing::warn!(error = %e, "wallet read for the prompt failed"))
                .ok();
        }
        let prompt = Prompt {
            op,
            amount: args.amount,
            player: &player,
            member: resolved.member.as_ref(),
            reason: &args.reason,
            threshold: service.config().policy.confirm_above,
            wallet: wallet.as_ref(),
            reverses: None,
        };
        if let Decision::Cancelled(why) = ui.confirm(prompt).await? {
            return Ok(MoveResult::Cancelled {
                op,
                amount: args.amount,
                why,
            });
        }
    }
    ui.working(op, args.amount, &player).await?;
    let request = MoveRequest {
        actor,
        op,
        target: Target::Id(player.id),
        amount: args.amount,
        reason: args.reason,
        replay: args.replay,
    };
    let receipt = match wallet {
        Some(read) => service.execute_after_read(request, read).await?,
        None => service.execute(request).await?,
    };
    if receipt.outcome != Outcome::Pending {
        return Ok(MoveResult::Done(receipt));
    }
    ui.pending(&receipt).await?;
    let closing = ui.closing();
    Ok(follow_up(service, receipt, follow, started + follow.within, closing).await)
}

/// A reversal: everything that refuses it (the original not logged, rejected, itself a
/// reversal or already reversed; the role maximum; the cooldown) is checked before anything is
/// asked; above the threshold the member confirms with the player and the movement shown; a
/// deduct the balance read for the prompt cannot cover is refused there, saying by how much.
/// The service decides again on a fresh read, then the receipt is followed like a give's.
pub async fn run_reverse<C: Confirm>(
    service: &Service,
    actor: ActorCtx,
    args: ReverseArgs,
    ui: &mut C,
    follow: FollowUp,
) -> Result<MoveResult, C::Error> {
    let started = Instant::now();
    let plan = service.plan_reversal(&actor, &args.original).await?;
    service.check_reversal_limits(&actor).await?;
    if service.needs_confirmation(plan.amount) {
        let mut wallet = None;
        if ui.shows_balance() {
            wallet = service
                .read_wallet(&plan.user)
                .await
                .inspect_err(|e| tracing::warn!(error = %e, "wallet read for the prompt failed"))
                .ok();
        }
        if let Some(read) = &wallet
            && plan.op == Op::Deduct
            && read.balance < plan.amount
        {
            let short = Refusal::ReversalShort {
                balance: read.balance,
                needs: plan.amount,
            };
            return Err(ServiceError::from(short).into());
        }
        let prompt = Prompt {
            op: plan.op,
            amount: plan.amount,
            player: &plan.user,
            member: None,
            reason: &args.reason,
            threshold: service.config().policy.confirm_above,
            wallet: wallet.as_ref(),
            reverses: Some(&args.original),
        };
        if let Decision::Cancelled(why) = ui.confirm(prompt).await? {
            return Ok(MoveResult::Cancelled {
                op: plan.op,
                amount: plan.amount,
                why,
            });
        }
    }
    ui.working(plan.op, plan.amount, &plan.user).await?;
    let request = ReverseRequest {
        actor,
        original: args.original,
        reason: args.reason,
    };
    let receipt = service.reverse(request).await?;
    if receipt.outcome != Outcome::Pending {
        return Ok(MoveResult::Done(receipt));
    }
    ui.pending(&receipt).await?;
    let closing = ui.closing();
    Ok(follow_up(service, receipt, follow, started + follow.within, closing).await)
}

/// Re-reads a pending txn's stored state every `follow.every` until it settles, `until`, or
/// `closing` resolves.
async fn follow_up(
    service: &Service,
    receipt: Receipt,
    follow: FollowUp,
    until: Instant,
    closing: BoxFut<'static, ()>,
) -> MoveResult {
    let mut closing = closing;
    while Instant::now() + follow.every <= until {
        tokio::select! {
            biased;
            () = &mut closing => break,
            () = tokio::time::sleep(follow.every) => {}
        }
        match service.stored_outcome(&receipt.txn).await {
            Ok(Some(Outcome::Pending)) | Err(_) => continue,
            Ok(None) => break,
            Ok(Some(outcome)) => {
                return MoveResult::SettledLater(Receipt { outcome, ..receipt });
            }
        }
    }
    MoveResult::StillPending(receipt)
}

/// A balance (a player named by Roblox id or username).
pub async fn run_balance(
    service: &Service,
    actor: &ActorCtx,
    args: &BalanceArgs,
) -> Result<BalanceView, ServiceError> {
    Ok(run_balance_with(service, actor, args, None).await?.view)
}

/// A balance answer, with the member the player was named through.
#[derive(Debug, Clone)]
pub struct BalanceAnswer {
    /// The wallet.
    pub view: BalanceView,
    /// The Discord member and where the link came from, when a member was named.
    pub member: Option<MemberLink>,
}

/// A balance where the player may be named as a Discord member (staff only: the actor is
/// authorised before the member is resolved).
pub async fn run_balance_with(
    service: &Service,
    actor: &ActorCtx,
    args: &BalanceArgs,
    members: Option<Members<'_>>,
) -> Result<BalanceAnswer, ServiceError> {
    match &args.target {
        Who::Player(target) => Ok(BalanceAnswer {
            view: service.balance(actor, target).await?,
            member: None,
        }),
        Who::Member(m) => {
            service.config().policy.max_for(actor)?;
            let link = member_link(members, *m).await?;
            let view = service.balance(actor, &Target::Id(link.roblox_id)).await?;
            Ok(BalanceAnswer {
                view,
                member: Some(link),
            })
        }
    }
}

/// Self-service `/balance`: the asking member's own linked account. No staff role is needed
/// (reading one's own wallet moves nothing); only the member's own link is read.
pub async fn run_own_balance(
    service: &Service,
    me: super::args::MemberRef,
    members: Option<Members<'_>>,
) -> Result<BalanceAnswer, ServiceError> {
    let link = member_link(members, me).await?;
    let view = service.wallet_view(&Target::Id(link.roblox_id)).await?;
    Ok(BalanceAnswer {
        view,
        member: Some(link),
    })
}

/// An audit question with its player resolved: what to show as the filter, and the query.
#[derive(Debug, Clone)]
pub struct AuditAnswer {
    /// The player asked about, resolved.
    pub player: Option<RobloxUser>,
    /// The query of `page`; its cursor is the page's.
    pub query: AuditQuery,
    /// The records.
    pub page: AuditPage,
    /// Usernames of the page's players (those found; the others show their id alone).
    pub names: Names,
}

/// Usernames of the players on `page` (never fails; see [`Service::user_names`]).
pub async fn page_names(service: &Service, page: &AuditPage) -> Names {
    let ids = page.records.iter().map(|r| r.user_id).collect();
    service.user_names(ids).await
}

/// One audit page: resolves the player, then asks the audit log.
pub async fn run_audit(
    service: &Service,
    actor: &ActorCtx,
    args: &AuditArgs,
    members: Option<Members<'_>>,
) -> Result<AuditAnswer, ServiceError> {
    let player = audit_player(service, actor, args, members).await?;
    let query = AuditQuery {
        user_id: player.as_ref().map(|p| p.id),
        actor_id: args.actor.clone(),
        limit: args.limit,
        cursor: args.cursor.clone(),
        since: args.since,
        until: args.until,
    };
    let page = service.audit(actor, &query).await?;
    let names = page_names(service, &page).await;
    Ok(AuditAnswer {
        player,
        query,
        page,
        names,
    })
}

/// The player an audit question names, resolved (a member only after the actor may read the
/// audit log).
async fn audit_player(
    service: &Service,
    actor: &ActorCtx,
    args: &AuditArgs,
    members: Option<Members<'_>>,
) -> Result<Option<RobloxUser>, ServiceError> {
    let Some(who) = &args.user else {
        return Ok(None);
    };
    if matches!(who, Who::Member(_)) {
        service.config().policy.max_for(actor)?;
    }
    Ok(Some(resolve_who(service, members, who).await?.player))
}

/// The totals view of `/audit`: sums per staff member and per player over the range.
#[derive(Debug, Clone)]
pub struct TotalsAnswer {
    /// The player asked about, resolved.
    pub player: Option<RobloxUser>,
    /// Only movements by this Discord user id.
    pub actor: Option<String>,
    /// appliedAt ≥ since (Unix ms).
    pub since: Option<i64>,
    /// appliedAt < until (Unix ms).
    pub until: Option<i64>,
    /// Per staff member (game-server movements form the group without an actor), largest first.
    pub by_actor: Totals,
    /// Per player, largest first.
    pub by_player: Totals,
    /// Usernames of the players listed (those found).
    pub names: Names,
}

/// `/audit totals`: resolves the player, then asks the audit log for both groupings (up to
/// `args.limit` groups each).
pub async fn run_audit_totals(
    service: &Service,
    actor: &ActorCtx,
    args: &AuditArgs,
    members: Option<Members<'_>>,
) -> Result<TotalsAnswer, ServiceError> {
    let player = audit_player(service, actor, args, members).await?;
    let query = |group_by| TotalsQuery {
        group_by,
        user_id: player.as_ref().map(|p| p.id),
        actor_id: args.actor.clone(),
        since: args.since,
        until: args.until,
        limit: args.limit,
    };
    let by_actor = service.audit_totals(actor, &query(GroupBy::Actor)).await?;
    let by_player = service.audit_totals(actor, &query(GroupBy::User)).await?;
    let ids = by_player
        .groups
        .iter()
        .filter_map(|g| g.user_id.and_then(|u| u64::try_from(u).ok()))
        .collect();
    let names = service.user_names(ids).await;
    Ok(TotalsAnswer {
        player,
        actor: args.actor.clone(),
        since: args.since,
        until: args.until,
        by_actor,
        by_player,
        names,
    })
}

/// Up to `max` records matching `query` from its first page on, newest first (pages of 100).
pub async fn all_records(
    service: &Service,
    actor: &ActorCtx,
    query: &AuditQuery,
    max: usize,
) -> Result<Vec<AuditRecord>, ServiceError> {
    let mut q = AuditQuery {
        limit: 100,
        cursor: None,
        ..query.clone()
    };
    let mut out = Vec::new();
    loop {
        let page = service.audit(actor, &q).await?;
        out.extend(page.records);
        match page.next_cursor {
            Some(c) if out.len() < max => q.cursor = Some(c),
            _ => break,
        }
    }
    out.truncate(max);
    Ok(out)
}
