//! Who may move how much: the role allowlist with per-role maxima, the per-actor daily cap and
//! cooldown (the last two are enforced in the database, see `db::Db::reserve`).

use super::outcome::{ActorCtx, Refusal};
use std::collections::BTreeMap;
use std::time::Duration;

/// Operator policy for staff commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Allowed Discord role ids and the largest amount each may move in one command.
    pub role_max: BTreeMap<String, i64>,
    /// Largest total (pending + applied) one actor may move in 24 hours.
    pub daily_cap: i64,
    /// Least time between two commands of one actor.
    pub cooldown: Duration,
    /// Amounts above this need an explicit confirmation (Discord button / CLI `--yes`).
    pub confirm_above: i64,
}

impl Policy {
    /// The largest amount `actor` may move, or `NotAllowed` when no role is on the allowlist.
    pub fn max_for(&self, actor: &ActorCtx) -> Result<i64, Refusal> {
        actor
            .roles
            .iter()
            .filter_map(|r| self.role_max.get(r))
            .copied()
            .max()
            .ok_or(Refusal::NotAllowed)
    }

    /// Checks that `actor` may move `amount`.
    pub fn authorize(&self, actor: &ActorCtx, amount: i64) -> Result<(), Refusal> {
        let max = self.max_for(actor)?;
        if amount > max {
            return Err(Refusal::OverRoleMax { max });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_allowed_role_sets_the_maximum() {
        let policy = Policy {
            role_max: [("mod".to_string(), 100), ("admin".to_string(), 10_000)].into(),
            daily_cap: 1_000_000,
            cooldown: Duration::from_secs(1),
            confirm_above: 5_000,
        };
        let actor = |roles: &[&str]| ActorCtx {
            id: "1".into(),
            name: "A".into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        };
        assert_eq!(
            policy.authorize(&actor(&["guest"]), 1),
            Err(Refusal::NotAllowed)
        );
        assert_eq!(
            policy.authorize(&actor(&["mod"]), 101),
            Err(Refusal::OverRoleMax { max: 100 })
        );
        assert_eq!(policy.authorize(&actor(&["mod", "admin"]), 9_999), Ok(()));
    }
}
