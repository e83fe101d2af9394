//! Background work of the Discord front end: commands in flight (drained on shutdown), the
//! reconciler loop and the log-channel poster.

use super::render;
use crate::service::{BoxFut, LogPolicy, LogSink, PostFailure, Service, SettledTxn};
use serenity::all as s;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// Counts commands still running so shutdown can wait for them.
#[derive(Debug, Clone, Default)]
pub struct InFlight {
    inner: Arc<(AtomicUsize, Notify)>,
}

/// Held while a command runs.
#[derive(Debug)]
pub struct InFlightGuard {
    inner: Arc<(AtomicUsize, Notify)>,
}

impl InFlight {
    /// Marks a command as running until the guard drops.
    pub fn enter(&self) -> InFlightGuard {
        self.inner.0.fetch_add(1, Ordering::SeqCst);
        InFlightGuard {
            inner: self.inner.clone(),
        }
    }

    /// Commands running now.
    pub fn count(&self) -> usize {
        self.inner.0.load(Ordering::SeqCst)
    }

    /// Waits until no command runs, or `limit` passes; returns how many still run.
    pub async fn drained(&self, limit: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.inner.1.notified();
            let n = self.count();
            if n == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.count();
            }
        }
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.inner.0.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.inner.1.notify_waiters();
        }
    }
}

/// Settles pending txns every `every` (each for up to `budget`) until `stop` turns true.
pub async fn reconciler(
    service: Arc<Service>,
    every: Duration,
    budget: Duration,
    log_wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    // Txns younger than this are still driven by the command that issued them.
    let min_age = budget + Duration::from_secs(1);
    loop {
        let pass = tokio::select! {
            // Cancelling a pass is safe: settlements are stored as they happen and the next
            // pass (or start) re-reads the wallet, which is the authority.
            r = service.reconcile_older_than(budget, min_age) => r,
            _ = stop.changed() => return,
        };
        match pass {
            Ok(report) => {
                if report.settled > 0 || report.audit_posted > 0 {
                    tracing::info!(
                        settled = report.settled,
                        still_pending = report.still_pending,
                        audit_posted = report.audit_posted,
                        "reconciler pass"
                    );
                    log_wake.notify_one();
                }
            }
            Err(e) => tracing::warn!(error = %e, "reconciler pass failed"),
        }
        if let Ok((unacked, pending)) = service.queue_sizes().await {
            crate::metrics::queues(unacked, pending);
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// The Discord log channel as a [`LogSink`]: one embed per movement, mentions off.
pub struct DiscordLogChannel {
    /// Discord's REST client.
    pub http: Arc<s::Http>,
    /// The channel.
    pub channel: s::ChannelId,
}

impl LogSink for DiscordLogChannel {
    fn post<'a>(&'a self, t: &'a SettledTxn) -> BoxFut<'a, Result<(), PostFailure>> {
        Box::pin(async move {
            let message = s::CreateMessage::new()
                .embed(render::log_embed(t))
                .allowed_mentions(s::CreateAllowedMentions::new());
            match self.channel.send_message(&self.http, message).await {
                Ok(_) => Ok(()),
                Err(e) => Err(PostFailure {
                    error: e.to_string(),
                    channel_wide: true,
                }),
            }
        })
    }
}

/// Posts settled movements to `sink` after every wake-up (a settlement) and every 10 s, until
/// `stop` turns true.
pub async fn log_poster(
    service: Arc<Service>,
    sink: Arc<dyn LogSink>,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        post_pending_logs(&service, sink.as_ref()).await;
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(10)) => {}
            _ = stop.changed() => {
                // One last pass so movements settled during shutdown are posted.
                post_pending_logs(&service, sink.as_ref()).await;
                return;
            }
        }
    }
}

async fn post_pending_logs(service: &Service, sink: &dyn LogSink) {
    match service.deliver_logs(sink, &LogPolicy::new(10)).await {
        Ok(pass) => {
            for _ in 0..pass.posted {
                crate::metrics::log_post(true);
            }
            for _ in 0..pass.failed {
                crate::metrics::log_post(false);
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot deliver log-channel posts"),
    }
}
