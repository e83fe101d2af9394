//! Retries, Retry-After, outcome-unknown and budgets, proven with injected faults on a paused
//! tokio clock (virtual time: waits are exact, the suite stays fast).

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use opencloud::client::{Error, LimiterConfig, OpClass, Rate};
use opencloud::emulator::store::EntryKey;
use opencloud::emulator::{BudgetClass, BudgetConfig, FaultKind, FaultPlan, FaultRule, Operation};
use opencloud::{EntryPath, SetOptions};
use tokio::time::Instant;

fn path() -> EntryPath {
    EntryPath::new(UNIVERSE, "EconomyWallet", "wallet_1")
}

fn stored(h: &Harness) -> Option<String> {
    h.emulator
        .store
        .get(&EntryKey::new(UNIVERSE, "EconomyWallet", "wallet_1"))
        .map(|e| e.value)
}

fn plan(rules: Vec<FaultRule>) -> FaultPlan {
    FaultPlan {
        rules,
        ..FaultPlan::default()
    }
}

fn within(actual: Duration, expected_ms: u64) {
    let ms = actual.as_millis() as u64;
    assert!(
        ms >= expected_ms && ms <= expected_ms + 50,
        "waited {ms} ms, expected ≈{expected_ms} ms"
    );
}

#[tokio::test(start_paused = true)]
async fn reads_retry_5xx_with_exponential_backoff() {
    let h = start(config()).await;
    h.client
        .set_entry(&path(), "1", &SetOptions::default())
        .await
        .unwrap();
    h.emulator.set_fault_plan(plan(vec![FaultRule::next(
        Operation::GetEntry,
        FaultKind::Status(503),
        2,
    )]));
    let t0 = Instant::now();
    let entry = h.client.get_entry(&path()).await.unwrap().unwrap();
    assert_eq!(entry.value, "1");
    assert_eq!(h.emulator.requests(Operation::GetEntry), 3);
    within(t0.elapsed(), 100 + 200); // min delay 100 ms, doubling, no jitter
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured() {
    let h = start(config()).await;
    h.emulator.set_fault_plan(plan(vec![FaultRule::next(
        Operation::SetEntry,
        FaultKind::RateLimited {
            retry_after_s: Some(7),
            reset_s: 30,
        },
        1,
    )]));
    let t0 = Instant::now();
    h.client
        .set_entry(&path(), "1", &SetOptions::create_only())
        .await
        .unwrap();
    within(t0.elapsed(), 7_000);
    assert_eq!(h.emulator.requests(Operation::SetEntry), 2);
}

#[tokio::test(start_paused = true)]
async fn ratelimit_reset_is_used_without_retry_after() {
    let h = start(config()).await;
    h.emulator.set_fault_plan(plan(vec![FaultRule::next(
        Operation::GetEntry,
        FaultKind::RateLimited {
            retry_after_s: None,
            reset_s: 12,
        },
        2,
    )]));
    let t0 = Instant::now();
    assert_eq!(h.client.get_entry(&path()).await.unwrap(), None);
    within(t0.elapsed(), 24_000);
    assert_eq!(h.emulator.requests(Operation::GetEntry), 3);
}

#[tokio::test(start_paused = true)]
async fn throttling_gives_up_after_max_attempts_or_too_long_hints() {
    let h = start(config()).await;
    h.emulator.set_fault_plan(plan(vec![FaultRule::random(
        vec![Operation::GetEntry],
        FaultKind::RateLimited {
            retry_after_s: Some(1),
            reset_s: 1,
        },
        1.0,
    )]));
    let err = h.client.get_entry(&path()).await.unwrap_err();
    assert!(
        matches!(err, Error::Throttled(ref e, Some(_)) if e.status == 429),
        "{err:?}"
    );
    assert_eq!(
        h.emulator.requests(Operation::GetEntry),
        4,
        "max_attempts = 4"
    );
    h.emulator.set_fault_plan(plan(vec![FaultRule::next(
        Operation::GetEntry,
        FaultKind::RateLimited {
            retry_after_s: Some(3600),
            reset_s: 3600,
        },
        1,
    )]));
    let t0 = Instant::now();
    assert!(matches!(
        h.client.get_entry(&path()).await,
        Err(Error::Throttled(..))
    ));
    assert!(
        t0.elapsed() < Duration::from_millis(50),
        "an hour-long hint fails fast"
    );
}

#[tokio::test(start_paused = true)]
async fn increment_is_never_retried_on_5xx() {
    let h = start(config()).await;
    h.emulator.set_fault_plan(plan(vec![FaultRule::next(
        Operation::IncrementEntry,
        FaultKind::Status(500),
        1,
    )]));
    let err = h
        .client
        .increment_entry(&path(), 5, None, &[])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::OutcomeUnknown {
                operation: "increment_entry",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(h.emulator.requests(Operation::IncrementEntry), 1);
    assert_eq!(stored(&h), None, "this 500 happened before the write");
}

#[tokio::test(start_paused = true)]
async fn lost_response_on_blind_writes_is_outcome_unknown_and_was_applied() {
    let h = start(config()).await;
    let lost = FaultKind::ResponseLost {
        hang_ms: 0,
        status: 504,
    };
    h.emulator.set_fault_plan(plan(vec![
        FaultRule::next(Operation::IncrementEntry, lost, 1),
        FaultRule::next(Operation::SetEntry, lost, 1),
    ]));
    let err = h
        .client
        .increment_entry(&path(), 5, None, &[])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }));
    assert_eq!(
        stored(&h).as_deref(),
        Some("5"),
        "applied although the caller could not know"
    );
    let err = h
        .client
        .set_entry(&path(), "9", &SetOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::OutcomeUnknown {
            operation: "set_entry",
            ..
        }
    ));
    assert_eq!(stored(&h).as_deref(), Some("9"));
    assert_eq!(h.emulator.requests(Operation::IncrementEntry), 1);
    assert_eq!(h.emulator.requests(Operation::SetEntry), 1);
}

