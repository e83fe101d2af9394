//! Background work of the Discord front end: commands in flight (drained on shutdown), the
//! reconciler loop and the log-channel poster.

use super::render;
use crate::service::Service;
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

/// Posts one embed per settled movement to `channel`, each claimed in the database first so
/// several bot replicas never post the same txn twice; a failed post is released and retried.
pub async fn log_poster(
    service: Arc<Service>,
    http: Arc<s::Http>,
    channel: s::ChannelId,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        post_pending_logs(&service, &http, channel).await;
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(10)) => {}
            _ = stop.changed() => {
                // One last pass so movements settled during shutdown are posted.
                post_pending_logs(&service, &http, channel).await;
                return;
            }
        }
    }
}

async fn post_pending_logs(service: &Service, http: &s::Http, channel: s::ChannelId) {
    let settled = match service.unlogged(20).await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read movements to log");
            return;
        }
    };
    for t in settled {
        match service.claim_logged(&t.txn).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim a log post");
                return;
            }
        }
        let message = s::CreateMessage::new()
            .embed(render::log_embed(&t))
            .allowed_mentions(s::CreateAllowedMentions::new());
        match channel.send_message(http, message).await {
            Ok(_) => crate::metrics::log_post(true),
            Err(e) => {
                crate::metrics::log_post(false);
                tracing::warn!(error = %e, txn = %t.txn, "log channel post failed; retrying later");
                if let Err(e) = service.release_logged(&t.txn).await {
                    tracing::warn!(error = %e, "cannot release a log claim");
                }
                // The channel is unreachable or rate limited: wait for the next pass.
                return;
            }
        }
    }
}
