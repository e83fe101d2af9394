//! The shared give / deduct flow (`bot::frontend::flow`) over the real service (Open Cloud
//! emulator, audit API, stand-in game server) with a fake front end: what is asked, shown and
//! executed when the member cancels, confirms, is over their role's maximum, or the txn settles
//! only after the first answer.

mod support;

use bot::frontend::flow::{self, FollowUp};
use bot::frontend::{
    BalanceArgs, CancelReason, Confirm, Decision, Failure, MoveArgs, MoveInput, MoveResult, Prompt,
};
use bot::service::{
    ActorCtx, BoxFut, Outcome, Receipt, Refusal, RobloxUser, Service, ServiceError, Target,
};
use shared::Op;
use std::sync::Arc;
use std::time::Duration;
use support::*;

/// Runs when the flow shows a pending receipt.
type OnPending = Box<dyn FnMut(&Receipt) + Send>;

/// A front end that answers every prompt with `answer` and notes what it was asked and shown.
struct FakeUi {
    answer: Decision,
    prompts: Vec<(Op, i64, String, i64)>,
    working: Vec<(Op, i64, u64)>,
    pending: Vec<Receipt>,
    on_pending: Option<OnPending>,
    /// How long the member takes to answer the prompt.
    think: Duration,
}

impl FakeUi {
    fn answering(answer: Decision) -> Self {
        Self {
            answer,
            prompts: vec![],
            working: vec![],
            pending: vec![],
            on_pending: None,
            think: Duration::ZERO,
        }
    }
}

impl Confirm for FakeUi {
    type Error = Failure;

    fn confirm<'a>(&'a mut self, p: Prompt<'a>) -> BoxFut<'a, Result<Decision, Failure>> {
        self.prompts
            .push((p.op, p.amount, p.player.name.clone(), p.threshold));
        let (answer, think) = (self.answer, self.think);
        Box::pin(async move {
            tokio::time::sleep(think).await;
            Ok(answer)
        })
    }

    fn working<'a>(
        &'a mut self,
        op: Op,
        amount: i64,
        player: &'a RobloxUser,
    ) -> BoxFut<'a, Result<(), Failure>> {
        self.working.push((op, amount, player.id));
        Box::pin(async { Ok(()) })
    }

    fn pending<'a>(&'a mut self, receipt: &'a Receipt) -> BoxFut<'a, Result<(), Failure>> {
        self.pending.push(receipt.clone());
        if let Some(f) = self.on_pending.as_mut() {
            f(receipt);
        }
        Box::pin(async { Ok(()) })
    }
}

fn args(user: &str, amount: i64) -> MoveArgs {
    let input = MoveInput {
        user: user.into(),
        amount,
        reason: " event prize ".into(),
        txn: None,
    };
    MoveArgs::parse(&input, 1_000_000).unwrap()
}

fn limited() -> ActorCtx {
    ActorCtx {
        roles: vec!["901".into()],
        ..staff()
    }
}

#[tokio::test]
async fn a_cancelled_prompt_sends_reserves_and_writes_nothing() {
    let world = World::new();
    let api = AuditApi::start().await;
    let service = world.service(&api, service_config()).await;
    let before = world.calls();
    let mut ui = FakeUi::answering(Decision::Cancelled(CancelReason::ByInvoker));
    let result = flow::run_move(
        &service,
        staff(),
        Op::Give,
        args("@alice", 500_000),
        &mut ui,
        FollowUp::NONE,
    )
    .await
    .unwrap();
    assert_eq!(
        result,
        MoveResult::Cancelled {
            op: Op::Give,
            amount: 500_000,
            why: CancelReason::ByInvoker
        }
    );
    assert_eq!(result.metric_label(), "cancelled");
    // The prompt showed the resolved player and the threshold; nothing was shown as sending.
    assert_eq!(
        ui.prompts,
        vec![(Op::Give, 500_000, "alice".to_owned(), 100_000)]
    );
    assert!(ui.working.is_empty());
    let after = world.calls().since(&before);
    assert_eq!((after.publish, after.set), (0, 0));
    assert!(service.db().pending().await.unwrap().is_empty());
    assert_eq!(world.wallet(ALICE).balance, 0);
}

#[tokio::test]
async fn a_confirmed_prompt_moves_the_money_once() {
    let world = World::new();
    let api = AuditApi::start().await;
    let service = world.service(&api, service_config()).await;
    let mut ui = FakeUi::answering(Decision::Confirmed);
    let result = flow::run_move(
        &service,
        staff(),
        Op::Give,
        args("1001", 500_000),
        &mut ui,
        FollowUp::NONE,
    )
    .await
    .unwrap();
    let MoveResult::Done(receipt) = &result else {
        panic!("{result:?}");
    };
    assert!(matches!(
        receipt.outcome,
        Outcome::Applied {
            balance_after: 500_000,
            ..
        }
    ));
    assert_eq!(result.metric_label(), "applied");
    assert_eq!(ui.prompts.len(), 1);
    assert_eq!(ui.working, vec![(Op::Give, 500_000, ALICE)]);
    assert_eq!(world.wallet(ALICE).balance, 500_000);
    world.assert_single_writer();
}

