//! What went wrong in a command, and how it is told to the member: plain words, never internals.
//! The full error goes to the log under a short reference the member can quote.

use super::parse::OptionError;
use crate::service::{Refusal, ServiceError};

/// An error a command handler returns; `on_error` shows [`CommandError::user_message`].
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// A command option is unusable.
    #[error(transparent)]
    Option(#[from] OptionError),
    /// The service refused or failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// Used outside a server.
    #[error("economy commands work only inside the server")]
    NotInGuild,
    /// Talking to Discord failed.
    #[error("discord request failed: {0}")]
    Discord(#[from] serenity::Error),
}

impl CommandError {
    /// The message for the member; `reference` ties it to the log line.
    pub fn user_message(&self, reference: &str) -> String {
        match self {
            CommandError::Option(e) => e.to_string(),
            CommandError::Service(ServiceError::Refused(r)) => refusal_message(r),
            CommandError::Service(ServiceError::Unavailable(_)) => format!(
                "Roblox or the audit service did not answer, so nothing was sent and nothing \
                 moved. Try again in a minute (ref {reference})."
            ),
            CommandError::Service(ServiceError::Db(_)) => format!(
                "The bot's own database failed (ref {reference}). Check /balance before \
                 trying again; a movement that did happen is posted to the log channel."
            ),
            CommandError::NotInGuild => self.to_string(),
            CommandError::Discord(_) => format!(
                "Discord did not accept the bot's reply (ref {reference}). If money moved, \
                 the log channel shows it; check /balance before trying again."
            ),
        }
    }

    /// A short label for metrics (`outcome` of the command counter).
    pub fn metric_label(&self) -> &'static str {
        match self {
            CommandError::Option(_) => "bad_input",
            CommandError::Service(ServiceError::Refused(_)) => "refused",
            CommandError::Service(ServiceError::Unavailable(_)) => "unavailable",
            CommandError::Service(ServiceError::Db(_)) => "db_error",
            CommandError::NotInGuild => "refused",
            CommandError::Discord(_) => "discord_error",
        }
    }
}

/// A refusal with a first letter in upper case and a full stop.
pub fn refusal_message(r: &Refusal) -> String {
    let text = r.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}. Nothing moved.", first.to_uppercase(), chars.as_str()),
        None => "Refused. Nothing moved.".to_owned(),
    }
}
