//! What went wrong in a Discord command, and how it is told to the member: the shared words
//! (`crate::frontend::error`) for option and service errors, plus Discord's own cases. The
//! full error goes to the log under a short reference the member can quote.

use crate::frontend::error::{service_label, service_message};
use crate::frontend::{Failure, OptionError};
use crate::service::ServiceError;

pub use crate::frontend::error::refusal_message;

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
    /// A payout's players could not be read from Discord (the role's members, the file); the
    /// text says why and is shown as is.
    #[error("{0}")]
    PayoutInput(String),
    /// The bot is shutting down and takes no new command.
    #[error("the bot is restarting: nothing was done; try again in a minute")]
    Restarting(#[from] super::shutdown::Restarting),
}

impl From<Failure> for CommandError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Option(e) => CommandError::Option(e),
            Failure::Service(e) => CommandError::Service(e),
        }
    }
}

impl CommandError {
    /// The message for the member; `reference` ties it to the log line.
    pub fn user_message(&self, reference: &str) -> String {
        match self {
            CommandError::Option(e) => e.to_string(),
            CommandError::Service(e) => service_message(e, reference),
            CommandError::NotInGuild | CommandError::PayoutInput(_) => self.to_string(),
            CommandError::Restarting(_) => {
                "The bot is restarting: nothing was done. Try again in a minute.".to_owned()
            }
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
            CommandError::Service(e) => service_label(e),
            CommandError::NotInGuild => "refused",
            CommandError::PayoutInput(_) => "bad_input",
            CommandError::Restarting(_) => "restarting",
            CommandError::Discord(_) => "discord_error",
        }
    }
}
