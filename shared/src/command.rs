//! The `economy.command` body: what the bot asks the wallet's owner to do.

use crate::ids::TxnId;
use crate::limits::{
    MAX_ACTOR_NAME_CHARS, MAX_COMMAND_TTL_MS, MAX_REASON_BYTES, MAX_REASON_CHARS, MAX_SAFE_INTEGER,
    PROTOCOL_VERSION,
};
use serde::{Deserialize, Serialize};

/// Which way money moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// Credit the wallet.
    Give,
    /// Debit the wallet; refused when the balance is short.
    Deduct,
}

impl Op {
    /// The wire name (`give` / `deduct`).
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Give => "give",
            Op::Deduct => "deduct",
        }
    }

    /// The op that undoes this one (a reversal of a give is a deduct, and back).
    pub fn opposite(self) -> Op {
        match self {
            Op::Give => Op::Deduct,
            Op::Deduct => Op::Give,
        }
    }
}

/// The Discord member who issued a command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Actor {
    /// Discord user id (a snowflake, as a decimal string: it exceeds 2^53).
    pub id: String,
    /// Display name at the time of the command (≤ 32 characters).
    pub name: String,
}

/// A signed instruction to move money in one wallet. Field order is the wire order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Command {
    /// Protocol version, always 1.
    pub v: u32,
    /// The txn id (ULID); re-sending a command with the same id is a replay.
    pub txn: TxnId,
    /// Give or deduct.
    pub op: Op,
    /// Roblox user id owning the wallet.
    pub user_id: u64,
    /// Amount to move; the apply rule rejects values outside 1..=max_amount.
    pub amount: i64,
    /// Why, in the staff member's words.
    pub reason: String,
    /// Who asked.
    pub actor: Actor,
    /// When the bot issued it (Unix ms).
    pub issued_at: i64,
    /// After this instant (Unix ms) no server applies it; the outcome is then final.
    pub expires_at: i64,
    /// The txn this one reverses (docs/protocol.md §2.1); absent on ordinary commands.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::ids::reverses_field"
    )]
    pub reverses: Option<TxnId>,
}

/// A structurally invalid command (dropped before the apply rule; never recorded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// `v` is not 1.
    #[error("unsupported protocol version {0}")]
    Version(u32),
    /// The Roblox user id is 0 or beyond 2^53 − 1.
    #[error("user id out of range")]
    UserId,
    /// The amount does not fit a Luau number exactly.
    #[error("amount beyond ±(2^53 − 1)")]
    AmountUnsafe,
    /// Empty reason, too long, or containing control, bidi-control or zero-width characters.
    #[error(
        "reason must be 1-{MAX_REASON_CHARS} characters ({MAX_REASON_BYTES} bytes) without control, bidi-control or zero-width characters"
    )]
    Reason,
    /// The actor id is not a decimal snowflake.
    #[error("actor id must be 1-20 decimal digits")]
    ActorId,
    /// The actor name is empty, too long or has control, bidi-control or zero-width characters.
    #[error(
        "actor name must be 1-{MAX_ACTOR_NAME_CHARS} characters without control, bidi-control or zero-width characters"
    )]
    ActorName,
    /// The validity window is empty, negative or too long.
    #[error("validity window must be positive and at most {} minutes", MAX_COMMAND_TTL_MS / 60_000)]
    Window,
    /// A reversal naming itself as its original.
    #[error("a txn cannot reverse itself")]
    Reverses,
    /// A batch envelope naming no player, or one player twice (§3.1).
    #[error("a batch envelope names one or more players, each once")]
    Players,
}

