//! `GET /log/totals`: sums given and deducted per actor or per player over a time range, for
//! staff investigations ("who moved what").

use super::read::{MAX_LIMIT, int_param, once};
use crate::app::AppState;
use crate::problem::ApiError;
use crate::store::{ListFilter, TotalsFilter};
use audit_client::{GroupBy, Totals, TotalsGroup};
use axum::Json;
use axum::extract::{Query, State};
use shared::limits::MAX_SAFE_INTEGER;
use std::collections::HashMap;

/// Default number of groups.
pub const DEFAULT_GROUPS: i64 = 50;

fn parse(pairs: &[(String, String)]) -> Result<TotalsFilter, ApiError> {
    let (mut group_by, mut user, mut actor, mut since, mut until, mut limit) =
        (None, None, None, None, None, None);
    for (k, v) in pairs {
        match k.as_str() {
            "groupBy" => once(&mut group_by, k, v)?,
            "userId" => once(&mut user, k, v)?,
            "actor" => once(&mut actor, k, v)?,
            "since" => once(&mut since, k, v)?,
            "until" => once(&mut until, k, v)?,
            "limit" => once(&mut limit, k, v)?,
            other => {
                let name: String = other.chars().take(40).collect();
                return Err(ApiError::invalid_query(format!(
                    "unknown parameter {name:?}; use groupBy, userId, actor, since, until, limit"
                )));
            }
        }
    }
    let group_by = match group_by {
        None | Some("actor") => GroupBy::Actor,
        Some("user") => GroupBy::User,
        Some(_) => return Err(ApiError::invalid_query("groupBy must be actor or user")),
    };
    let mut filter = ListFilter::default();
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
    let limit = match limit {
        Some(v) => int_param("limit", v, 1, MAX_SAFE_INTEGER)?.min(MAX_LIMIT),
        None => DEFAULT_GROUPS,
    };
    Ok(TotalsFilter {
        group_by,
        filter,
        limit,
    })
}

/// Sums per actor or per player over a range.
#[utoipa::path(
    get,
    path = "/log/totals",
    tag = "audit",
    params(
        ("groupBy" = Option<String>, Query, description = "actor (default: one group per Discord actor, game-server records form the group without actorId) or user (one group per Roblox user)"),
        ("userId" = Option<i64>, Query, description = "Only this Roblox user"),
        ("actor" = Option<String>, Query, description = "Only this Discord actor id"),
        ("since" = Option<i64>, Query, description = "appliedAt >= since (Unix ms)"),
        ("until" = Option<i64>, Query, description = "appliedAt < until (Unix ms)"),
        ("limit" = Option<i64>, Query, description = "Most groups, default 50, capped at 500; `more` says whether others matched"),
    ),
    responses(
        (status = 200, description = "Groups, largest first (given + deducted), and the overall counters; only applied records move money, rejected ones are counted", body = Totals),
        (status = 400, description = "Malformed or unknown parameter", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Signature not accepted", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Key lacks the read scope", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A total exceeds 2^53 - 1; ask for a shorter range", body = crate::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("signed" = []))
)]
pub async fn totals(
    State(state): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Totals>, ApiError> {
    let t = parse(&pairs)?;
    let limit = t.limit;
    let group_by = t.group_by;
    let rows = state.store.totals(t).await?;
    let more = rows.groups.len() as i64 > limit;
    let groups: Vec<_> = rows.groups.into_iter().take(limit as usize).collect();
    let names: HashMap<String, Option<String>> = match group_by {
        GroupBy::Actor => {
            let ids = groups.iter().filter_map(|g| g.actor_id.clone()).collect();
            state.store.actor_names(ids).await?.into_iter().collect()
        }
        GroupBy::User => HashMap::new(),
    };
    let groups = groups
        .into_iter()
        .map(|g| TotalsGroup {
            actor_name: g
                .actor_id
                .as_ref()
                .and_then(|a| names.get(a).cloned().flatten()),
            actor_id: g.actor_id,
            user_id: g.user_id,
            sums: g.sums,
        })
        .collect();
    Ok(Json(Totals {
        group_by,
        groups,
        more,
        overall: rows.overall,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Result<TotalsFilter, ApiError> {
        let pairs: Vec<(String, String)> = s
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        parse(&pairs)
    }

    #[test]
    fn parameters_parse_with_defaults_and_caps() {
        let t = q("").unwrap();
        assert_eq!((t.group_by, t.limit), (GroupBy::Actor, DEFAULT_GROUPS));
        let t = q("groupBy=user&actor=12&since=1&until=2&limit=9999").unwrap();
        assert_eq!(t.group_by, GroupBy::User);
        assert_eq!(t.filter.actor.as_deref(), Some("12"));
        assert_eq!((t.filter.since, t.filter.until), (Some(1), Some(2)));
        assert_eq!(t.limit, MAX_LIMIT);
    }

    #[test]
    fn bad_parameters_are_refused_by_name() {
        for (query, word) in [
            ("groupBy=server", "groupBy"),
            ("groupBy=user&groupBy=actor", "more than once"),
            ("cursor=abc", "unknown parameter"),
            ("limit=0", "limit"),
            ("limit=05", "limit"),
            ("userId=-1", "userId"),
            ("actor=x", "actor"),
            ("since=1.0", "since"),
        ] {
            let e = q(query).err().unwrap_or_else(|| panic!("{query} accepted"));
            let detail = e.problem().detail.unwrap_or_default();
            assert!(detail.contains(word), "{query}: {detail}");
        }
    }
}
