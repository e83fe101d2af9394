//! `/payout` in the shared front-end layer: its arguments (one way of naming players, pasted
//! lists and CSV files, repeats, bad entries, the limit) and its flow over the real service with
//! a fake front end (unknown usernames listed and the rest paid only after Confirm, a cancel
//! that stores nothing, a role paid through its members' links, a role without links refused).

mod support;

use bot::frontend::payout::{self, PayoutPreview, PayoutResult, PayoutUi, RoleMembers};
use bot::frontend::{
    CancelReason, Decision, Failure, OptionError, PayoutArgs, PayoutInput, PayoutPlayers,
};
use bot::links::{LinkSettings, Links};
use bot::service::{BatchCounts, BoxFut, Refusal, ServiceError, Target};
use std::sync::Arc;
use support::*;

fn input(players: Option<&str>, file: Option<&str>, role: Option<u64>) -> PayoutInput {
    PayoutInput {
        amount: 100,
        reason: "winter cup".into(),
        role,
        players: players.map(str::to_owned),
        file: file.map(str::to_owned),
    }
}

fn parse(i: &PayoutInput) -> Result<PayoutArgs, OptionError> {
    PayoutArgs::parse(i, 1_000_000, 5)
}

fn list(targets: Vec<Target>, duplicates: usize) -> PayoutPlayers {
    PayoutPlayers::List {
        targets,
        duplicates,
    }
}

#[test]
fn payout_arguments_name_players_one_way_and_every_entry_is_checked() {
    use Target::{Id, Name};
    assert_eq!(
        parse(&input(None, None, None)),
        Err(OptionError::PayoutTargets)
    );
    assert_eq!(
        parse(&input(Some("1"), None, Some(9))),
        Err(OptionError::PayoutTargets)
    );
    assert_eq!(
        parse(&input(None, None, Some(9))).unwrap().players,
        PayoutPlayers::Role(9)
    );
    // Pasted: any mix of separators; the same id or username (any case) counts once.
    let a = parse(&input(Some("1001, alice;\n1001  ALICE @bob"), None, None)).unwrap();
    assert_eq!(
        a.players,
        list(vec![Id(1001), Name("alice".into()), Name("bob".into())], 2)
    );
    // CSV: the first column, a header row skipped, quotes removed.
    let csv = "user_id,note\n\"1001\",first\n1002,second\n\nalice,x\n";
    let a = parse(&input(None, Some(csv), None)).unwrap();
    assert_eq!(
        a.players,
        list(vec![Id(1001), Id(1002), Name("alice".into())], 0)
    );
    // Entries that are neither ids nor usernames are named, and nothing proceeds.
    let e = parse(&input(Some("1001 a!b 0 c"), None, None)).unwrap_err();
    assert_eq!(
        e,
        OptionError::BadPlayers {
            option: "players",
            count: 3,
            shown: r#""a!b", "0", "c""#.into()
        }
    );
    assert!(e.to_string().contains("3 entries"), "{e}");
    assert_eq!(
        parse(&input(Some(" ,; "), None, None)),
        Err(OptionError::NoPlayers("players"))
    );
    assert_eq!(
        parse(&input(None, Some("user_id\n"), None)),
        Err(OptionError::NoPlayers("file"))
    );
    let e = parse(&input(Some("1 2 3 4 5 6"), None, None)).unwrap_err();
    assert_eq!(
        e,
        OptionError::TooManyPlayers {
            option: "players",
            got: 6,
            max: 5
        }
    );
    // The amount and reason rules are the give's.
    let mut bad = input(Some("1"), None, None);
    bad.amount = 0;
    assert!(matches!(parse(&bad), Err(OptionError::Amount { .. })));
    bad.amount = 1;
    bad.reason = " ".into();
    assert_eq!(parse(&bad), Err(OptionError::Reason));
}

/// A front end that answers the preview with `answer` and notes what it saw.
struct FakeUi {
    answer: Decision,
    previews: Vec<PayoutPreview>,
    progress: Vec<BatchCounts>,
}

impl FakeUi {
    fn answering(answer: Decision) -> Self {
        Self {
            answer,
            previews: vec![],
            progress: vec![],
        }
    }
}

impl PayoutUi for FakeUi {
    type Error = Failure;

    fn confirm_payout<'a>(
        &'a mut self,
        preview: &'a PayoutPreview,
    ) -> BoxFut<'a, Result<Decision, Failure>> {
        self.previews.push(preview.clone());
        let answer = self.answer;
        Box::pin(async move { Ok(answer) })
    }

    fn progress<'a>(&'a mut self, counts: &'a BatchCounts) -> BoxFut<'a, ()> {
        self.progress.push(*counts);
        Box::pin(async {})
    }
}

