//! Control messages from the async side to the world thread, each with its reply channel.

use tokio::sync::oneshot;

use super::Snapshot;

/// Where the world thread answers one request.
pub(super) type Reply<T> = oneshot::Sender<Result<T, String>>;

/// One request to the world thread.
pub(super) enum Control {
    Join {
        user: u64,
        server: usize,
        reply: Reply<()>,
    },
    Leave {
        user: u64,
        reply: Reply<()>,
    },
    Crash {
        server: usize,
        reply: Reply<()>,
    },
    StartServer {
        reply: Reply<usize>,
    },
    Snippet {
        server: usize,
        source: String,
        reply: Reply<()>,
    },
    FastForward {
        seconds: f64,
        reply: Reply<()>,
    },
    Snapshot {
        reply: oneshot::Sender<Snapshot>,
    },
    Stop,
}
