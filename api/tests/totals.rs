//! `GET /log/totals` on SQLite and PostgreSQL: every answer equals the sums computed here from
//! the posted records (seeded random logs spread over several hours, ranges starting and ending
//! mid-hour and on hour boundaries, several filters and groupings, and a property test over random
//! logs and ranges), whether the running totals or the log answer; the migration backfills the
//! running totals of an existing log; totals beyond 2^53 - 1 are refused rather than rounded; bad
//! queries change nothing.

mod common;

use api::client::ClientError;
use audit_client::{GroupBy, Sums, Totals, TotalsParams};
use common::*;
use rand::{Rng, SeedableRng};
use shared::limits::MAX_SAFE_INTEGER;
use shared::{AuditRecord, TxnId};
use std::collections::BTreeMap;

/// Mid-hour (472,222 h + 800 s), so the records straddle hour boundaries.
const T0: i64 = 1_700_000_000_000;
const HOUR: i64 = 3_600_000;
/// The records' appliedAt spread: five hours from T0.
const SPREAD: i64 = 5 * HOUR;
/// The first hour boundary after T0.
const H1: i64 = (T0 / HOUR + 1) * HOUR;

fn random_record(rng: &mut impl Rng) -> AuditRecord {
    let at = T0 + rng.random_range(0..SPREAD);
    random_record_at(rng, at)
}

fn random_record_at(rng: &mut impl Rng, applied_at: i64) -> AuditRecord {
    let applied = rng.random_bool(0.8);
    let discord = rng.random_bool(0.7);
    let op = if rng.random_bool(0.6) {
        "give"
    } else {
        "deduct"
    };
    let mut v = serde_json::json!({
        "txnId": TxnId::generate().to_string(),
        "source": if discord { "discord" } else { "game" },
        "userId": rng.random_range(1..=12u64),
        "op": op,
        "amount": rng.random_range(1..=5_000i64),
        "outcome": if applied { "applied" } else { "rejected" },
        "balanceAfter": 0,
        "reason": "event",
        "issuedAt": T0,
        "appliedAt": applied_at,
    });
    if !applied {
        v["rejectReason"] = "insufficient_funds".into();
    }
    if discord {
        let actor = rng.random_range(1..=4u32);
        v["actorId"] = actor.to_string().into();
        v["actorName"] = format!("mod{actor}").into();
    } else {
        v["serverJobId"] = "job".into();
    }
    serde_json::from_value(v).unwrap()
}

fn add(s: &mut Sums, r: &AuditRecord) {
    let v = serde_json::to_value(r).unwrap();
    let amount = v["amount"].as_i64().unwrap();
    match (v["outcome"].as_str().unwrap(), v["op"].as_str().unwrap()) {
        ("applied", "give") => {
            s.given += amount;
            s.gives += 1;
        }
        ("applied", _) => {
            s.deducted += amount;
            s.deducts += 1;
        }
        _ => s.rejected += 1,
    }
}

/// The answer computed from the records themselves, in the endpoint's order.
fn expected(records: &[AuditRecord], p: &TotalsParams) -> (Vec<(Option<String>, Sums)>, Sums) {
    let mut overall = Sums::default();
    let mut groups: BTreeMap<(bool, Option<String>), Sums> = BTreeMap::new();
    for r in records {
        let v = serde_json::to_value(r).unwrap();
        let user = v["userId"].as_u64().unwrap();
        let actor = v["actorId"].as_str().map(str::to_owned);
        let at = v["appliedAt"].as_i64().unwrap();
        if p.user_id.is_some_and(|u| u != user)
            || p.actor.as_ref().is_some_and(|a| Some(a) != actor.as_ref())
            || p.since.is_some_and(|s| at < s)
            || p.until.is_some_and(|u| at >= u)
        {
            continue;
        }
        add(&mut overall, r);
        let key = match p.group_by {
            GroupBy::Actor => actor,
            // Zero-padded so the text order is the numeric order the database uses.
            GroupBy::User => Some(format!("{user:020}")),
        };
        add(groups.entry((key.is_none(), key)).or_default(), r);
    }
    let mut list: Vec<_> = groups.into_iter().collect();
    // Largest first; ties by id, the group without an actor last.
    list.sort_by(|(ka, a), (kb, b)| {
        (b.given + b.deducted)
            .cmp(&(a.given + a.deducted))
            .then(ka.cmp(kb))
    });
    let list = list.into_iter().map(|((_, k), s)| (k, s)).collect();
    (list, overall)
}

