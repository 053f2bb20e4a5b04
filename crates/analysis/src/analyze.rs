//! A whole run analysed, and several runs side by side.
//!
//! These are the data structures every front end renders: the Markdown
//! report ([`crate::report`]), and later the HTML report, the plots and the
//! gate. They are `Serialize` so those can also take them as JSON.

use std::collections::{BTreeMap, BTreeSet};

use harness::mode::Mechanism;
use harness::record::{Environment, RunConfig, RunRecord, TrialRecord};
use serde::Serialize;
use workloads::WorkloadKind;

use crate::attribution::{cell_attribution, registration_split, Attribution, RegistrationSplit};
use crate::cell::{CellKey, RatioEstimate, TrialPoint};
use crate::config::AnalysisConfig;
use crate::error::AnalysisError;
use crate::lifetime::{lifetime_curves, LifetimeCurve};
use crate::load::{partition_trials, ExcludedTrial};
use crate::model::TrialModel;
use crate::onset::{onsets, Axis, Onset};

/// Everything known about one cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellAnalysis {
    /// The cell.
    pub key: CellKey,
    /// Each measured trial against the model.
    pub trials: Vec<TrialModel>,
    /// Threads the workload created, over all trials.
    pub threads_spawned: usize,
    /// Raw accepted signals, over all trials.
    pub samples: u64,
    /// `si_overrun` summed over all trials.
    pub overruns: u64,
    /// Flushed expiries over all trials.
    pub flushed: u64,
    /// Signals refused by `hybrid`'s filter, over all trials.
    pub rejected: u64,
    /// The ratio, its intervals and the verdict.
    pub estimate: RatioEstimate,
    /// `(samples + overruns)·P / C` pooled over trials, when any overrun was
    /// recorded: what counting every missed expiry would have given, which
    /// shows that the HZ cap, not lost signals, explains a low ratio.
    pub ratio_with_overruns: Option<f64>,
    /// What the per-thread timers or perf counters could see, for modes
    /// that arm one per thread (`None` otherwise).
    pub timer_view: Option<TimerView>,
    /// Samples against CPU, thread by thread.
    pub attribution: Attribution,
    /// Registered against unregistered threads (`foreign` workloads, `hybrid`).
    pub registration: Option<RegistrationSplit>,
}

/// The CPU a per-thread timer (or perf counter) exists for, and the ratio
/// measured against it alone. A thread's CPU before its timer is armed
/// (thread start-up) and after it is deleted (exit), and the CPU of threads
/// without one, is invisible to any per-thread mechanism; this separates
/// that structural blind spot from samples the timer owed but lost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TimerView {
    /// CPU spent while the threads' own timers existed, over the process's CPU.
    pub cpu_share: f64,
    /// Those threads' weighted samples × period over that CPU.
    pub ratio: f64,
}

impl TimerView {
    /// Pools the threads that had a timer (`armed_cpu_ns` set) over `trials`.
    pub fn of(trials: &[&TrialRecord]) -> Option<TimerView> {
        let (mut visible_ns, mut weighted_periods_ns, mut cpu_ns) = (0.0, 0.0, 0.0);
        for t in trials {
            cpu_ns += t.cpu_ns as f64;
            for d in &t.threads_detail {
                if let (Some(cpu), Some(armed)) = (d.cpu_ns, d.armed_cpu_ns) {
                    visible_ns += cpu.saturating_sub(armed) as f64;
                    weighted_periods_ns += d.weighted_samples as f64 * t.period_ns as f64;
                }
            }
        }
        (visible_ns > 0.0 && cpu_ns > 0.0).then(|| TimerView {
            cpu_share: visible_ns / cpu_ns,
            ratio: weighted_periods_ns / visible_ns,
        })
    }
}

impl CellAnalysis {
    /// Analyses the measured trials of one cell; `None` when none is usable.
    pub fn of(
        key: CellKey,
        trials: &[&TrialRecord],
        config: &AnalysisConfig,
    ) -> Option<CellAnalysis> {
        let models: Vec<TrialModel> = trials.iter().map(|t| TrialModel::of(t, config)).collect();
        let points: Vec<TrialPoint> = models
            .iter()
            .map(|m| TrialPoint {
                expected: m.expected,
                observed: m.observed,
                variance: m.variance.total,
            })
            .collect();
        let cpu_ns: f64 = trials.iter().map(|t| t.cpu_ns as f64).sum();
        let threads_spawned: usize = trials.iter().map(|t| t.threads_spawned).sum();
        let expected: f64 = points.iter().map(|p| p.expected).sum();
        let allowance =
            config
                .allowance
                .for_cell(trials.len(), cpu_ns, threads_spawned as f64, expected);
        let estimate = RatioEstimate::from_trials(&points, allowance, cpu_ns / 1e9, config)?;
        let sum = |f: fn(&TrialRecord) -> u64| trials.iter().map(|t| f(t)).sum::<u64>();
        let (samples, overruns) = (sum(|t| t.samples), sum(|t| t.overruns));
        let has_unregistered = trials
            .iter()
            .flat_map(|t| &t.threads_detail)
            .any(|d| !d.registered && d.cpu_ns.is_some());
        let wants_split = key.workload == WorkloadKind::Foreign
            || key.mode.mechanism == Mechanism::Hybrid
            || has_unregistered;
        Some(CellAnalysis {
            key,
            threads_spawned,
            samples,
            overruns,
            flushed: sum(|t| t.flushed),
            rejected: sum(|t| t.rejected),
            ratio_with_overruns: (overruns > 0).then(|| (samples + overruns) as f64 / expected),
            timer_view: TimerView::of(trials),
            attribution: cell_attribution(trials, config),
            registration: wants_split.then(|| registration_split(trials, config)),
            estimate,
            trials: models,
        })
    }
}

