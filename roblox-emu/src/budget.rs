//! Per-server DataStore request budgets, throttle queues and per-key write cooldowns, as Roblox
//! applies them: a request over budget waits in a queue (with a warning) until budget accrues,
//! and a full queue rejects the request with codes 301–306.

use std::collections::{HashMap, VecDeque};

use opencloud::emulator::RequestType;

use crate::config::DataStoreLimits;

/// The request types that have separate budgets: the standard data store types of
/// `Enum.DataStoreRequestType` (Data stores › Server limits, 2026).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Budget {
    /// `StandardRead`: GetAsync, GetVersionAsync, and the read of UpdateAsync.
    Read,
    /// `StandardWrite`: SetAsync, IncrementAsync, and the write of UpdateAsync.
    Write,
    /// `StandardList`: ListKeysAsync, ListVersionsAsync.
    List,
    /// `StandardRemove`: RemoveAsync.
    Remove,
}

/// Every budget, in a fixed order.
const BUDGETS: [Budget; 4] = [Budget::Read, Budget::Write, Budget::List, Budget::Remove];

/// The operation a DataStore call performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// GetAsync.
    Get,
    /// SetAsync.
    Set,
    /// UpdateAsync (spends Read and Write budget).
    Update,
    /// RemoveAsync.
    Remove,
    /// IncrementAsync.
    Increment,
    /// GetVersionAsync.
    Version,
    /// ListVersionsAsync / ListKeysAsync.
    List,
}

impl Op {
    /// Parses the name the Luau glue uses.
    pub fn parse(name: &str) -> Option<Op> {
        Some(match name {
            "get" => Op::Get,
            "set" => Op::Set,
            "update" => Op::Update,
            "remove" => Op::Remove,
            "increment" => Op::Increment,
            "version" => Op::Version,
            "list" => Op::List,
            _ => return None,
        })
    }

    fn budgets(self) -> &'static [Budget] {
        match self {
            Op::Get | Op::Version => &[Budget::Read],
            Op::Set | Op::Increment => &[Budget::Write],
            Op::Update => &[Budget::Read, Budget::Write],
            Op::Remove => &[Budget::Remove],
            Op::List => &[Budget::List],
        }
    }

    /// The experience-wide request types the call spends (the same split as the server budgets).
    pub fn request_types(self) -> &'static [RequestType] {
        match self {
            Op::Get | Op::Version => &[RequestType::Read],
            Op::Set | Op::Increment => &[RequestType::Write],
            Op::Update => &[RequestType::Read, RequestType::Write],
            Op::Remove => &[RequestType::Remove],
            Op::List => &[RequestType::List],
        }
    }

    fn is_write(self) -> bool {
        matches!(self, Op::Set | Op::Update | Op::Remove | Op::Increment)
    }

    /// Roblox's queue-full code and method name.
    fn queue_full(self) -> (u16, &'static str) {
        match self {
            Op::Get => (301, "GetAsync"),
            Op::Set => (302, "SetAsync"),
            Op::Increment => (303, "IncrementAsync"),
            Op::Update => (304, "UpdateAsync"),
            Op::Remove => (306, "RemoveAsync"),
            Op::Version => (301, "GetVersionAsync"),
            Op::List => (301, "ListAsync"),
        }
    }
}

/// What the throttle decided for one request.
#[derive(Clone, Debug, PartialEq)]
pub struct Admission {
    /// Seconds the request waits in the throttle queue (0 when within budget and cooldown).
    pub wait_s: f64,
    /// The warning Roblox prints when a request is queued.
    pub warning: Option<String>,
}

/// Budget state of one server.
#[derive(Debug)]
pub struct Throttle {
    limits: DataStoreLimits,
    tokens: HashMap<Budget, f64>,
    last_refill_s: f64,
    queued_until: HashMap<Budget, VecDeque<f64>>,
    next_write: HashMap<String, f64>,
}

impl Throttle {
    /// A full budget for `players` players at time `now_s`.
    pub fn new(limits: DataStoreLimits, players: usize, now_s: f64) -> Self {
        let mut t = Self {
            limits,
            tokens: HashMap::new(),
            last_refill_s: now_s,
            queued_until: HashMap::new(),
            next_write: HashMap::new(),
        };
        for b in BUDGETS {
            let per_min = t.per_minute(b, players);
            t.tokens.insert(b, per_min);
        }
        t
    }

    fn per_minute(&self, b: Budget, players: usize) -> f64 {
        let p = players as f64;
        match b {
            Budget::List => self.limits.list_base + self.limits.list_per_player * p,
            _ => self.limits.budget_base + self.limits.budget_per_player * p,
        }
    }

    fn refill(&mut self, players: usize, now_s: f64) {
        let dt = (now_s - self.last_refill_s).max(0.0);
        self.last_refill_s = now_s;
        for b in BUDGETS {
            let rate = self.per_minute(b, players);
            let cap = rate * self.limits.budget_cap_minutes;
            let tok = self.tokens.entry(b).or_insert(0.0);
            *tok = (*tok + rate * dt / 60.0).min(cap);
        }
    }

    /// Current budget (whole requests) of a request type, as `GetRequestBudgetForRequestType`.
    pub fn budget(&mut self, b: Budget, players: usize, now_s: f64) -> f64 {
        self.refill(players, now_s);
        self.tokens.get(&b).copied().unwrap_or(0.0).max(0.0).floor()
    }