fn answered(t: &Totals) -> Vec<(Option<String>, Sums)> {
    t.groups
        .iter()
        .map(|g| {
            let key = match t.group_by {
                GroupBy::Actor => g.actor_id.clone(),
                GroupBy::User => g.user_id.map(|u| format!("{u:020}")),
            };
            (key, g.sums)
        })
        .collect()
}

async fn totals_equal_the_sums_of_the_posted_records(b: Backend) {
    let app = TestApp::start(b).await;
    // Every seed adds to the same log: each is compared against everything posted so far.
    let mut all = Vec::new();
    for seed in 0..3u64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        for _ in 0..4 {
            let batch: Vec<_> = (0..50).map(|_| random_record(&mut rng)).collect();
            app.writer.post_records(&batch, &idem()).await.unwrap();
            all.extend(batch);
        }
        let range = |group_by, since, until| TotalsParams {
            group_by,
            since,
            until,
            ..Default::default()
        };
        let queries = [
            TotalsParams::default(),
            TotalsParams {
                group_by: GroupBy::User,
                ..Default::default()
            },
            TotalsParams {
                group_by: GroupBy::User,
                actor: Some("2".into()),
                since: Some(T0 + 2_000),
                until: Some(T0 + 3 * HOUR),
                ..Default::default()
            },
            TotalsParams {
                user_id: Some(rng.random_range(1..=12)),
                ..Default::default()
            },
            TotalsParams {
                group_by: GroupBy::User,
                limit: Some(3),
                ..Default::default()
            },
            // Mid-hour to mid-hour across several hour boundaries (summary + both log ends).
            range(GroupBy::Actor, Some(T0 + 1_234), Some(H1 + 2 * HOUR + 777)),
            range(GroupBy::User, Some(T0 + 1_234), Some(H1 + 2 * HOUR + 777)),
            // Hour boundaries exactly (the summary alone), and one open end each.
            range(GroupBy::Actor, Some(H1), Some(H1 + 3 * HOUR)),
            range(GroupBy::User, Some(H1 + HOUR), None),
            range(GroupBy::Actor, None, Some(H1 + HOUR + 1)),
            // Within one hour, and across one boundary without a whole hour (the log alone).
            range(GroupBy::Actor, Some(H1 + 10), Some(H1 + HOUR - 10)),
            range(GroupBy::User, Some(H1 - 999), Some(H1 + 999)),
            // One actor's movements over a mid-hour range, per actor.
            TotalsParams {
                actor: Some("3".into()),
                since: Some(H1 - 5_000),
                until: Some(H1 + 2 * HOUR + 5_000),
                ..Default::default()
            },
            TotalsParams {
                since: Some(T0 + SPREAD + 20_000),
                ..Default::default()
            },
        ];
        for q in &queries {
            let got = app.reader.totals(q).await.unwrap();
            let (want, overall) = expected(&all, q);
            let limit = q.limit.map_or(usize::MAX, |l| l as usize);
            assert_eq!(got.overall, overall, "seed {seed} {q:?}");
            assert_eq!(
                answered(&got),
                want.iter().take(limit).cloned().collect::<Vec<_>>(),
                "seed {seed} {q:?}"
            );
            assert_eq!(got.more, want.len() > limit, "seed {seed} {q:?}");
            assert_eq!(got.group_by, q.group_by);
            for g in &got.groups {
                match &g.actor_id {
                    Some(a) => assert_eq!(g.actor_name.as_deref(), Some(&*format!("mod{a}"))),
                    None => assert!(g.actor_name.is_none()),
                }
            }
        }
    }
    app.finish().await;
}

async fn one_players_totals_count_every_part_of_the_log(b: Backend) {
    // More than two of SQLite's 4,096-seq user-index buckets, so a per-player query that walks
    // the buckets must visit each of them.
    let app = TestApp::start(b).await;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(99);
    let mut all = Vec::new();
    for _ in 0..90 {
        let batch: Vec<_> = (0..100).map(|_| random_record(&mut rng)).collect();
        app.writer.post_records(&batch, &idem()).await.unwrap();
        all.extend(batch);
    }
    for user in [1, 7, 12] {
        let q = TotalsParams {
            user_id: Some(user),
            ..Default::default()
        };
        let got = app.reader.totals(&q).await.unwrap();
        let (want, overall) = expected(&all, &q);
        assert!(
            overall.gives + overall.deducts + overall.rejected > 600,
            "user {user}"
        );
        assert_eq!(got.overall, overall, "user {user}");
        assert_eq!(answered(&got), want, "user {user}");
    }
    app.finish().await;
}

