//! Group commit, shared by both backends: one writer task per process takes every write that
//! queued up while the previous commit was running and stores them in ONE transaction with a
//! handful of set-based statements (look up all keys, look up all txn ids, insert all rows, insert
//! all keys). Each request is answered only after that commit, so a 2xx still means durable.
//!
//! The planning below is pure (no I/O): given what the database already holds, it decides each
//! request's outcome and the rows to append, chained in request order.

use super::{StoreError, StoredResponse, WriteOutcome, WriteRequest, encode_response};
use crate::chain::LogRow;
use crate::model::{PostResponse, RecordResult, RecordStatus};
use std::collections::HashMap;
use tokio::sync::{mpsc, oneshot};

/// Most requests committed together in one group.
pub(crate) const MAX_GROUP: usize = 128;
/// Most records in one group (a group closes early rather than growing past this).
pub(crate) const MAX_GROUP_ROWS: usize = 4096;

/// One queued write and where its answer goes.
pub(crate) struct Job {
    /// The request.
    pub req: WriteRequest,
    /// Answered after the group commits (or fails).
    pub reply: oneshot::Sender<Result<WriteOutcome, StoreError>>,
}

/// Sends a request to the writer task and waits for its answer (sent after the commit).
pub(crate) async fn submit(
    jobs: &mpsc::Sender<Job>,
    req: WriteRequest,
) -> Result<WriteOutcome, StoreError> {
    let (reply, answer) = oneshot::channel();
    jobs.send(Job { req, reply })
        .await
        .map_err(|_| StoreError::Db(sqlx::Error::PoolClosed))?;
    answer
        .await
        .map_err(|_| StoreError::Db(sqlx::Error::PoolClosed))?
}

/// Waits for the next job and takes whatever else is already queued (up to the group limits).
pub(crate) async fn next_group(rx: &mut mpsc::Receiver<Job>) -> Option<Vec<Job>> {
    let first = rx.recv().await?;
    let mut rows = first.req.records.len();
    let mut jobs = vec![first];
    while jobs.len() < MAX_GROUP && rows < MAX_GROUP_ROWS {
        match rx.try_recv() {
            Ok(j) => {
                rows += j.req.records.len();
                jobs.push(j);
            }
            Err(_) => break,
        }
    }
    Some(jobs)
}

/// An idempotency key already stored.
#[derive(Debug, Clone)]
pub(crate) struct PriorKey {
    /// Fingerprint of the request that stored it.
    pub fingerprint: Vec<u8>,
    /// Its stored response.
    pub response: StoredResponse,
}

/// An idempotency key row to insert.
#[derive(Debug, Clone)]
pub(crate) struct KeyRow {
    /// Signing key id.
    pub client_id: String,
    /// Idempotency-Key.
    pub idem_key: String,
    /// Request fingerprint.
    pub fingerprint: Vec<u8>,
    /// Stored response.
    pub response: StoredResponse,
    /// Unix ms.
    pub created_at: i64,
}

/// Everything one group transaction writes, and each request's answer.
#[derive(Debug)]
pub(crate) struct GroupPlan {
    /// One per request, in order.
    pub outcomes: Vec<WriteOutcome>,
    /// Rows to append, already sealed onto the head, in seq order.
    pub rows: Vec<LogRow>,
    /// Idempotency keys to store.
    pub keys: Vec<KeyRow>,
    /// Records of newly processed requests that were already stored.
    pub duplicates: usize,
}

impl GroupPlan {
    /// Counts what a committed plan stored (call only after the commit succeeded).
    pub(crate) fn record_metrics(&self) {
        metrics::counter!("audit_records_stored_total").increment(self.rows.len() as u64);
        metrics::counter!("audit_records_duplicate_total").increment(self.duplicates as u64);
        metrics::histogram!("audit_write_group_requests").record(self.outcomes.len() as f64);
    }
}

