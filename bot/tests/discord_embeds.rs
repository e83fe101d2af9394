//! Every embed and error message the Discord front end can show, for fixed inputs, equals
//! `snapshots/discord_embeds.json`: the words live in the shared front-end layer, and this pins
//! what Discord members see byte for byte (regenerate with `UPDATE_SNAPSHOTS=1`, review the diff).

#[path = "support/snapshot.rs"]
mod snapshot;

use bot::discord::confirm::CancelReason;
use bot::discord::error::CommandError;
use bot::discord::render;
use bot::frontend::payout::PayoutPreview;
use bot::frontend::words;
use bot::service::bulk::StoredBatch;
use bot::service::{
    BalanceView, BatchId, BatchPlan, BatchReport, Committer, ItemReport, ItemState, OnlineSample,
    Outcome, PortError, Receipt, Refusal, RobloxUser, ServiceError, SettledTxn,
};
use serde_json::{Value, json};
use shared::{AuditRecord, Op, RecordOutcome, RejectReason, Source, TxnId};
use std::time::Duration;

const SNAPSHOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/snapshots/discord_embeds.json"
);

fn txn() -> TxnId {
    "01JD2Z5K7Q8R9S0T1V2W3X4Y5Z".parse().unwrap()
}

fn player() -> RobloxUser {
    RobloxUser {
        id: 1001,
        name: "amber_1001".into(),
        display_name: "Amber *the* @everyone".into(),
    }
}

