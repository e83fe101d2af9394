//! Seeded fault injection for the HTTP API: errors and throttling on chosen operations, writes
//! applied whose response is lost, and latency distributions. Same seed + same request sequence =
//! same faults.

use std::collections::HashMap;

use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Every HTTP operation the emulator serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// v1 list data stores.
    ListDataStores,
    /// v1 get entry.
    GetEntry,
    /// v1 set entry.
    SetEntry,
    /// v1 increment entry.
    IncrementEntry,
    /// v1 delete entry.
    DeleteEntry,
    /// v1 list keys.
    ListKeys,
    /// v1 list versions.
    ListVersions,
    /// v1 get version.
    GetVersion,
    /// v2 get entry.
    V2GetEntry,
    /// v2 list entries.
    V2ListEntries,
    /// v2 create entry.
    V2CreateEntry,
    /// v2 update (PATCH) entry.
    V2UpdateEntry,
    /// v2 delete entry.
    V2DeleteEntry,
    /// v2 `:increment`.
    V2IncrementEntry,
    /// v2 `:listRevisions`.
    V2ListRevisions,
    /// Messaging v1 publish.
    PublishV1,
    /// Messaging v2 `:publishMessage`.
    PublishV2,
    /// v2 get user.
    GetUser,
    /// Legacy username → id.
    UsernameLookup,
    /// Luau Execution: create a task.
    CreateLuauTask,
    /// Luau Execution: get a task.
    GetLuauTask,
    /// Luau Execution: list a task's logs.
    ListLuauTaskLogs,
}

/// What an injected fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer with this status (5xx) without doing anything.
    Status(u16),
    /// Answer 429 without doing anything; `retry-after` when given, always `x-ratelimit-reset`.
    RateLimited {
        /// `retry-after` seconds, if sent.
        retry_after_s: Option<u64>,
        /// `x-ratelimit-reset` seconds.
        reset_s: u64,
    },
    /// Do the operation, then wait `hang_ms` and answer `status` instead of the real response
    /// (the client cannot know it was applied).
    ResponseLost {
        /// How long to stall before answering (let the client time out first).
        hang_ms: u64,
        /// The status finally sent (e.g. 504).
        status: u16,
    },
}

/// One fault rule.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    /// Operations it applies to; empty = all.
    pub ops: Vec<Operation>,
    /// What it does.
    pub kind: FaultKind,
    /// Chance per matching request once armed.
    pub probability: f64,
    /// Matching requests let through before the rule arms.
    pub skip: u32,
    /// How many times it may fire; `None` = unlimited.
    pub times: Option<u32>,
}

impl FaultRule {
    /// Fires on the next `times` requests to `op`.
    pub fn next(op: Operation, kind: FaultKind, times: u32) -> Self {
        Self {
            ops: vec![op],
            kind,
            probability: 1.0,
            skip: 0,
            times: Some(times),
        }
    }

    /// Fires with `probability` on every request to `ops` (empty = all).
    pub fn random(ops: Vec<Operation>, kind: FaultKind, probability: f64) -> Self {
        Self {
            ops,
            kind,
            probability,
            skip: 0,
            times: None,
        }
    }
}

/// Added response latency.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Latency {
    /// None.
    None,
    /// Always this many ms.
    Fixed(u64),
    /// Uniform in `[min, max]` ms.
    Uniform {
        /// Lower bound.
        min: u64,
        /// Upper bound.
        max: u64,
    },
    /// Exponential with this mean, capped (a long-tailed network).
    Exponential {
        /// Mean ms.
        mean: u64,
        /// Cap ms.
        max: u64,
    },
}

/// A complete fault configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultPlan {
    /// RNG seed.
    pub seed: u64,
    /// Rules, first firing rule wins.
    pub rules: Vec<FaultRule>,
    /// Latency added to every request.
    pub latency: Latency,
}

impl Default for FaultPlan {
    fn default() -> Self {
        Self {
            seed: 0,
            rules: Vec::new(),
            latency: Latency::None,
        }
    }
}

/// The decision for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Latency to add before answering, ms.
    pub delay_ms: u64,
    /// The fault to inject, if any.
    pub fault: Option<FaultKind>,
}

struct FaultState {
    plan: FaultPlan,
    rng: ChaCha8Rng,
    seen: Vec<u32>,
    fired: Vec<u32>,
    requests: HashMap<Operation, u64>,
    injected: HashMap<Operation, u64>,
}

