//! Group commit, idempotency-key expiry, readiness, graceful shutdown and signed checkpoints,
//! on SQLite and PostgreSQL alike.

mod common;

use api::RecordStatus;
use api::checkpoint::{Checkpoint, CheckpointConfig, CheckpointProblem, CheckpointSigner};
use api::client::ClientError;
use common::*;
use std::collections::HashMap;
use std::time::{Duration, Instant};

fn status_of(e: ClientError) -> u16 {
    match e {
        ClientError::Api { status, .. } => status,
        other => panic!("expected an API error, got {other}"),
    }
}

/// Many concurrent requests queued behind a held writer are committed together, and each gets
/// the answer it would have got alone: per-record accepted/duplicate, contiguous seqs, replays.
async fn queued_requests_commit_together_and_each_is_answered(b: Backend) {
    let app = TestApp::start(b).await;
    let lock = hold_writer(&app).await;
    // 40 requests; request i carries its own record and the record of request i-1 (so half
    // of the records are shared between two concurrent requests).
    let recs: Vec<_> = (0..40).map(|i| record(100 + i, 1 + i as i64)).collect();
    let keys: Vec<String> = (0..40).map(|_| idem()).collect();
    let bodies: Vec<Vec<shared::AuditRecord>> = (0..40)
        .map(|i| {
            if i == 0 {
                vec![recs[0].clone()]
            } else {
                vec![recs[i].clone(), recs[i - 1].clone()]
            }
        })
        .collect();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (c, body, key) = (app.writer.clone(), bodies[i].clone(), keys[i].clone());
        tasks.push(tokio::spawn(
            async move { c.post_records(&body, &key).await },
        ));
    }
    wait_for_writes_in_flight(&app.server, 40).await;
    drop(lock);
    let mut seq_of: HashMap<String, i64> = HashMap::new();
    let mut accepted = 0;
    let mut results = Vec::new();
    for t in tasks {
        let r = t.await.unwrap().unwrap();
        assert!(!r.replayed);
        for rr in &r.response.results {
            if rr.status == RecordStatus::Accepted {
                accepted += 1;
                assert!(
                    seq_of.insert(rr.txn_id.clone(), rr.seq).is_none(),
                    "accepted twice"
                );
            }
        }
        results.push(r);
    }
    assert_eq!(accepted, 40, "every record accepted exactly once");
    let mut seqs: Vec<i64> = seq_of.values().copied().collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=40).collect::<Vec<_>>(), "contiguous chain");
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.response.results.len(), bodies[i].len());
        for (rr, rec) in r.response.results.iter().zip(&bodies[i]) {
            assert_eq!(rr.txn_id, rec.txn_id.as_str());
            assert_eq!(
                rr.seq,
                seq_of[rec.txn_id.as_str()],
                "duplicates name the stored seq"
            );
        }
        assert_eq!(r.status, if r.response.accepted > 0 { 201 } else { 200 });
        // the stored response is exactly what was answered
        let again = app.writer.post_records(&bodies[i], &keys[i]).await.unwrap();
        assert!(again.replayed);
        assert_eq!(again.response, r.response);
    }
    for rec in &recs {
        let got = app
            .reader
            .get_txn(&rec.txn_id, None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.seq, seq_of[rec.txn_id.as_str()]);
        assert_eq!(&got.record, rec);
    }
    assert_eq!(app.db.stored().await, (40, 40));
    let v = app.reader.verify().await.unwrap();
    assert!(v.ok);
    assert_eq!(v.head_seq, 40);
    app.finish().await;
}

