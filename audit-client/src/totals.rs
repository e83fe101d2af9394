//! What the totals endpoint (`GET /log/totals`) answers, and its query: sums given and deducted
//! per actor or per player over a time range, for staff investigations.

use serde::{Deserialize, Serialize};

/// How the totals are grouped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum GroupBy {
    /// One group per Discord actor (game-server records form the group without an actor).
    #[default]
    Actor,
    /// One group per Roblox user.
    User,
}

impl GroupBy {
    /// The wire name (`actor` / `user`).
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Actor => "actor",
            GroupBy::User => "user",
        }
    }
}

/// Counters over a set of records: only applied records move money; rejected ones are counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Sums {
    /// Sum of applied gives.
    pub given: i64,
    /// Sum of applied deducts.
    pub deducted: i64,
    /// Number of applied gives.
    pub gives: i64,
    /// Number of applied deducts.
    pub deducts: i64,
    /// Number of rejected records.
    pub rejected: i64,
}

/// One group of the totals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TotalsGroup {
    /// The actor (with `groupBy=actor`); absent for records written by game servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    /// The actor's display name on its newest record in the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_name: Option<String>,
    /// The Roblox user (with `groupBy=user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// The group's counters.
    #[serde(flatten)]
    pub sums: Sums,
}

/// The totals endpoint's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    /// How `groups` are grouped.
    pub group_by: GroupBy,
    /// The largest groups first (by given + deducted, then by id).
    pub groups: Vec<TotalsGroup>,
    /// Whether more groups matched than `limit` allowed.
    pub more: bool,
    /// Every matching record, all groups together.
    pub overall: Sums,
}

/// Filters for [`AuditClient::totals`](crate::AuditClient::totals).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TotalsParams {
    /// Group per actor (default) or per user.
    pub group_by: GroupBy,
    /// Only this Roblox user.
    pub user_id: Option<u64>,
    /// Only this Discord actor id.
    pub actor: Option<String>,
    /// appliedAt ≥ since (Unix ms).
    pub since: Option<i64>,
    /// appliedAt < until (Unix ms).
    pub until: Option<i64>,
    /// Most groups to return (capped at 500 by the API).
    pub limit: Option<u32>,
}

impl TotalsParams {
    /// The query string (the actor id is encoded anyway).
    pub fn query(&self) -> String {
        let mut q = vec![format!("groupBy={}", self.group_by.as_str())];
        if let Some(v) = self.user_id {
            q.push(format!("userId={v}"));
        }
        if let Some(v) = &self.actor {
            q.push(format!(
                "actor={}",
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            ));
        }
        if let Some(v) = self.since {
            q.push(format!("since={v}"));
        }
        if let Some(v) = self.until {
            q.push(format!("until={v}"));
        }
        if let Some(v) = self.limit {
            q.push(format!("limit={v}"));
        }
        q.join("&")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_names_every_filter() {
        assert_eq!(TotalsParams::default().query(), "groupBy=actor");
        let all = TotalsParams {
            group_by: GroupBy::User,
            user_id: Some(7),
            actor: Some("1 2".into()),
            since: Some(1),
            until: Some(2),
            limit: Some(3),
        };
        assert_eq!(
            all.query(),
            "groupBy=user&userId=7&actor=1%202&since=1&until=2&limit=3"
        );
    }

    #[test]
    fn a_group_reads_flat_on_the_wire() {
        let g = TotalsGroup {
            actor_id: Some("5".into()),
            actor_name: Some("mod".into()),
            user_id: None,
            sums: Sums {
                given: 10,
                deducted: 3,
                gives: 2,
                deducts: 1,
                rejected: 0,
            },
        };
        let v = serde_json::to_value(&g).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"actorId": "5", "actorName": "mod", "given": 10, "deducted": 3,
                               "gives": 2, "deducts": 1, "rejected": 0})
        );
        assert_eq!(serde_json::from_value::<TotalsGroup>(v).unwrap(), g);
    }
}