/// Plans a group against the stored state: `priors` maps (client id, key) to stored keys,
/// `existing` maps stored txn ids to their seq, `head` is the chain head (seq, hash).
pub(crate) fn plan_group(
    reqs: &[&WriteRequest],
    priors: &HashMap<(String, String), PriorKey>,
    existing: &HashMap<String, i64>,
    head: (i64, Vec<u8>),
) -> Result<GroupPlan, StoreError> {
    let (mut head_seq, mut head_hash) = head;
    let mut known: HashMap<&str, i64> = HashMap::new();
    // Keys stored earlier in this same group (one process never runs two, but be exact anyway).
    let mut planned: HashMap<(&str, &str), usize> = HashMap::new();
    let mut plan = GroupPlan {
        outcomes: Vec::with_capacity(reqs.len()),
        rows: Vec::new(),
        keys: Vec::new(),
        duplicates: 0,
    };
    for req in reqs {
        let id = (req.client_id.clone(), req.idem_key.clone());
        let earlier = planned
            .get(&(req.client_id.as_str(), req.idem_key.as_str()))
            .map(|&i| {
                let k = &plan.keys[i];
                (k.fingerprint.as_slice(), &k.response)
            });
        let prior = priors
            .get(&id)
            .map(|p| (p.fingerprint.as_slice(), &p.response))
            .or(earlier);
        if let Some((fp, response)) = prior {
            plan.outcomes.push(if fp == req.fingerprint {
                WriteOutcome::Replayed(response.clone())
            } else {
                WriteOutcome::Mismatch
            });
            continue;
        }
        let mut results = Vec::with_capacity(req.records.len());
        for rec in &req.records {
            let txn = rec.txn_id.as_str();
            let stored = existing.get(txn).or_else(|| known.get(txn)).copied();
            match stored {
                Some(seq) => {
                    plan.duplicates += 1;
                    results.push(RecordResult {
                        txn_id: txn.to_owned(),
                        status: RecordStatus::Duplicate,
                        seq,
                    });
                }
                None => {
                    let mut row =
                        crate::model::row_from_record(rec, req.received_at, &req.client_id);
                    crate::chain::seal(&mut row, head_seq, &head_hash);
                    head_seq = row.seq;
                    head_hash.clone_from(&row.row_hash);
                    known.insert(txn, row.seq);
                    results.push(RecordResult {
                        txn_id: txn.to_owned(),
                        status: RecordStatus::Accepted,
                        seq: row.seq,
                    });
                    plan.rows.push(row);
                }
            }
        }
        let response = encode_response(&PostResponse::new(results))?;
        planned.insert(
            (req.client_id.as_str(), req.idem_key.as_str()),
            plan.keys.len(),
        );
        plan.keys.push(KeyRow {
            client_id: req.client_id.clone(),
            idem_key: req.idem_key.clone(),
            fingerprint: req.fingerprint.to_vec(),
            response: response.clone(),
            created_at: req.received_at,
        });
        plan.outcomes.push(WriteOutcome::Done(response));
    }
    Ok(plan)
}

/// Answers every job of a group with its outcome (after the commit).
pub(crate) fn answer(jobs: Vec<Job>, outcomes: Vec<WriteOutcome>) {
    for (job, outcome) in jobs.into_iter().zip(outcomes) {
        let _ = job.reply.send(Ok(outcome));
    }
}