fn refusal(f: Failure) -> Refusal {
    match f {
        Failure::Service(ServiceError::Refused(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn unknown_usernames_are_listed_and_the_rest_are_paid_only_after_confirm() {
    let world = World::new();
    let api = AuditApi::start().await;
    let service = world.service(&api, service_config()).await;
    let args = parse(&input(
        Some("alice ghost_1 1002 nobody_2 alice"),
        None,
        None,
    ))
    .unwrap();

    // Cancelled: the preview was shown, nothing stored, nothing written.
    let c0 = world.calls();
    let mut ui = FakeUi::answering(Decision::Cancelled(CancelReason::ByInvoker));
    let result = payout::run_payout(&service, staff(), args.clone(), None, &mut ui)
        .await
        .unwrap();
    let PayoutResult::Cancelled { preview, why } = result else {
        panic!("not cancelled")
    };
    assert_eq!(why, CancelReason::ByInvoker);
    assert_eq!(preview.plan.user_ids, vec![ALICE, BOB]);
    assert_eq!(preview.unknown, vec!["ghost_1", "nobody_2"]);
    assert_eq!(preview.repeats, 1);
    assert_eq!(preview.plan.total(), 200);
    assert_eq!(world.calls().since(&c0).set, 0);
    assert!(service.db().unfinished_batches().await.unwrap().is_empty());
    assert!(ui.progress.is_empty());

    // Confirmed: the known players are paid once, with progress and a report.
    let mut ui = FakeUi::answering(Decision::Confirmed);
    let result = payout::run_payout(&service, staff(), args, None, &mut ui)
        .await
        .unwrap();
    let PayoutResult::Done { report, .. } = result else {
        panic!("not done")
    };
    assert_eq!(ui.previews.len(), 1);
    assert_eq!(report.counts().applied, 2);
    assert_eq!(ui.progress.last(), Some(&report.counts()));
    assert_eq!(world.wallet(ALICE).balance, 100);
    assert_eq!(world.wallet(BOB).balance, 100);
    let csv = bot::frontend::words::payout_csv(&report);
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(
        csv.lines()
            .all(|l| l.contains(",applied,") || l.starts_with("user_id"))
    );

    // A list of only unknown usernames is refused.
    let args = parse(&input(Some("ghost_1 nobody_2"), None, None)).unwrap();
    let mut ui = FakeUi::answering(Decision::Confirmed);
    let e = payout::run_payout(&service, staff(), args, None, &mut ui)
        .await
        .unwrap_err();
    assert_eq!(refusal(e), Refusal::NoKnownPlayers { unknown: 2 });
    assert!(ui.previews.is_empty());
}

async fn links(world: &World) -> Links {
    let mut errors = vec![];
    let settings = LinkSettings::read(&|_| None, &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    let db = bot::service::Db::open(&world.db_url()).await.unwrap();
    let clock: Arc<dyn bot::service::Clock> = Arc::new(shared::clock::SystemClock);
    settings.build(db, clock).unwrap()
}

#[tokio::test]
async fn a_role_is_paid_through_its_members_links_and_one_without_links_is_refused() {
    const GUILD: u64 = 900_000;
    let world = World::new();
    let api = AuditApi::start().await;
    let service = world.service(&api, service_config()).await;
    let links = links(&world).await;
    links.set_staff_link(GUILD, 11, ALICE, "42").await.unwrap();
    links.set_staff_link(GUILD, 12, BOB, "42").await.unwrap();

    let args = parse(&input(None, None, Some(555))).unwrap();
    let members = RoleMembers {
        guild_id: GUILD,
        member_ids: vec![11, 12, 13],
        links: &links,
    };
    let mut ui = FakeUi::answering(Decision::Confirmed);
    let result = payout::run_payout(&service, staff(), args.clone(), Some(members), &mut ui)
        .await
        .unwrap();
    let PayoutResult::Done { preview, report } = result else {
        panic!("not done")
    };
    assert_eq!(preview.role, Some(555));
    assert_eq!(preview.plan.user_ids, vec![ALICE, BOB]);
    assert_eq!(
        preview.unlinked,
        vec![(13, "no linked Roblox account".to_owned())]
    );
    assert_eq!(report.counts().applied, 2);

    // No member linked: refused before any prompt, naming the role.
    let members = RoleMembers {
        guild_id: GUILD,
        member_ids: vec![13, 14],
        links: &links,
    };
    let mut ui = FakeUi::answering(Decision::Confirmed);
    let e = payout::run_payout(&service, staff(), args, Some(members), &mut ui)
        .await
        .unwrap_err();
    let r = refusal(e);
    assert_eq!(
        r,
        Refusal::RoleWithoutLinks {
            role: 555,
            members: 2
        }
    );
    assert!(r.to_string().contains("role 555"), "{r}");
    assert!(ui.previews.is_empty());
}
