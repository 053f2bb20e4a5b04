//! The gate's policy file: which cells must be faithful, which must stay
//! attenuated, and how a run is held against the baseline.
//!
//! ```toml
//! description = "what this policy is for"
//!
//! [[accuracy]]                   # these cells must be `faithful`
//! name = "thread-timer below HZ"
//! cells = { modes = ["thread-timer"], workloads = ["parallel"], hz_max = 200 }
//! inconclusive = "fail"          # or "pass": say which, and why, in a comment
//!
//! [[control]]                    # these cells must be `attenuated`
//! name = "setitimer collapses at 1000 Hz"
//! cells = { modes = ["setitimer"], workloads = ["parallel"], threads = [2], hz = [1000] }
//!
//! [baseline]                     # no covered cell may drop significantly
//! name = "no regression against the baseline"
//! alpha = 0.001                  # family-wise, split over the covered cells
//! exclude = [ { modes = ["setitimer"], workloads = ["short-lived"] } ]
//! ```
//!
//! Every table denies unknown keys, so a misspelt key is an error naming its
//! line rather than a rule that silently checks nothing.

use std::collections::BTreeSet;

use harness::mode::Mode;
use serde::{Deserialize, Serialize};
use workloads::WorkloadKind;

use crate::cell::CellKey;
use crate::gate::GateError;

/// Which cells a rule is about. Every list that is given must contain the
/// cell's value; a list left out (or empty) matches anything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    /// Modes, options included, matched exactly (`thread-timer` does not
    /// match `thread-timer+overrun`).
    #[serde(default)]
    pub modes: Vec<Mode>,
    /// Workloads.
    #[serde(default)]
    pub workloads: Vec<WorkloadKind>,
    /// Thread counts.
    #[serde(default)]
    pub threads: Vec<usize>,
    /// Rates, Hz.
    #[serde(default)]
    pub hz: Vec<u32>,
    /// Lowest rate, Hz (inclusive).
    #[serde(default)]
    pub hz_min: Option<u32>,
    /// Highest rate, Hz (inclusive).
    #[serde(default)]
    pub hz_max: Option<u32>,
    /// `short-lived` lifetimes, ms; a cell without a lifetime never matches
    /// a selector that lists some.
    #[serde(default)]
    pub lifetime_ms: Vec<f64>,
}

impl Selector {
    /// Whether the cell is one of those selected.
    pub fn matches(&self, key: &CellKey) -> bool {
        fn listed<T: PartialEq>(list: &[T], v: T) -> bool {
            list.is_empty() || list.contains(&v)
        }
        listed(&self.modes, key.mode)
            && listed(&self.workloads, key.workload)
            && listed(&self.threads, key.threads)
            && listed(&self.hz, key.hz)
            && self.hz_min.is_none_or(|min| key.hz >= min)
            && self.hz_max.is_none_or(|max| key.hz <= max)
            && (self.lifetime_ms.is_empty()
                || key.params.lifetime_ms.is_some_and(|l| {
                    self.lifetime_ms
                        .iter()
                        .any(|&want| (want - l).abs() <= 1e-9 * want.abs().max(1.0))
                }))
    }

    fn check(&self, rule: &str) -> Result<(), GateError> {
        if let (Some(min), Some(max)) = (self.hz_min, self.hz_max) {
            if min > max {
                return Err(GateError::Rule {
                    rule: rule.to_string(),
                    message: format!("hz_min ({min}) is above hz_max ({max}): no cell can match"),
                });
            }
        }
        Ok(())
    }
}

/// What an accuracy rule does with a cell whose data cannot decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Inconclusive {
    /// An undecided cell passes (and is listed as a note): the matrix is
    /// known to be too small for it; another rule or cell carries the check.
    Pass,
    /// An undecided cell fails: the matrix is sized to decide it.
    Fail,
}

/// Cells that must be `faithful`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccuracyRule {
    /// Shown in the output; unique within the policy.
    pub name: String,
    /// The cells it covers.
    pub cells: Selector,
    /// What an `inconclusive` cell does. Required: each rule must say.
    pub inconclusive: Inconclusive,
    /// Fewest cells the run must have measured for the rule (default 1): a
    /// rule that checks nothing protects nothing.
    #[serde(default = "one")]
    pub min_cells: usize,
}

