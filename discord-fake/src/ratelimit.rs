//! Per-route rate limits as Discord reports them: every answer carries `X-RateLimit-Limit`,
//! `-Remaining`, `-Reset`, `-Reset-After` and `-Bucket`; a spent bucket answers 429 with
//! `Retry-After`, `X-RateLimit-Scope` and a JSON `retry_after`. Windows run on the fake's clock.
//! Discord does not publish its limits, so each bucket has a generous default that a test can
//! lower (`DiscordFake::set_rate_limit`).

use std::collections::HashMap;
use std::time::Duration;

/// The kinds of buckets the fake keeps (one bucket per kind and top-level resource).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BucketKind {
    /// `POST /channels/{id}/messages`, per channel.
    ChannelMessages,
    /// Interaction webhooks (followups, edits, deletes), per interaction token.
    InteractionWebhook,
    /// `POST /interactions/{id}/{token}/callback`, per interaction.
    Callback,
    /// Command registration, per application and scope.
    Commands,
    /// List Guild Members, per guild (its major parameter).
    GuildMembers,
    /// Everything else (gateway, application).
    Other,
}

impl BucketKind {
    fn name(self) -> &'static str {
        match self {
            BucketKind::ChannelMessages => "channel-messages",
            BucketKind::InteractionWebhook => "interaction-webhook",
            BucketKind::Callback => "interaction-callback",
            BucketKind::Commands => "commands",
            BucketKind::GuildMembers => "guild-members",
            BucketKind::Other => "other",
        }
    }
}

/// A limit: `limit` requests per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Requests per window.
    pub limit: u32,
    /// The window.
    pub window: Duration,
}

impl Default for Limit {
    fn default() -> Self {
        // Far above anything a test does unless it lowers it: the fake's clock only moves when
        // a test advances it, so a window never resets by itself.
        Self {
            limit: 1000,
            window: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, Clone)]
struct Bucket {
    used: u32,
    reset_ms: i64,
}

/// The buckets.
#[derive(Debug, Default)]
pub struct Buckets {
    limits: HashMap<BucketKind, Limit>,
    buckets: HashMap<(BucketKind, String), Bucket>,
}

/// What a request got from its bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Response headers to add.
    pub headers: Vec<(&'static str, String)>,
    /// `Some(seconds)` when the request is refused with 429.
    pub retry_after: Option<f64>,
}

impl Buckets {
    /// Sets the limit of one kind of bucket.
    pub fn set(&mut self, kind: BucketKind, limit: Limit) {
        self.limits.insert(kind, limit);
        self.buckets.retain(|(k, _), _| *k != kind);
    }

    /// Takes one request from the bucket of `kind` for `resource` at `now_ms`.
    pub fn take(&mut self, kind: BucketKind, resource: &str, now_ms: i64) -> Verdict {
        let limit = self.limits.get(&kind).copied().unwrap_or_default();
        let window_ms = i64::try_from(limit.window.as_millis()).unwrap_or(i64::MAX);
        let bucket = self
            .buckets
            .entry((kind, resource.to_owned()))
            .or_insert(Bucket {
                used: 0,
                reset_ms: now_ms + window_ms,
            });
        if now_ms >= bucket.reset_ms {
            bucket.used = 0;
            bucket.reset_ms = now_ms + window_ms;
        }
        let spent = bucket.used >= limit.limit;
        if !spent {
            bucket.used += 1;
        }
        let reset_after = (bucket.reset_ms - now_ms) as f64 / 1000.0;
        let mut headers = vec![
            ("x-ratelimit-limit", limit.limit.to_string()),
            (
                "x-ratelimit-remaining",
                (limit.limit - bucket.used).to_string(),
            ),
            (
                "x-ratelimit-reset",
                format!("{:.3}", bucket.reset_ms as f64 / 1000.0),
            ),
            ("x-ratelimit-reset-after", format!("{reset_after:.3}")),
            ("x-ratelimit-bucket", kind.name().to_owned()),
        ];
        let retry_after = spent.then_some(reset_after);
        if spent {
            headers.push(("retry-after", (reset_after.ceil() as u64).to_string()));
            headers.push(("x-ratelimit-scope", "user".to_owned()));
        }
        Verdict {
            headers,
            retry_after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spent_bucket_refuses_until_its_window_resets() {
        let mut b = Buckets::default();
        b.set(
            BucketKind::ChannelMessages,
            Limit {
                limit: 2,
                window: Duration::from_secs(5),
            },
        );
        assert!(
            b.take(BucketKind::ChannelMessages, "1", 0)
                .retry_after
                .is_none()
        );
        let second = b.take(BucketKind::ChannelMessages, "1", 1000);
        assert!(second.retry_after.is_none());
        assert!(
            second
                .headers
                .contains(&("x-ratelimit-remaining", "0".into()))
        );
        // Another channel has its own bucket.
        assert!(
            b.take(BucketKind::ChannelMessages, "2", 1000)
                .retry_after
                .is_none()
        );
        let refused = b.take(BucketKind::ChannelMessages, "1", 2000);
        assert_eq!(refused.retry_after, Some(3.0));
        assert!(refused.headers.contains(&("retry-after", "3".into())));
        assert!(
            b.take(BucketKind::ChannelMessages, "1", 5000)
                .retry_after
                .is_none()
        );
    }
}