#[tokio::test(start_paused = true)]
async fn lost_response_on_conditional_set_retries_into_a_412_with_our_value() {
    let h = start(config()).await;
    let v = h
        .client
        .set_entry(&path(), "1", &SetOptions::default())
        .await
        .unwrap();
    h.emulator.set_fault_plan(plan(vec![FaultRule::next(
        Operation::SetEntry,
        FaultKind::ResponseLost {
            hang_ms: 0,
            status: 502,
        },
        1,
    )]));
    let options = SetOptions {
        match_version: Some(v.version.clone()),
        ..SetOptions::default()
    };
    match h.client.set_entry(&path(), "2", &options).await {
        Err(Error::PreconditionFailed { current: Some(now) }) => assert_eq!(now.value, "2"),
        other => panic!("expected a 412 showing our own write, got {other:?}"),
    }
    assert_eq!(h.emulator.requests(Operation::SetEntry), 3);
}

#[tokio::test]
async fn real_timeout_on_increment_is_outcome_unknown() {
    // Real time: the server stalls 2 s after applying; the client gives up after 200 ms.
    let h = start_with(config(), |mut c| {
        c.timeout = Some(Duration::from_millis(200));
        c
    })
    .await;
    h.emulator.set_fault_plan(plan(vec![FaultRule::next(
        Operation::IncrementEntry,
        FaultKind::ResponseLost {
            hang_ms: 2_000,
            status: 504,
        },
        1,
    )]));
    let err = h
        .client
        .increment_entry(&path(), 3, None, &[])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(stored(&h).as_deref(), Some("3"));
}

#[tokio::test(start_paused = true)]
async fn emulator_budget_429_then_client_waits_for_the_window() {
    let mut cfg = config();
    cfg.budgets = BudgetConfig {
        per_minute: HashMap::from([(BudgetClass::Write, 3)]),
    };
    let h = start(cfg).await;
    let t0 = Instant::now();
    for i in 0..4 {
        h.client
            .set_entry(&path(), &i.to_string(), &SetOptions::default())
            .await
            .unwrap();
    }
    // Start time is a whole minute, so the 4th write waits for the next window (60 s).
    within(t0.elapsed(), 60_000);
    assert_eq!(h.emulator.requests(Operation::SetEntry), 5);
    assert_eq!(stored(&h).as_deref(), Some("3"));
}

#[tokio::test(start_paused = true)]
async fn client_limiter_keeps_under_the_budget_without_429s() {
    let mut cfg = config();
    cfg.budgets = BudgetConfig {
        per_minute: HashMap::from([(BudgetClass::Write, 30)]),
    };
    let h = start_with(cfg, |mut c| {
        c.limiter = LimiterConfig {
            rates: HashMap::from([(
                OpClass::Write,
                Rate {
                    per_minute: 30.0,
                    burst: 5.0,
                },
            )]),
        };
        c
    })
    .await;
    let t0 = Instant::now();
    for i in 0..10 {
        h.client
            .set_entry(&path(), &i.to_string(), &SetOptions::default())
            .await
            .unwrap();
    }
    // 5 at once, then one every 2 s.
    within(t0.elapsed(), 10_000);
    assert_eq!(
        h.emulator.requests(Operation::SetEntry),
        10,
        "no request was refused"
    );
    // Reads have no budget configured here and do not wait.
    let t1 = Instant::now();
    h.client.get_entry(&path()).await.unwrap();
    assert!(t1.elapsed() < Duration::from_millis(5));
}