/// Cells that must be `attenuated`: the suite's positive controls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlRule {
    /// Shown in the output; unique within the policy.
    pub name: String,
    /// The cells it covers.
    pub cells: Selector,
    /// Fewest cells the run must have measured for the rule (default 1).
    #[serde(default = "one")]
    pub min_cells: usize,
}

/// How a run is held against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineRule {
    /// Shown in the output.
    pub name: String,
    /// Family-wise significance: the chance that an unchanged tree fails
    /// this rule if the test's model holds; split evenly over the cells
    /// tested (Bonferroni).
    pub alpha: f64,
    /// The cells it covers (default: every cell of the baseline).
    #[serde(default)]
    pub cells: Selector,
    /// Cells it does not test for a drop; they must still be present.
    #[serde(default)]
    pub exclude: Vec<Selector>,
    /// Between-run standard deviation of a cell's mean ratio, ratio units:
    /// what moves every trial of a run alike (the machine's load while it
    /// ran), which the run's own trials cannot show. Measured on repeated
    /// runs of an unchanged tree (`examples/gate_noise.rs`); the default
    /// for every cell `drift_for` does not name (default 0).
    #[serde(default)]
    pub drift: f64,
    /// Larger drifts for the cells that move with the load; the first
    /// entry that matches a cell wins.
    #[serde(default)]
    pub drift_for: Vec<Drift>,
}

/// A between-run drift for some cells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Drift {
    /// The cells.
    pub cells: Selector,
    /// Their between-run standard deviation, ratio units.
    pub sd: f64,
}

impl BaselineRule {
    /// The between-run drift assumed for a cell.
    pub fn drift_of(&self, key: &CellKey) -> f64 {
        self.drift_for
            .iter()
            .find(|d| d.cells.matches(key))
            .map_or(self.drift, |d| d.sd)
    }
}

fn one() -> usize {
    1
}

/// A whole policy file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Where it came from (a path); not read from the file.
    #[serde(skip)]
    pub origin: String,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Cells that must be faithful.
    #[serde(default)]
    pub accuracy: Vec<AccuracyRule>,
    /// Cells that must be attenuated.
    #[serde(default, rename = "control")]
    pub controls: Vec<ControlRule>,
    /// The comparison with the baseline, if any.
    #[serde(default)]
    pub baseline: Option<BaselineRule>,
}

impl Policy {
    /// Parses a policy's text; `origin` names it in errors. Unknown keys and
    /// bad values are errors that name the line.
    pub fn parse(text: &str, origin: &str) -> Result<Policy, GateError> {
        let mut policy: Policy = toml::from_str(text).map_err(|e| GateError::Parse {
            origin: origin.to_string(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
        policy.origin = origin.to_string();
        policy.check()?;
        Ok(policy)
    }

    /// Reads and parses a policy file.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Policy, GateError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| GateError::Read {
            what: "policy",
            path: path.to_path_buf(),
            source,
        })?;
        Policy::parse(&text, &path.display().to_string())
    }

    /// The names of every rule, in the order they are evaluated.
    pub fn rule_names(&self) -> Vec<&str> {
        self.accuracy
            .iter()
            .map(|r| r.name.as_str())
            .chain(self.controls.iter().map(|r| r.name.as_str()))
            .chain(self.baseline.iter().map(|r| r.name.as_str()))
            .collect()
    }