async fn totals_beyond_the_safe_maximum_are_refused_not_rounded(b: Backend) {
    let app = TestApp::start(b).await;
    let mut big = record(1, 1);
    let mut v = serde_json::to_value(&big).unwrap();
    v["amount"] = MAX_SAFE_INTEGER.into();
    v["balanceAfter"] = MAX_SAFE_INTEGER.into();
    big = serde_json::from_value(v.clone()).unwrap();
    app.writer
        .post_records(std::slice::from_ref(&big), &idem())
        .await
        .unwrap();
    // One maximal amount is exact.
    let one = app.reader.totals(&TotalsParams::default()).await.unwrap();
    assert_eq!(one.overall.given, MAX_SAFE_INTEGER);
    assert_eq!(one.groups.len(), 1);
    // A second one makes the total 2^54 - 2: refused with a problem naming the cause.
    v["txnId"] = TxnId::generate().to_string().into();
    v["userId"] = 2.into();
    let second: AuditRecord = serde_json::from_value(v).unwrap();
    app.writer
        .post_records(std::slice::from_ref(&second), &idem())
        .await
        .unwrap();
    match app.reader.totals(&TotalsParams::default()).await {
        Err(ClientError::Api {
            status: 422,
            problem: Some(p),
            ..
        }) => {
            assert!(p.detail.unwrap_or_default().contains("shorter range"));
        }
        other => panic!("expected 422, got {other:?}"),
    }
    // Filtered to one user, the totals fit again.
    let per_user = TotalsParams {
        group_by: GroupBy::User,
        user_id: Some(2),
        ..Default::default()
    };
    let got = app.reader.totals(&per_user).await.unwrap();
    assert_eq!(got.overall.given, MAX_SAFE_INTEGER);
    app.finish().await;
}

async fn bad_totals_queries_are_refused_by_name(b: Backend) {
    let app = TestApp::start(b).await;
    app.writer
        .post_records(&[record(1, 5)], &idem())
        .await
        .unwrap();
    for (query, word) in [
        ("groupBy=server", "groupBy"),
        ("limit=0", "limit"),
        ("since=-5", "since"),
        ("cursor=00", "unknown parameter"),
        ("actor=abc", "actor"),
    ] {
        let req = app
            .reader
            .sign("GET", "/log/totals", query, None, Vec::new(), now_secs())
            .unwrap();
        let resp = app.reader.send(req).await.unwrap();
        assert_eq!(resp.status(), 400, "{query}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert!(
            body["detail"].as_str().unwrap_or_default().contains(word),
            "{query}: {body}"
        );
    }
    // The write-only key (game servers) may not read totals.
    match app.writer.totals(&TotalsParams::default()).await {
        Err(ClientError::Api { status: 403, .. }) => {}
        other => panic!("expected 403, got {other:?}"),
    }
    // Nothing was stored by any of it.
    assert_eq!(app.db.count("audit_log").await, 1);
    app.finish().await;
}

/// Checks every query against the sums of `all`.
async fn check(app: &TestApp, all: &[AuditRecord], queries: &[TotalsParams], what: &str) {
    for q in queries {
        let got = app.reader.totals(q).await.unwrap();
        let (want, overall) = expected(all, q);
        let limit = q.limit.map_or(usize::MAX, |l| l as usize);
        assert_eq!(got.overall, overall, "{what} {q:?}");
        assert_eq!(
            answered(&got),
            want.iter().take(limit).cloned().collect::<Vec<_>>(),
            "{what} {q:?}"
        );
        assert_eq!(got.more, want.len() > limit, "{what} {q:?}");
    }
}

