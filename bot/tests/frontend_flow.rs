//! The shared give / deduct flow (`bot::frontend::flow`) over the real service (Open Cloud
//! emulator, audit API, stand-in game server) with a fake front end: what is asked, shown and
//! executed when the member cancels, confirms, is over their role's maximum, or the txn settles
//! only after the first answer.

mod support;

use bot::frontend::flow::{self, FollowUp};
use bot::frontend::{
    BalanceArgs, CancelReason, Confirm, Decision, Failure, MoveArgs, MoveInput, MoveResult, Prompt,
    Who,
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
        user: Some(user.into()),
        member: None,
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
    assert_eq!(args.target, Who::Player(Target::Name("alice".into())));
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

/// A users port that is down: every look-up fails.
struct UsersDown;

impl bot::service::Users for UsersDown {
    fn by_id(&self, _id: u64) -> BoxFut<'_, Result<Option<RobloxUser>, bot::service::PortError>> {
        Box::pin(async { Err(bot::service::PortError::new("users", "down")) })
    }

    fn by_name<'a>(
        &'a self,
        _name: &'a str,
    ) -> BoxFut<'a, Result<Option<RobloxUser>, bot::service::PortError>> {
        Box::pin(async { Err(bot::service::PortError::new("users", "down")) })
    }
}

fn audit_args(input: bot::frontend::AuditInput, now_ms: i64) -> bot::frontend::AuditArgs {
    bot::frontend::AuditArgs::parse(&input, bot::cli::PAGES, now_ms).unwrap()
}

#[tokio::test]
async fn audit_names_players_from_a_cache_and_never_fails_for_a_name() {
    let world = World::new();
    let api = AuditApi::start().await;
    let service = world.service(&api, service_config()).await;
    world.seed_offline_profile(ALICE, 0);
    service.execute(request(Op::Give, ALICE, 5)).await.unwrap();
    // A record for a player the users port does not know (a game server's).
    let mut stranger = serde_json::to_value(world_record(&world)).unwrap();
    stranger["userId"] = 424_242.into();
    let stranger: shared::AuditRecord = serde_json::from_value(stranger).unwrap();
    api.game_client()
        .post_records(std::slice::from_ref(&stranger), "k-stranger")
        .await
        .unwrap();
    let args = audit_args(bot::frontend::AuditInput::default(), world.now_ms());
    let before = world.calls().users;
    let answer = flow::run_audit(&service, &staff(), &args, None)
        .await
        .unwrap();
    assert_eq!(answer.page.records.len(), 2);
    assert_eq!(answer.names.get(&ALICE).map(String::as_str), Some("alice"));
    assert!(
        !answer.names.contains_key(&424_242),
        "unknown: the id alone"
    );
    let text = bot::cli::record_line_named(&answer.page.records[1], &answer.names);
    assert!(text.contains("user 1001 (@alice)"), "{text}");
    let text = bot::cli::record_line_named(&answer.page.records[0], &answer.names);
    assert!(text.contains("user 424242 ·"), "{text}");
    assert_eq!(world.calls().users - before, 2, "one look-up per player");
    // Asked again: alice comes from the cache; the unknown id is asked again.
    let before = world.calls().users;
    flow::run_audit(&service, &staff(), &args, None)
        .await
        .unwrap();
    assert_eq!(world.calls().users - before, 1);

    // With the users port down the audit still answers, ids alone.
    let ports = bot::service::Ports {
        wallets: world.ports.clone(),
        messaging: world.ports.clone(),
        audit: Arc::new(bot::adapters::audit_api::ApiAuditLog::new(api.bot_client())),
        users: Arc::new(UsersDown),
        clock: service.clock().clone(),
    };
    let down = Service::new(
        ports,
        bot::service::Db::open(&world.db_url()).await.unwrap(),
        shared::KeyRing::parse(COMMAND_KEYS).unwrap(),
        service_config(),
    );
    let answer = flow::run_audit(&down, &staff(), &args, None).await.unwrap();
    assert_eq!(answer.page.records.len(), 2);
    assert!(answer.names.is_empty());
}

/// A game record for `world`'s current time (user ALICE, give 1).
fn world_record(world: &World) -> shared::AuditRecord {
    serde_json::from_value(serde_json::json!({
        "txnId": shared::TxnId::generate().to_string(),
        "source": "game", "userId": ALICE, "op": "give", "amount": 1, "outcome": "applied",
        "balanceAfter": 1, "reason": "quest", "serverJobId": "job-1",
        "issuedAt": world.now_ms(), "appliedAt": world.now_ms(),
    }))
    .unwrap()
}

#[tokio::test]
async fn audit_totals_cover_the_range_per_staff_member_and_per_player() {
    let world = World::new();
    let api = AuditApi::start().await;
    let service = world.service(&api, service_config()).await;
    world.seed_offline_profile(ALICE, 0);
    world.seed_offline_profile(BOB, 0);
    service.execute(request(Op::Give, ALICE, 3)).await.unwrap();
    world.clock.advance(25 * 3_600_000);
    for (op, user, amount) in [
        (Op::Give, ALICE, 5),
        (Op::Give, BOB, 7),
        (Op::Deduct, ALICE, 2),
    ] {
        service.execute(request(op, user, amount)).await.unwrap();
    }
    // 2026-11-22 (the world starts 2026-11-21 00:00 UTC) onwards: the first give is left out.
    let args = audit_args(
        bot::frontend::AuditInput {
            since: Some("2026-11-22".into()),
            totals: true,
            ..Default::default()
        },
        world.now_ms(),
    );
    let a = flow::run_audit_totals(&service, &staff(), &args, None)
        .await
        .unwrap();
    let o = a.by_actor.overall;
    assert_eq!((o.given, o.gives, o.deducted, o.deducts), (12, 2, 2, 1));
    assert_eq!(a.by_actor.groups.len(), 1);
    assert_eq!(a.by_actor.groups[0].actor_id.as_deref(), Some(&*staff().id));
    let players: Vec<_> = a
        .by_player
        .groups
        .iter()
        .map(|g| (g.user_id, g.sums.given, g.sums.deducted))
        .collect();
    // Both moved 7: ties go by id.
    assert_eq!(
        players,
        [(Some(ALICE as i64), 5, 2), (Some(BOB as i64), 7, 0)]
    );
    assert_eq!(a.names.get(&BOB).map(String::as_str), Some("bob"));
    let card = bot::frontend::words::audit_totals("All movements", &a, &bot::cli::DIALECT);
    let text = bot::cli::draw(&card);
    assert!(text.contains("given 12 (2) · deducted 2 (1)"), "{text}");
    assert!(
        text.contains("Player user 1002 (@bob): given 7 (1)"),
        "{text}"
    );
    // The whole log counts the first day too.
    let all = audit_args(
        bot::frontend::AuditInput {
            totals: true,
            ..Default::default()
        },
        world.now_ms(),
    );
    let a = flow::run_audit_totals(&service, &staff(), &all, None)
        .await
        .unwrap();
    assert_eq!(a.by_actor.overall.given, 15);
}
