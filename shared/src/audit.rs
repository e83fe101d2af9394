//! The audit record: what the audit API stores for every committed txn.

use crate::command::{Command, Op, reason_ok, text_ok};
use crate::ids::TxnId;
use crate::limits::{
    MAX_ACTOR_NAME_CHARS, MAX_JOB_ID_CHARS, MAX_REASON_BYTES, MAX_REASON_CHARS, MAX_SAFE_INTEGER,
};
use crate::outcome::{RecordOutcome, RejectReason, TxnRecord};
use serde::{Deserialize, Serialize};

/// Who originated the txn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A staff command from Discord (bot or CLI).
    Discord,
    /// The game's own code (grant / spend on the session holder).
    Game,
}

impl Source {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Discord => "discord",
            Source::Game => "game",
        }
    }
}

/// One committed txn (applied or recorded rejection). Field order is the wire order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditRecord {
    /// The txn id; the audit API stores each at most once.
    pub txn_id: TxnId,
    /// Discord or game.
    pub source: Source,
    /// Roblox user id owning the wallet.
    pub user_id: u64,
    /// Give or deduct.
    pub op: Op,
    /// The amount the txn carried.
    pub amount: i64,
    /// Applied or rejected.
    pub outcome: RecordOutcome,
    /// Why it was rejected (absent when applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_reason: Option<RejectReason>,
    /// Balance after the txn.
    pub balance_after: i64,
    /// The human reason.
    pub reason: String,
    /// Discord user id of the actor (absent for game txns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    /// Discord display name of the actor (absent for game txns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_name: Option<String>,
    /// `game.JobId` of the server that committed it; absent when the bot committed it offline (CAS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_job_id: Option<String>,
    /// When the txn was issued (Unix ms).
    pub issued_at: i64,
    /// When it was applied (Unix ms).
    pub applied_at: i64,
    /// The txn this one reverses (a ULID, never its own id; only on `discord` records);
    /// absent on ordinary txns and on every record written before reversals existed.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::ids::reverses_field"
    )]
    pub reverses: Option<TxnId>,
}

/// An audit record that cannot be stored; each names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// User id 0 or beyond 2^53 − 1.
    #[error("userId out of range")]
    UserId,
    /// Amount beyond ±(2^53 − 1), or below 1 on an applied record.
    #[error("amount out of range")]
    Amount,
    /// Balance negative or beyond 2^53 − 1.
    #[error("balanceAfter out of range")]
    Balance,
    /// Applied with a rejection reason, or rejected without one.
    #[error("rejectReason must be present exactly when outcome is rejected")]
    RejectReason,
    /// Reason empty, too long or with control, bidi-control or zero-width characters.
    #[error(
        "reason must be 1-{MAX_REASON_CHARS} characters ({MAX_REASON_BYTES} bytes) without control, bidi-control or zero-width characters"
    )]
    Reason,
    /// Actor fields inconsistent with the source, or malformed.
    #[error("actorId/actorName must be set (and well-formed) exactly for discord records")]
    Actor,
    /// Server job id empty or over 64 characters.
    #[error("serverJobId must be 1-64 characters")]
    JobId,
    /// Timestamps non-positive or beyond 2^53 − 1.
    #[error("issuedAt/appliedAt out of range")]
    Time,
    /// `reverses` names the record itself, or sits on a game record.
    #[error("reverses must name another txn, and only on discord records")]
    Reverses,
}

impl AuditRecord {
    /// The record of a remote (Discord) command committed with ring entry `rec`, by the game
    /// server `server_job_id` or, when `None`, by the bot's offline compare-and-swap write.
    ///
    /// The Luau bridge builds the same record in `AuditRecord.fromCommand`; both must agree field
    /// for field, since either writer's record may be the one the audit API keeps.
    pub fn from_command(cmd: &Command, rec: &TxnRecord, server_job_id: Option<String>) -> Self {
        Self {
            txn_id: cmd.txn.clone(),
            source: Source::Discord,
            user_id: cmd.user_id,
            op: cmd.op,
            amount: cmd.amount,
            outcome: rec.outcome,
            // As in Luau: a reason only on a rejection, whatever the ring entry carries.
            reject_reason: match rec.outcome {
                RecordOutcome::Rejected => rec.reject_reason,
                RecordOutcome::Applied => None,
            },
            balance_after: rec.balance_after,
            reason: cmd.reason.clone(),
            actor_id: Some(cmd.actor.id.clone()),
            actor_name: Some(cmd.actor.name.clone()),
            server_job_id,
            issued_at: cmd.issued_at,
            applied_at: rec.at,
            reverses: cmd.reverses.clone(),
        }
    }

