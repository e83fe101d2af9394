//! The single writer: it takes queued requests in groups and commits each group in one
//! `BEGIN IMMEDIATE` transaction (idempotency lookup, duplicate check, chain append, the running
//! totals, stored responses), answering only after the commit.

use super::insert::{
    ACTOR_SUMMARY_UPSERT, KEY_INSERT, LOG_INSERT, USER_SUMMARY_UPSERT, bind_actor_cell, bind_key,
    bind_row, bind_user_cell, insert_chunked,
};
use crate::chain::GENESIS;
use crate::notify::Notifier;
use crate::store::group::{self, Job, PriorKey};
use crate::store::summary::SummaryDelta;
use crate::store::{StoreError, StoredResponse, WriteOutcome, WriteRequest};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions as _, Connection as _, Row as _};
use std::collections::HashMap;
use tokio::sync::mpsc;

/// The writer task. It owns one connection for its whole life: a pooled one goes back to the
/// pool through a spawned task and is pinged on every checkout, which under load cost each group
/// milliseconds of waiting for a busy runtime. After the database was unavailable it reconnects.
pub(super) async fn writer_loop(
    opts: SqliteConnectOptions,
    mut rx: mpsc::Receiver<Job>,
    notifier: Notifier,
) {
    let mut conn: Option<SqliteConnection> = None;
    while let Some(jobs) = group::next_group(&mut rx).await {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match opts.connect().await {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    group::fail(jobs, &StoreError::from(e));
                    continue;
                }
            },
        };
        if run_group(c, jobs, &notifier).await == ConnHealth::Suspect {
            conn = None;
        }
    }
}

/// Whether the writer's connection may be reused after a group.
#[derive(Debug, PartialEq, Eq)]
enum ConnHealth {
    Fine,
    Suspect,
}

/// Commits a group; if it fails for a reason other than the database being unavailable, its
/// requests are retried one per transaction so one bad request cannot spoil the others.
async fn run_group(conn: &mut SqliteConnection, jobs: Vec<Job>, notifier: &Notifier) -> ConnHealth {
    let reqs: Vec<&WriteRequest> = jobs.iter().map(|j| &j.req).collect();
    match commit_group(conn, &reqs).await {
        Ok((outcomes, ids)) => {
            notifier.inserted(ids);
            group::answer(jobs, outcomes);
            ConnHealth::Fine
        }
        Err(e) if jobs.len() > 1 && !e.is_unavailable() => {
            tracing::warn!(error = %e, size = jobs.len(), "group commit failed; retrying its requests one by one");
            for job in jobs {
                match commit_group(conn, &[&job.req]).await {
                    Ok((outcomes, ids)) => {
                        notifier.inserted(ids);
                        group::answer(vec![job], outcomes);
                    }
                    Err(e) => group::fail(vec![job], &e),
                }
            }
            ConnHealth::Fine
        }
        Err(e) => {
            let health = if e.is_unavailable() {
                ConnHealth::Suspect
            } else {
                ConnHealth::Fine
            };
            group::fail(jobs, &e);
            health
        }
    }
}

// Lookups take ONE bound parameter, a JSON array unpacked by json_each: the SQL text is
// constant, so each is prepared once per connection and cached, whatever the group size.
const SELECT_PRIORS: &str = "SELECT k.client_id, k.idem_key, k.fingerprint, k.response_code, \
    k.response_body FROM json_each($1) AS j CROSS JOIN idempotency_keys AS k \
    ON k.client_id = j.value ->> 0 AND k.idem_key = j.value ->> 1";
const SELECT_EXISTING: &str = "SELECT a.txn_id, a.seq FROM json_each($1) AS j CROSS JOIN audit_log AS a ON a.txn_id = j.value";

/// JSON text of a lookup parameter.
fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|_| StoreError::Encoding)
}

/// One group in one `BEGIN IMMEDIATE` transaction: returns each request's outcome and the txn
/// ids stored, only once the commit succeeded.
async fn commit_group(
    conn: &mut SqliteConnection,
    reqs: &[&WriteRequest],
) -> Result<(Vec<WriteOutcome>, Vec<String>), StoreError> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let head = read_head(&mut tx).await?;
    let pairs: Vec<(&str, &str)> = reqs
        .iter()
        .map(|r| (r.client_id.as_str(), r.idem_key.as_str()))
        .collect();
    let mut priors = HashMap::new();
    for row in sqlx::query(SELECT_PRIORS)
        .bind(to_json(&pairs)?)
        .fetch_all(&mut *tx)
        .await?
    {
        let status: i64 = row.try_get(3)?;
        priors.insert(
            (row.try_get::<String, _>(0)?, row.try_get::<String, _>(1)?),
            PriorKey {
                fingerprint: row.try_get(2)?,
                response: StoredResponse {
                    status: u16::try_from(status).map_err(|_| StoreError::Encoding)?,
                    body: row.try_get(4)?,
                },
            },
        );
    }
    let ids: Vec<&str> = reqs
        .iter()
        .flat_map(|r| r.records.iter().map(|rec| rec.txn_id.as_str()))
        .collect();
    let mut existing = HashMap::new();
    for r in sqlx::query(SELECT_EXISTING)
        .bind(to_json(&ids)?)
        .fetch_all(&mut *tx)
        .await?
    {
        existing.insert(r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?);
    }
    let plan = group::plan_group(reqs, &priors, &existing, head)?;
    insert_chunked(&mut tx, &LOG_INSERT, &plan.rows, bind_row).await?;
    // The running totals move with the log, in the same transaction.
    let delta = SummaryDelta::of(&plan.rows);
    insert_chunked(
        &mut tx,
        &ACTOR_SUMMARY_UPSERT,
        &delta.by_actor,
        bind_actor_cell,
    )
    .await?;
    insert_chunked(
        &mut tx,
        &USER_SUMMARY_UPSERT,
        &delta.by_user,
        bind_user_cell,
    )
    .await?;
    insert_chunked(&mut tx, &KEY_INSERT, &plan.keys, bind_key).await?;
    tx.commit().await?;
    plan.record_metrics();
    Ok((
        plan.outcomes,
        plan.rows.into_iter().map(|r| r.txn_id).collect(),
    ))
}

/// The chain head: its seq and row hash (genesis on an empty log).
type Head = (i64, Vec<u8>);

/// Reads the chain head inside the group's transaction.
async fn read_head(conn: &mut SqliteConnection) -> Result<Head, StoreError> {
    let head = sqlx::query("SELECT seq, row_hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match head {
        Some(r) => (r.try_get::<i64, _>(0)?, r.try_get::<Vec<u8>, _>(1)?),
        None => (0, GENESIS.to_vec()),
    })
}