/// Whether `c` can disguise how text reads (bidirectional controls and overrides, invisible
/// zero-width characters): U+061C, U+180E, U+200B–U+200F, U+202A–U+202E, U+2060, U+2066–U+2069,
/// U+FEFF. Text fields refuse them, so a reason cannot reorder or hide what Discord and CSV show.
pub fn is_disguising(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Checks a human text field: non-blank, bounded, no control, bidi-control or zero-width characters.
pub(crate) fn text_ok(s: &str, max_chars: usize) -> bool {
    !s.trim().is_empty()
        && s.chars().count() <= max_chars
        && !s.chars().any(|c| c.is_control() || is_disguising(c))
}

/// Checks a human reason: a bounded text field that also fits `MAX_REASON_BYTES`.
pub fn reason_ok(s: &str) -> bool {
    s.len() <= MAX_REASON_BYTES && text_ok(s, MAX_REASON_CHARS)
}

impl Command {
    /// Structural checks a receiver runs after the signature and before the apply rule.
    pub fn validate(&self) -> Result<(), CommandError> {
        if self.v != PROTOCOL_VERSION {
            return Err(CommandError::Version(self.v));
        }
        if self.user_id == 0 || self.user_id > MAX_SAFE_INTEGER as u64 {
            return Err(CommandError::UserId);
        }
        if !(-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&self.amount) {
            return Err(CommandError::AmountUnsafe);
        }
        if !reason_ok(&self.reason) {
            return Err(CommandError::Reason);
        }
        let id = &self.actor.id;
        if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CommandError::ActorId);
        }
        if !text_ok(&self.actor.name, MAX_ACTOR_NAME_CHARS) {
            return Err(CommandError::ActorName);
        }
        let window = self.expires_at.checked_sub(self.issued_at);
        let window_ok = matches!(window, Some(w) if w > 0 && w <= MAX_COMMAND_TTL_MS);
        if self.issued_at <= 0 || self.expires_at > MAX_SAFE_INTEGER || !window_ok {
            return Err(CommandError::Window);
        }
        if self.reverses.as_ref() == Some(&self.txn) {
            return Err(CommandError::Reverses);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Command {
        Command {
            v: 1,
            txn: TxnId::from_parts(1_700_000_000_000, 7),
            op: Op::Give,
            user_id: 123,
            amount: 10,
            reason: "event prize".into(),
            actor: Actor {
                id: "123456789012345678".into(),
                name: "Mod".into(),
            },
            issued_at: 1_700_000_000_000,
            expires_at: 1_700_000_300_000,
            reverses: None,
        }
    }

    type Mutation = fn(&mut Command);

    #[test]
    fn structural_checks_name_the_field() {
        assert_eq!(sample().validate(), Ok(()));
        let cases: Vec<(Mutation, CommandError)> = vec![
            (|c| c.v = 2, CommandError::Version(2)),
            (|c| c.user_id = 0, CommandError::UserId),
            (|c| c.user_id = 1 << 53, CommandError::UserId),
            (|c| c.amount = i64::MAX, CommandError::AmountUnsafe),
            (|c| c.reason = "  ".into(), CommandError::Reason),
            (|c| c.reason = "a\u{7}b".into(), CommandError::Reason),
            (|c| c.reason = "x".repeat(201), CommandError::Reason),
            (
                |c| c.reason = "pay \u{202E}rof".into(),
                CommandError::Reason,
            ),
            (|c| c.reason = "a\u{200B}b".into(), CommandError::Reason),
            (
                |c| c.actor.name = "Mod\u{2066}".into(),
                CommandError::ActorName,
            ),
            (
                |c| c.actor.name = "\u{FEFF}Mod".into(),
                CommandError::ActorName,
            ),
            (|c| c.actor.id = "12a".into(), CommandError::ActorId),
            (|c| c.actor.name = "n".repeat(33), CommandError::ActorName),
            (|c| c.expires_at = c.issued_at, CommandError::Window),
            (
                |c| c.expires_at = c.issued_at + MAX_COMMAND_TTL_MS + 1,
                CommandError::Window,
            ),
            (|c| c.issued_at = i64::MIN, CommandError::Window),
            (|c| c.reverses = Some(c.txn.clone()), CommandError::Reverses),
        ];
        for (mutate, want) in cases {
            let mut c = sample();
            mutate(&mut c);
            assert_eq!(c.validate(), Err(want));
        }
        let mut ok = sample();
        ok.reason = "é".repeat(200);
        assert_eq!(ok.validate(), Ok(()));
        ok.reason = "😀".repeat(101);
        assert_eq!(
            ok.validate(),
            Err(CommandError::Reason),
            "404 bytes is over the byte cap"
        );
    }

    #[test]
    fn reverses_is_absent_on_ordinary_commands_and_a_ulid_on_reversals() {
        let text = serde_json::to_string(&sample()).unwrap();
        assert!(
            !text.contains("reverses"),
            "old receivers keep reading ordinary commands"
        );
        let mut r = sample();
        r.reverses = Some(TxnId::from_parts(1_600_000_000_000, 1));
        assert_eq!(r.validate(), Ok(()));
        let mut v = serde_json::to_value(&r).unwrap();
        assert_eq!(serde_json::from_value::<Command>(v.clone()).unwrap(), r);
        v["reverses"] = serde_json::json!("not-a-ulid");
        assert!(serde_json::from_value::<Command>(v.clone()).is_err());
        v["reverses"] = serde_json::Value::Null;
        assert!(
            serde_json::from_value::<Command>(v).is_err(),
            "null is not absent"
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut v = serde_json::to_value(sample()).unwrap();
        v["extra"] = serde_json::json!(1);
        assert!(serde_json::from_value::<Command>(v).is_err());
    }
}
