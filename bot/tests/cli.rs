//! The `economy-bot` binary end to end: a real process talking real HTTP to the Open Cloud
//! emulator (in-process server) and the audit API (`api::spawn_for_test`, SQLite), with its own
//! SQLite database. Covers give / deduct / balance / audit / reconcile, and bad input: a clear
//! message, a non-zero exit, and nothing moved.

mod support;

use opencloud::emulator::{ApiKey, Emulator, EmulatorConfig, SystemClock, User};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use support::{ALICE, AuditApi, BOB, COMMAND_KEYS, UNIVERSE};

const OC_KEY: &str = "oc-cli-test-secret";

struct Env {
    vars: Vec<(String, String)>,
    dir: tempfile::TempDir,
    _emulator: opencloud::emulator::RunningEmulator,
    _api: AuditApi,
}

async fn env() -> Env {
    let emulator = Emulator::new(
        Arc::new(SystemClock),
        EmulatorConfig {
            api_keys: vec![ApiKey::new("bot", OC_KEY, ["*"], Some(vec![UNIVERSE]))],
            users: vec![
                User {
                    display_name: "Alice the Brave".into(),
                    ..User::new(ALICE, "alice")
                },
                User::new(BOB, "bob"),
            ],
            ..EmulatorConfig::default()
        },
    );
    let running = emulator
        .spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let api = AuditApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let bot_key = api.bot_key_spec();
    let vars = [
        ("ROBLOX_UNIVERSE_ID", UNIVERSE.to_string()),
        ("ROBLOX_OPEN_CLOUD_API_KEY", OC_KEY.into()),
        ("ROBLOX_OPEN_CLOUD_BASE_URL", running.base_url()),
        ("COMMAND_KEYS", COMMAND_KEYS.into()),
        ("AUDIT_API_URL", api.base.clone()),
        ("AUDIT_API_KEY", bot_key),
        ("STAFF_ROLES", "900:1000000,901:50".into()),
        ("CLI_ACTOR_ID", "42".into()),
        ("CLI_ACTOR_NAME", "ops".into()),
        ("CLI_ACTOR_ROLES", "900".into()),
        ("ACTOR_COOLDOWN_MS", "0".into()),
        ("CONFIRM_ABOVE", "1000".into()),
        ("REPLY_BUDGET_SECONDS", "10".into()),
        ("AUDIT_LONG_POLL_SECONDS", "0".into()),
        (
            "BOT_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("bot.db").display()),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Env {
        vars,
        dir,
        _emulator: running,
        _api: api,
    }
}

fn run_in(dir: &Path, vars: &[(String, String)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_economy-bot"))
        .args(args)
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .current_dir(dir)
        .output()
        .unwrap()
}

impl Env {
    /// Runs the CLI (off the async runtime: the servers live on it).
    async fn run(&self, args: &[&str]) -> (bool, String, String) {
        let dir = self.dir.path().to_owned();
        let vars = self.vars.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let out = tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_in(&dir, &vars, &args)
        })
        .await
        .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    async fn balance(&self, who: &str) -> String {
        let (ok, out, err) = self.run(&["balance", who]).await;
        assert!(ok, "balance failed: {err}");
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn give_deduct_balance_and_audit_over_real_http() {
    let env = env().await;
    let (ok, out, err) = env
        .run(&["give", "alice", "50", "--reason", "event prize"])
        .await;
    assert!(ok, "give failed: {err}");
    assert!(out.contains("Alice the Brave (@alice, 1001)"), "{out}");
    assert!(
        out.contains("✅ Applied: Give 50") && out.contains("New balance: 50\n"),
        "{out}"
    );
    let balance = env.balance("1001").await;
    assert!(
        balance.contains("Balance: 50\n") && balance.contains("In a live server: no"),
        "{balance}"
    );

    let (ok, out, err) = env
        .run(&["deduct", "1001", "20", "--reason", "refund"])
        .await;
    assert!(ok, "deduct failed: {err}");
    assert!(out.contains("New balance: 30\n"), "{out}");

    // A deduct larger than the balance is a recorded rejection: exit 0, nothing moved.
    let (ok, out, _) = env
        .run(&["deduct", "alice", "31", "--reason", "too much"])
        .await;
    assert!(ok);
    assert!(
        out.contains("⛔ Rejected: Deduct 31")
            && out.contains("Why: insufficient funds")
            && out.contains("Balance (unchanged): 30\n"),
        "{out}"
    );
    assert!(env.balance("alice").await.contains("Balance: 30\n"));

    let (ok, out, err) = env
        .run(&["audit", "--user", "alice", "--limit", "10"])
        .await;
    assert!(ok, "audit failed: {err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].contains("Deduct 31 · user 1001 (@alice) · rejected (insufficient funds"),
        "{out}"
    );
    assert!(
        lines[2].contains("Give 50 · user 1001 (@alice) · applied · ")
            && lines[2].contains("balance 50 · by ops (42)"),
        "{out}"
    );
    let (ok, out, _) = env.run(&["audit", "--actor", "999"]).await;
    assert!(ok && out.trim().is_empty(), "{out}");
    // The totals view over a range (since 1970: everything so far).
    let (ok, out, err) = env
        .run(&["audit", "--totals", "--since", "1970-01-01"])
        .await;
    assert!(ok, "{err}");
    assert!(out.starts_with("Audit totals"), "{out}");
    assert!(
        out.contains("given 50 (1) · deducted 20 (1) · 1 rejected"),
        "{out}"
    );
    assert!(out.contains("Staff ops (42): given 50 (1)"), "{out}");
    assert!(
        out.contains("Player user 1001 (@alice): given 50 (1)"),
        "{out}"
    );
    let (ok, _, err) = env
        .run(&["audit", "--since", "2026-12-02", "--until", "2026-12-01"])
        .await;
    assert!(
        !ok && err.contains("`until` must be later than `since`"),
        "{err}"
    );

    // Replaying the first txn returns its outcome and moves nothing.
    let (ok, out, _) = env.run(&["audit", "--user", "alice", "--limit", "1"]).await;
    assert!(ok);
    // A record line ends with its txn id (a "next page" line follows).
    let first = out.lines().next().unwrap();
    let txn = first.split_whitespace().last().unwrap().to_owned();
    let (ok, out, err) = env
        .run(&[
            "deduct", "alice", "31", "--reason", "too much", "--txn", &txn,
        ])
        .await;
    assert!(ok, "{err}");
    assert!(out.contains("🔁 Already processed"), "{out}");
    assert!(env.balance("alice").await.contains("Balance: 30\n"));

    let (ok, out, _) = env.run(&["reconcile", "--budget", "1"]).await;
    assert!(ok);
    assert!(out.contains("still pending 0"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_clearly_with_a_non_zero_exit_and_nothing_moves() {
    let env = env().await;
    let cases: &[(&[&str], &str)] = &[
        (
            &["give", "not a name", "5", "--reason", "x"],
            "`user` is not a Roblox username",
        ),
        (
            &["give", "0", "5", "--reason", "x"],
            "`user` 0 is not a Roblox user id",
        ),
        (
            &["give", "alice", "0", "--reason", "x"],
            "`amount` must be a whole number from 1 to",
        ),
        (&["give", "alice", "-3", "--reason", "x"], "error"),
        (
            &["give", "alice", "5", "--reason", "   "],
            "`reason` must be 1-200 characters",
        ),
        (&["give", "alice", "5"], "--reason"),
        (
            &["give", "alice", "5", "--reason", "x", "--txn", "nope"],
            "`txn` must be a 26-character txn id",
        ),
        (
            &["give", "nobody_here", "5", "--reason", "x"],
            "No Roblox user named",
        ),
        (
            &["give", "alice", "5000", "--reason", "x"],
            "above the confirmation threshold",
        ),
        (&["balance", "@@"], "`user` is not a Roblox username"),
        (&["audit", "--limit", "0"], "`limit` must be from 1 to 100"),
        (&["frobnicate"], "unrecognized subcommand"),
    ];
    for (args, expect) in cases {
        let (ok, out, err) = env.run(args).await;
        assert!(!ok, "{args:?} succeeded: {out}");
        assert!(
            err.contains(expect),
            "{args:?}: stderr {err:?} lacks {expect:?}"
        );
        assert!(!err.contains(OC_KEY), "{args:?} leaked the API key");
    }
    // Refused by policy: the operator's role allows at most 50.
    let mut limited = env.vars.clone();
    limited.retain(|(k, _)| k != "CLI_ACTOR_ROLES");
    limited.push(("CLI_ACTOR_ROLES".into(), "901".into()));
    let dir = env.dir.path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        run_in(&dir, &limited, &["give", "alice", "51", "--reason", "x"])
    })
    .await
    .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Your roles allow at most 50"));
    // Nothing moved through any of it: the wallet was never written.
    assert!(
        env.balance("alice").await.contains("Balance: 0\n"),
        "no write"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_configuration_lists_every_problem_without_secrets() {
    let env = env().await;
    let mut vars = env.vars.clone();
    vars.retain(|(k, _)| k != "AUDIT_API_URL" && k != "ROBLOX_UNIVERSE_ID");
    vars.push(("BOT_DATABASE_URL".into(), "mysql://x".into()));
    let dir = env.dir.path().to_owned();
    let out = tokio::task::spawn_blocking(move || run_in(&dir, &vars, &["check-config"]))
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("AUDIT_API_URL is missing"), "{err}");
    assert!(err.contains("ROBLOX_UNIVERSE_ID is missing"), "{err}");
    assert!(
        err.contains("BOT_DATABASE_URL must start with sqlite: or postgres://"),
        "{err}"
    );
    assert!(!err.contains(OC_KEY));
    // `serve` also checks the Discord settings before connecting anywhere.
    let mut vars = env.vars.clone();
    vars.push(("DISCORD_TOKEN".into(), "oops".into()));
    vars.push(("BOT_METRICS_BIND".into(), "nowhere".into()));
    let dir = env.dir.path().to_owned();
    let out = tokio::task::spawn_blocking(move || run_in(&dir, &vars, &["serve"]))
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("DISCORD_TOKEN does not look like a bot token"),
        "{err}"
    );
    assert!(err.contains("BOT_METRICS_BIND must be an address"), "{err}");
    assert!(!err.contains("oops"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_channel_dead_letters_are_listed_and_retried() {
    let env = env().await;
    let (ok, _, err) = env.run(&["give", "alice", "5", "--reason", "prize"]).await;
    assert!(ok, "give failed: {err}");
    let url = env
        .vars
        .iter()
        .find(|(k, _)| k == "BOT_DATABASE_URL")
        .map(|(_, v)| v.clone())
        .unwrap();
    // The log channel refused the movement's post too often (as the bot would record it).
    let db = bot::service::Db::open(&url).await.unwrap();
    let due = db.log_due(i64::MAX, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    let txn = due[0].0.txn.clone();
    assert!(db.claim_log(&txn, 0, 1_000).await.unwrap());
    let failure = bot::service::db::LogFailure {
        attempts: 10,
        next_at_ms: 0,
        error: "HTTP 400, Discord code 50035: Invalid Form Body",
        dead: true,
    };
    db.log_failed(&txn, &failure).await.unwrap();
    db.close().await;

    let (ok, out, err) = env.run(&["log-channel", "dead-letters"]).await;
    assert!(ok, "{err}");
    assert!(
        out.starts_with(txn.as_str())
            && out.contains("10 failed posts")
            && out.contains("Invalid Form Body"),
        "{out}"
    );
    let (ok, _, err) = env.run(&["log-channel", "retry", "nope"]).await;
    assert!(!ok && err.contains("is not a txn id"), "{err}");
    let other = shared::TxnId::generate();
    let (ok, _, err) = env.run(&["log-channel", "retry", other.as_str()]).await;
    assert!(!ok && err.contains("is not a dead letter"), "{err}");
    let (ok, _, err) = env.run(&["log-channel", "retry"]).await;
    assert!(
        !ok && err.contains("--all"),
        "a txn id or --all is required: {err}"
    );
    let (ok, out, err) = env.run(&["log-channel", "retry", txn.as_str()]).await;
    assert!(ok, "{err}");
    assert!(
        out.starts_with("1 dead letter(s) back in the queue"),
        "{out}"
    );
    let (ok, out, _) = env.run(&["log-channel", "dead-letters"]).await;
    assert!(ok && out.trim() == "no dead letters", "{out}");
    let db = bot::service::Db::open(&url).await.unwrap();
    assert_eq!(
        db.log_due(i64::MAX, 10).await.unwrap().len(),
        1,
        "queued again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payout_from_a_csv_needs_yes_pays_once_and_writes_every_outcome() {
    let env = env().await;
    let csv = env.dir.path().join("winners.csv");
    std::fs::write(&csv, "user_id,name\n1001,alice\n1002,bob\n1001,again\n").unwrap();
    let report = env.dir.path().join("outcomes.csv");
    let file = csv.to_str().unwrap();
    let out_file = report.to_str().unwrap();
    let args = [
        "payout",
        "--amount",
        "40",
        "--reason",
        "winter cup",
        "--file",
        file,
        "--report",
        out_file,
    ];

    // Without --yes: the preview, a non-zero exit, nothing stored or moved.
    let (ok, out, err) = env.run(&args).await;
    assert!(!ok, "a payout without --yes must not run: {out}");
    assert!(out.contains("Pay 2 players 40 each?"), "{out}");
    assert!(out.contains("1 left out"), "the repeat: {out}");
    assert!(err.contains("--yes"), "{err}");
    assert!(env.balance("alice").await.contains("Balance: 0\n"));
    assert!(!report.exists());

    let mut yes = args.to_vec();
    yes.push("--yes");
    let (ok, out, err) = env.run(&yes).await;
    assert!(ok, "payout failed: {err}");
    assert!(out.contains("Payout done: 2 of 2 players paid"), "{out}");
    let outcomes = std::fs::read_to_string(&report).unwrap();
    let rows: Vec<&str> = outcomes.lines().collect();
    assert_eq!(rows[0], "user_id,txn_id,outcome,balance_after,detail");
    assert!(rows[1].starts_with(&format!("{ALICE},")) && rows[1].contains(",applied,40,"));
    assert!(rows[2].starts_with(&format!("{BOB},")) && rows[2].contains(",applied,40,"));
    assert!(env.balance("alice").await.contains("Balance: 40\n"));
    assert!(env.balance("bob").await.contains("Balance: 40\n"));
    // Nothing left to resume.
    let (ok, out, _) = env.run(&["resume-payouts"]).await;
    assert!(ok && out.contains("no unfinished payouts"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_is_named_through_the_same_link_layer_as_discord() {
    const GUILD: u64 = 900_000_000_000_000_001;
    const SAM: u64 = 300_000_000_000_000_011;
    let mut env = env().await;
    env.vars.push(("LINK_SOURCES".into(), "staff".into()));
    env.vars
        .push(("DISCORD_GUILD_ID".into(), GUILD.to_string()));
    // A staff link in the bot's database, as `/link set` stores it.
    let url = format!("sqlite://{}", env.dir.path().join("bot.db").display());
    let db = bot::service::Db::open(&url).await.unwrap();
    let link = bot::links::StoredLink {
        roblox_id: ALICE,
        set_by: "42".into(),
        set_at_ms: 0,
    };
    db.set_member_link(GUILD, SAM, bot::links::SourceKind::Staff, &link)
        .await
        .unwrap();
    db.close().await;

    let sam = format!("member:{SAM}");
    let (ok, out, err) = env.run(&["give", &sam, "7", "--reason", "prize"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("New balance: 7"), "{out}");
    assert!(
        out.contains("set by staff") && out.contains("Alice the Brave"),
        "{out}"
    );
    let (ok, out, err) = env.run(&["balance", &sam]).await;
    assert!(ok, "{err}");
    assert!(out.contains("set by staff"), "{out}");

    let (ok, _, err) = env
        .run(&["give", "member:300000000000000099", "7", "--reason", "x"])
        .await;
    assert!(!ok);
    assert!(err.contains("has no linked Roblox account"), "{err}");
    let (ok, _, err) = env.run(&["give", "member:abc", "7", "--reason", "x"]).await;
    assert!(!ok);
    assert!(
        err.contains("`member:` must be followed by a Discord user id"),
        "{err}"
    );
    assert!(env.balance("alice").await.contains("Balance: 7"));
}
