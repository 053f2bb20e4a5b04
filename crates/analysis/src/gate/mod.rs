//! The regression gate: a run held against a policy and a baseline.
//!
//! A [`Policy`] names three kinds of rule:
//!
//! * **accuracy** ([`AccuracyRule`]): the selected cells must be `faithful`.
//!   An `attenuated` or `inflated` cell fails; an `inconclusive` one passes
//!   or fails as the rule says, explicitly.
//! * **control** ([`ControlRule`]): the selected cells must be `attenuated`.
//!   These are the positive controls: cells where the kernel really does
//!   lose samples. If one is not attenuated the suite has stopped detecting
//!   what it exists to detect, and the gate fails with "detector lost its
//!   sensitivity": a gate that cannot fail protects nothing.
//! * **baseline** ([`BaselineRule`]): every covered cell of the baseline run
//!   must be present in this run, and none may have a ratio significantly
//!   below the baseline's ([`compare`] has the test; the family-wise level
//!   is split over the cells tested).
//!
//! [`evaluate`] applies them and returns a [`GateReport`], which renders as
//! a table ([`GateReport::render_text`]) and serialises as the JSON verdict.

pub mod compare;
mod policy;

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;

use serde::Serialize;
use thiserror::Error;

use crate::analyze::{CellAnalysis, RunAnalysis};
use crate::cell::{CellKey, VerdictKind};
use crate::config::AnalysisConfig;
use crate::report::text_table;

pub use compare::{DropTest, Side};
pub use policy::{AccuracyRule, BaselineRule, ControlRule, Drift, Inconclusive, Policy, Selector};

/// Why the gate could not be applied: always bad input (exit 2 in the CLI).
#[derive(Debug, Error)]
pub enum GateError {
    /// A policy (or other gate input) file could not be read.
    #[error("cannot read {what} file {}: {source}", path.display())]
    Read {
        /// What the file was for: `policy`, `baseline`.
        what: &'static str,
        /// The path asked for.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// Not valid TOML, an unknown key or a bad value; the message names the line.
    #[error("policy {origin}: {message}")]
    Parse {
        /// The policy file.
        origin: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A rule that is well-formed TOML but cannot work.
    #[error("policy rule '{rule}': {message}")]
    Rule {
        /// The rule's name.
        rule: String,
        /// What is wrong.
        message: String,
    },
    /// The policy has a baseline rule but no baseline was given.
    #[error("policy rule '{rule}' compares with a baseline, but none was given")]
    NoBaseline {
        /// The baseline rule's name.
        rule: String,
    },
}

/// The kind of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleKind {
    /// Cells that must be faithful.
    Accuracy,
    /// Cells that must be attenuated (positive controls).
    Control,
    /// No significant drop against the baseline, no missing cell.
    Baseline,
}

impl std::fmt::Display for RuleKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RuleKind::Accuracy => "accuracy",
            RuleKind::Control => "control",
            RuleKind::Baseline => "baseline",
        })
    }
}

/// One way a rule failed: on a cell, or (`cell` absent) as a whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// The cell, when the failure is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<CellKey>,
    /// The cell as text (`mode workload threads=N hz=R [params]`), or "-".
    pub label: String,
    /// What was seen, in words: a verdict, `missing`, a ratio.
    pub observed: String,
    /// What the rule needed, in words.
    pub required: String,
    /// The ratio observed (the cell's median, or the mean for the baseline
    /// test), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_ratio: Option<f64>,
    /// How far the cell is from what was required, in ratio units
    /// (positive), when that can be said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<f64>,
    /// One line for humans.
    pub message: String,
}

/// The outcome of one rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleOutcome {
    /// The rule's name.
    pub name: String,
    /// Its kind.
    pub kind: RuleKind,
    /// Whether it passed.
    pub passed: bool,
    /// Cells it examined.
    pub cells: usize,
    /// Why it failed (empty when it passed).
    pub failures: Vec<Failure>,
    /// What passed only by the policy's leave (inconclusive cells), and
    /// what the rule left out (excluded baseline cells).
    pub notes: Vec<String>,
}

/// The gate's verdict on a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateReport {
    /// Whether every rule passed.
    pub passed: bool,
    /// The policy's origin (a path).
    pub policy: String,
    /// The run's environment, in short.
    pub run_env: String,
    /// The baseline's environment, in short, when one was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_env: Option<String>,
    /// One outcome per rule, in policy order (accuracy, control, baseline).
    pub rules: Vec<RuleOutcome>,
}