    fn check(&self) -> Result<(), GateError> {
        let names = self.rule_names();
        if names.is_empty() {
            return Err(GateError::Parse {
                origin: self.origin.clone(),
                message:
                    "no [[accuracy]], [[control]] or [baseline] rule: the gate would check nothing"
                        .into(),
            });
        }
        let mut seen = BTreeSet::new();
        for name in &names {
            if name.trim().is_empty() {
                return Err(GateError::Parse {
                    origin: self.origin.clone(),
                    message: "a rule has an empty name".into(),
                });
            }
            if !seen.insert(*name) {
                return Err(GateError::Rule {
                    rule: name.to_string(),
                    message: "two rules have this name".into(),
                });
            }
        }
        for r in &self.accuracy {
            r.cells.check(&r.name)?;
        }
        for r in &self.controls {
            r.cells.check(&r.name)?;
        }
        if let Some(b) = &self.baseline {
            b.cells.check(&b.name)?;
            for s in &b.exclude {
                s.check(&b.name)?;
            }
            for d in &b.drift_for {
                d.cells.check(&b.name)?;
            }
            for sd in std::iter::once(b.drift).chain(b.drift_for.iter().map(|d| d.sd)) {
                if !(sd.is_finite() && (0.0..1.0).contains(&sd)) {
                    return Err(GateError::Rule {
                        rule: b.name.clone(),
                        message: format!("a drift must be within [0, 1), got {sd}"),
                    });
                }
            }
            if !(b.alpha > 0.0 && b.alpha < 0.5) {
                return Err(GateError::Rule {
                    rule: b.name.clone(),
                    message: format!("alpha must be within (0, 0.5), got {}", b.alpha),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use workloads::WorkloadParams;

    fn key(
        mode: &str,
        workload: WorkloadKind,
        threads: usize,
        hz: u32,
        life: Option<f64>,
    ) -> CellKey {
        CellKey {
            mode: mode.parse().unwrap(),
            workload,
            threads,
            hz,
            params: WorkloadParams {
                lifetime_ms: life,
                ..WorkloadParams::default()
            },
        }
    }

    fn selector(text: &str) -> Selector {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn selectors_match_by_every_given_list() {
        use WorkloadKind::*;
        let any = selector("");
        let tt = key("thread-timer", Parallel, 2, 100, None);
        assert!(any.matches(&tt));
        // Modes match exactly, options included.
        let s = selector("modes = [\"thread-timer\"]");
        assert!(s.matches(&tt));
        assert!(!s.matches(&key("thread-timer+overrun", Parallel, 2, 100, None)));
        // Rate bounds are inclusive.
        let s = selector("hz_min = 100\nhz_max = 250");
        assert!(s.matches(&tt));
        assert!(s.matches(&key("setitimer", Parallel, 4, 250, None)));
        assert!(!s.matches(&key("setitimer", Parallel, 2, 1000, None)));
        // Lists combine: every given one must hold.
        let s = selector("workloads = [\"parallel\", \"rayon\"]\nthreads = [1, 2]\nhz = [100]");
        assert!(s.matches(&tt));
        assert!(s.matches(&key("setitimer", Rayon, 1, 100, None)));
        assert!(!s.matches(&key("setitimer", Parallel, 4, 100, None)));
        assert!(!s.matches(&key("setitimer", Foreign, 2, 100, None)));
        // A lifetime list never matches a cell without a lifetime.
        let s = selector("lifetime_ms = [1, 10]");
        assert!(s.matches(&key("thread-timer", ShortLived, 2, 100, Some(10.0))));
        assert!(!s.matches(&key("thread-timer", ShortLived, 2, 100, Some(3.0))));
        assert!(!s.matches(&tt));
    }

    #[test]
    fn drift_takes_the_first_matching_entry() {
        let rule: BaselineRule = toml::from_str(
            "name = \"b\"\nalpha = 0.001\ndrift = 0.01\n\
             [[drift_for]]\ncells = { hz = [1000] }\nsd = 0.04\n\
             [[drift_for]]\ncells = { modes = [\"setitimer\"] }\nsd = 0.2\n",
        )
        .unwrap();
        use WorkloadKind::Parallel;
        assert_eq!(
            rule.drift_of(&key("setitimer", Parallel, 2, 1000, None)),
            0.04
        );
        assert_eq!(
            rule.drift_of(&key("setitimer", Parallel, 2, 100, None)),
            0.2
        );
        assert_eq!(
            rule.drift_of(&key("perf-event", Parallel, 2, 100, None)),
            0.01
        );
    }
}
