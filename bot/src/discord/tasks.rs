//! Background work of the Discord front end: the reconciler loop, payouts resumed after a
//! restart and the log-channel poster.

use super::render;
use crate::config::SecretString;
use crate::service::{BoxFut, LogPolicy, LogSink, PostFailure, Service, SettledTxn};
use serenity::all as s;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

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

/// Runs every payout a restart interrupted to its end (`Service::resume_batches`), until `stop`
/// turns true: cancelling is safe, the next start resumes again and no player is paid twice.
pub async fn resume_payouts(service: Arc<Service>, mut stop: watch::Receiver<bool>) {
    tokio::select! {
        r = service.resume_batches() => match r {
            Ok(done) if done.is_empty() => {}
            Ok(done) => {
                for report in done {
                    let c = report.counts();
                    tracing::info!(batch = %report.batch.batch, applied = c.applied, refused = c.refused, pending = c.pending, "resumed payout finished");
                }
            }
            Err(e) => tracing::warn!(error = %e, "resuming payouts failed; the next start tries again"),
        },
        _ = stop.changed() => {}
    }
}

/// How long one log-channel post may take (well under the claim's lease, so a slow post is not
/// retried by another replica while it still runs).
const POST_TIMEOUT: Duration = Duration::from_secs(30);

/// The Discord log channel as a [`LogSink`]: one embed per movement (carrying its txn id, so a
/// rare duplicate after a crash is recognisable), mentions off.
pub struct DiscordLogChannel {
    /// Discord's REST client.
    pub http: Arc<s::Http>,
    /// The channel.
    pub channel: s::ChannelId,
    /// The bot token, only to keep it out of any error text that is logged or stored.
    pub token: SecretString,
}

impl LogSink for DiscordLogChannel {
    fn post<'a>(&'a self, t: &'a SettledTxn) -> BoxFut<'a, Result<(), PostFailure>> {
        Box::pin(async move {
            let message = s::CreateMessage::new()
                .embed(render::log_embed(t))
                .allowed_mentions(s::CreateAllowedMentions::new());
            let sent =
                tokio::time::timeout(POST_TIMEOUT, self.channel.send_message(&self.http, message))
                    .await;
            let failure = match sent {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(e)) => post_failure(&e),
                Err(_) => PostFailure {
                    error: format!("no answer from Discord within {} s", POST_TIMEOUT.as_secs()),
                    channel_wide: true,
                },
            };
            Err(PostFailure {
                error: redact(&failure.error, self.token.expose()),
                ..failure
            })
        })
    }
}

/// A failed post in words, and whether the channel itself is the problem: only 400 / 413 (this
/// message's body refused) concern one post; 401, 403, 404, 429, 5xx and network errors would
/// fail every post.
pub fn post_failure(e: &serenity::Error) -> PostFailure {
    match e {
        serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(r)) => {
            let status = r.status_code.as_u16();
            PostFailure {
                error: format!("HTTP {status}, Discord code {}: {e}", r.error.code),
                channel_wide: !matches!(status, 400 | 413),
            }
        }
        serenity::Error::Http(h) => PostFailure {
            // The request error's source says what failed (connect, TLS, timeout).
            error: match std::error::Error::source(h) {
                Some(cause) => format!("{h}: {cause}"),
                None => h.to_string(),
            },
            channel_wide: true,
        },
        other => PostFailure {
            error: other.to_string(),
            channel_wide: true,
        },
    }
}

/// `text` with every occurrence of `secret` replaced by `<redacted>`.
pub fn redact(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        text.to_owned()
    } else {
        text.replace(secret, "<redacted>")
    }
}

/// The longest the log channel's last pass may take at shutdown.
pub const LAST_LOG_PASS: Duration = Duration::from_secs(10);

/// Posts settled movements to `sink` after every wake-up (a settlement) and every 10 s, until
/// `stop` turns true.
pub async fn log_poster(
    service: Arc<Service>,
    sink: Arc<dyn LogSink>,
    policy: LogPolicy,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        post_pending_logs(&service, sink.as_ref(), &policy).await;
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(10)) => {}
            _ = stop.changed() => {
                // One last, bounded pass so movements settled during shutdown are posted; a
                // post cut short is posted after the restart (its claim lapses).
                let last = post_pending_logs(&service, sink.as_ref(), &policy);
                if tokio::time::timeout(LAST_LOG_PASS, last).await.is_err() {
                    tracing::warn!("the last log-channel pass did not finish; the next start posts the rest");
                }
                return;
            }
        }
    }
}

async fn post_pending_logs(service: &Service, sink: &dyn LogSink, policy: &LogPolicy) {
    match service.deliver_logs(sink, policy).await {
        Ok(pass) => crate::metrics::log_pass(&pass),
        Err(e) => tracing::warn!(error = %e, "cannot deliver log-channel posts"),
    }
    if let Ok((backlog, dead)) = service.log_queue_sizes().await {
        crate::metrics::log_queue(backlog, dead);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_reaches_a_post_error() {
        let token = "MTA5ODc2.GhIjKl.abcdef";
        assert_eq!(
            redact(&format!("401 for {token} at {token}"), token),
            "401 for <redacted> at <redacted>"
        );
        assert_eq!(redact("no secret here", ""), "no secret here");
    }
}
