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
use bot::frontend::{MoveResult, OptionError};
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
                reverses: None,
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
                        Some(bot::frontend::words::amount(*balance_after).as_str())
                    )
                }
                Outcome::Rejected { reason, balance } => {
                    assert_eq!(field(&v, "Why"), Some(render::reject_words(*reason)));
                    assert_eq!(
                        field(&v, "Balance (unchanged)"),
                        Some(bot::frontend::words::amount(*balance).as_str())
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
            reverses: None,
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
        reverses: None,
    };
    let page = vec![record; AUDIT_PAGES.max as usize];
    let e = render::audit_embed("All movements", &page, &Default::default(), true);
    assert_eq!(embed_limit_problems(&e), Vec::<String>::new());
    assert_eq!(
        json(&e)["fields"].as_array().unwrap().len(),
        page.len(),
        "every record of the page is shown"
    );
    let e = render::audit_embed("All movements", &[], &Default::default(), false);
    assert!(
        json(&e)["description"]
            .as_str()
            .unwrap()
            .contains("no records")
    );

    let e = render::confirm_prompt_embed(
        &bot::frontend::Prompt {
            op: Op::Give,
            amount: 500_000,
            player: &user(&long, "a"),
            member: None,
            reason: &long,
            threshold: 100_000,
            wallet: None,
            reverses: Some(&shared::TxnId::generate()),
        },
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
        reverses: None,
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

#[test]
fn code_spans_show_ids_as_stored_and_the_bots_own_code_renders() {
    // Inside a code span Discord shows every character as is: a markdown escape there would
    // show up as `\-`; a backtick would end the span early.
    let r = Receipt {
        txn: TxnId::generate(),
        user: user("Builder", "builderman"),
        op: Op::Give,
        amount: 5,
        outcome: Outcome::Applied {
            balance_after: 5,
            committed_by: Committer::GameServer(Some("job-1_a`b\nc".into())),
        },
        reverses: None,
    };
    let v = json(&render::receipt_embed(&r));
    assert_eq!(
        field(&v, "Saved by"),
        Some("game server `job-1_a\u{2cb}b c`")
    );
    let record = AuditRecord {
        txn_id: TxnId::generate(),
        source: Source::Discord,
        user_id: 1,
        op: Op::Give,
        amount: 3,
        outcome: RecordOutcome::Applied,
        reject_reason: None,
        balance_after: 3,
        reason: "a_b".into(),
        actor_id: Some("4-2".into()),
        actor_name: Some("o_k".into()),
        server_job_id: None,
        issued_at: 1,
        applied_at: 2,
        reverses: None,
    };
    let page = json(&render::audit_embed(
        "All movements",
        &[record],
        &Default::default(),
        false,
    ));
    let details = page["fields"][0]["value"].as_str().unwrap();
    // Typed text outside code is escaped; the id inside code is not.
    assert!(details.contains("by o\\_k (`4-2`)"), "{details}");
    assert!(details.contains("\na\\_b\n"), "{details}");

    // The bot's own words mark option names as code: they must render as code, not as
    // escaped backticks.
    for e in [
        OptionError::BadUsername,
        OptionError::Amount { max: 9 },
        OptionError::Txn,
    ] {
        let msg = CommandError::Option(e).user_message("r");
        let v = json(&render::error_embed(&msg));
        let shown = v["description"].as_str().unwrap();
        assert!(shown.starts_with('`') && !shown.contains("\\`"), "{shown}");
    }
    // Text typed by people inside a message stays escaped, and an unpaired backtick stays a
    // visible backtick.
    let v = json(&render::error_embed(
        "No Roblox user named \"a_b\". Nothing moved `x",
    ));
    assert_eq!(
        v["description"].as_str().unwrap(),
        "No Roblox user named \"a\\_b\". Nothing moved \\`x"
    );
}

#[test]
fn amounts_shown_to_staff_have_thousands_separators() {
    let r = Receipt {
        txn: TxnId::generate(),
        user: user("Builder", "builderman"),
        op: Op::Give,
        amount: 1_250_000,
        outcome: Outcome::Applied {
            balance_after: 10_000_000,
            committed_by: Committer::Bot,
        },
        reverses: None,
    };
    let v = json(&render::receipt_embed(&r));
    assert_eq!(v["title"], "✅ Applied: Give 1,250,000");
    assert_eq!(field(&v, "Amount"), Some("1,250,000"));
    assert_eq!(field(&v, "New balance"), Some("10,000,000"));
    // A user id is an id, not an amount.
    assert!(field(&v, "Player").unwrap().contains("`9007199254740991`"));
    // The CLI and the console write the same words.
    let cli = bot::frontend::words::receipt(&r, None, &bot::cli::DIALECT);
    assert_eq!(cli.title, "✅ Applied: Give 1,250,000");
    let rejected = Receipt {
        outcome: Outcome::Rejected {
            reason: RejectReason::InsufficientFunds,
            balance: 1_000,
        },
        ..r.clone()
    };
    let v = json(&render::receipt_embed(&rejected));
    assert_eq!(field(&v, "Balance (unchanged)"), Some("1,000"));

    let v = json(&render::confirm_prompt_embed(
        &bot::frontend::Prompt {
            op: Op::Deduct,
            amount: 1_250_000,
            player: &user("Builder", "builderman"),
            member: None,
            reason: "x",
            threshold: 100_000,
            wallet: None,
            reverses: None,
        },
        Duration::from_secs(60),
    ));
    assert_eq!(v["title"], "Confirm: Deduct 1,250,000?");
    assert!(v["description"].as_str().unwrap().contains("100,000"));
    let v = json(&render::cancelled_embed(
        Op::Give,
        1_250_000,
        CancelReason::TimedOut,
    ));
    assert_eq!(v["title"], "Cancelled: Give 1,250,000");
    let v = json(&render::working_embed(Op::Give, 1_250_000, &user("B", "b")));
    assert!(v["title"].as_str().unwrap().ends_with("Give 1,250,000"));
    let view = BalanceView {
        user: user("B", "b"),
        balance: 1_234_567,
        as_of_ms: None,
        in_live_server: false,
    };
    assert_eq!(
        field(&json(&render::balance_embed(&view)), "Balance"),
        Some("1,234,567")
    );
    let record = AuditRecord {
        txn_id: TxnId::generate(),
        source: Source::Discord,
        user_id: 1001,
        op: Op::Give,
        amount: 1_000_000,
        outcome: RecordOutcome::Applied,
        reject_reason: None,
        balance_after: 2_500_000,
        reason: "r".into(),
        actor_id: None,
        actor_name: None,
        server_job_id: None,
        issued_at: 1,
        applied_at: 2,
        reverses: None,
    };
    let (head, details) = bot::frontend::words::record_line(&record, 200, &bot::cli::DIALECT);
    assert_eq!(head, "Give 1,000,000 · user 1001 · applied");
    assert!(details.contains("balance 2,500,000"), "{details}");
    let t = SettledTxn {
        txn: TxnId::generate(),
        user_id: 1,
        op: Op::Give,
        amount: 1_250_000,
        actor_id: "1".into(),
        actor_name: "a".into(),
        reason: "r".into(),
        outcome: Outcome::NotDelivered,
        settled_at_ms: 0,
        reverses: None,
    };
    assert!(
        json(&render::log_embed(&t))["title"]
            .as_str()
            .unwrap()
            .ends_with("Give 1,250,000")
    );
    for (e, want) in [
        (
            Refusal::DailyCap {
                cap: 10_000_000,
                used: 9_500_000,
            },
            vec!["10,000,000", "9,500,000"],
        ),
        (Refusal::OverRoleMax { max: 1_000_000 }, vec!["1,000,000"]),
        (
            Refusal::AmountOutOfRange { max: 1_000_000_000 },
            vec!["1,000,000,000"],
        ),
    ] {
        let msg = CommandError::Service(ServiceError::Refused(e)).user_message("r");
        for w in want {
            assert!(msg.contains(w), "{msg} lacks {w}");
        }
    }
    let msg = CommandError::Option(OptionError::Amount { max: 1_000_000 }).user_message("r");
    assert!(msg.contains("from 1 to 1,000,000"), "{msg}");
}

#[test]
fn a_reversal_names_its_original_in_audit_lines_and_log_posts() {
    let original = TxnId::generate();
    let mut record = AuditRecord {
        txn_id: TxnId::generate(),
        source: Source::Discord,
        user_id: 1001,
        op: Op::Deduct,
        amount: 500,
        outcome: RecordOutcome::Applied,
        reject_reason: None,
        balance_after: 0,
        reason: "undo".into(),
        actor_id: None,
        actor_name: None,
        server_job_id: None,
        issued_at: 1,
        applied_at: 2,
        reverses: Some(original.clone()),
    };
    let (head, _) = bot::frontend::words::record_line(&record, 200, &bot::cli::DIALECT);
    assert!(
        head.ends_with(&format!("applied · reversal of {}", original.as_str())),
        "{head}"
    );
    record.reverses = None;
    let (head, _) = bot::frontend::words::record_line(&record, 200, &bot::cli::DIALECT);
    assert!(!head.contains("reversal"), "{head}");

    let mut t = SettledTxn {
        txn: TxnId::generate(),
        user_id: 1001,
        op: Op::Deduct,
        amount: 500,
        actor_id: "1".into(),
        actor_name: "a".into(),
        reason: "undo".into(),
        outcome: Outcome::NotDelivered,
        settled_at_ms: 0,
        reverses: Some(original.clone()),
    };
    let post = json(&render::log_embed(&t));
    assert_eq!(
        field(&post, "Reversal of"),
        Some(format!("`{}`", original.as_str()).as_str())
    );
    t.reverses = None;
    assert_eq!(field(&json(&render::log_embed(&t)), "Reversal of"), None);
}

#[test]
fn a_receipt_that_outlives_its_follow_up_says_where_the_outcome_will_appear() {
    let r = Receipt {
        txn: TxnId::generate(),
        user: user("Builder", "builderman"),
        op: Op::Give,
        amount: 5,
        outcome: Outcome::Pending,
        reverses: None,
    };
    let last = |channel| {
        json(&render::final_embed(
            &MoveResult::StillPending(r.clone()),
            channel,
        ))
    };
    for (channel, place) in [(Some(42), "<#42>"), (None, "`/audit`")] {
        let v = last(channel);
        let status = field(&v, "Status").unwrap();
        assert!(
            status.contains("no longer updated") && status.contains("`/audit`"),
            "{status}"
        );
        assert!(status.contains(place), "{status}");
        assert!(!status.contains("updated when it settles"), "{status}");
        assert!(v.to_string().contains(r.txn.as_str()));
        assert_eq!(
            embed_limit_problems(&render::final_embed(
                &MoveResult::StillPending(r.clone()),
                channel
            )),
            Vec::<String>::new()
        );
    }
    assert!(!last(None).to_string().contains("<#"));
    // Anything else ends as its receipt (or cancel).
    let applied = Receipt {
        outcome: Outcome::Applied {
            balance_after: 5,
            committed_by: Committer::Bot,
        },
        ..r.clone()
    };
    assert_eq!(
        json(&render::final_embed(
            &MoveResult::SettledLater(applied.clone()),
            Some(42)
        )),
        json(&render::receipt_embed(&applied))
    );
}

#[test]
fn audit_page_edits_keep_the_csv() {
    // Discord keeps only the attachments an edit's `attachments` array lists; omitting the
    // array keeps them all. An empty array (what poise sends on followup edits) drops the CSV.
    let csv = serenity::all::AttachmentId::new(1_234_567_890_123);
    let older = vec![serenity::all::CreateActionRow::Buttons(vec![
        serenity::all::CreateButton::new("econ:1:older").label("Older"),
    ])];
    for components in [older, vec![]] {
        let edit = bot::discord::reply::audit_edit(
            render::audit_embed("All movements", &[], &Default::default(), false),
            components.clone(),
            &[csv],
        );
        let v = serde_json::to_value(&edit).unwrap();
        let kept = v["attachments"].as_array().expect("the files are listed");
        assert_eq!(kept.len(), 1, "{v}");
        assert_eq!(kept[0]["id"].to_string().trim_matches('"'), "1234567890123");
        assert_eq!(v["embeds"].as_array().unwrap().len(), 1);
        assert_eq!(
            v["components"].as_array().unwrap().len(),
            components.len(),
            "{v}"
        );
    }
    // Without files there is nothing to keep, and nothing to drop.
    let edit = bot::discord::reply::audit_edit(
        render::audit_embed("All movements", &[], &Default::default(), false),
        vec![],
        &[],
    );
    let v = serde_json::to_value(&edit).unwrap();
    assert!(
        v.get("attachments")
            .is_none_or(|a| a.as_array().is_some_and(Vec::is_empty)),
        "{v}"
    );
}

#[test]
fn help_names_every_command_and_who_may_use_it() {
    let policy = bot::service::Policy {
        role_max: [("111".to_string(), 1_000_000), ("222".to_string(), 50)].into(),
        daily_cap: 10_000_000,
        cooldown: Duration::from_secs(3),
        confirm_above: 100_000,
    };
    let outsider = render::help_embed(&policy, None, Duration::from_secs(60));
    assert_eq!(embed_limit_problems(&outsider), Vec::<String>::new());
    let v = json(&outsider);
    for c in bot::discord::commands() {
        assert!(
            field(&v, &format!("/{}", c.name)).is_some(),
            "/help does not explain /{}",
            c.name
        );
    }
    let text = v.to_string();
    assert!(
        text.contains("<@&111>") && text.contains("<@&222>"),
        "{text}"
    );
    assert!(
        text.contains("None of your roles is a staff role"),
        "{text}"
    );
    assert!(
        text.contains("10,000,000") && text.contains("100,000"),
        "{text}"
    );
    let staff = json(&render::help_embed(
        &policy,
        Some(1_000_000),
        Duration::from_secs(60),
    ));
    assert!(
        staff["description"]
            .as_str()
            .unwrap()
            .contains("You may move up to 1,000,000 per command."),
        "{staff}"
    );
}
