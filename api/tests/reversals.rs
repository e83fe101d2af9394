//! The audit record's `reverses` field (docs/protocol.md §6, §8.3), on both backends: a
//! reversal is stored naming its original, read back in JSON and CSV and covered by the hash
//! chain next to rows without it; a bad value is refused with 400 and stores nothing. The
//! cases are the shared vectors' (`testdata/reversals.json`), which the Rust and Luau models
//! judge the same way.

mod common;

use audit_client::params::ListParams;
use common::*;
use shared::AuditRecord;

fn vectors() -> Vec<(String, serde_json::Value, bool)> {
    let path = format!("{}/../testdata/reversals.json", env!("CARGO_MANIFEST_DIR"));
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    data["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["record"].clone(),
                c["ok"].as_bool().unwrap(),
            )
        })
        .collect()
}

async fn bad_values_are_refused_and_store_nothing(b: Backend) {
    let app = TestApp::start(b).await;
    let bad: Vec<_> = vectors().into_iter().filter(|(_, _, ok)| !ok).collect();
    assert!(bad.len() >= 5, "vector file lost cases");
    for (name, record, _) in bad {
        let resp = app
            .client
            .send(app.signed_post(serde_json::to_vec(&record).unwrap()))
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{name}");
        let p: api::problem::Problem = resp.json().await.unwrap();
        assert_eq!(p.kind, "/problems/invalid-body", "{name}");
        let detail = p.detail.unwrap_or_default();
        assert!(detail.contains("reverses"), "{name}: {detail}");
        assert_eq!(app.db.stored().await, (0, 0), "{name}: nothing stored");
    }
    app.finish().await;
}

async fn a_reversal_is_stored_read_exported_and_chained(b: Backend) {
    let app = TestApp::start(b).await;
    let good: Vec<AuditRecord> = vectors()
        .into_iter()
        .filter(|(_, _, ok)| *ok)
        .map(|(_, r, _)| serde_json::from_value(r).unwrap())
        .collect();
    let reversal = good
        .iter()
        .find(|r| r.reverses.is_some() && r.reject_reason.is_none())
        .unwrap()
        .clone();
    let original = good.iter().find(|r| r.reverses.is_none()).unwrap().clone();
    assert_eq!(reversal.reverses.as_ref(), Some(&original.txn_id));
    // Rows without the field before and after it: the chain covers both shapes.
    let plain = record(1, 5);
    let res = app
        .writer
        .post_records(
            &[plain.clone(), original.clone(), reversal.clone()],
            &idem(),
        )
        .await
        .unwrap();
    assert_eq!(res.response.accepted, 3);
    app.writer
        .post_records(&[record(2, 6)], &idem())
        .await
        .unwrap();

    let got = app
        .reader
        .get_txn(&reversal.txn_id, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.record, reversal);
    let got_original = app
        .reader
        .get_txn(&original.txn_id, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got_original.record.reverses, None);
    // The original finds its reversal under the derived id.
    let derived = app
        .reader
        .get_txn(&original.txn_id.reversal_id(), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(derived.record.txn_id, reversal.txn_id);

    let page = app.reader.list(&ListParams::default()).await.unwrap();
    let listed: Vec<_> = page
        .items
        .iter()
        .map(|i| i.record.reverses.clone())
        .collect();
    assert_eq!(
        listed,
        vec![None, Some(original.txn_id.clone()), None, None],
        "newest first"
    );
    let csv = app.reader.list_csv(&ListParams::default()).await.unwrap();
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert!(lines[0].ends_with(",rowHash,reverses"), "{}", lines[0]);
    assert!(
        lines[2].ends_with(&format!(",{}", original.txn_id)),
        "{}",
        lines[2]
    );
    assert!(lines[1].ends_with(','), "no value: {}", lines[1]);
    let report = app.reader.verify().await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.rows_verified, 4);
    app.finish().await;
}

async fn an_edited_reverses_breaks_the_chain(b: Backend) {
    let app = TestApp::start(b).await;
    let reversal: AuditRecord = vectors()
        .into_iter()
        .find(|(_, r, ok)| *ok && r.get("reverses").is_some())
        .map(|(_, r, _)| serde_json::from_value(r).unwrap())
        .unwrap();
    app.writer
        .post_records(&[record(1, 5), reversal.clone(), record(1, 7)], &idem())
        .await
        .unwrap();
    assert!(app.reader.verify().await.unwrap().ok);
    // The owner of the database edits the link around its triggers: the chain notices.
    app.db
        .exec("DROP TRIGGER audit_log_no_update ON audit_log")
        .await
        .or(app.db.exec("DROP TRIGGER audit_log_no_update").await)
        .unwrap();
    app.db
        .exec("UPDATE audit_log SET reverses = NULL WHERE seq = 2")
        .await
        .unwrap();
    let report = app.reader.verify().await.unwrap();
    assert!(!report.ok);
    assert_eq!(report.first_broken.map(|b| b.seq), Some(2));
    app.finish().await;
}

both_backends!(
    bad_values_are_refused_and_store_nothing,
    a_reversal_is_stored_read_exported_and_chained,
    an_edited_reverses_breaks_the_chain,
);
