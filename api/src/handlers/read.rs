//! Read endpoints: list (JSON or CSV), one txn with long-poll, chain verification.

use crate::app::AppState;
use crate::auth::Caller;
use crate::model::{LoggedRecord, Page, VerifyReport, logged_from_row};
use crate::notify::Wake;
use crate::problem::{ApiError, Problem};
use crate::store::ListFilter;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use shared::TxnId;
use shared::limits::MAX_SAFE_INTEGER;
use std::time::Duration;

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// Largest page size; larger requests are capped to it.
pub const MAX_LIMIT: i64 = 500;
/// Longest long-poll, seconds; larger waits are capped to it.
pub const MAX_WAIT_SECS: u64 = 30;

/// Whether `v` is a whole number written plainly: digits only, no sign, no leading zero.
fn plain_digits(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) && (v == "0" || !v.starts_with('0'))
}

pub(super) fn int_param(name: &str, v: &str, min: i64, max: i64) -> Result<i64, ApiError> {
    Some(v)
        .filter(|v| plain_digits(v))
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            ApiError::invalid_query(format!("{name} must be a whole number from {min} to {max}"))
        })
}

pub(super) fn once<'a>(
    slot: &mut Option<&'a str>,
    name: &str,
    value: &'a str,
) -> Result<(), ApiError> {
    if slot.replace(value).is_some() {
        return Err(ApiError::invalid_query(format!(
            "{name} given more than once"
        )));
    }
    Ok(())
}

/// Parsed list parameters.
struct ListParams {
    filter: ListFilter,
    csv: bool,
}

fn parse_list(
    pairs: &[(String, String)],
    headers: &HeaderMap,
    secret: &[u8],
) -> Result<ListParams, ApiError> {
    let (mut user, mut actor, mut since, mut until, mut limit, mut cursor, mut format) =
        (None, None, None, None, None, None, None);
    for (k, v) in pairs {
        match k.as_str() {
            "userId" => once(&mut user, k, v)?,
            "actor" => once(&mut actor, k, v)?,
            "since" => once(&mut since, k, v)?,
            "until" => once(&mut until, k, v)?,
            "limit" => once(&mut limit, k, v)?,
            "cursor" => once(&mut cursor, k, v)?,
            "format" => once(&mut format, k, v)?,
            other => {
                let name: String = other.chars().take(40).collect();
                return Err(ApiError::invalid_query(format!(
                    "unknown parameter {name:?}; use userId, actor, since, until, limit, cursor, format"
                )));
            }
        }
    }
    let mut filter = ListFilter {
        limit: DEFAULT_LIMIT,
        ..Default::default()
    };
    if let Some(v) = user {
        filter.user_id = Some(int_param("userId", v, 1, MAX_SAFE_INTEGER)?);
    }
    if let Some(v) = actor {
        if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::invalid_query(
                "actor must be a Discord user id (1-20 digits)",
            ));
        }
        filter.actor = Some(v.to_owned());
    }
    if let Some(v) = since {
        filter.since = Some(int_param("since (Unix ms)", v, 0, MAX_SAFE_INTEGER)?);
    }
    if let Some(v) = until {
        filter.until = Some(int_param("until (Unix ms)", v, 0, MAX_SAFE_INTEGER)?);
    }
    if let Some(v) = limit {
        // Bounded like every other integer here (2^53 - 1), so the OpenAPI maximum is exact for
        // clients that hold JSON numbers as doubles.
        filter.limit = int_param("limit", v, 1, MAX_SAFE_INTEGER)?.min(MAX_LIMIT);
    }
    if let Some(v) = cursor {
        filter.before_seq = Some(crate::cursor::open(secret, v).ok_or_else(|| {
            ApiError::invalid_query("cursor is not one this API issued to this key")
        })?);
    }
    let csv = match format {
        Some("csv") => true,
        Some("json") => false,
        Some(_) => return Err(ApiError::invalid_query("format must be json or csv")),
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/csv")),
    };
    Ok(ListParams { filter, csv })
}