/// Keys older than the TTL are purged; the key may then carry another body.
async fn expired_idempotency_keys_are_purged(b: Backend) {
    let app = TestApp::start_with(b, |c| {
        c.idempotency_ttl = Duration::from_secs(2);
        c.idempotency_purge_interval = Duration::from_millis(200);
    })
    .await;
    let key = idem();
    let first = record(5, 1);
    app.writer
        .post_records(std::slice::from_ref(&first), &key)
        .await
        .unwrap();
    // Before expiry the key is bound to its body (negative control).
    let other = record(5, 2);
    let err = app
        .writer
        .post_records(std::slice::from_ref(&other), &key)
        .await
        .unwrap_err();
    assert_eq!(status_of(err), 422);
    assert_eq!(app.db.count("idempotency_keys").await, 1);
    let t = Instant::now();
    while app.db.count("idempotency_keys").await > 0 {
        assert!(t.elapsed() < Duration::from_secs(10), "key never purged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        t.elapsed() >= Duration::from_millis(1000),
        "purged before the TTL"
    );
    let reused = app
        .writer
        .post_records(std::slice::from_ref(&other), &key)
        .await
        .unwrap();
    assert_eq!((reused.status, reused.replayed), (201, false));
    // the txn stays stored once for ever, whatever key carries it after the purge
    let again = app
        .writer
        .post_records(std::slice::from_ref(&first), &idem())
        .await
        .unwrap();
    assert_eq!(again.response.duplicates, 1);
    assert_eq!(app.db.count("audit_log").await, 2);
    app.finish().await;
}

async fn readyz(app_base: &str) -> u16 {
    reqwest::get(format!("{app_base}/readyz"))
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// Readiness turns 503 while the schema is missing, and back to 200.
async fn readiness_reports_a_missing_schema(b: Backend) {
    let app = TestApp::start(b).await;
    assert_eq!(readyz(&app.base).await, 200);
    app.db
        .exec("ALTER TABLE audit_log RENAME TO audit_log_moved")
        .await
        .unwrap();
    assert_eq!(readyz(&app.base).await, 503);
    app.db
        .exec("ALTER TABLE audit_log_moved RENAME TO audit_log")
        .await
        .unwrap();
    assert_eq!(readyz(&app.base).await, 200);
    app.finish().await;
}

/// A POST in flight when shutdown starts completes (201) and is stored; shutdown waits for it;
/// a POST after shutdown gets a clean connection error, never a half-answer.
async fn in_flight_post_survives_graceful_shutdown(b: Backend) {
    let app = TestApp::start(b).await;
    let lock = hold_writer(&app).await;
    let rec = record(9, 3);
    let c = app.writer.clone();
    let r2 = rec.clone();
    let post =
        tokio::spawn(async move { c.post_records(std::slice::from_ref(&r2), &idem()).await });
    wait_for_writes_in_flight(&app.server, 1).await;
    let TestApp {
        server, db, writer, ..
    } = app;
    let shutdown = tokio::spawn(server.shutdown());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !shutdown.is_finished(),
        "shutdown waits for the in-flight POST"
    );
    drop(lock);
    let res = post.await.unwrap().unwrap();
    assert_eq!(res.status, 201);
    shutdown.await.unwrap().unwrap();
    let late = writer.post_records(&[record(9, 4)], &idem()).await;
    assert!(matches!(late, Err(ClientError::Http(_))), "{late:?}");
    // stored durably: a fresh server on the same database has it
    let app = TestApp::start_on(db, |_| {}).await;
    let got = app
        .reader
        .get_txn(&rec.txn_id, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.record, rec);
    assert_eq!(app.db.count("audit_log").await, 1);
    app.finish().await;
}

fn checkpoints_on(c: &mut api::Config, signer: &CheckpointSigner, file: &std::path::Path) {
    c.checkpoint = Some(CheckpointConfig {
        signer: signer.clone(),
        interval: Duration::from_millis(200),
        file: Some(file.to_owned()),
    });
}

fn read_checkpoints(file: &std::path::Path) -> Vec<Checkpoint> {
    api::checkpoint::read_file(&std::fs::read_to_string(file).unwrap_or_default()).unwrap()
}

/// Runs `economy-api verify` read-only on `url` against a checkpoint file.
fn cli_verify(url: &str, file: &std::path::Path, keys: &str) -> (Option<i32>, api::VerifyReport) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_economy-api"))
        .args(["verify", "--checkpoints"])
        .arg(file)
        .env("DATABASE_URL", url)
        .env("API_CHECKPOINT_PUBLIC_KEYS", keys)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), report)
}

