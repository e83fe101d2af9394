//! Gateway-free tests of the Discord front end's pure parts: receipts for every outcome and
//! refusal within Discord's embed limits, option errors naming the option, error wording, and
//! the Confirm / Cancel state machine and driver.

use bot::discord::commands::AUDIT_PAGES;
use bot::discord::confirm::{
    BoxFut, Button, CancelReason, Confirmation, Decision, Incoming, PressSource, Step,
    await_decision, button_of, confirm_then, custom_ids,
};
use bot::discord::error::CommandError;
use bot::discord::render::{self, embed_limit_problems};
use bot::frontend::OptionError;
use bot::service::{
    BalanceView, Committer, Outcome, PortError, Receipt, Refusal, RobloxUser, ServiceError,
    SettledTxn,
};
use serde_json::Value;
use shared::{AuditRecord, Op, RecordOutcome, RejectReason, Source, TxnId};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

const ALL_REASONS: [RejectReason; 6] = [
    RejectReason::InsufficientFunds,
    RejectReason::AmountOutOfRange,
    RejectReason::BalanceOverflow,
    RejectReason::Expired,
    RejectReason::NotYetValid,
    RejectReason::Stale,
];

fn user(display: &str, name: &str) -> RobloxUser {
    RobloxUser {
        id: 9_007_199_254_740_991,
        name: name.into(),
        display_name: display.into(),
    }
}

fn every_outcome() -> Vec<Outcome> {
    let mut v = vec![
        Outcome::Applied {
            balance_after: 1_500,
            committed_by: Committer::Bot,
        },
        Outcome::Applied {
            balance_after: 9_007_199_254_740_991,
            committed_by: Committer::GameServer(Some("a".repeat(300))),
        },
        Outcome::Applied {
            balance_after: 0,
            committed_by: Committer::GameServer(None),
        },
        Outcome::NotDelivered,
        Outcome::Pending,
    ];
    for reason in ALL_REASONS {
        v.push(Outcome::Rejected {
            reason,
            balance: 42,
        });
    }
    let originals = v.clone();
    for o in originals {
        v.push(Outcome::AlreadyProcessed {
            original: Box::new(o),
        });
    }
    v
}

fn json(e: &serenity::all::CreateEmbed) -> Value {
    serde_json::to_value(e).unwrap()
}

fn field<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v["fields"]
        .as_array()?
        .iter()
        .find(|f| f["name"] == name)
        .and_then(|f| f["value"].as_str())
}

#[test]
fn every_outcome_renders_a_receipt_within_discord_limits() {
    let txn = TxnId::generate();
    // Worst-case names: long, markdown and mentions everywhere.
    let nasty = "@everyone **_~~`||>".repeat(30);
    for outcome in every_outcome() {
        for who in [user("Builder", "builderman"), user(&nasty, &nasty)] {
            let r = Receipt {
                txn: txn.clone(),
                user: who,
                op: Op::Deduct,
                amount: 1_000_000_000,
                outcome: outcome.clone(),
            };
            let e = render::receipt_embed(&r);
            assert_eq!(
                embed_limit_problems(&e),
                Vec::<String>::new(),
                "{outcome:?}"
            );
            let v = json(&e);
            let all = v.to_string();
            assert!(all.contains(txn.as_str()), "{outcome:?}: txn id missing");
            assert!(!all.contains("@everyone"), "{outcome:?}: unescaped mention");
            let title = v["title"].as_str().unwrap();
            let expect = match &outcome {
                Outcome::Applied { .. } => "Applied",
                Outcome::Rejected { .. } => "Rejected",
                Outcome::AlreadyProcessed { .. } => "Already processed",
                Outcome::NotDelivered => "Not delivered",
                Outcome::Pending => "Pending",
            };
            assert!(title.contains(expect), "{title} for {outcome:?}");
            match &outcome {
                Outcome::Applied { balance_after, .. } => {
                    assert_eq!(
                        field(&v, "New balance"),
                        Some(balance_after.to_string().as_str())
                    )
                }
                Outcome::Rejected { reason, balance } => {
                    assert_eq!(field(&v, "Why"), Some(render::reject_words(*reason)));
                    assert_eq!(
                        field(&v, "Balance (unchanged)"),
                        Some(balance.to_string().as_str())
                    );
                }
                Outcome::AlreadyProcessed { .. } => {
                    assert!(field(&v, "Duplicate").unwrap().contains("nothing changed"))
                }
                Outcome::NotDelivered => {
                    assert!(field(&v, "Why").unwrap().contains("nothing moved"))
                }
                Outcome::Pending => assert!(field(&v, "Status").unwrap().contains("updated")),
            }
        }
    }
}