#[tokio::test]
async fn small_amounts_are_not_prompted() {
    let world = World::new();
    let api = AuditApi::start().await;
    let service = world.service(&api, service_config()).await;
    // Even a front end that would cancel is never asked below the threshold.
    let mut ui = FakeUi::answering(Decision::Cancelled(CancelReason::TimedOut));
    let result = flow::run_move(
        &service,
        staff(),
        Op::Give,
        args("bob", 100_000),
        &mut ui,
        FollowUp::NONE,
    )
    .await
    .unwrap();
    assert_eq!(result.metric_label(), "applied");
    assert!(ui.prompts.is_empty());
    assert_eq!(ui.working, vec![(Op::Give, 100_000, BOB)]);
}

#[tokio::test]
async fn over_the_role_maximum_or_an_unknown_player_is_refused_before_any_prompt() {
    let world = World::new();
    let api = AuditApi::start().await;
    let service = world.service(&api, service_config()).await;
    let before = world.calls();
    let mut ui = FakeUi::answering(Decision::Confirmed);
    let err = flow::run_move(
        &service,
        limited(),
        Op::Give,
        args("alice", 200_000),
        &mut ui,
        FollowUp::NONE,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            Failure::Service(ServiceError::Refused(Refusal::OverRoleMax { max: 50 }))
        ),
        "{err:?}"
    );
    assert_eq!(err.metric_label(), "refused");
    assert!(
        err.user_message("r")
            .starts_with("Your roles allow at most 50")
    );
    let err = flow::run_move(
        &service,
        staff(),
        Op::Give,
        args("nobody_here", 200_000),
        &mut ui,
        FollowUp::NONE,
    )
    .await
    .unwrap_err();
    assert!(
        err.user_message("r").starts_with("No Roblox user named"),
        "{err}"
    );
    assert!(ui.prompts.is_empty() && ui.working.is_empty());
    let after = world.calls().since(&before);
    assert_eq!((after.publish, after.set), (0, 0));
}

#[tokio::test]
async fn a_pending_receipt_is_shown_then_followed_until_it_settles() {
    let world = World::new();
    let api = AuditApi::start().await;
    let server = StandInServer::start(&world, "job-P", Some(api.game_client()));
    server.join(ALICE);
    server.pause();
    let mut config = service_config();
    config.reply_budget = Duration::from_secs(5);
    let service: Arc<Service> = Arc::new(world.service(&api, config).await);

    // No follow-up: the pending receipt is the answer.
    let mut ui = FakeUi::answering(Decision::Confirmed);
    let result = flow::run_move(
        &service,
        staff(),
        Op::Give,
        args("alice", 7),
        &mut ui,
        FollowUp::NONE,
    )
    .await
    .unwrap();
    assert!(matches!(&result, MoveResult::StillPending(r) if r.outcome == Outcome::Pending));
    assert_eq!(result.metric_label(), "pending");
    server.resume(false);
    assert_eq!(
        service
            .reconcile(Duration::from_secs(30))
            .await
            .unwrap()
            .settled,
        1
    );

    // With a follow-up: once the pending receipt is shown, the server catches up and the
    // reconciler settles the txn; the flow notices and answers with the settled outcome.
    server.pause();
    let mut ui = FakeUi::answering(Decision::Confirmed);
    let (svc, srv) = (service.clone(), server.clone());
    ui.on_pending = Some(Box::new(move |r: &Receipt| {
        let (svc, srv, txn) = (svc.clone(), srv.clone(), r.txn.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            srv.resume(true);
            svc.confirm(&txn, Duration::from_secs(30)).await.unwrap();
        });
    }));
    let follow = FollowUp {
        within: Duration::from_secs(20),
        every: Duration::from_millis(100),
    };
    let result = flow::run_move(
        &service,
        staff(),
        Op::Give,
        args("alice", 5),
        &mut ui,
        follow,
    )
    .await
    .unwrap();
    assert_eq!(ui.pending.len(), 1);
    assert_eq!(ui.pending[0].outcome, Outcome::Pending);
    let MoveResult::SettledLater(settled) = &result else {
        panic!("{result:?}");
    };
    assert_eq!(settled.txn, ui.pending[0].txn);
    assert!(
        matches!(settled.outcome, Outcome::Applied { .. }),
        "{result:?}"
    );
    assert_eq!(result.metric_label(), "applied");
}