/// Applies a policy to an analysed run (and baseline, when the policy has a
/// baseline rule). Both analyses should use the same settings; `config`
/// supplies `prior_df` for the baseline test.
pub fn evaluate(
    policy: &Policy,
    run: &RunAnalysis,
    baseline: Option<&RunAnalysis>,
    config: &AnalysisConfig,
) -> Result<GateReport, GateError> {
    let mut rules = Vec::new();
    for rule in &policy.accuracy {
        rules.push(accuracy(rule, run));
    }
    for rule in &policy.controls {
        rules.push(control(rule, run));
    }
    if let Some(rule) = &policy.baseline {
        let base = baseline.ok_or_else(|| GateError::NoBaseline {
            rule: rule.name.clone(),
        })?;
        rules.push(against_baseline(rule, run, base, config));
    }
    Ok(GateReport {
        passed: rules.iter().all(|r| r.passed),
        policy: policy.origin.clone(),
        run_env: run.env.short_name(),
        baseline_env: policy
            .baseline
            .as_ref()
            .and(baseline)
            .map(|b| b.env.short_name()),
        rules,
    })
}

fn ratio_text(cell: &CellAnalysis) -> String {
    let e = &cell.estimate;
    format!(
        "{:.3} [{:.3}, {:.3}]",
        e.ratio, e.interval.lo, e.interval.hi
    )
}

/// Cells a selector picks out of a run, and those it would have picked but
/// that measured nothing (every trial failed or was unavailable), with the
/// first trial's error.
fn selected<'a>(
    selector: &Selector,
    run: &'a RunAnalysis,
) -> (Vec<&'a CellAnalysis>, Vec<(CellKey, String)>) {
    let cells: Vec<&CellAnalysis> = run
        .cells
        .iter()
        .filter(|c| selector.matches(&c.key))
        .collect();
    let mut unmeasured: Vec<(CellKey, String)> = Vec::new();
    for x in &run.excluded {
        if selector.matches(&x.key)
            && run.cell(&x.key).is_none()
            && !unmeasured.iter().any(|(k, _)| *k == x.key)
        {
            let why = x
                .error
                .clone()
                .unwrap_or_else(|| "no error recorded".into());
            unmeasured.push((x.key, why));
        }
    }
    (cells, unmeasured)
}

fn unmeasured_failure(key: CellKey, why: &str, required: &str) -> Failure {
    Failure {
        cell: Some(key),
        label: key.to_string(),
        observed: "not measured".into(),
        required: required.into(),
        observed_ratio: None,
        by: None,
        message: format!("{key}: no trial measured anything: {why}"),
    }
}

fn too_few_cells(found: usize, min: usize, required: &str) -> Failure {
    Failure {
        cell: None,
        label: "-".into(),
        observed: format!("{found} cell(s) measured"),
        required: format!("at least {min} cell(s) {required}"),
        observed_ratio: None,
        by: None,
        message: format!(
            "the rule matched {found} measured cell(s) of this run, fewer than {min}: \
             a rule that checks nothing protects nothing"
        ),
    }
}

fn accuracy(rule: &AccuracyRule, run: &RunAnalysis) -> RuleOutcome {
    let (cells, unmeasured) = selected(&rule.cells, run);
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    for cell in &cells {
        let e = &cell.estimate;
        let a = e.allowance.total();
        let required = format!("faithful: ratio within 1 ± {a:.3}");
        match e.verdict.kind() {
            VerdictKind::Faithful => {}
            VerdictKind::Attenuated | VerdictKind::Inflated => {
                let kind = e.verdict.kind();
                let by = if kind == VerdictKind::Attenuated {
                    (1.0 - a) - e.ratio
                } else {
                    e.ratio - (1.0 + a)
                };
                failures.push(Failure {
                    cell: Some(cell.key),
                    label: cell.key.to_string(),
                    observed: format!("{kind} {}", ratio_text(cell)),
                    required,
                    observed_ratio: Some(e.ratio),
                    by: Some(by.max(0.0)),
                    message: format!(
                        "{}: {kind}, ratio {}, {:.1} points outside the allowance band 1 ± {a:.3}",
                        cell.key,
                        ratio_text(cell),
                        by.max(0.0) * 100.0
                    ),
                });
            }
            VerdictKind::Inconclusive => {
                let more = match e.verdict {
                    crate::cell::Verdict::Inconclusive {
                        more_cpu_s: Some(s),
                    } => format!("≈{s:.0} more CPU-s would decide it"),
                    _ => "no amount of CPU would decide it".into(),
                };
                match rule.inconclusive {
                    Inconclusive::Pass => notes.push(format!(
                        "{}: inconclusive {}, passed by the policy ({more})",
                        cell.key,
                        ratio_text(cell)
                    )),
                    Inconclusive::Fail => failures.push(Failure {
                        cell: Some(cell.key),
                        label: cell.key.to_string(),
                        observed: format!("inconclusive {}", ratio_text(cell)),
                        required,
                        observed_ratio: Some(e.ratio),
                        by: None,
                        message: format!(
                            "{}: inconclusive, ratio {}: the policy requires a decision ({more})",
                            cell.key,
                            ratio_text(cell)
                        ),
                    }),
                }
            }
        }
    }
    for (key, why) in &unmeasured {
        failures.push(unmeasured_failure(*key, why, "faithful"));
    }
    if cells.len() < rule.min_cells {
        failures.push(too_few_cells(cells.len(), rule.min_cells, "to judge"));
    }
    RuleOutcome {
        name: rule.name.clone(),
        kind: RuleKind::Accuracy,
        passed: failures.is_empty(),
        cells: cells.len(),
        failures,
        notes,
    }
}

