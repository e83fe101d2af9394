//! CSV export of log pages (RFC 4180 quoting, spreadsheet-formula guard on free text).

use crate::model::LoggedRecord;

/// The header row.
pub const HEADER: &str = "seq,txnId,source,userId,op,amount,outcome,rejectReason,balanceAfter,\
reason,actorId,actorName,serverJobId,issuedAt,appliedAt,receivedAt,keyId,rowHash,reverses";

fn field(out: &mut String, s: &str, free_text: bool) {
    // Free text starting with = + - @ (or tab/CR) would run as a formula when opened in a
    // spreadsheet: prefix a quote so it stays text.
    let guarded = free_text
        && s.chars()
            .next()
            .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r'));
    let needs_quotes = guarded || s.contains([',', '"', '\n', '\r']);
    if needs_quotes {
        out.push('"');
        if guarded {
            out.push('\'');
        }
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// Renders records as CSV with a header row, lines ending in CRLF.
pub fn render(items: &[LoggedRecord]) -> String {
    let mut out = String::with_capacity(128 * (items.len() + 1));
    out.push_str(HEADER);
    out.push_str("\r\n");
    for it in items {
        let r = &it.record;
        let outcome = match r.outcome {
            shared::RecordOutcome::Applied => "applied",
            shared::RecordOutcome::Rejected => "rejected",
        };
        let cols: [(String, bool); 19] = [
            (it.seq.to_string(), false),
            (r.txn_id.to_string(), false),
            (r.source.as_str().to_owned(), false),
            (r.user_id.to_string(), false),
            (r.op.as_str().to_owned(), false),
            (r.amount.to_string(), false),
            (outcome.to_owned(), false),
            (
                r.reject_reason
                    .map(|x| x.as_str().to_owned())
                    .unwrap_or_default(),
                false,
            ),
            (r.balance_after.to_string(), false),
            (r.reason.clone(), true),
            (r.actor_id.clone().unwrap_or_default(), false),
            (r.actor_name.clone().unwrap_or_default(), true),
            (r.server_job_id.clone().unwrap_or_default(), true),
            (r.issued_at.to_string(), false),
            (r.applied_at.to_string(), false),
            (it.received_at.to_string(), false),
            (it.key_id.clone(), false),
            (it.row_hash.clone(), false),
            (
                r.reverses
                    .as_ref()
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
                false,
            ),
        ];
        for (i, (v, text)) in cols.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            field(&mut out, v, *text);
        }
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_formula_guard() {
        let mut s = String::new();
        field(&mut s, "a,\"b\"", true);
        assert_eq!(s, "\"a,\"\"b\"\"\"");
        let mut s = String::new();
        field(&mut s, "=HYPERLINK(1)", true);
        assert_eq!(s, "\"'=HYPERLINK(1)\"");
        let mut s = String::new();
        field(&mut s, "-5", false);
        assert_eq!(s, "-5");
    }
}