#[test]
fn rejection_reasons_are_distinct_plain_words() {
    let words: std::collections::HashSet<_> = ALL_REASONS
        .iter()
        .map(|r| render::reject_words(*r))
        .collect();
    assert_eq!(words.len(), ALL_REASONS.len());
    assert!(words.iter().all(|w| !w.contains('_')));
}

#[test]
fn log_balance_audit_and_prompt_embeds_stay_within_limits() {
    let long = "x".repeat(5_000);
    for outcome in every_outcome() {
        let t = SettledTxn {
            txn: TxnId::generate(),
            user_id: 1,
            op: Op::Give,
            amount: 5,
            actor_id: "123456789012345678".into(),
            actor_name: long.clone(),
            reason: long.clone(),
            outcome,
            settled_at_ms: 1_763_800_000_000,
        };
        let e = render::log_embed(&t);
        assert_eq!(embed_limit_problems(&e), Vec::<String>::new());
        assert!(json(&e).to_string().contains(t.txn.as_str()));
    }
    let view = BalanceView {
        user: user(&long, &long),
        balance: 77,
        as_of_ms: Some(1_763_800_000_000),
        in_live_server: true,
    };
    let e = render::balance_embed(&view);
    assert_eq!(embed_limit_problems(&e), Vec::<String>::new());
    assert_eq!(field(&json(&e), "Balance"), Some("77"));
    assert_eq!(field(&json(&e), "As of"), Some("<t:1763800000:R>"));

    let record = AuditRecord {
        txn_id: TxnId::generate(),
        source: Source::Discord,
        user_id: 1,
        op: Op::Deduct,
        amount: 3,
        outcome: RecordOutcome::Rejected,
        reject_reason: Some(RejectReason::InsufficientFunds),
        balance_after: 2,
        reason: long.clone(),
        actor_id: Some(long.clone()),
        actor_name: Some(long.clone()),
        server_job_id: None,
        issued_at: 1,
        applied_at: 2,
    };
    let page = vec![record; AUDIT_PAGES.max as usize];
    let e = render::audit_embed("All movements", &page, true);
    assert_eq!(embed_limit_problems(&e), Vec::<String>::new());
    assert_eq!(
        json(&e)["fields"].as_array().unwrap().len(),
        page.len(),
        "every record of the page is shown"
    );
    let e = render::audit_embed("All movements", &[], false);
    assert!(
        json(&e)["description"]
            .as_str()
            .unwrap()
            .contains("no records")
    );

    let e = render::confirm_prompt_embed(
        Op::Give,
        500_000,
        &user(&long, "a"),
        &long,
        100_000,
        Duration::from_secs(60),
    );
    assert_eq!(embed_limit_problems(&e), Vec::<String>::new());
    for why in [CancelReason::ByInvoker, CancelReason::TimedOut] {
        let e = render::cancelled_embed(Op::Give, 500_000, why);
        assert!(
            json(&e)["description"]
                .as_str()
                .unwrap()
                .contains("nothing moved")
        );
    }
}

#[test]
fn the_limit_checker_catches_oversized_embeds() {
    let e = serenity::all::CreateEmbed::new()
        .title("t".repeat(257))
        .field("n", "v".repeat(1025), false)
        .field("m", "w".repeat(1000), false)
        .description("d".repeat(4096));
    let problems = embed_limit_problems(&e);
    assert!(
        problems.iter().any(|p| p.starts_with("title")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("field 0 value")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("total")),
        "{problems:?}"
    );
}