async fn the_migration_backfills_the_running_totals_of_an_existing_log(b: Backend) {
    let app = TestApp::start(b).await;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let all: Vec<_> = (0..300).map(|_| random_record(&mut rng)).collect();
    for batch in all.chunks(100) {
        app.writer.post_records(batch, &idem()).await.unwrap();
    }
    // Back to the schema before the running totals: the log as an older version left it.
    let TestApp { db, server, .. } = app;
    server.shutdown().await.unwrap();
    let version = match b {
        Backend::Sqlite => 4,
        Backend::Postgres => 2,
    };
    db.exec(&format!(
        "DROP TABLE totals_by_actor; DROP TABLE totals_by_user; DROP INDEX audit_log_applied; \
         DELETE FROM _sqlx_migrations WHERE version = {version};"
    ))
    .await
    .unwrap();
    let app = TestApp::start_on(db, |_| {}).await;
    assert!(app.db.count("totals_by_actor").await > 0);
    let queries = [
        TotalsParams::default(),
        TotalsParams {
            group_by: GroupBy::User,
            ..Default::default()
        },
        TotalsParams {
            since: Some(T0 + 5),
            until: Some(H1 + 2 * HOUR + 5),
            ..Default::default()
        },
    ];
    check(&app, &all, &queries, "backfilled").await;
    // New records add to the backfilled totals.
    let more: Vec<_> = (0..50).map(|_| random_record(&mut rng)).collect();
    app.writer.post_records(&more, &idem()).await.unwrap();
    let all: Vec<_> = all.into_iter().chain(more).collect();
    check(&app, &all, &queries, "after the backfill").await;
    app.finish().await;
}

both_backends!(
    the_migration_backfills_the_running_totals_of_an_existing_log,
    totals_equal_the_sums_of_the_posted_records,
    one_players_totals_count_every_part_of_the_log,
    totals_beyond_the_safe_maximum_are_refused_not_rounded,
    bad_totals_queries_are_refused_by_name,
);

/// Property: for random logs (posted in random batches, appliedAt spread over a few hours with
/// many records near hour boundaries) and random ranges, groupings and filters, the answer equals
/// the direct sum over the posted records. One server per backend; each case appends to its log
/// and is checked against everything posted so far.
mod summary_matches_a_direct_scan {
    use super::*;
    use proptest::prelude::*;

    fn at() -> impl Strategy<Value = i64> {
        prop_oneof![
            (0..SPREAD).prop_map(|d| T0 + d),
            // On and right around hour boundaries.
            (0..5i64, -2..=2i64).prop_map(|(h, d)| H1 + h * HOUR + d),
        ]
    }

    fn bound() -> impl Strategy<Value = Option<i64>> {
        prop_oneof![Just(None), at().prop_map(Some)]
    }

    fn query() -> impl Strategy<Value = TotalsParams> {
        (
            any::<bool>(),
            prop::option::weighted(0.2, 1..=12u64),
            prop::option::weighted(0.3, 1..=4u32),
            bound(),
            bound(),
            prop::option::of(1..=6u32),
        )
            .prop_map(
                |(per_user, user_id, actor, since, until, limit)| TotalsParams {
                    group_by: if per_user {
                        GroupBy::User
                    } else {
                        GroupBy::Actor
                    },
                    user_id,
                    actor: actor.map(|a| a.to_string()),
                    since,
                    until,
                    limit,
                },
            )
    }

    fn run(b: Backend) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let app = rt.block_on(TestApp::start(b));
        let all = std::cell::RefCell::new(Vec::new());
        let config = ProptestConfig {
            cases: 24,
            ..ProptestConfig::default()
        };
        let mut runner = proptest::test_runner::TestRunner::new(config);
        let result = runner.run(
            &(
                prop::collection::vec((any::<u64>(), at()), 0..40),
                prop::collection::vec(query(), 1..6),
            ),
            |(seeds, queries)| {
                let batch: Vec<_> = seeds
                    .iter()
                    .map(|(seed, at)| {
                        random_record_at(&mut rand_chacha::ChaCha8Rng::seed_from_u64(*seed), *at)
                    })
                    .collect();
                if !batch.is_empty() {
                    rt.block_on(app.writer.post_records(&batch, &idem()))
                        .unwrap();
                }
                all.borrow_mut().extend(batch);
                let all = all.borrow();
                for q in &queries {
                    let got = rt.block_on(app.reader.totals(q)).unwrap();
                    let (want, overall) = expected(&all, q);
                    let limit = q.limit.map_or(usize::MAX, |l| l as usize);
                    prop_assert_eq!(got.overall, overall, "{:?}", q);
                    prop_assert_eq!(
                        answered(&got),
                        want.iter().take(limit).cloned().collect::<Vec<_>>(),
                        "{:?}",
                        q
                    );
                }
                Ok(())
            },
        );
        rt.block_on(app.finish());
        if let Err(e) = result {
            panic!("{e}");
        }
    }

    #[test]
    fn sqlite() {
        run(Backend::Sqlite);
    }

    #[test]
    fn postgres() {
        run(Backend::Postgres);
    }
}
