//! Walks the stored chain page by page (shared by the endpoint and the CLI).

use crate::chain::Verifier;
use crate::model::{BrokenRow, VerifyReport};
use crate::store::{Store, StoreError};

/// Rows read per page while verifying.
const PAGE: i64 = 2000;

/// Verifies every row from seq 1, stopping at the first broken one.
pub async fn verify_chain(store: &dyn Store) -> Result<VerifyReport, StoreError> {
    let mut v = Verifier::default();
    let mut after = 0;
    'pages: loop {
        let rows = store.chain_page(after, PAGE).await?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        for row in &rows {
            if !v.push(row) {
                break 'pages;
            }
        }
        if (rows.len() as i64) < PAGE {
            break;
        }
    }
    let first_broken = v.broken().map(|(seq, problem)| BrokenRow { seq, problem });
    if first_broken.is_some() {
        metrics::counter!("audit_chain_verify_failures_total").increment(1);
    }
    Ok(VerifyReport {
        ok: first_broken.is_none(),
        rows_verified: v.rows(),
        head_seq: v.last_seq(),
        head_hash: hex::encode(v.last_hash()),
        first_broken,
    })
}