#[test]
fn every_refusal_and_failure_reads_as_plain_words_without_internals() {
    let txn = TxnId::generate();
    let refusals = vec![
        Refusal::NotAllowed,
        Refusal::OverRoleMax { max: 100 },
        Refusal::AmountOutOfRange { max: 1_000 },
        Refusal::DailyCap { cap: 10, used: 9 },
        Refusal::Cooldown {
            retry_after_ms: 1_200,
        },
        Refusal::UnknownUser("42".into()),
        Refusal::BadReason,
        Refusal::BadActor,
        Refusal::ReplayMismatch(txn),
    ];
    for r in refusals {
        let e = CommandError::Service(ServiceError::Refused(r.clone()));
        let msg = e.user_message("abc");
        assert!(msg.ends_with("Nothing moved."), "{msg}");
        assert!(msg.chars().next().unwrap().is_uppercase(), "{msg}");
        assert!(!msg.contains("Refused("), "{msg}");
        assert_eq!(e.metric_label(), "refused");
        let embed = render::error_embed(&msg);
        assert_eq!(embed_limit_problems(&embed), Vec::<String>::new());
    }
    let down = CommandError::Service(ServiceError::Unavailable(PortError::new(
        "open cloud",
        "answered HTTP 503 at http://10.0.0.7/secret-path",
    )));
    let msg = down.user_message("ref42");
    assert!(
        msg.contains("nothing moved") && msg.contains("ref42"),
        "{msg}"
    );
    assert!(!msg.contains("503") && !msg.contains("secret"), "{msg}");
    assert_eq!(down.metric_label(), "unavailable");
}

#[test]
fn option_errors_name_the_option() {
    for e in [
        OptionError::EmptyUser,
        OptionError::BadUsername,
        OptionError::Reason,
        OptionError::Txn,
        OptionError::Limit { max: 10 },
    ] {
        let msg = CommandError::Option(e.clone()).user_message("r");
        assert!(msg.starts_with('`'), "{msg}: must name the option");
    }
}

#[test]
fn button_ids_belong_to_one_invocation() {
    let (ok, no) = custom_ids(77);
    assert!(ok.len() <= 100 && no.len() <= 100);
    assert_eq!(button_of(77, &ok), Some(Button::Confirm));
    assert_eq!(button_of(77, &no), Some(Button::Cancel));
    assert_eq!(button_of(78, &ok), None);
    assert_eq!(button_of(7, &ok), None);
}

#[tokio::test(start_paused = true)]
async fn the_state_machine_listens_only_to_the_invoker_and_times_out() {
    let start = Instant::now();
    let mut m = Confirmation::new(1, start + Duration::from_secs(60));
    assert_eq!(m.press(2, Button::Confirm, start), Step::NotInvoker);
    assert_eq!(m.decision(), None);
    assert_eq!(
        m.press(1, Button::Cancel, start + Duration::from_secs(1)),
        Step::Decided(Decision::Cancelled(CancelReason::ByInvoker))
    );
    // The first decision is final.
    assert_eq!(
        m.press(1, Button::Confirm, start + Duration::from_secs(2)),
        Step::Decided(Decision::Cancelled(CancelReason::ByInvoker))
    );
    let mut late = Confirmation::new(1, start + Duration::from_secs(60));
    assert_eq!(late.expire(start + Duration::from_secs(59)), None);
    assert_eq!(
        late.press(1, Button::Confirm, start + Duration::from_secs(60)),
        Step::Decided(Decision::Cancelled(CancelReason::TimedOut))
    );
}

/// Presses from a channel; records whom it refused and accepted.
struct ChannelPresses {
    rx: mpsc::UnboundedReceiver<(u64, Button)>,
    refused: Vec<u64>,
    accepted: Vec<u64>,
}

impl PressSource for ChannelPresses {
    type Handle = u64;

    fn next(&mut self, wait: Duration) -> BoxFut<'_, Option<Incoming<u64>>> {
        Box::pin(async move {
            match tokio::time::timeout(wait, self.rx.recv()).await {
                Ok(Some((user, button))) => Some(Incoming {
                    user,
                    button,
                    handle: user,
                }),
                _ => None,
            }
        })
    }

    fn refuse(&mut self, handle: u64) -> BoxFut<'_, ()> {
        self.refused.push(handle);
        Box::pin(async {})
    }

    fn accept(&mut self, handle: u64) -> BoxFut<'_, ()> {
        self.accepted.push(handle);
        Box::pin(async {})
    }
}

fn source() -> (mpsc::UnboundedSender<(u64, Button)>, ChannelPresses) {
    let (tx, rx) = mpsc::unbounded_channel();
    (
        tx,
        ChannelPresses {
            rx,
            refused: vec![],
            accepted: vec![],
        },
    )
}