/// The words every failed positive control carries.
pub const LOST_SENSITIVITY: &str = "detector lost its sensitivity";

fn control(rule: &ControlRule, run: &RunAnalysis) -> RuleOutcome {
    let (cells, unmeasured) = selected(&rule.cells, run);
    let mut failures = Vec::new();
    for cell in &cells {
        let e = &cell.estimate;
        let kind = e.verdict.kind();
        if kind == VerdictKind::Attenuated {
            continue;
        }
        let edge = 1.0 - e.allowance.total();
        // How far the interval's top must come down to lie below the band.
        let by = (e.interval.hi - edge).max(0.0);
        failures.push(Failure {
            cell: Some(cell.key),
            label: cell.key.to_string(),
            observed: format!("{kind} {}", ratio_text(cell)),
            required: format!("attenuated: interval below {edge:.3}"),
            observed_ratio: Some(e.ratio),
            by: Some(by),
            message: format!(
                "{LOST_SENSITIVITY}: {} is {kind} (ratio {}), where the kernel is known to \
                 lose samples; its interval reaches {:.1} points above {edge:.3}",
                cell.key,
                ratio_text(cell),
                by * 100.0
            ),
        });
    }
    for (key, why) in &unmeasured {
        let mut f = unmeasured_failure(*key, why, "attenuated");
        f.message = format!("{LOST_SENSITIVITY}: {}", f.message);
        failures.push(f);
    }
    if cells.len() < rule.min_cells {
        let mut f = too_few_cells(cells.len(), rule.min_cells, "attenuated");
        f.message = format!("{LOST_SENSITIVITY}: {}", f.message);
        failures.push(f);
    }
    RuleOutcome {
        name: rule.name.clone(),
        kind: RuleKind::Control,
        passed: failures.is_empty(),
        cells: cells.len(),
        failures,
        notes: Vec::new(),
    }
}

