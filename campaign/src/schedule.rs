//! A run's plan, drawn from its seed before it starts: players joining, hopping (the new session
//! may start before the old one ends), leaving; servers cut off (zombies), throttled, crashing or
//! shutting down; Discord commands, half of them aimed at a player who is just moving; the audit
//! API killed and restarted; the bot killed and restarted; the bot's clock skew.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use roblox_emu::Action;
use shared::Op;

/// Players in a run (user ids 1..=USERS).
pub const USERS: u64 = 4;
/// Servers at start.
pub const SERVERS: usize = 3;
/// Seconds of activity before the settle phase.
pub const ACTIVE_S: f64 = 120.0;
/// Discord commands per run.
pub const COMMANDS: usize = 8;
/// Largest clock difference between the bot and the servers, ms (within the protocol's
/// tolerance of a command's `issuedAt` and covered by the bot's grace).
pub const MAX_SKEW_MS: i64 = 15_000;

/// A Discord command the bot's service is asked to run.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedCommand {
    /// Virtual seconds since start.
    pub at_s: f64,
    /// Target player.
    pub user_id: u64,
    /// Give or deduct.
    pub op: Op,
    /// Amount.
    pub amount: i64,
}

/// Something that happens to the bot or the audit API.
#[derive(Clone, Debug, PartialEq)]
pub enum BotEvent {
    /// Run a command.
    Command(PlannedCommand),
    /// The bot process dies (its tasks are dropped wherever they are, its database stays).
    KillBot,
    /// The bot starts again on the same database (and runs its start-up reconciler).
    StartBot,
    /// SIGKILL to the audit API.
    KillApi,
    /// The audit API starts again.
    StartApi,
}

/// The whole plan.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Engine actions (virtual seconds, action).
    pub actions: Vec<(f64, Action)>,
    /// Bot-side events (virtual seconds, event), in time order.
    pub events: Vec<(f64, BotEvent)>,
    /// The bot's clock skew, ms.
    pub skew_ms: i64,
}

/// Draws the plan of `seed`.
pub fn plan(seed: u64) -> Plan {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xca3b_a1e0);
    let mut p = Plan {
        skew_ms: rng.random_range(-MAX_SKEW_MS..=MAX_SKEW_MS),
        ..Plan::default()
    };
    // Player moves (as the bridge's own seeded runs draw them), remembered for aimed commands.
    let mut at: Vec<Option<usize>> = vec![None; USERS as usize + 1];
    let mut alive = vec![true; SERVERS];
    let mut moves: Vec<(f64, u64)> = Vec::new();
    for uid in 1..=USERS {
        // One player in four starts offline: the bot's offline path from the first command.
        if rng.random_bool(0.25) {
            continue;
        }
        let s = rng.random_range(0..SERVERS);
        let t = rng.random_range(1.0..5.0);
        p.actions.push((
            t,
            Action::Join {
                server: s,
                user_id: uid,
            },
        ));
        moves.push((t, uid));
        at[uid as usize] = Some(s);
    }
    let mut t = 8.0;
    while t < ACTIVE_S - 20.0 {
        t += rng.random_range(4.0..12.0);
        let live: Vec<usize> = (0..alive.len()).filter(|i| alive[*i]).collect();
        let uid = rng.random_range(1..=USERS);
        let roll: f64 = rng.random();
        if roll < 0.4 {
            // Hop (or join when offline); in three of ten the new server is joined first.
            let to = live[rng.random_range(0..live.len())];
            if let Some(from) = at[uid as usize] {
                p.actions.push((
                    t,
                    Action::Leave {
                        server: from,
                        user_id: uid,
                    },
                ));
            }
            let join_t = if rng.random_bool(0.3) {
                t - 1.0
            } else {
                t + rng.random_range(0.0..3.0)
            };
            p.actions.push((
                join_t,
                Action::Join {
                    server: to,
                    user_id: uid,
                },
            ));
            moves.push((join_t, uid));
            at[uid as usize] = Some(to);
        } else if roll < 0.58 {
            if let Some(from) = at[uid as usize].take() {
                p.actions.push((
                    t,
                    Action::Leave {
                        server: from,
                        user_id: uid,
                    },
                ));
                moves.push((t, uid));
            }
        } else if roll < 0.7 {
            let s = live[rng.random_range(0..live.len())];
            p.actions.push((
                t,
                Action::CutOff {
                    server: s,
                    seconds: rng.random_range(45.0..90.0),
                    messaging: rng.random_bool(0.5),
                },
            ));
        } else if roll < 0.78 {
            let s = live[rng.random_range(0..live.len())];
            p.actions.push((t, Action::DrainBudget(s)));
        } else if live.len() > 1 {
            let s = live[rng.random_range(0..live.len())];
            p.actions.push((
                t,
                if rng.random_bool(0.5) {
                    Action::Shutdown(s)
                } else {
                    Action::Crash(s)
                },
            ));
            alive[s] = false;
            for slot in at.iter_mut() {
                if *slot == Some(s) {
                    *slot = None;
                }
            }
            p.actions.push((t + 1.0, Action::StartServer));
            alive.push(true);
        }
    }
    // Commands: half aimed at a moment a player moves (the bot's compare-and-swap racing a
    // session start, a publish racing a hop), half at random.
    for _ in 0..COMMANDS {
        let aimed = !moves.is_empty() && rng.random_bool(0.5);
        let (at_s, user_id) = if aimed {
            let (mt, uid) = moves[rng.random_range(0..moves.len())];
            ((mt + rng.random_range(-1.5..0.5)).max(2.0), uid)
        } else {
            (
                rng.random_range(3.0..ACTIVE_S - 30.0),
                rng.random_range(1..=USERS),
            )
        };
        let op = if rng.random_bool(0.7) {
            Op::Give
        } else {
            Op::Deduct
        };
        p.events.push((
            at_s,
            BotEvent::Command(PlannedCommand {
                at_s,
                user_id,
                op,
                amount: rng.random_range(1..200),
            }),
        ));
    }
    // The audit API is killed in half of the runs, for 5-40 s.
    if rng.random_bool(0.5) {
        let from = rng.random_range(10.0..80.0);
        p.events.push((from, BotEvent::KillApi));
        p.events
            .push((from + rng.random_range(5.0..40.0), BotEvent::StartApi));
    }
    // The bot is killed in four runs of ten (sometimes twice), down for up to 8 s.
    let kills = if rng.random_bool(0.4) {
        1 + usize::from(rng.random_bool(0.3))
    } else {
        0
    };
    for _ in 0..kills {
        let from = rng.random_range(5.0..ACTIVE_S - 15.0);
        p.events.push((from, BotEvent::KillBot));
        p.events
            .push((from + rng.random_range(0.0..8.0), BotEvent::StartBot));
    }
    // Stable order: by time, then as drawn.
    p.events
        .sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_is_a_function_of_its_seed() {
        let a = plan(7);
        let b = plan(7);
        assert_eq!(a.actions, b.actions);
        assert_eq!(a.events, b.events);
        assert_eq!(a.skew_ms, b.skew_ms);
        assert_ne!(plan(8).events, a.events);
    }

    #[test]
    fn every_plan_has_its_commands_and_a_bounded_skew() {
        for seed in 0..200 {
            let p = plan(seed);
            let commands = p
                .events
                .iter()
                .filter(|(_, e)| matches!(e, BotEvent::Command(_)))
                .count();
            assert_eq!(commands, COMMANDS);
            assert!(p.skew_ms.abs() <= MAX_SKEW_MS);
            assert!(p.events.windows(2).all(|w| w[0].0 <= w[1].0));
        }
    }
}