#[tokio::test(start_paused = true)]
async fn nothing_is_executed_before_the_invoker_confirms() {
    let (tx, mut presses) = source();
    let executed = Arc::new(AtomicUsize::new(0));
    let seen = executed.clone();
    let timeout = Duration::from_secs(60);
    let invoker = 10;
    let driver = tokio::spawn(async move {
        let machine = Confirmation::new(invoker, Instant::now() + timeout);
        let r = confirm_then(&mut presses, machine, || async move {
            seen.fetch_add(1, Ordering::SeqCst);
            "published"
        })
        .await;
        (r, presses.refused, presses.accepted)
    });
    // A bystander presses Confirm: refused, nothing executed.
    tx.send((99, Button::Confirm)).unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(executed.load(Ordering::SeqCst), 0);
    tx.send((invoker, Button::Confirm)).unwrap();
    let (r, refused, accepted) = driver.await.unwrap();
    assert_eq!(r, Ok("published"));
    assert_eq!(executed.load(Ordering::SeqCst), 1);
    assert_eq!(refused, vec![99]);
    assert_eq!(accepted, vec![invoker]);
}

#[tokio::test(start_paused = true)]
async fn no_press_means_cancelled_at_the_deadline_and_nothing_runs() {
    let (tx, mut presses) = source();
    let executed = AtomicUsize::new(0);
    let start = Instant::now();
    let machine = Confirmation::new(1, start + Duration::from_secs(45));
    let r = confirm_then(&mut presses, machine, || async {
        executed.fetch_add(1, Ordering::SeqCst);
    })
    .await;
    assert_eq!(r, Err(CancelReason::TimedOut));
    assert_eq!(start.elapsed(), Duration::from_secs(45));
    assert_eq!(executed.load(Ordering::SeqCst), 0);
    drop(tx);

    // Only bystanders press, then the source goes away: still the deadline decides.
    let (tx, mut presses) = source();
    tx.send((2, Button::Confirm)).unwrap();
    tx.send((3, Button::Confirm)).unwrap();
    drop(tx);
    let start = Instant::now();
    let d = await_decision(
        &mut presses,
        Confirmation::new(1, start + Duration::from_secs(30)),
    )
    .await;
    assert_eq!(d, Decision::Cancelled(CancelReason::TimedOut));
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    assert_eq!(presses.refused, vec![2, 3]);
}

#[tokio::test(start_paused = true)]
async fn cancel_by_the_invoker_runs_nothing() {
    let (tx, mut presses) = source();
    tx.send((1, Button::Cancel)).unwrap();
    let executed = AtomicUsize::new(0);
    let r = confirm_then(
        &mut presses,
        Confirmation::new(1, Instant::now() + Duration::from_secs(60)),
        || async {
            executed.fetch_add(1, Ordering::SeqCst);
        },
    )
    .await;
    assert_eq!(r, Err(CancelReason::ByInvoker));
    assert_eq!(executed.load(Ordering::SeqCst), 0);
    assert_eq!(presses.accepted, vec![1]);
}

#[test]
fn audit_csv_quotes_and_defuses_text_typed_by_people() {
    let base = AuditRecord {
        txn_id: TxnId::generate(),
        source: Source::Discord,
        user_id: 7,
        op: Op::Give,
        amount: 3,
        outcome: RecordOutcome::Applied,
        reject_reason: None,
        balance_after: 3,
        reason: "plain".into(),
        actor_id: Some("11".into()),
        actor_name: Some("Mod".into()),
        server_job_id: None,
        issued_at: 1,
        applied_at: 2,
    };
    let tricky = AuditRecord {
        txn_id: TxnId::generate(),
        reason: "=HYPERLINK(\"x\"), then \"quoted\"\nline".into(),
        actor_name: Some("@here,Mod".into()),
        outcome: RecordOutcome::Rejected,
        reject_reason: Some(RejectReason::InsufficientFunds),
        ..base.clone()
    };
    let csv = render::audit_csv(&[base.clone(), tricky.clone()]);
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert!(lines[0].starts_with("applied_at_ms,txn_id,user_id,op,amount,outcome"));
    assert_eq!(
        lines[1],
        format!(
            "2,{},7,give,3,applied,,3,11,Mod,discord,,1,plain",
            base.txn_id
        )
    );
    assert!(
        csv.contains(&format!(
            "2,{},7,give,3,rejected,insufficient_funds,3,11,\"'@here,Mod\",discord,,1,\"'=HYPERLINK(\"\"x\"\"), then \"\"quoted\"\"\nline\"",
            tricky.txn_id
        )),
        "{csv}"
    );
    assert!(csv.ends_with("\r\n"));
    assert_eq!(
        render::audit_csv(&[]).matches("\r\n").count(),
        1,
        "header only"
    );
}