fn against_baseline(
    rule: &BaselineRule,
    run: &RunAnalysis,
    base: &RunAnalysis,
    config: &AnalysisConfig,
) -> RuleOutcome {
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    // A baseline from another kind of machine says nothing about this one.
    let (re, be) = (&run.env, &base.env);
    if re.hz != be.hz || re.cpus != be.cpus {
        failures.push(Failure {
            cell: None,
            label: "-".into(),
            observed: format!("{} CPUs, HZ={}", re.cpus, re.hz),
            required: format!("{} CPUs, HZ={} (the baseline's)", be.cpus, be.hz),
            observed_ratio: None,
            by: None,
            message: format!(
                "the baseline was measured on {} and this run on {}: record a baseline on \
                 this kind of machine (make baseline)",
                be.short_name(),
                re.short_name()
            ),
        });
    } else if re.kernel != be.kernel {
        notes.push(format!(
            "kernel differs: baseline {}, run {}",
            be.kernel, re.kernel
        ));
    }
    let covered: Vec<&CellAnalysis> = base
        .cells
        .iter()
        .filter(|c| rule.cells.matches(&c.key))
        .collect();
    let excluded = |k: &CellKey| rule.exclude.iter().any(|s| s.matches(k));
    let tested = covered.iter().filter(|c| !excluded(&c.key)).count();
    let per_cell_alpha = rule.alpha / tested.max(1) as f64;
    let mut left_out = 0;
    let mut resolutions = Vec::new();
    for b in &covered {
        let Some(r) = run.cell(&b.key) else {
            let why = run
                .excluded
                .iter()
                .find(|x| x.key == b.key)
                .and_then(|x| x.error.clone())
                .map_or_else(String::new, |e| {
                    format!(" (no trial measured anything: {e})")
                });
            failures.push(Failure {
                cell: Some(b.key),
                label: b.key.to_string(),
                observed: "missing".into(),
                required: "present (it is in the baseline)".into(),
                observed_ratio: None,
                by: None,
                message: format!("{}: in the baseline, missing from this run{why}", b.key),
            });
            continue;
        };
        if excluded(&b.key) {
            left_out += 1;
            continue;
        }
        let (Some(bs), Some(rs)) = (Side::of(b, config.prior_df), Side::of(r, config.prior_df))
        else {
            continue;
        };
        let test = DropTest::new(bs, rs, rule.drift_of(&b.key));
        resolutions.push(test.smallest_significant_drop(per_cell_alpha));
        if test.p < per_cell_alpha {
            failures.push(Failure {
                cell: Some(b.key),
                label: b.key.to_string(),
                observed: format!("{:.3} (p = {:.1e})", rs.mean, test.p),
                required: format!(
                    "not significantly below {:.3} (p ≥ {per_cell_alpha:.1e})",
                    bs.mean
                ),
                observed_ratio: Some(rs.mean),
                by: Some(test.drop),
                message: format!(
                    "{}: mean ratio {:.3} against the baseline's {:.3}, a drop of {:.1} points \
                     (t = {:.1} on {:.1} df with drift {:.3}, p = {:.1e} < {per_cell_alpha:.1e})",
                    b.key,
                    rs.mean,
                    bs.mean,
                    test.drop * 100.0,
                    test.t,
                    test.df,
                    test.drift,
                    test.p
                ),
            });
        }
    }
    if let (Some(lo), Some(hi), Some(mid)) = (
        resolutions.iter().copied().reduce(f64::min),
        resolutions.iter().copied().reduce(f64::max),
        crate::stats::median(&resolutions),
    ) {
        notes.push(format!(
            "{} cell(s) tested at p < {per_cell_alpha:.1e} each: the smallest drop that \
             would fail is {:.1} to {:.1} points (median {:.1})",
            resolutions.len(),
            lo * 100.0,
            hi * 100.0,
            mid * 100.0
        ));
    }
    if left_out > 0 {
        notes.push(format!(
            "{left_out} cell(s) excluded from the drop test by the policy (still required present)"
        ));
    }
    if covered.is_empty() {
        failures.push(Failure {
            cell: None,
            label: "-".into(),
            observed: "0 baseline cells".into(),
            required: "at least one baseline cell".into(),
            observed_ratio: None,
            by: None,
            message: "the rule covers no cell of the baseline: it would check nothing".into(),
        });
    }
    RuleOutcome {
        name: rule.name.clone(),
        kind: RuleKind::Baseline,
        passed: failures.is_empty(),
        cells: covered.len(),
        failures,
        notes,
    }
}

impl GateReport {
    /// The rules that failed.
    pub fn failed(&self) -> impl Iterator<Item = &RuleOutcome> {
        self.rules.iter().filter(|r| !r.passed)
    }

    /// The human rendering: a table of rules, then each failure and note,
    /// then one line with the verdict.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let rows: Vec<[String; 4]> = self
            .rules
            .iter()
            .map(|r| {
                [
                    r.name.clone(),
                    r.kind.to_string(),
                    r.cells.to_string(),
                    if r.passed { "pass" } else { "FAIL" }.to_string(),
                ]
            })
            .collect();
        out += &text_table(&["rule", "kind", "cells", "result"], &rows);
        for r in &self.rules {
            if !r.failures.is_empty() {
                let _ = writeln!(out, "\nFAIL {} ({}):", r.name, r.kind);
                let rows: Vec<[String; 4]> = r
                    .failures
                    .iter()
                    .map(|f| {
                        [
                            f.label.clone(),
                            f.observed.clone(),
                            f.required.clone(),
                            f.by.map_or("-".into(), |b| format!("{:.1} pts", b * 100.0)),
                        ]
                    })
                    .collect();
                for line in text_table(&["cell", "observed", "required", "by"], &rows).lines() {
                    let _ = writeln!(out, "  {line}");
                }
                for f in &r.failures {
                    let _ = writeln!(out, "  - {}", f.message);
                }
            }
            if !r.notes.is_empty() {
                let _ = writeln!(out, "\nnote, {}:", r.name);
                for n in &r.notes {
                    let _ = writeln!(out, "  - {n}");
                }
            }
        }
        let failed = self.failed().count();
        let _ = writeln!(
            out,
            "\ngate: {} ({} of {} rules passed; policy {}, run on {}{})",
            if self.passed { "PASS" } else { "FAIL" },
            self.rules.len() - failed,
            self.rules.len(),
            self.policy,
            self.run_env,
            self.baseline_env
                .as_ref()
                .map_or(String::new(), |b| format!(", baseline on {b}"))
        );
        out
    }
}
