//! What went wrong in a command, told to the member in plain words: the one mapping from
//! [`OptionError`] and [`ServiceError`] to text. Internals never reach the member; front ends log
//! them under the reference the message quotes.

use super::args::OptionError;
use super::words::amount;
use crate::service::{Refusal, ServiceError};

/// A command that did not go through, in any front end.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// An option is unusable.
    #[error(transparent)]
    Option(#[from] OptionError),
    /// The service refused or failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl Failure {
    /// The message for the member; `reference` ties it to the log line.
    pub fn user_message(&self, reference: &str) -> String {
        match self {
            Failure::Option(e) => e.to_string(),
            Failure::Service(e) => service_message(e, reference),
        }
    }

    /// A short label for metrics (`outcome` of the command counter).
    pub fn metric_label(&self) -> &'static str {
        match self {
            Failure::Option(_) => "bad_input",
            Failure::Service(e) => service_label(e),
        }
    }

    /// Whether the log should hold the details (an outage or a bug, not a member's mistake).
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            Failure::Service(ServiceError::Unavailable(_) | ServiceError::Db(_))
        )
    }
}

/// The member's message for a service error.
pub fn service_message(e: &ServiceError, reference: &str) -> String {
    match e {
        ServiceError::Refused(r) => refusal_message(r),
        ServiceError::Unavailable(_) => format!(
            "Roblox or the audit service did not answer, so nothing was sent and nothing \
             moved. Try again in a minute (ref {reference})."
        ),
        ServiceError::Db(_) => format!(
            "The bot's own database failed (ref {reference}). Check /balance before \
             trying again; a movement that did happen is posted to the log channel."
        ),
    }
}

/// The metric label of a service error.
pub fn service_label(e: &ServiceError) -> &'static str {
    match e {
        ServiceError::Refused(_) => "refused",
        ServiceError::Unavailable(_) => "unavailable",
        ServiceError::Db(_) => "db_error",
    }
}

/// A refusal with a first letter in upper case and a full stop; amounts grouped by thousands
/// (the service's own text, kept plain for logs, says the same).
pub fn refusal_message(r: &Refusal) -> String {
    let text = match r {
        Refusal::OverRoleMax { max } => {
            format!("your roles allow at most {} per command", amount(*max))
        }
        Refusal::AmountOutOfRange { max } => {
            format!("the amount must be between 1 and {}", amount(*max))
        }
        Refusal::DailyCap { cap, used } => format!(
            "this would pass your daily cap of {} (used in the last 24 h: {})",
            amount(*cap),
            amount(*used)
        ),
        Refusal::ReversalShort { balance, needs } => format!(
            "balance {}, reversal needs {}: short by {}",
            amount(*balance),
            amount(*needs),
            amount(needs - balance)
        ),
        // The link error's own words already end in "nothing moved".
        Refusal::LinksUnavailable(why) => format!(
            "the account links could not be read: {}",
            why.trim_end_matches("; nothing moved")
        ),
        Refusal::BatchTooLarge { max, got } => format!(
            "the payout names {} players; one payout pays at most {}",
            amount(i64::try_from(*got).unwrap_or(i64::MAX)),
            amount(i64::try_from(*max).unwrap_or(i64::MAX))
        ),
        other => other.to_string(),
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}. Nothing moved.", first.to_uppercase(), chars.as_str()),
        None => "Refused. Nothing moved.".to_owned(),
    }
}

/// A short reference for a front end without one of its own (the CLI, the console): the random
/// tail of a fresh txn id, so two failures never share it.
pub fn new_reference() -> String {
    let id = shared::TxnId::generate();
    let s = id.as_str();
    s.get(s.len().saturating_sub(8)..)
        .unwrap_or(s)
        .to_ascii_lowercase()
}
