//! `/payout`: one amount and one reason to many players (issue 18), the same for every front
//! end. The players come from a role (its members' linked accounts) or a list of ids and
//! usernames; unknown usernames and members without a link are listed in the preview, which
//! always needs the member's Confirm; then the batch runs with progress and ends in a report.
//! The batch's rules (ids, pacing, resuming) are the service's (`service::bulk`).

use super::args::{PayoutArgs, PayoutPlayers};
use super::flow::{CancelReason, Decision};
use crate::links::{LinkError, Links};
use crate::service::bulk::{BatchCounts, BatchPlan, BatchProgress, BatchReport, BatchRequest};
use crate::service::{ActorCtx, BoxFut, Refusal, Service, ServiceError, Target};

/// A role's members as the front end listed them, and the links that resolve them.
pub struct RoleMembers<'a> {
    /// The Discord server.
    pub guild_id: u64,
    /// The role's members.
    pub member_ids: Vec<u64>,
    /// Member → Roblox account.
    pub links: &'a Links,
}

/// What the member confirms: the plan and who was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutPreview {
    /// The checked batch (players, total, online, batch id).
    pub plan: BatchPlan,
    /// The role whose members these are, when paid by role.
    pub role: Option<u64>,
    /// Usernames no Roblox user has (not paid).
    pub unknown: Vec<String>,
    /// Role members without a usable link (not paid), with why.
    pub unlinked: Vec<(u64, String)>,
    /// Repeats left out of the list as typed (the same id or username twice).
    pub repeats: usize,
}

/// How a front end takes part in a payout.
pub trait PayoutUi: Send {
    /// The front end's error; a service error converts into it.
    type Error: From<ServiceError> + Send;

    /// Asks the member whether the payout goes ahead (always asked: a payout moves much).
    fn confirm_payout<'a>(
        &'a mut self,
        preview: &'a PayoutPreview,
    ) -> BoxFut<'a, Result<Decision, Self::Error>>;

    /// The batch is stored and starts.
    fn started<'a>(
        &'a mut self,
        preview: &'a PayoutPreview,
    ) -> BoxFut<'a, Result<(), Self::Error>> {
        let _ = preview;
        Box::pin(async { Ok(()) })
    }

    /// Counts so far (after each item; a front end redraws at its own pace).
    fn progress<'a>(&'a mut self, counts: &'a BatchCounts) -> BoxFut<'a, ()> {
        let _ = counts;
        Box::pin(async {})
    }
}

/// How a payout ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutResult {
    /// Not confirmed: nothing was stored or sent.
    Cancelled {
        /// What was asked.
        preview: Box<PayoutPreview>,
        /// Why not.
        why: CancelReason,
    },
    /// The batch ran to its end (some items may still be pending: the reconciler settles them).
    Done {
        /// What was confirmed.
        preview: Box<PayoutPreview>,
        /// Every player's result.
        report: BatchReport,
    },
}

impl PayoutResult {
    /// The label of the command counter.
    pub fn metric_label(&self) -> &'static str {
        match self {
            PayoutResult::Cancelled { .. } => "cancelled",
            PayoutResult::Done { report, .. } => {
                let c = report.counts();
                if c.applied == c.players {
                    "applied"
                } else if c.pending > 0 {
                    "pending"
                } else {
                    "partial"
                }
            }
        }
    }
}

/// Tells the front end each count the batch reports.
struct Relay<'a, U: PayoutUi>(&'a mut U);

impl<U: PayoutUi> BatchProgress for Relay<'_, U> {
    fn progress<'a>(&'a mut self, counts: &'a BatchCounts) -> BoxFut<'a, ()> {
        self.0.progress(counts)
    }
}

/// A payout: resolves the players (a role's members through their links; usernames through
/// Roblox), refuses a role without linked members and a list without known players, plans the
/// batch (the service's checks), asks to confirm with the preview, then stores and runs it.
pub async fn run_payout<U: PayoutUi>(
    service: &Service,
    actor: ActorCtx,
    args: PayoutArgs,
    role: Option<RoleMembers<'_>>,
    ui: &mut U,
) -> Result<PayoutResult, U::Error> {
    // Authorise before any look-up: a member who may not pay learns so at once.
    service
        .config()
        .policy
        .authorize(&actor, args.amount)
        .map_err(ServiceError::from)?;
    let mut unknown = Vec::new();
    let mut unlinked = Vec::new();
    let mut user_ids = Vec::new();
    let (role_id, repeats) = match &args.players {
        PayoutPlayers::Role(role_id) => {
            let Some(members) = role else {
                return Err(ServiceError::from(Refusal::RoleWithoutLinks {
                    role: *role_id,
                    members: 0,
                })
                .into());
            };
            for &member in &members.member_ids {
                match members.links.resolve(members.guild_id, member).await {
                    Ok(link) => user_ids.push(link.roblox_id),
                    Err(e @ (LinkError::NotLinked { .. } | LinkError::Conflict { .. })) => {
                        unlinked.push((member, link_words(&e)));
                    }
                    Err(e) => {
                        return Err(
                            ServiceError::from(Refusal::LinksUnavailable(e.to_string())).into()
                        );
                    }
                }
            }
            if user_ids.is_empty() {
                return Err(ServiceError::from(Refusal::RoleWithoutLinks {
                    role: *role_id,
                    members: members.member_ids.len(),
                })
                .into());
            }
            (Some(*role_id), 0)
        }
        PayoutPlayers::List {
            targets,
            duplicates,
        } => {
            for target in targets {
                match target {
                    Target::Id(id) => user_ids.push(*id),
                    Target::Name(name) => match service.resolve(target).await {
                        Ok(user) => user_ids.push(user.id),
                        Err(ServiceError::Refused(Refusal::UnknownUser(_))) => {
                            unknown.push(name.clone());
                        }
                        Err(e) => return Err(e.into()),
                    },
                }
            }
            if user_ids.is_empty() {
                return Err(ServiceError::from(Refusal::NoKnownPlayers {
                    unknown: unknown.len(),
                })
                .into());
            }
            (None, *duplicates)
        }
    };
    let plan = service
        .plan_batch(BatchRequest {
            actor,
            amount: args.amount,
            reason: args.reason,
            user_ids,
        })
        .await?;
    let preview = PayoutPreview {
        plan,
        role: role_id,
        unknown,
        unlinked,
        repeats,
    };
    if let Decision::Cancelled(why) = ui.confirm_payout(&preview).await? {
        return Ok(PayoutResult::Cancelled {
            preview: Box::new(preview),
            why,
        });
    }
    service.start_batch(&preview.plan).await?;
    ui.started(&preview).await?;
    let report = service
        .run_batch(&preview.plan.batch, &mut Relay(ui))
        .await?;
    Ok(PayoutResult::Done {
        preview: Box::new(preview),
        report,
    })
}

/// Why a member is left out, in short words.
fn link_words(e: &LinkError) -> String {
    match e {
        LinkError::NotLinked { .. } => "no linked Roblox account".to_owned(),
        LinkError::Conflict { .. } => "linked to two different accounts".to_owned(),
        other => other.to_string(),
    }
}