/// One run, analysed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunAnalysis {
    /// Where it ran.
    pub env: Environment,
    /// How it was asked for.
    pub run: RunConfig,
    /// The settings the analysis used.
    pub settings: AnalysisConfig,
    /// Trials in the file, usable or not.
    pub trials_total: usize,
    /// Every cell with at least one usable trial, sorted by key.
    pub cells: Vec<CellAnalysis>,
    /// Ratio against thread lifetime (`short-lived` cells).
    pub lifetime_curves: Vec<LifetimeCurve>,
    /// The thread count where each mode stops being faithful, per rate.
    pub thread_onsets: Vec<Onset>,
    /// The rate where each mode stops being faithful, per thread count.
    pub rate_onsets: Vec<Onset>,
    /// Failed, unavailable and unusable trials, with their errors.
    pub excluded: Vec<ExcludedTrial>,
}

impl RunAnalysis {
    /// The cell with this key, if the run has it.
    pub fn cell(&self, key: &CellKey) -> Option<&CellAnalysis> {
        self.cells
            .binary_search_by(|c| c.key.cmp(key))
            .ok()
            .map(|i| &self.cells[i])
    }
}

/// Analyses one run: groups its usable trials into cells and answers every
/// question of the report.
///
/// ```no_run
/// use analysis::{analyze_run, load_run, AnalysisConfig};
/// let run = load_run("results/latest/run.json")?;
/// let analysis = analyze_run(&run, &AnalysisConfig::default())?;
/// for cell in &analysis.cells {
///     println!("{}: {:.3} {}", cell.key, cell.estimate.ratio, cell.estimate.verdict.kind());
/// }
/// # Ok::<(), analysis::AnalysisError>(())
/// ```
pub fn analyze_run(run: &RunRecord, config: &AnalysisConfig) -> Result<RunAnalysis, AnalysisError> {
    config.validate()?;
    let (usable, excluded) = partition_trials(run);
    let mut groups: BTreeMap<CellKey, Vec<&TrialRecord>> = BTreeMap::new();
    for trial in usable {
        groups.entry(CellKey::of(trial)).or_default().push(trial);
    }
    let cells: Vec<CellAnalysis> = groups
        .into_iter()
        .filter_map(|(key, trials)| CellAnalysis::of(key, &trials, config))
        .collect();
    Ok(RunAnalysis {
        env: run.env.clone(),
        run: run.config.clone(),
        settings: *config,
        trials_total: run.trials.len(),
        lifetime_curves: lifetime_curves(&cells, config.target_ratio),
        thread_onsets: onsets(&cells, Axis::Threads),
        rate_onsets: onsets(&cells, Axis::Rate),
        cells,
        excluded,
    })
}

/// One run of a comparison, with its labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelledRun {
    /// What the caller called it (usually the file it came from).
    pub label: String,
    /// Its column heading: [`Environment::short_name`], made unique.
    pub column: String,
    /// The analysis.
    pub analysis: RunAnalysis,
}

/// Several runs side by side, cells matched by key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// In the order given.
    pub runs: Vec<LabelledRun>,
}

impl Comparison {
    /// Every cell key of any run, sorted.
    pub fn cell_keys(&self) -> Vec<CellKey> {
        let keys: BTreeSet<CellKey> = self
            .runs
            .iter()
            .flat_map(|r| r.analysis.cells.iter().map(|c| c.key))
            .collect();
        keys.into_iter().collect()
    }
}

/// Analyses several runs for a side-by-side report. Columns are headed by
/// each run's [`Environment::short_name`]; two runs of the same name get
/// their labels appended (and a number, if even those agree).
pub fn compare_runs(
    runs: &[(String, RunRecord)],
    config: &AnalysisConfig,
) -> Result<Comparison, AnalysisError> {
    if runs.is_empty() {
        return Err(AnalysisError::NoRuns);
    }
    let names: Vec<String> = runs.iter().map(|(_, r)| r.env.short_name()).collect();
    let mut used = BTreeSet::new();
    let mut out = Vec::with_capacity(runs.len());
    for (i, (label, run)) in runs.iter().enumerate() {
        let clash = names.iter().filter(|n| **n == names[i]).count() > 1;
        let mut column = if clash {
            format!("{} ({label})", names[i])
        } else {
            names[i].clone()
        };
        if used.contains(&column) {
            column = format!("{column} #{}", i + 1);
        }
        used.insert(column.clone());
        out.push(LabelledRun {
            label: label.clone(),
            column,
            analysis: analyze_run(run, config)?,
        });
    }
    Ok(Comparison { runs: out })
}