/// Lists records, newest first.
#[utoipa::path(
    get,
    path = "/log/transactions",
    tag = "audit",
    params(
        ("userId" = Option<i64>, Query, description = "Only this Roblox user"),
        ("actor" = Option<String>, Query, description = "Only this Discord actor id"),
        ("since" = Option<i64>, Query, description = "appliedAt >= since (Unix ms)"),
        ("until" = Option<i64>, Query, description = "appliedAt < until (Unix ms)"),
        ("limit" = Option<i64>, Query, description = "Page size, default 50, capped at 500"),
        ("cursor" = Option<String>, Query, description = "nextCursor of the previous page (opaque; valid for the key that received it)"),
        ("format" = Option<String>, Query, description = "json (default) or csv; Accept: text/csv works too"),
    ),
    responses(
        (status = 200, description = "A page, newest first (CSV: X-Next-Cursor header)", content(
            (Page = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "Malformed or unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Signature not accepted", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Key lacks the read scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signed" = []))
)]
pub async fn list_transactions(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(pairs): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // Authentication put the caller there, so its key is in the ring.
    let secret = state
        .config
        .keys
        .get(&caller.key_id)
        .map(|k| k.secret.expose().to_vec())
        .ok_or_else(ApiError::internal)?;
    let params = parse_list(&pairs, &headers, &secret)?;
    let limit = params.filter.limit;
    let mut filter = params.filter;
    filter.limit = limit + 1;
    let rows = state.store.list(filter).await?;
    let more = rows.len() as i64 > limit;
    let items = rows
        .iter()
        .take(limit as usize)
        .map(logged_from_row)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            tracing::error!(
                seq = e.seq,
                "stored row does not parse; run chain verification"
            );
            ApiError::internal()
        })?;
    let next_cursor = more
        .then(|| items.last().map(|i| crate::cursor::issue(&secret, i.seq)))
        .flatten();
    if params.csv {
        let mut resp = crate::csv::render(&items).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        if let Some(c) = next_cursor.and_then(|c| HeaderValue::from_str(&c).ok()) {
            h.insert("x-next-cursor", c);
        }
        return Ok(resp);
    }
    Ok(Json(Page { items, next_cursor }).into_response())
}

/// One record by txn id; `wait` long-polls until it is stored.
#[utoipa::path(
    get,
    path = "/log/transactions/{txnId}",
    tag = "audit",
    params(
        ("txnId" = String, Path, description = "The txn id (canonical ULID)"),
        ("wait" = Option<u64>, Query, description = "Seconds to wait for the record to appear (capped at 30)"),
    ),
    responses(
        (status = 200, description = "The record", body = LoggedRecord),
        (status = 400, description = "Malformed txn id or wait", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Signature not accepted", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not stored (yet)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signed" = []))
)]
pub async fn get_transaction(
    State(state): State<AppState>,
    Path(txn_id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<LoggedRecord>, ApiError> {
    let id: TxnId = txn_id
        .parse()
        .map_err(|e: shared::TxnIdError| ApiError::invalid_query(format!("txnId: {e}")))?;
    let mut wait = None;
    for (k, v) in &pairs {
        match k.as_str() {
            "wait" => once(&mut wait, k, v)?,
            _ => {
                return Err(ApiError::invalid_query(
                    "unknown parameter; only wait is accepted",
                ));
            }
        }
    }
    let wait_secs = match wait {
        Some(v) => Some(v)
            .filter(|v| plain_digits(v))
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| ApiError::invalid_query("wait must be a whole number of seconds"))?
            .min(MAX_WAIT_SECS),
        None => 0,
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait_secs);
    // Subscribe before the first lookup so an insert between the two is not missed.
    let mut sub = state.store.notifier().subscribe();
    loop {
        if let Some(row) = state.store.get(id.as_str()).await? {
            return logged_from_row(&row).map(Json).map_err(|e| {
                tracing::error!(
                    seq = e.seq,
                    "stored row does not parse; run chain verification"
                );
                ApiError::internal()
            });
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            break;
        }
        match sub.wait_for(id.as_str(), left).await {
            Wake::Announced => continue,
            Wake::TimedOut => continue, // one last lookup, then the deadline ends the loop
            Wake::ShuttingDown => {
                if let Some(row) = state.store.get(id.as_str()).await? {
                    return logged_from_row(&row)
                        .map(Json)
                        .map_err(|_| ApiError::internal());
                }
                break;
            }
        }
    }
    Err(ApiError::not_found(format!("txn {id} is not in the log")))
}

/// Verifies the whole hash chain and reports the first broken row.
#[utoipa::path(
    get,
    path = "/log/verify",
    tag = "audit",
    responses(
        (status = 200, description = "Verification report (ok=false names the first broken row)", body = VerifyReport),
        (status = 401, description = "Signature not accepted", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signed" = []))
)]
pub async fn verify_log(State(state): State<AppState>) -> Result<Json<VerifyReport>, ApiError> {
    Ok(Json(
        crate::verify::verify_chain(state.store.as_ref()).await?,
    ))
}

/// The latest signed checkpoint of the hash chain (store it elsewhere; see `economy-api verify`).
#[utoipa::path(
    get,
    path = "/log/checkpoints/latest",
    tag = "audit",
    responses(
        (status = 200, description = "The latest signed checkpoint", body = crate::checkpoint::Checkpoint),
        (status = 401, description = "Signature not accepted", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Checkpoints are not configured, or none signed yet", body = Problem, content_type = "application/problem+json"),
    ),
    security(("signed" = []))
)]
pub async fn latest_checkpoint(
    State(state): State<AppState>,
) -> Result<Json<crate::checkpoint::Checkpoint>, ApiError> {
    if state.config.checkpoint.is_none() {
        return Err(ApiError::not_found(
            "checkpoints are not configured (API_CHECKPOINT_KEY)",
        ));
    }
    let latest = state.checkpoint.read().clone();
    latest
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no checkpoint signed yet"))
}
