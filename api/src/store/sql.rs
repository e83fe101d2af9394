//! SQL shared by both backends: the column list, row decoding, and the list query with its bind
//! values.

use super::request::ListFilter;

/// Column list shared by both backends' SELECTs (same order as `LogRow`).
pub(crate) const COLUMNS: &str = "seq, txn_id, source, user_id, op, amount, outcome, reject_reason, \
balance_after, reason, actor_id, actor_name, server_job_id, issued_at, applied_at, received_at, \
key_id, prev_hash, row_hash, reverses";

/// Decodes a `LogRow` from a row selected with `COLUMNS` (same code for both backends).
macro_rules! decode_log_row {
    ($r:expr) => {{
        use sqlx::Row as _;
        let r = $r;
        Ok::<_, sqlx::Error>(crate::chain::LogRow {
            seq: r.try_get(0)?,
            txn_id: r.try_get(1)?,
            source: r.try_get(2)?,
            user_id: r.try_get(3)?,
            op: r.try_get(4)?,
            amount: r.try_get(5)?,
            outcome: r.try_get(6)?,
            reject_reason: r.try_get(7)?,
            balance_after: r.try_get(8)?,
            reason: r.try_get(9)?,
            actor_id: r.try_get(10)?,
            actor_name: r.try_get(11)?,
            server_job_id: r.try_get(12)?,
            issued_at: r.try_get(13)?,
            applied_at: r.try_get(14)?,
            received_at: r.try_get(15)?,
            key_id: r.try_get(16)?,
            prev_hash: r.try_get(17)?,
            row_hash: r.try_get(18)?,
            reverses: r.try_get(19)?,
        })
    }};
}
pub(crate) use decode_log_row;

/// The list filter's conditions, with `$N` placeholders numbered in bind order.
pub(crate) struct Conditions {
    /// Each condition, to be joined with `AND`.
    pub clauses: Vec<String>,
    /// The bind values, in placeholder order.
    pub binds: Vec<ListBind>,
}

impl Conditions {
    /// Every condition of `filter` (user, actor, time range, cursor).
    pub(crate) fn of(filter: &ListFilter) -> Self {
        let mut c = Self {
            clauses: Vec::new(),
            binds: Vec::new(),
        };
        if let Some(u) = filter.user_id {
            c.push(|p| format!("user_id = {p}"), ListBind::Int(u));
        }
        if let Some(a) = &filter.actor {
            c.push(|p| format!("actor_id = {p}"), ListBind::Text(a.clone()));
        }
        if let Some(s) = filter.since {
            c.push(|p| format!("applied_at >= {p}"), ListBind::Int(s));
        }
        if let Some(u) = filter.until {
            c.push(|p| format!("applied_at < {p}"), ListBind::Int(u));
        }
        if let Some(b) = filter.before_seq {
            c.push(|p| format!("seq < {p}"), ListBind::Int(b));
        }
        c
    }

    /// Adds a condition built around the next placeholder.
    pub(crate) fn push(&mut self, clause: impl FnOnce(&str) -> String, bind: ListBind) {
        let placeholder = self.param(bind);
        self.clauses.push(clause(&placeholder));
    }

    /// Binds a value and returns its placeholder, for use outside the conditions.
    pub(crate) fn param(&mut self, bind: ListBind) -> String {
        self.binds.push(bind);
        format!("${}", self.binds.len())
    }

    /// ` WHERE a AND b`, or nothing without conditions.
    pub(crate) fn where_clause(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }
}

/// Builds the list query (newest first) and returns the bind values in order.
pub(crate) fn list_sql(filter: &ListFilter) -> (String, Vec<ListBind>) {
    let mut c = Conditions::of(filter);
    let where_ = c.where_clause();
    let limit = c.param(ListBind::Int(filter.limit));
    (
        format!("SELECT {COLUMNS} FROM audit_log{where_} ORDER BY seq DESC LIMIT {limit}"),
        c.binds,
    )
}

/// A bind value of the list query.
pub(crate) enum ListBind {
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
}

/// A query with its arguments, on either backend.
type ArgQuery<'q, DB> = sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>;

impl ListBind {
    /// Binds the list query's values to `sql`, in placeholder order.
    pub(crate) fn query<'q, DB: sqlx::Database>(sql: &'q str, binds: Vec<Self>) -> ArgQuery<'q, DB>
    where
        i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        binds.into_iter().fold(sqlx::query(sql), |q, b| match b {
            ListBind::Int(i) => q.bind(i),
            ListBind::Text(t) => q.bind(t),
        })
    }
}