    /// Checks ranges and consistency; the audit API stores nothing that fails.
    pub fn validate(&self) -> Result<(), AuditError> {
        if self.user_id == 0 || self.user_id > MAX_SAFE_INTEGER as u64 {
            return Err(AuditError::UserId);
        }
        let amount_ok = match self.outcome {
            RecordOutcome::Applied => (1..=MAX_SAFE_INTEGER).contains(&self.amount),
            RecordOutcome::Rejected => {
                (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&self.amount)
            }
        };
        if !amount_ok {
            return Err(AuditError::Amount);
        }
        if !(0..=MAX_SAFE_INTEGER).contains(&self.balance_after) {
            return Err(AuditError::Balance);
        }
        if (self.outcome == RecordOutcome::Rejected) != self.reject_reason.is_some() {
            return Err(AuditError::RejectReason);
        }
        if !reason_ok(&self.reason) {
            return Err(AuditError::Reason);
        }
        let actor_ok = match (self.source, &self.actor_id, &self.actor_name) {
            (Source::Discord, Some(id), Some(name)) => {
                !id.is_empty()
                    && id.len() <= 20
                    && id.bytes().all(|b| b.is_ascii_digit())
                    && text_ok(name, MAX_ACTOR_NAME_CHARS)
            }
            (Source::Game, None, None) => true,
            _ => false,
        };
        if !actor_ok {
            return Err(AuditError::Actor);
        }
        if let Some(job) = &self.server_job_id
            && (job.is_empty()
                || job.chars().count() > MAX_JOB_ID_CHARS
                || job.chars().any(char::is_control))
        {
            return Err(AuditError::JobId);
        }
        let t = 1..=MAX_SAFE_INTEGER;
        if !t.contains(&self.issued_at) || !t.contains(&self.applied_at) {
            return Err(AuditError::Time);
        }
        if let Some(original) = &self.reverses
            && (original == &self.txn_id || self.source != Source::Discord)
        {
            return Err(AuditError::Reverses);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AuditRecord {
        AuditRecord {
            txn_id: TxnId::from_parts(1_700_000_000_000, 1),
            source: Source::Discord,
            user_id: 123,
            op: Op::Give,
            amount: 10,
            outcome: RecordOutcome::Applied,
            reject_reason: None,
            balance_after: 10,
            reason: "prize".into(),
            actor_id: Some("42".into()),
            actor_name: Some("Mod".into()),
            server_job_id: Some("job-1".into()),
            issued_at: 1_700_000_000_000,
            applied_at: 1_700_000_000_500,
            reverses: None,
        }
    }

    type Mutation = fn(&mut AuditRecord);

    #[test]
    fn each_rule_names_its_field() {
        assert_eq!(sample().validate(), Ok(()));
        let cases: Vec<(Mutation, AuditError)> = vec![
            (|r| r.user_id = 0, AuditError::UserId),
            (|r| r.amount = 0, AuditError::Amount),
            (|r| r.amount = MAX_SAFE_INTEGER + 1, AuditError::Amount),
            (|r| r.balance_after = -1, AuditError::Balance),
            (
                |r| r.reject_reason = Some(RejectReason::Expired),
                AuditError::RejectReason,
            ),
            (
                |r| r.outcome = RecordOutcome::Rejected,
                AuditError::RejectReason,
            ),
            (|r| r.reason = String::new(), AuditError::Reason),
            (|r| r.actor_id = None, AuditError::Actor),
            (|r| r.actor_id = Some("x1".into()), AuditError::Actor),
            (|r| r.source = Source::Game, AuditError::Actor),
            (|r| r.server_job_id = Some(String::new()), AuditError::JobId),
            (
                |r| r.server_job_id = Some("j".repeat(65)),
                AuditError::JobId,
            ),
            (|r| r.issued_at = 0, AuditError::Time),
            (|r| r.applied_at = MAX_SAFE_INTEGER + 1, AuditError::Time),
            (
                |r| r.reverses = Some(r.txn_id.clone()),
                AuditError::Reverses,
            ),
            (
                |r| {
                    r.source = Source::Game;
                    r.actor_id = None;
                    r.actor_name = None;
                    r.reverses = Some(TxnId::from_parts(1, 1));
                },
                AuditError::Reverses,
            ),
        ];
        for (mutate, want) in cases {
            let mut r = sample();
            mutate(&mut r);
            assert_eq!(r.validate(), Err(want));
        }
    }

    #[test]
    fn rejected_and_game_records_are_valid_shapes() {
        let mut r = sample();
        r.outcome = RecordOutcome::Rejected;
        r.reject_reason = Some(RejectReason::AmountOutOfRange);
        r.amount = -5;
        assert_eq!(r.validate(), Ok(()));
        let mut g = sample();
        g.source = Source::Game;
        g.actor_id = None;
        g.actor_name = None;
        assert_eq!(g.validate(), Ok(()));
        let text = serde_json::to_string(&g).unwrap();
        assert!(!text.contains("actorId") && !text.contains("rejectReason"));
        assert_eq!(serde_json::from_str::<AuditRecord>(&text).unwrap(), g);
    }

    /// The command and ring entries of the Luau cross-check in bridge-harness
    /// (`audit_records_built_in_luau_are_accepted_by_the_rust_model`).
    fn command() -> Command {
        serde_json::from_value(serde_json::json!({
            "v": 1, "txn": "01HF7YAT010000000000000001", "op": "deduct",
            "userId": 9007199254740991i64, "amount": 10, "reason": "refund",
            "actor": {"id": "123456789012345678", "name": "Mod"},
            "issuedAt": 1700000000001i64, "expiresAt": 1700000300001i64
        }))
        .unwrap()
    }

    fn ring_entry(cmd: &Command, reject: Option<RejectReason>, balance_after: i64) -> TxnRecord {
        TxnRecord {
            id: cmd.txn.clone(),
            op: cmd.op,
            amount: cmd.amount,
            outcome: match reject {
                None => RecordOutcome::Applied,
                Some(_) => RecordOutcome::Rejected,
            },
            reject_reason: reject,
            balance_after,
            issued_at: cmd.issued_at,
            at: 1_700_000_000_420,
            reverses: None,
        }
    }

    #[test]
    fn a_record_from_a_command_matches_the_luau_from_command() {
        let cmd = command();
        let applied = AuditRecord::from_command(
            &cmd,
            &ring_entry(&cmd, None, 90),
            Some("7a0c2f1e-job".into()),
        );
        assert_eq!(applied.validate(), Ok(()));
        assert_eq!(
            serde_json::to_value(&applied).unwrap(),
            serde_json::json!({
                "txnId": "01HF7YAT010000000000000001", "source": "discord",
                "userId": 9007199254740991i64, "op": "deduct", "amount": 10,
                "outcome": "applied", "balanceAfter": 90, "reason": "refund",
                "actorId": "123456789012345678", "actorName": "Mod",
                "serverJobId": "7a0c2f1e-job", "issuedAt": 1700000000001i64,
                "appliedAt": 1700000000420i64
            })
        );
        let rejected = AuditRecord::from_command(
            &cmd,
            &ring_entry(&cmd, Some(RejectReason::InsufficientFunds), 3),
            None,
        );
        assert_eq!(rejected.validate(), Ok(()));
        let v = serde_json::to_value(&rejected).unwrap();
        assert_eq!(v["outcome"], "rejected");
        assert_eq!(v["rejectReason"], "insufficient_funds");
        assert_eq!(v["balanceAfter"], 3);
        assert!(
            v.get("serverJobId").is_none(),
            "the bot's own commit names no server"
        );
    }

    #[test]
    fn an_applied_entry_never_carries_a_reject_reason_into_the_record() {
        let cmd = command();
        let mut odd = ring_entry(&cmd, None, 90);
        odd.reject_reason = Some(RejectReason::Expired);
        let r = AuditRecord::from_command(&cmd, &odd, None);
        assert_eq!(r.reject_reason, None);
        assert_eq!(r.validate(), Ok(()));
    }

    #[test]
    fn a_reversal_record_names_its_original_last_on_the_wire() {
        let mut cmd = command();
        cmd.reverses = Some(TxnId::from_parts(1_600_000_000_000, 9));
        let r = AuditRecord::from_command(&cmd, &ring_entry(&cmd, None, 90), None);
        assert_eq!(r.validate(), Ok(()));
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.ends_with(&format!(",\"reverses\":\"{}\"}}", cmd.reverses.unwrap())));
        assert_eq!(serde_json::from_str::<AuditRecord>(&text).unwrap(), r);
    }

    #[test]
    fn unknown_and_mistyped_fields_are_refused() {
        let mut v = serde_json::to_value(sample()).unwrap();
        v["amount"] = serde_json::json!("10");
        assert!(serde_json::from_value::<AuditRecord>(v.clone()).is_err());
        v["amount"] = serde_json::json!(10);
        v["admin"] = serde_json::json!(true);
        assert!(serde_json::from_value::<AuditRecord>(v).is_err());
    }
}