    /// Empties every budget (a throttling fault).
    pub fn drain(&mut self) {
        for v in self.tokens.values_mut() {
            *v = 0.0;
        }
    }

    /// Admits a request at `now_s`, queueing it behind budget and the key's write cooldown.
    pub fn admit(
        &mut self,
        op: Op,
        key_id: &str,
        players: usize,
        now_s: f64,
    ) -> Result<Admission, String> {
        self.refill(players, now_s);
        let mut wait: f64 = 0.0;
        for b in op.budgets() {
            let queue = self.queued_until.entry(*b).or_default();
            while queue.front().is_some_and(|t| *t <= now_s) {
                queue.pop_front();
            }
            let tok = self.tokens.get(b).copied().unwrap_or(0.0);
            if tok < 1.0 {
                if queue.len() >= self.limits.queue_limit {
                    let (code, name) = op.queue_full();
                    return Err(format!(
                        "{code}: {name} request dropped. Request was throttled, but throttled request queue was full. Key = {key_id}"
                    ));
                }
                let rate = self.per_minute(*b, players).max(0.1) / 60.0;
                wait = wait.max((1.0 - tok) / rate);
            }
        }
        if op.is_write() {
            if let Some(next) = self.next_write.get(key_id) {
                wait = wait.max(next - now_s);
            }
            self.next_write.insert(
                key_id.to_owned(),
                now_s + wait + self.limits.write_cooldown_s,
            );
        }
        for b in op.budgets() {
            *self.tokens.entry(*b).or_insert(0.0) -= 1.0;
            if wait > 0.0 {
                self.queued_until
                    .entry(*b)
                    .or_default()
                    .push_back(now_s + wait);
            }
        }
        let warning = (wait > 0.0).then(|| {
            format!(
                "DataStore request was added to queue. If request queue fills, further requests will be dropped. Try sending fewer requests.Key = {key_id}"
            )
        });
        Ok(Admission {
            wait_s: wait.max(0.0),
            warning,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_to_one_key_wait_for_the_cooldown() {
        let mut t = Throttle::new(DataStoreLimits::default(), 0, 0.0);
        assert_eq!(t.admit(Op::Set, "k", 0, 0.0).unwrap().wait_s, 0.0);
        let second = t.admit(Op::Set, "k", 0, 1.0).unwrap();
        assert!((second.wait_s - 5.0).abs() < 1e-9, "{second:?}");
        assert!(second.warning.unwrap().contains("Key = k"));
        assert_eq!(t.admit(Op::Set, "other", 0, 1.0).unwrap().wait_s, 0.0);
        assert_eq!(t.admit(Op::Get, "k", 0, 1.0).unwrap().wait_s, 0.0);
    }

    #[test]
    fn an_empty_budget_queues_then_rejects() {
        let limits = DataStoreLimits {
            queue_limit: 2,
            ..DataStoreLimits::default()
        };
        let mut t = Throttle::new(limits, 0, 0.0);
        t.drain();
        assert!(t.admit(Op::Get, "a", 0, 0.0).unwrap().wait_s > 0.0);
        assert!(t.admit(Op::Get, "b", 0, 0.0).unwrap().wait_s > 0.0);
        let err = t.admit(Op::Get, "c", 0, 0.0).unwrap_err();
        assert!(err.starts_with("301: GetAsync request dropped"), "{err}");
        // Budget refills over time: after a minute requests pass again.
        assert_eq!(t.admit(Op::Get, "d", 0, 120.0).unwrap().wait_s, 0.0);
    }

    #[test]
    fn budget_grows_with_players_and_is_capped() {
        // Server limits (2026): Read, Write and Remove 60 + 40 per player, List 5 + 2 per player.
        let mut t = Throttle::new(DataStoreLimits::default(), 10, 0.0);
        assert_eq!(t.budget(Budget::Read, 10, 0.0), 460.0);
        assert_eq!(t.budget(Budget::Write, 10, 0.0), 460.0);
        assert_eq!(t.budget(Budget::Remove, 10, 0.0), 460.0);
        assert_eq!(t.budget(Budget::List, 10, 0.0), 25.0);
        assert_eq!(t.budget(Budget::Read, 10, 3600.0), 1380.0);
    }

    #[test]
    fn each_operation_spends_its_documented_request_types() {
        let mut t = Throttle::new(DataStoreLimits::default(), 0, 0.0);
        let spend = |t: &mut Throttle, op: Op, key: &str| {
            let before = BUDGETS.map(|b| t.budget(b, 0, 0.0));
            t.admit(op, key, 0, 0.0).unwrap();
            let after = BUDGETS.map(|b| t.budget(b, 0, 0.0));
            BUDGETS
                .iter()
                .zip(before.iter().zip(after))
                .filter(|(_, (b, a))| *b != a)
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
        };
        assert_eq!(spend(&mut t, Op::Get, "a"), vec![Budget::Read]);
        assert_eq!(spend(&mut t, Op::Version, "b"), vec![Budget::Read]);
        assert_eq!(spend(&mut t, Op::Set, "c"), vec![Budget::Write]);
        assert_eq!(spend(&mut t, Op::Increment, "d"), vec![Budget::Write]);
        assert_eq!(
            spend(&mut t, Op::Update, "e"),
            vec![Budget::Read, Budget::Write]
        );
        assert_eq!(spend(&mut t, Op::Remove, "f"), vec![Budget::Remove]);
        assert_eq!(spend(&mut t, Op::List, "g"), vec![Budget::List]);
    }
}