/// Answers every job of a failed group with the same error (nothing was stored).
pub(crate) fn fail(jobs: Vec<Job>, err: &StoreError) {
    let unavailable = err.is_unavailable();
    let msg = err.to_string();
    for job in jobs {
        let e = if unavailable {
            StoreError::Group(msg.clone())
        } else {
            StoreError::Failed(msg.clone())
        };
        let _ = job.reply.send(Err(e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{GENESIS, Verifier};
    use shared::{AuditRecord, TxnId};

    fn rec(txn: &TxnId) -> AuditRecord {
        serde_json::from_value(serde_json::json!({
            "txnId": txn.to_string(), "source": "game", "userId": 7, "op": "give", "amount": 5,
            "outcome": "applied", "balanceAfter": 5, "reason": "r", "serverJobId": "job",
            "issuedAt": 1, "appliedAt": 2
        }))
        .unwrap()
    }

    fn req(key: &str, fp: u8, txns: &[&TxnId]) -> WriteRequest {
        WriteRequest {
            client_id: "game".into(),
            idem_key: key.into(),
            fingerprint: [fp; 32],
            records: txns.iter().map(|t| rec(t)).collect(),
            received_at: 10,
        }
    }

    fn body(o: &WriteOutcome) -> PostResponse {
        match o {
            WriteOutcome::Done(r) | WriteOutcome::Replayed(r) => {
                serde_json::from_str(&r.body).unwrap()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_group_answers_each_request_as_if_alone_and_chains_in_order() {
        let (a, b, c, d) = (
            TxnId::generate(),
            TxnId::generate(),
            TxnId::generate(),
            TxnId::generate(),
        );
        let mut priors = HashMap::new();
        priors.insert(
            ("game".to_owned(), "old".to_owned()),
            PriorKey {
                fingerprint: vec![9; 32],
                response: StoredResponse {
                    status: 201,
                    body: "{\"stored\":1}".into(),
                },
            },
        );
        let existing: HashMap<String, i64> = [(d.to_string(), 4)].into_iter().collect();
        let reqs = [
            req("k1", 1, &[&a, &b]),
            req("k2", 2, &[&b, &c]), // b duplicates k1's
            req("old", 9, &[&a]),    // replay of a stored key
            req("old", 8, &[&a]),    // same key, other body
            req("k3", 3, &[&d, &d]), // stored before the group
            req("k1", 1, &[&a, &b]), // repeat of k1 inside the group: replay
        ];
        let refs: Vec<&WriteRequest> = reqs.iter().collect();
        let head_hash = vec![7; 32];
        let plan = plan_group(&refs, &priors, &existing, (4, head_hash.clone())).unwrap();
        assert_eq!(plan.outcomes.len(), 6);
        let r1 = body(&plan.outcomes[0]);
        assert_eq!((r1.accepted, r1.duplicates), (2, 0));
        assert_eq!(r1.results[0].seq, 5);
        assert_eq!(r1.results[1].seq, 6);
        let r2 = body(&plan.outcomes[1]);
        assert_eq!(r2.results[0].status, RecordStatus::Duplicate);
        assert_eq!(r2.results[0].seq, 6);
        assert_eq!(r2.results[1].seq, 7);
        assert!(
            matches!(&plan.outcomes[2], WriteOutcome::Replayed(r) if r.body == "{\"stored\":1}")
        );
        assert!(matches!(plan.outcomes[3], WriteOutcome::Mismatch));
        let r5 = body(&plan.outcomes[4]);
        assert_eq!((r5.accepted, r5.duplicates), (0, 2));
        assert_eq!(r5.status_code(), 200);
        assert!(matches!(&plan.outcomes[5], WriteOutcome::Replayed(_)));
        assert_eq!(body(&plan.outcomes[5]), r1);
        // three keys stored (k1, k2, k3), three rows appended, seq 5..7 linked onto the head
        assert_eq!(plan.keys.len(), 3);
        let seqs: Vec<i64> = plan.rows.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [5, 6, 7]);
        assert_eq!(plan.rows[0].prev_hash, head_hash);
        for w in plan.rows.windows(2) {
            assert_eq!(w[1].prev_hash, w[0].row_hash);
        }
    }

    #[test]
    fn consecutive_groups_form_one_verifiable_chain() {
        let mut head = (0, GENESIS.to_vec());
        let mut all = Vec::new();
        for g in 0..5 {
            let txns: Vec<TxnId> = (0..7).map(|_| TxnId::generate()).collect();
            let reqs: Vec<WriteRequest> = txns
                .chunks(3)
                .enumerate()
                .map(|(i, c)| req(&format!("g{g}-{i}"), 1, &c.iter().collect::<Vec<_>>()))
                .collect();
            let refs: Vec<&WriteRequest> = reqs.iter().collect();
            let plan = plan_group(&refs, &HashMap::new(), &HashMap::new(), head.clone()).unwrap();
            let last = plan.rows.last().unwrap();
            head = (last.seq, last.row_hash.clone());
            all.extend(plan.rows);
        }
        let mut v = Verifier::default();
        assert!(all.iter().all(|r| v.push(r)));
        assert_eq!(v.rows(), 35);
    }
}
