//! The acceptance checks of `sandbox demo` as a test: 7 game servers running the Luau bridge on
//! ProfileStore, the Open Cloud emulator over HTTP, the audit API on SQLite, the bot's service.
//! Every row of the table must pass.

use sandbox::demo::{CHECKS, DemoOptions, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acceptance_check_passes_end_to_end() {
    let report = run(DemoOptions::default()).await.expect("the demo ran");
    let table = report.table();
    println!("{table}");
    assert_eq!(report.checks.len(), CHECKS.len(), "{table}");
    let failed: Vec<_> = report.checks.iter().filter(|c| !c.passed).collect();
    assert!(failed.is_empty(), "failed checks:\n{table}");
}