/// The service signs checkpoints as the chain grows; `verify --checkpoints` accepts them, and
/// catches a chain recomputed end to end after tampering (which verifies on its own).
async fn signed_checkpoints_catch_a_recomputed_chain(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("checkpoints.jsonl");
    let signer = CheckpointSigner::generate("cp-test");
    let app = TestApp::start_with(b, |c| checkpoints_on(c, &signer, &file)).await;
    let batch: Vec<_> = (0..5).map(|i| record(21, 1 + i)).collect();
    app.writer.post_records(&batch, &idem()).await.unwrap();
    let t = Instant::now();
    while read_checkpoints(&file).last().map(|c| c.seq) != Some(5) {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "no checkpoint at seq 5"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // the endpoint serves the latest one (signed, read scope)
    let resp = app
        .reader
        .send(
            app.reader
                .sign(
                    "GET",
                    "/log/checkpoints/latest",
                    "",
                    None,
                    vec![],
                    now_secs(),
                )
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let latest: Checkpoint = resp.json().await.unwrap();
    assert_eq!(latest.seq, 5);
    let keys = signer.public_spec();
    let (code, report) = cli_verify(&app.db.url, &file, &keys);
    assert_eq!(code, Some(0), "{report:?}");
    assert!(report.checkpoints.as_ref().unwrap().ok);
    // A wrong public key: signatures fail.
    let stranger = CheckpointSigner::generate("cp-test").public_spec();
    let (code, report) = cli_verify(&app.db.url, &file, &stranger);
    assert_eq!(code, Some(1));
    assert_eq!(
        report.checkpoints.unwrap().first_failure.unwrap().problem,
        CheckpointProblem::BadSignature
    );
    let TestApp { server, db, .. } = app;
    server.shutdown().await.unwrap();
    // An attacker with DDL rights edits row 3 and recomputes every later hash.
    for sql in [
        "DROP TRIGGER audit_log_no_update ON audit_log",
        "DROP TRIGGER audit_log_no_update",
    ] {
        let _ = db.exec(sql).await;
    }
    db.exec("UPDATE audit_log SET amount = amount + 1000 WHERE seq = 3")
        .await
        .unwrap();
    let rows = recompute_chain(&db).await;
    assert_eq!(rows, 5);
    let (code, report) = cli_verify(&db.url, &file, &keys);
    assert!(
        report.first_broken.is_none(),
        "the recomputed chain verifies alone"
    );
    assert_eq!(code, Some(1));
    let failure = report.checkpoints.unwrap().first_failure.unwrap();
    assert_eq!(
        (failure.seq, failure.problem),
        (5, CheckpointProblem::HashMismatch)
    );
    db.drop_database().await;
}

/// Re-hashes every row from seq 1 (what a tamperer with database access would do).
async fn recompute_chain(db: &TestDb) -> usize {
    let store = api::open_store(&api::Config::new(
        db.database(),
        api::testing::TestKeys::generate().ring(),
    ))
    .await
    .unwrap();
    let mut rows = store.chain_page(0, 1000).await.unwrap();
    store.close().await;
    let mut prev = api::chain::GENESIS.to_vec();
    let mut sql = String::new();
    for r in rows.iter_mut() {
        let h = api::chain::compute_hash(r, &prev);
        sql.push_str(&format!(
            "UPDATE audit_log SET prev_hash = {}, row_hash = {} WHERE seq = {};\n",
            blob(db, &prev),
            blob(db, &h),
            r.seq
        ));
        prev = h.to_vec();
    }
    db.exec(&sql).await.unwrap();
    rows.len()
}

fn blob(db: &TestDb, bytes: &[u8]) -> String {
    match db.backend {
        Backend::Sqlite => format!("X'{}'", hex::encode(bytes)),
        Backend::Postgres => format!("'\\x{}'::bytea", hex::encode(bytes)),
    }
}

both_backends!(
    queued_requests_commit_together_and_each_is_answered,
    expired_idempotency_keys_are_purged,
    readiness_reports_a_missing_schema,
    in_flight_post_survives_graceful_shutdown,
    signed_checkpoints_catch_a_recomputed_chain,
);

/// `verify` opens SQLite read-only: a wrong path is an error (exit 2) and creates nothing.
#[test]
fn verify_never_creates_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.db");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_economy-api"))
        .arg("verify")
        .env("DATABASE_URL", format!("sqlite://{}", path.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no SQLite database at"), "{err}");
    assert!(!path.exists(), "verify created {}", path.display());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // an existing file that is not an audit database is named as such, and left untouched
    std::fs::write(&path, b"").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_economy-api"))
        .arg("verify")
        .env("DATABASE_URL", format!("sqlite://{}", path.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no audit log"));
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
}

/// A real outage: the API reaches PostgreSQL through a TCP relay that the test cuts and
/// restores; readiness follows (503 while cut, 200 after) and liveness never changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_a_postgres_outage() {
    let db = TestDb::new(Backend::Postgres).await;
    let relay = Relay::start(pg_host_port(&db.url)).await;
    let via_relay = db
        .url
        .replacen(&pg_host_port(&db.url), &relay.addr.to_string(), 1);
    let server = api::spawn_for_test(api::Config::new(
        api::Database::Postgres(via_relay),
        api::testing::TestKeys::generate().ring(),
    ))
    .await
    .unwrap();
    let base = server.base_url();
    assert_eq!(readyz(&base).await, 200);
    relay.cut();
    let t = Instant::now();
    while readyz(&base).await != 503 {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "still ready with the database cut"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let live = reqwest::get(format!("{base}/livez")).await.unwrap();
    assert_eq!(live.status(), 200);
    relay.restore();
    let t = Instant::now();
    while readyz(&base).await != 200 {
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "not ready after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.shutdown().await.unwrap();
    db.drop_database().await;
}

fn pg_host_port(url: &str) -> String {
    let after_at = url.split_once('@').map(|(_, r)| r).unwrap_or(url);
    let after_at = after_at.strip_prefix("postgres://").unwrap_or(after_at);
    after_at
        .split('/')
        .next()
        .unwrap_or("127.0.0.1:5432")
        .to_owned()
}

/// A TCP relay that can drop every connection and refuse new ones, then accept again.
struct Relay {
    addr: std::net::SocketAddr,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Relay {
    async fn start(target: String) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let generation = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (up2, gen2) = (up.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound); // refused while cut
                    continue;
                }
                let (target, up3, gen3) = (target.clone(), up2.clone(), gen2.clone());
                let born = gen3.load(Ordering::SeqCst);
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    let copy = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                    let watch = async {
                        while up3.load(Ordering::SeqCst) && gen3.load(Ordering::SeqCst) == born {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    };
                    tokio::select! { _ = copy => {}, _ = watch => {} }
                });
            }
        });
        Self {
            addr,
            up,
            generation,
        }
    }

    fn cut(&self) {
        use std::sync::atomic::Ordering;
        self.up.store(false, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// SQLite held by another writer past the busy timeout: the post answers 503 and stores nothing;
/// once the lock is gone, the writer stores the same record under a new key and the chain holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writer_recovers_after_the_database_was_locked() {
    use sqlx::Connection as _;
    let app = TestApp::start(Backend::Sqlite).await;
    let mut blocker = sqlx::sqlite::SqliteConnection::connect(&app.db.url)
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let rec = record(3, 5);
    let err = app
        .writer
        .post_records(std::slice::from_ref(&rec), &idem())
        .await
        .unwrap_err();
    match err {
        ClientError::Api { status, .. } => assert_eq!(status, 503),
        other => panic!("expected 503, got {other}"),
    }
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    let res = app
        .writer
        .post_records(std::slice::from_ref(&rec), &idem())
        .await
        .unwrap();
    assert_eq!(res.status, 201);
    assert_eq!(res.response.results[0].status, RecordStatus::Accepted);
    assert_eq!(
        res.response.results[0].seq, 1,
        "the refused post stored nothing"
    );
    assert!(app.reader.verify().await.unwrap().ok);
    app.finish().await;
}
