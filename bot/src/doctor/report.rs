//! One line per check: `ok`, `problem` (what is wrong and the fix) or `skipped` (why not checked).

use std::fmt;

/// How one check ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Works; the detail says what was seen.
    Ok(String),
    /// Broken: what is wrong, and what the operator should do about it.
    Problem {
        /// What is wrong, in plain words (never a secret).
        what: String,
        /// What to change.
        fix: String,
    },
    /// Not checked, and why (a setting is absent, or an earlier check already failed).
    Skipped(String),
}

/// One check's line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// What was checked, e.g. `audit API write key`.
    pub name: &'static str,
    /// How it ended.
    pub status: Status,
}

impl Check {
    /// A passed check.
    pub fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            status: Status::Ok(detail.into()),
        }
    }

    /// A failed check with its fix.
    pub fn problem(name: &'static str, what: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name,
            status: Status::Problem {
                what: what.into(),
                fix: fix.into(),
            },
        }
    }

    /// A check that did not run.
    pub fn skipped(name: &'static str, why: impl Into<String>) -> Self {
        Self {
            name,
            status: Status::Skipped(why.into()),
        }
    }

    /// True for a problem.
    pub fn is_problem(&self) -> bool {
        matches!(self.status, Status::Problem { .. })
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Line breaks in details would break "one line per check".
        let one_line = |s: &str| s.replace(['\n', '\r'], " ");
        match &self.status {
            Status::Ok(detail) => write!(f, "ok       {}: {}", self.name, one_line(detail)),
            Status::Problem { what, fix } => write!(
                f,
                "problem  {}: {} fix: {}",
                self.name,
                one_line(what),
                one_line(fix)
            ),
            Status::Skipped(why) => write!(f, "skipped  {}: {}", self.name, one_line(why)),
        }
    }
}

/// Every check of one run, in the order they ran.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The lines.
    pub checks: Vec<Check>,
}

impl Report {
    /// Adds checks.
    pub fn extend(&mut self, checks: impl IntoIterator<Item = Check>) {
        self.checks.extend(checks);
    }

    /// True when any check found a problem (the command then exits non-zero).
    pub fn has_problems(&self) -> bool {
        self.checks.iter().any(Check::is_problem)
    }

    /// The check of that name, if it ran.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            writeln!(f, "{check}")?;
        }
        let problems = self.checks.iter().filter(|c| c.is_problem()).count();
        if problems == 0 {
            write!(f, "all {} checks passed or were skipped", self.checks.len())
        } else {
            write!(f, "{problems} problem(s) found")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_status_is_one_line_and_problems_set_the_exit() {
        let mut report = Report::default();
        report.extend([
            Check::ok("a", "fine"),
            Check::skipped("b", "not configured"),
        ]);
        assert!(!report.has_problems());
        report.extend([Check::problem("c", "broken\nbadly", "repair it")]);
        assert!(report.has_problems());
        let text = report.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "ok       a: fine");
        assert_eq!(lines[1], "skipped  b: not configured");
        assert_eq!(lines[2], "problem  c: broken badly fix: repair it");
        assert_eq!(lines[3], "1 problem(s) found");
        assert_eq!(report.get("c").map(Check::is_problem), Some(true));
    }
}