fn outcomes() -> Vec<Outcome> {
    let mut v = vec![
        Outcome::Applied {
            balance_after: 1_500,
            committed_by: Committer::Bot,
        },
        Outcome::Applied {
            balance_after: 7,
            committed_by: Committer::GameServer(Some("job_1-a".into())),
        },
        Outcome::Applied {
            balance_after: 0,
            committed_by: Committer::GameServer(None),
        },
        Outcome::NotDelivered,
        Outcome::Pending,
    ];
    for reason in [
        RejectReason::InsufficientFunds,
        RejectReason::AmountOutOfRange,
        RejectReason::BalanceOverflow,
        RejectReason::Expired,
        RejectReason::NotYetValid,
        RejectReason::Stale,
    ] {
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

fn record(actor: (Option<&str>, Option<&str>), outcome: RecordOutcome) -> AuditRecord {
    AuditRecord {
        txn_id: txn(),
        source: Source::Discord,
        user_id: 1001,
        op: Op::Deduct,
        amount: 3,
        outcome,
        reject_reason: (outcome == RecordOutcome::Rejected)
            .then_some(RejectReason::InsufficientFunds),
        balance_after: 2,
        reason: "said (oops) - *sorry*".into(),
        actor_id: actor.0.map(str::to_owned),
        actor_name: actor.1.map(str::to_owned),
        server_job_id: Some("job-9".into()),
        issued_at: 1_763_800_000_000,
        applied_at: 1_763_800_001_234,
        reverses: None,
    }
}

fn all() -> Value {
    let mut out = serde_json::Map::new();
    let mut put = |k: String, v: Value| {
        out.insert(k, v);
    };
    for (i, outcome) in outcomes().into_iter().enumerate() {
        let r = Receipt {
            txn: txn(),
            user: player(),
            op: if i % 2 == 0 { Op::Give } else { Op::Deduct },
            amount: 250,
            outcome: outcome.clone(),
            reverses: None,
        };
        put(format!("receipt {i:02}"), json!(render::receipt_embed(&r)));
        if i == 0 {
            let reversal = Receipt {
                reverses: Some("01HF7YAT010000000000000001".parse().unwrap()),
                ..r.clone()
            };
            put(
                "receipt (reversal)".into(),
                json!(render::receipt_embed(&reversal)),
            );
        }
        let t = SettledTxn {
            txn: txn(),
            user_id: 1001,
            op: Op::Give,
            amount: 5,
            actor_id: "123456789012345678".into(),
            actor_name: "Mod_[x]".into(),
            reason: "event #1".into(),
            outcome,
            settled_at_ms: 1_763_800_000_000,
            reverses: None,
        };
        put(format!("log {i:02}"), json!(render::log_embed(&t)));
    }
    for (i, (live, as_of)) in [(true, Some(1_763_800_000_000)), (false, None)]
        .into_iter()
        .enumerate()
    {
        let view = BalanceView {
            user: player(),
            balance: 77,
            as_of_ms: as_of,
            in_live_server: live,
        };
        put(format!("balance {i}"), json!(render::balance_embed(&view)));
    }
    let records = vec![
        record((Some("42"), Some("ops")), RecordOutcome::Applied),
        record((None, Some("ops")), RecordOutcome::Rejected),
        record((None, None), RecordOutcome::Applied),
    ];
    put(
        "audit page".into(),
        json!(render::audit_embed(
            "player x, by <@42>",
            &records,
            &Default::default(),
            true
        )),
    );
    put(
        "audit empty".into(),
        json!(render::audit_embed(
            "All movements",
            &[],
            &Default::default(),
            false
        )),
    );
    put(
        "prompt".into(),
        json!(render::confirm_prompt_embed(
            &bot::frontend::Prompt {
                op: Op::Deduct,
                amount: 500_000,
                player: &player(),
                member: None,
                reason: "big *one*",
                threshold: 100_000,
                wallet: None,
                reverses: None
            },
            Duration::from_secs(60)
        )),
    );
    // A player named through a Discord member: both identities and where the link came from.
    let via_bloxlink = bot::links::MemberLink {
        member_id: 555_000_000_000_000_001,
        roblox_id: 1001,
        source: bot::links::SourceKind::Bloxlink,
        confirmed_by: vec![bot::links::SourceKind::Rover],
        checked_at_ms: 0,
    };
    let by_staff = bot::links::MemberLink {
        source: bot::links::SourceKind::Staff,
        confirmed_by: Vec::new(),
        ..via_bloxlink.clone()
    };
    put(
        "prompt (member)".into(),
        json!(render::confirm_prompt_embed(
            &bot::frontend::Prompt {
                op: Op::Give,
                amount: 500_000,
                player: &player(),
                member: Some(&via_bloxlink),
                reason: "tournament",
                threshold: 100_000,
                wallet: None,
                reverses: None
            },
            Duration::from_secs(60)
        )),
    );
    let applied = Receipt {
        txn: txn(),
        user: player(),
        op: Op::Give,
        amount: 250,
        outcome: outcomes().remove(0),
        reverses: None,
    };
    put(
        "receipt (member)".into(),
        json!(render::receipt_embed_for(&applied, Some(&by_staff))),
    );
    put(
        "working (member)".into(),
        json!(render::working_embed_for(
            Op::Give,
            9,
            &player(),
            Some(&by_staff)
        )),
    );
    let original: shared::TxnId = "01HF7YAT010000000000000001".parse().unwrap();
    put(
        "prompt (reversal)".into(),
        json!(render::confirm_prompt_embed(
            &bot::frontend::Prompt {
                op: Op::Deduct,
                amount: 500_000,
                player: &player(),
                member: None,
                reason: "paid the wrong player",
                threshold: 100_000,
                wallet: None,
                reverses: Some(&original)
            },
            Duration::from_secs(60)
        )),
    );
    for why in [CancelReason::ByInvoker, CancelReason::TimedOut] {
        put(
            format!("cancelled {why:?}"),
            json!(render::cancelled_embed(Op::Give, 500_000, why)),
        );
    }
    put(
        "working".into(),
        json!(render::working_embed(Op::Give, 9, &player())),
    );
    let policy = bot::service::Policy {
        role_max: [("111".to_string(), 1_000_000), ("222".to_string(), 50)].into(),
        daily_cap: 10_000_000,
        cooldown: Duration::from_secs(3),
        confirm_above: 100_000,
    };
    put(
        "help staff".into(),
        json!(render::help_embed(
            &policy,
            Some(1_000_000),
            Duration::from_secs(60)
        )),
    );
    put(
        "help not staff".into(),
        json!(render::help_embed(&policy, None, Duration::from_secs(60))),
    );
    let pending = Receipt {
        txn: txn(),
        user: player(),
        op: Op::Give,
        amount: 1_250_000,
        outcome: Outcome::Pending,
        reverses: None,
    };
    for (key, channel) in [
        ("still pending, log channel", Some(42)),
        ("still pending", None),
    ] {
        put(
            key.into(),
            json!(render::final_embed(
                &bot::frontend::MoveResult::StillPending(pending.clone()),
                channel
            )),
        );
    }
    // /payout: the preview (some left out, online sampled), progress, summary, cancel, CSV.
    let batch = BatchId::from_parts(1_795_219_200_000, 7);
    let plan = BatchPlan {
        batch: batch.clone(),
        actor: bot::service::ActorCtx {
            id: "42".into(),
            name: "Mod".into(),
            roles: vec![],
        },
        amount: 2_500,
        reason: "Winter *cup* @everyone".into(),
        user_ids: (1..=1_200).collect(),
        duplicates: 3,
        online: OnlineSample {
            read: 100,
            online: 37,
            of: 1_200,
        },
    };
    let preview = PayoutPreview {
        plan,
        role: Some(555),
        unknown: vec!["ghost_1".into(), "no*body".into()],
        unlinked: vec![(77, "no linked Roblox account".into())],
        repeats: 2,
    };
    let d = render::DiscordDialect;
    put(
        "payout preview".into(),
        json!(render::embed(&words::payout_preview(&preview, &d))),
    );
    put(
        "payout cancelled".into(),
        json!(render::embed(&words::payout_cancelled(
            &preview,
            CancelReason::TimedOut
        ))),
    );
    let state = |i: u64| match i % 4 {
        0 => ItemState::Refused("this would pass your daily cap".into()),
        1 => ItemState::Issued(Outcome::Applied {
            balance_after: 2_500,
            committed_by: Committer::GameServer(Some("job-7".into())),
        }),
        2 => ItemState::Issued(Outcome::Pending),
        _ => ItemState::Issued(Outcome::Applied {
            balance_after: 9_000,
            committed_by: Committer::Bot,
        }),
    };
    let report = BatchReport {
        batch: StoredBatch {
            batch: batch.clone(),
            actor_id: "42".into(),
            actor_name: "Mod".into(),
            amount: 2_500,
            reason: "Winter *cup* @everyone".into(),
            created_at_ms: 1_795_219_200_000,
            finished_at_ms: Some(1_795_219_260_000),
        },
        items: (1..=8)
            .map(|i| ItemReport {
                user_id: 1000 + i,
                txn: batch.item_txn(1000 + i),
                state: state(i),
            })
            .collect(),
    };
    put(
        "payout progress".into(),
        json!(render::embed(&words::payout_progress(&report.counts(), &d))),
    );
    put(
        "payout summary".into(),
        json!(render::embed(&words::payout_summary(&report, &d))),
    );
    put("payout csv".into(), json!(words::payout_csv(&report)));
    let errors = [
        CommandError::Service(ServiceError::Refused(Refusal::NotAllowed)),
        CommandError::Service(ServiceError::Refused(Refusal::OverRoleMax { max: 100 })),
        CommandError::Service(ServiceError::Refused(Refusal::DailyCap {
            cap: 10,
            used: 9,
        })),
        CommandError::Service(ServiceError::Refused(Refusal::UnknownUser(
            "named \"x\"".into(),
        ))),
        CommandError::Service(ServiceError::Refused(Refusal::ReplayMismatch(txn()))),
        CommandError::Service(ServiceError::Unavailable(PortError::new(
            "open cloud",
            "503",
        ))),
        CommandError::Option(bot::frontend::OptionError::BadUsername),
        CommandError::Option(bot::frontend::OptionError::Amount { max: 9 }),
        CommandError::Option(bot::frontend::OptionError::UserIdRange("0".into())),
        CommandError::Option(bot::frontend::OptionError::Limit { max: 10 }),
        CommandError::NotInGuild,
        CommandError::Service(ServiceError::Refused(Refusal::BatchEmpty)),
        CommandError::Service(ServiceError::Refused(Refusal::BatchTooLarge {
            max: 10_000,
            got: 12_345,
        })),
        CommandError::Service(ServiceError::Refused(Refusal::RoleWithoutLinks {
            role: 555,
            members: 12,
        })),
        CommandError::Service(ServiceError::Refused(Refusal::NoKnownPlayers {
            unknown: 3,
        })),
        CommandError::Option(bot::frontend::OptionError::PayoutTargets),
        CommandError::Option(bot::frontend::OptionError::TooManyPlayers {
            option: "file",
            got: 10_001,
            max: 10_000,
        }),
    ];
    for (i, e) in errors.iter().enumerate() {
        let message = e.user_message("ab12");
        put(
            format!("error {i:02}"),
            json!({ "message": message, "embed": render::error_embed(&message), "label": e.metric_label() }),
        );
    }
    Value::Object(out)
}

#[test]
fn discord_embeds_match_the_snapshot() {
    snapshot::assert_matches(SNAPSHOT, &all(), "Discord's visible text");
}
