//! Sending one logical call: budget, timeout, classification of the answer, retries with `backon`.
//!
//! Retry rules: 429 is always retried (Roblox refused before doing anything), honouring
//! `retry-after`, else `x-ratelimit-reset`, else exponential backoff with jitter. 5xx, timeouts and
//! connection loss are retried only for calls that are safe to repeat; for the others the outcome
//! is unknown (the write may have been applied) and [`Error::OutcomeUnknown`] is returned at once.
//! A connection that could not even be opened is retried for every call (nothing was sent).

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use bytes::Bytes;
use http::HeaderMap;

use super::OpenCloud;
use super::error::{ApiError, Error};
use super::limiter::OpClass;

/// Whether repeating a call can change the outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Reads, deletes, conditional writes, publishes: repeating is harmless.
    Safe,
    /// Increments and unconditional sets: a repeat could apply twice.
    Unsafe,
}

/// A successful (or caller-interpreted) answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as text (lossy: Roblox sends UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The answer as an [`ApiError`].
    pub fn api_error(&self) -> ApiError {
        ApiError::from_body(self.status, &self.text())
    }
}

/// One logical call.
pub(crate) struct Call<B> {
    /// Metric label, e.g. `set_entry`.
    pub op: &'static str,
    /// Universe whose budget it spends (0 for user look-ups).
    pub universe_id: u64,
    /// Budget class.
    pub class: OpClass,
    /// Retry safety.
    pub idempotency: Idempotency,
    /// Builds the request (called once per attempt).
    pub build: B,
}

struct Failure {
    error: Error,
    retryable: bool,
    hint: Option<Duration>,
}

fn seconds_header(headers: &HeaderMap, name: &str) -> Option<Duration> {
    let text = headers.get(name)?.to_str().ok()?.trim();
    // x-ratelimit-reset may list several windows ("30, 30;w=60"): take the first number.
    let first = text.split([',', ';']).next()?.trim();
    first
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// How long a 429 asks us to wait.
pub(crate) fn throttle_hint(headers: &HeaderMap) -> Option<Duration> {
    seconds_header(headers, "retry-after").or_else(|| seconds_header(headers, "x-ratelimit-reset"))
}

impl OpenCloud {
    /// Sends `call`, retrying as the module docs describe. Non-2xx answers other than 429/5xx
    /// are returned as a [`Reply`] for the caller to interpret.
    pub(crate) async fn execute<B>(&self, call: Call<B>) -> Result<Reply, Error>
    where
        B: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let policy = &self.inner.config.retry;
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_max_times(policy.max_attempts.saturating_sub(1));
        if policy.jitter {
            backoff = backoff.with_jitter();
        }
        let max_hint = policy.max_hinted_delay;
        let op = call.op;
        let attempt = || self.attempt(&call);
        let result = attempt
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|f: &Failure| f.retryable)
            .adjust(|f: &Failure, planned: Option<Duration>| {
                let planned = planned?;
                match f.hint {
                    Some(hint) if hint > max_hint => None,
                    Some(hint) => Some(hint),
                    None => Some(planned),
                }
            })
            .notify(|f: &Failure, wait: Duration| {
                metrics::counter!("opencloud_retries_total", "op" => op).increment(1);
                tracing::warn!(op, wait_ms = wait.as_millis() as u64, error = %f.error, "retrying Open Cloud call");
            })
            .await;
        let outcome = match &result {
            Ok(reply) => reply.status.to_string(),
            Err(f) => f
                .error
                .status()
                .map_or_else(|| "error".to_owned(), |s| s.to_string()),
        };
        metrics::counter!("opencloud_calls_total", "op" => op, "outcome" => outcome).increment(1);
        result.map_err(|f| f.error)
    }

    async fn attempt<B>(&self, call: &Call<B>) -> Result<Reply, Failure>
    where
        B: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        self.inner
            .limiter
            .acquire(call.universe_id, call.class)
            .await;
        let unsafe_call = call.idempotency == Idempotency::Unsafe;
        let lost = |cause: String| Failure {
            error: if unsafe_call {
                Error::OutcomeUnknown {
                    operation: call.op,
                    cause: cause.clone(),
                }
            } else {
                Error::Transport(cause)
            },
            retryable: !unsafe_call,
            hint: None,
        };
        let started = tokio::time::Instant::now();
        let mut request = (call.build)(&self.inner.http);
        if let Some(timeout) = self.inner.config.timeout {
            request = request.timeout(timeout);
        }
        let response = request.send().await;
        let response = match response {
            Ok(r) => r,
            Err(e) if e.is_connect() && !e.is_timeout() => {
                // Nothing reached the server: always safe to try again.
                return Err(Failure {
                    error: Error::Transport(e.without_url().to_string()),
                    retryable: true,
                    hint: None,
                });
            }
            Err(e) => return Err(lost(e.without_url().to_string())),
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| lost(e.without_url().to_string()))?;
        metrics::histogram!("opencloud_request_seconds", "op" => call.op)
            .record(started.elapsed().as_secs_f64());
        let reply = Reply {
            status,
            headers,
            body,
        };
        match status {
            429 => {
                let hint = throttle_hint(&reply.headers);
                Err(Failure {
                    error: Error::Throttled(reply.api_error(), hint),
                    retryable: true,
                    hint,
                })
            }
            500..=599 if unsafe_call => Err(Failure {
                error: Error::OutcomeUnknown {
                    operation: call.op,
                    cause: reply.api_error().to_string(),
                },
                retryable: false,
                hint: None,
            }),
            500..=599 => Err(Failure {
                error: Error::Api(reply.api_error()),
                retryable: true,
                hint: None,
            }),
            _ => Ok(reply),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_prefer_retry_after() {
        let mut h = HeaderMap::new();
        assert_eq!(throttle_hint(&h), None);
        h.insert("x-ratelimit-reset", "30, 30;w=60".parse().unwrap());
        assert_eq!(throttle_hint(&h), Some(Duration::from_secs(30)));
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(throttle_hint(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(throttle_hint(&h), Some(Duration::from_secs(30)));
    }
}
