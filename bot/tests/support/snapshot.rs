//! Snapshot files for the Discord surface: what a test renders must equal the committed file
//! (regenerate with `UPDATE_SNAPSHOTS=1`, then review the diff: it is what members will see).

use serde_json::Value;

/// Asserts that `value`, pretty-printed, equals the file at `path`; `what` names the change in
/// the failure message.
pub fn assert_matches(path: &str, value: &Value, what: &str) {
    let now = serde_json::to_string_pretty(value).unwrap() + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, &now).unwrap();
    }
    let committed = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path} missing ({e}); run with UPDATE_SNAPSHOTS=1"));
    assert_eq!(
        committed, now,
        "{what} changed: review and run with UPDATE_SNAPSHOTS=1"
    );
}
