//! Two-tier rate limits: a loose per-IP budget before authentication (Roblox servers share
//! egress IPs) and a per-key budget after it. GCRA via `governor`; state is per process.

use crate::config::RateLimit;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::IpAddr;
use std::num::NonZeroU32;

/// Both limiters.
pub struct Limiters {
    ip: DefaultKeyedRateLimiter<IpAddr>,
    key: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limiters")
    }
}

fn quota(r: RateLimit) -> Quota {
    let per_sec = NonZeroU32::new(r.per_sec).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(r.burst).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(per_sec).allow_burst(burst)
}

impl Limiters {
    /// Limiters with the configured budgets.
    pub fn new(ip: RateLimit, key: RateLimit) -> Self {
        Self {
            ip: DefaultKeyedRateLimiter::keyed(quota(ip)),
            key: DefaultKeyedRateLimiter::keyed(quota(key)),
            clock: DefaultClock::default(),
        }
    }

    /// Takes one request from the IP's budget; `Err(seconds)` to wait when spent.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), u64> {
        self.ip
            .check_key(&ip)
            .map_err(|n| n.wait_time_from(self.clock.now()).as_secs() + 1)
    }

    /// Takes one request from the key's budget; `Err(seconds)` to wait when spent.
    pub fn check_key(&self, key_id: &str) -> Result<(), u64> {
        self.key
            .check_key(&key_id.to_owned())
            .map_err(|n| n.wait_time_from(self.clock.now()).as_secs() + 1)
    }

    /// Drops state of clients that are back to a full budget (keeps memory bounded).
    pub fn housekeep(&self) {
        self.ip.retain_recent();
        self.key.retain_recent();
        self.ip.shrink_to_fit();
        self.key.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refusal_with_a_wait() {
        let l = Limiters::new(
            RateLimit {
                per_sec: 1,
                burst: 2,
            },
            RateLimit {
                per_sec: 1,
                burst: 1,
            },
        );
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(l.check_ip(ip).is_ok());
        assert!(l.check_ip(ip).is_ok());
        assert_eq!(l.check_ip(ip), Err(1));
        assert!(l.check_ip("10.0.0.2".parse().unwrap()).is_ok());
        assert!(l.check_key("a").is_ok());
        assert!(l.check_key("a").is_err());
        assert!(l.check_key("b").is_ok());
    }
}
