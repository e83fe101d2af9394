//! Actions scheduled at a virtual time (`Universe::schedule`): the faults and player movements of
//! a scenario, decided ahead of the run.

/// Something scheduled to happen at a virtual time.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// A player joins a server.
    Join {
        /// Server index.
        server: usize,
        /// User id.
        user_id: u64,
    },
    /// A player leaves a server.
    Leave {
        /// Server index.
        server: usize,
        /// User id.
        user_id: u64,
    },
    /// A server crashes (no BindToClose).
    Crash(usize),
    /// A server shuts down gracefully.
    Shutdown(usize),
    /// A server loses the DataStore (and optionally messaging) for `seconds`.
    CutOff {
        /// Server index.
        server: usize,
        /// Duration.
        seconds: f64,
        /// Also cut MessagingService publishes.
        messaging: bool,
    },
    /// A server's DataStore budgets are emptied (throttling).
    DrainBudget(usize),
    /// A new server starts.
    StartServer,
    /// Something outside the servers (the bot) publishes a message.
    Publish {
        /// Topic.
        topic: String,
        /// JSON text.
        data: String,
    },
}