#[tokio::test]
async fn the_follow_up_deadline_counts_from_the_command_not_the_receipt() {
    // Discord's token expires 15 minutes after the interaction, however long the member took to
    // confirm: a follow-up counted from the receipt could edit after the token died.
    let world = World::new();
    let api = AuditApi::start().await;
    let server = StandInServer::start(&world, "job-Q", Some(api.game_client()));
    server.join(ALICE);
    server.pause();
    let mut config = service_config();
    config.reply_budget = Duration::from_secs(1);
    let service: Arc<Service> = Arc::new(world.service(&api, config).await);
    let mut ui = FakeUi::answering(Decision::Confirmed);
    ui.think = Duration::from_secs(2);
    // The txn settles right after the pending receipt: a follow-up that still had time would
    // report it.
    let (svc, srv) = (service.clone(), server.clone());
    ui.on_pending = Some(Box::new(move |r: &Receipt| {
        let (svc, srv, txn) = (svc.clone(), srv.clone(), r.txn.clone());
        tokio::spawn(async move {
            srv.resume(true);
            svc.confirm(&txn, Duration::from_secs(30)).await.unwrap();
        });
    }));
    let follow = FollowUp {
        within: Duration::from_millis(1500),
        every: Duration::from_millis(100),
    };
    let result = flow::run_move(
        &service,
        staff(),
        Op::Give,
        args("alice", 200_000),
        &mut ui,
        follow,
    )
    .await
    .unwrap();
    assert_eq!(ui.prompts.len(), 1, "the amount asks to confirm");
    assert_eq!(ui.pending.len(), 1);
    assert!(
        matches!(&result, MoveResult::StillPending(_)),
        "the deadline had passed while the member was confirming: {result:?}"
    );
}

#[tokio::test]
async fn balance_goes_through_the_shared_arguments() {
    let world = World::new();
    let api = AuditApi::start().await;
    let service = world.service(&api, service_config()).await;
    let args = BalanceArgs::parse(" @alice ").unwrap();
    assert_eq!(args.target, Target::Name("alice".into()));
    let view = flow::run_balance(&service, &staff(), &args).await.unwrap();
    assert_eq!((view.user.id, view.balance), (ALICE, 0));
}

#[tokio::test]
async fn a_cooldown_or_daily_cap_refusal_comes_before_the_prompt() {
    // Confirming a command that the cooldown or the daily cap then refuses left the member
    // with a "sending" message beside an error: the flow checks both first (read-only).
    let world = World::new();
    let api = AuditApi::start().await;
    let mut config = service_config();
    config.policy.cooldown = Duration::from_secs(3);
    config.policy.daily_cap = 600_000;
    let service = world.service(&api, config).await;
    let first = flow::run_move(
        &service,
        staff(),
        Op::Give,
        args("1001", 10),
        &mut FakeUi::answering(Decision::Confirmed),
        FollowUp::NONE,
    )
    .await
    .unwrap();
    assert_eq!(first.metric_label(), "applied");

    // Within the cooldown: refused before the player is looked up or anything is asked.
    let before = world.calls();
    let mut ui = FakeUi::answering(Decision::Confirmed);
    let err = flow::run_move(
        &service,
        staff(),
        Op::Give,
        args("alice", 500_000),
        &mut ui,
        FollowUp::NONE,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            Failure::Service(ServiceError::Refused(Refusal::Cooldown { .. }))
        ),
        "{err:?}"
    );
    assert!(ui.prompts.is_empty() && ui.working.is_empty());
    let after = world.calls().since(&before);
    assert_eq!((after.users, after.open_cloud()), (0, 0));

    // A replay of the first command is not a new command: the cooldown does not apply.
    let replay = MoveArgs {
        replay: first.receipt().map(|r| r.txn.clone()),
        ..args("1001", 10)
    };
    let again = flow::run_move(
        &service,
        staff(),
        Op::Give,
        replay,
        &mut FakeUi::answering(Decision::Confirmed),
        FollowUp::NONE,
    )
    .await
    .unwrap();
    assert_eq!(again.metric_label(), "duplicate");

    // Past the cooldown, over the daily cap (10 used + 600,000 > 600,000): refused, no prompt.
    world.clock.advance(3_000);
    let mut ui = FakeUi::answering(Decision::Confirmed);
    let err = flow::run_move(
        &service,
        staff(),
        Op::Give,
        args("alice", 600_000),
        &mut ui,
        FollowUp::NONE,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            Failure::Service(ServiceError::Refused(Refusal::DailyCap {
                cap: 600_000,
                used: 10
            }))
        ),
        "{err:?}"
    );
    assert!(ui.prompts.is_empty() && ui.working.is_empty());

    // Within both: asked, then applied.
    let mut ui = FakeUi::answering(Decision::Confirmed);
    let done = flow::run_move(
        &service,
        staff(),
        Op::Give,
        args("alice", 500_000),
        &mut ui,
        FollowUp::NONE,
    )
    .await
    .unwrap();
    assert_eq!(done.metric_label(), "applied");
    assert_eq!(ui.prompts.len(), 1);
    assert_eq!(world.wallet(ALICE).balance, 500_010);
}
