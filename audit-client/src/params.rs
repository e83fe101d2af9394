//! The list endpoint's filters and their query string.

/// Filters for [`AuditClient::list`](crate::AuditClient::list).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    /// Only this Roblox user.
    pub user_id: Option<u64>,
    /// Only this Discord actor id.
    pub actor: Option<String>,
    /// appliedAt ≥ since (Unix ms).
    pub since: Option<i64>,
    /// appliedAt < until (Unix ms).
    pub until: Option<i64>,
    /// Page size (capped at 500 by the API).
    pub limit: Option<u32>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

impl ListParams {
    /// The query string (values are digits or API-issued cursors; encoded anyway).
    pub fn query(&self) -> String {
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        let mut q = Vec::new();
        if let Some(v) = self.user_id {
            q.push(format!("userId={v}"));
        }
        if let Some(v) = &self.actor {
            q.push(format!("actor={}", enc(v)));
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
        if let Some(v) = &self.cursor {
            q.push(format!("cursor={}", enc(v)));
        }
        q.join("&")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_names_every_filter_in_order_and_encodes_text() {
        assert_eq!(ListParams::default().query(), "");
        let all = ListParams {
            user_id: Some(42),
            actor: Some("a b&c".into()),
            since: Some(-1),
            until: Some(9),
            limit: Some(500),
            cursor: Some("x=y".into()),
        };
        assert_eq!(
            all.query(),
            "userId=42&actor=a%20b%26c&since=-1&until=9&limit=500&cursor=x%3Dy"
        );
    }
}