/// Live fault injector plus a per-operation request log.
pub struct Faults {
    state: Mutex<FaultState>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults").finish_non_exhaustive()
    }
}

impl Faults {
    /// An injector running `plan`.
    pub fn new(plan: FaultPlan) -> Self {
        Self {
            state: Mutex::new(Self::fresh(plan, HashMap::new(), HashMap::new())),
        }
    }

    fn fresh(
        plan: FaultPlan,
        requests: HashMap<Operation, u64>,
        injected: HashMap<Operation, u64>,
    ) -> FaultState {
        FaultState {
            rng: ChaCha8Rng::seed_from_u64(plan.seed),
            seen: vec![0; plan.rules.len()],
            fired: vec![0; plan.rules.len()],
            plan,
            requests,
            injected,
        }
    }

    /// Replaces the plan (counters of requests are kept).
    pub fn set_plan(&self, plan: FaultPlan) {
        let mut state = self.state.lock();
        let requests = std::mem::take(&mut state.requests);
        let injected = std::mem::take(&mut state.injected);
        *state = Self::fresh(plan, requests, injected);
    }

    /// Requests received for `op` so far (including faulted ones).
    pub fn requests(&self, op: Operation) -> u64 {
        self.state.lock().requests.get(&op).copied().unwrap_or(0)
    }

    /// Faults injected on `op` so far.
    pub fn injected(&self, op: Operation) -> u64 {
        self.state.lock().injected.get(&op).copied().unwrap_or(0)
    }

    /// Logs a request and decides its latency and fault.
    pub fn decide(&self, op: Operation) -> Decision {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        *state.requests.entry(op).or_default() += 1;
        let delay_ms = match state.plan.latency {
            Latency::None => 0,
            Latency::Fixed(ms) => ms,
            Latency::Uniform { min, max } if max > min => state.rng.random_range(min..=max),
            Latency::Uniform { min, .. } => min,
            Latency::Exponential { mean, max } => {
                let u: f64 = state.rng.random_range(f64::EPSILON..1.0);
                ((-u.ln()) * mean as f64).min(max as f64) as u64
            }
        };
        let mut fault = None;
        for (i, rule) in state.plan.rules.iter().enumerate() {
            if !rule.ops.is_empty() && !rule.ops.contains(&op) {
                continue;
            }
            state.seen[i] += 1;
            if state.seen[i] <= rule.skip || rule.times.is_some_and(|t| state.fired[i] >= t) {
                continue;
            }
            if state.rng.random_bool(rule.probability.clamp(0.0, 1.0)) {
                state.fired[i] += 1;
                fault = Some(rule.kind);
                break;
            }
        }
        if fault.is_some() {
            *state.injected.entry(op).or_default() += 1;
        }
        Decision { delay_ms, fault }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_rules_fire_exactly_n_times_after_skip() {
        let faults = Faults::new(FaultPlan {
            rules: vec![FaultRule {
                skip: 1,
                ..FaultRule::next(Operation::SetEntry, FaultKind::Status(503), 2)
            }],
            ..FaultPlan::default()
        });
        let got: Vec<Option<FaultKind>> = (0..5)
            .map(|_| faults.decide(Operation::SetEntry).fault)
            .collect();
        assert_eq!(
            got,
            vec![
                None,
                Some(FaultKind::Status(503)),
                Some(FaultKind::Status(503)),
                None,
                None
            ]
        );
        assert_eq!(faults.decide(Operation::GetEntry).fault, None);
        assert_eq!(faults.requests(Operation::SetEntry), 5);
        assert_eq!(faults.injected(Operation::SetEntry), 2);
    }

    #[test]
    fn random_rules_are_seeded() {
        let run = |seed| {
            let faults = Faults::new(FaultPlan {
                seed,
                rules: vec![FaultRule::random(vec![], FaultKind::Status(500), 0.3)],
                latency: Latency::Uniform { min: 10, max: 100 },
            });
            (0..200)
                .map(|_| faults.decide(Operation::GetEntry))
                .collect::<Vec<_>>()
        };
        let a = run(1);
        assert_eq!(a, run(1));
        assert_ne!(a, run(2));
        let fired = a.iter().filter(|d| d.fault.is_some()).count();
        assert!((30..90).contains(&fired), "{fired}");
        assert!(a.iter().all(|d| (10..=100).contains(&d.delay_ms)));
    }
}
