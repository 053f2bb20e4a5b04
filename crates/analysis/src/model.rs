//! The ideal sampler's error model for one trial.
//!
//! A sampler that is perfect up to its period `P` delivers, for a clock that
//! ran `x = c/P` periods, `floor(x)` samples plus one more with probability
//! `frac(x)` when the phase of its first expiry is uniformly random. The
//! count's mean is `x` and its variance `f(1−f)`, `f = frac(x)`. The trial's
//! expectation is always held against the whole process CPU,
//! `E = cpu_ns / period_ns`, because that is what a profiler's user reads
//! the profile against; the variance depends on which clocks are sampled:
//!
//! | mechanism | clocks sampled | variance |
//! |---|---|---|
//! | `setitimer`, `process-timer` | the process total | `f(1−f)` of `C/P` |
//! | `thread-timer`, `perf-event` | each registered thread with a known CPU time | `Σ f(1−f)` over those threads |
//! | `hybrid` | registered threads by their own timers, the rest by `setitimer` | `Σ f(1−f)` over registered threads + `(C/P)·p(1−p)` for the unregistered CPU share `p` (each process expiry lands on an unregistered thread with probability `p`, a binomial thinning) |
//!
//! Unregistered threads under `thread-timer` and `perf-event` are never
//! sampled: they add no variance, and their CPU is *expected* to be lost.
//! The verdict still counts it as lost, because the profile is missing it.
//!
//! A per-thread clock whose first expiry is a full period (`+nojitter`, and
//! `perf-event`, whose counter always starts a full period from overflow)
//! gets exactly `floor(x)` samples: no noise, but a bias of `−frac(x)` per
//! thread. It is reported as [`VarianceParts::phase_bias`] and counts against
//! the mode like any other loss.
//!
//! Threads whose CPU is unknown (`kind = other`) and CPU outside every
//! thread's own clock (thread creation and exit, see
//! [`crate::config::Allowance`]) are in `E` but in no variance term.

use harness::mode::Mechanism;
use harness::record::{ThreadRecord, TrialRecord};
use serde::Serialize;

use crate::config::AnalysisConfig;
use crate::stats::{fractional_variance, two_sided_z, Interval};

/// The error model's variance terms for one trial, split by registration
/// so the foreign-thread analysis can reuse them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VarianceParts {
    /// Variance of the whole trial's count.
    pub total: f64,
    /// Variance of the samples on registered threads with a known CPU.
    pub registered: f64,
    /// Variance of the samples on unregistered threads with a known CPU.
    pub unregistered: f64,
    /// Samples lost by construction to deterministic first expiries:
    /// `Σ frac(c/P)` over the threads whose phase is fixed.
    pub phase_bias: f64,
}

/// Whether a per-thread clock of this trial starts at a random phase.
fn random_phase(trial: &TrialRecord) -> bool {
    trial.mode.mechanism.has_jitter() && !trial.mode.options.nojitter
}

/// The CPU, ns, of threads with a known CPU time: `(registered, unregistered)`.
pub fn cpu_by_registration(trial: &TrialRecord) -> (f64, f64) {
    known_cpu(trial).fold((0.0, 0.0), |(r, u), (t, c)| {
        if t.registered {
            (r + c, u)
        } else {
            (r, u + c)
        }
    })
}

fn known_cpu(trial: &TrialRecord) -> impl Iterator<Item = (&ThreadRecord, f64)> {
    trial
        .threads_detail
        .iter()
        .filter_map(|t| t.cpu_ns.map(|c| (t, c as f64)))
}

/// The variance of `(C/P)` expiries of one process-wide timer landing on a
/// class that holds `share` of the CPU: binomial.
fn thinned(expiries: f64, share: f64) -> f64 {
    let p = share.clamp(0.0, 1.0);
    expiries * p * (1.0 - p)
}

/// The ideal sampler's variance for one trial (see the module docs).
pub fn variance_parts(trial: &TrialRecord) -> VarianceParts {
    let period = trial.period_ns as f64;
    let total_cpu = trial.cpu_ns as f64;
    let expiries = total_cpu / period;
    let (reg_cpu, unreg_cpu) = cpu_by_registration(trial);
    let mechanism = trial.mode.mechanism;
    if !mechanism.is_per_thread() {
        // One clock, the process's: its own quantisation for the total, a
        // binomial split of its expiries for each class.
        return VarianceParts {
            total: fractional_variance(expiries),
            registered: thinned(expiries, reg_cpu / total_cpu),
            unregistered: thinned(expiries, unreg_cpu / total_cpu),
            phase_bias: 0.0,
        };
    }
    let random = random_phase(trial);
    let (mut registered, mut phase_bias) = (0.0, 0.0);
    for (thread, cpu) in known_cpu(trial) {
        if !thread.registered {
            continue;
        }
        let periods = cpu / period;
        if random {
            registered += fractional_variance(periods);
        } else {
            phase_bias += periods - periods.floor();
        }
    }
    let unregistered = if mechanism == Mechanism::Hybrid {
        thinned(expiries, unreg_cpu / total_cpu)
    } else {
        0.0
    };
    VarianceParts {
        total: registered + unregistered,
        registered,
        unregistered,
        phase_bias,
    }
}

/// One trial held against the ideal sampler.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialModel {
    /// Repetition index.
    pub trial: u32,
    /// The trial's seed.
    pub seed: u64,
    /// Process CPU of the sampled window, ns (`getrusage`).
    pub cpu_ns: u64,
    /// Sampling period, ns.
    pub period_ns: u64,
    /// Threads the workload created.
    pub threads_spawned: usize,
    /// `E = cpu_ns / period_ns`.
    pub expected: f64,
    /// Weighted samples (what the profile shows).
    pub observed: f64,
    /// Raw accepted signals.
    pub samples: u64,
    /// `si_overrun` summed over accepted signals.
    pub overruns: u64,
    /// Expiries counted at timer end (`+flush`).
    pub flushed: u64,
    /// Signals refused by `hybrid`'s filter.
    pub rejected: u64,
    /// `observed / expected`.
    pub ratio: f64,
    /// The model's variance terms.
    pub variance: VarianceParts,
    /// `(observed − expected) / sqrt(variance)`; `None` when the model
    /// predicts no noise at all (deterministic phases).
    pub z: Option<f64>,
    /// `expected ± z_α·sqrt(variance)`, samples.
    pub model_interval: Interval,
    /// The allowance for this trial alone, samples.
    pub allowance_samples: f64,
    /// Whether `observed` lies within the model interval widened by the allowance.
    pub within_model: bool,
    /// `cpu_ns` minus the CPU of every thread with a known clock: what the
    /// process burned outside its threads' own measurements (negative when
    /// the threads' clocks reach outside the window).
    pub uncovered_cpu_ns: i64,
}

impl TrialModel {
    /// Holds one measured trial against the model.
    pub fn of(trial: &TrialRecord, config: &AnalysisConfig) -> TrialModel {
        let expected = trial.cpu_ns as f64 / trial.period_ns as f64;
        let observed = trial.weighted_samples as f64;
        let variance = variance_parts(trial);
        let sd = variance.total.sqrt();
        let z = (variance.total > 0.0).then(|| (observed - expected) / sd);
        let model_interval = Interval::around(expected, two_sided_z(config.confidence) * sd);
        let allowance_samples = config
            .allowance
            .for_cell(
                1,
                trial.cpu_ns as f64,
                trial.threads_spawned as f64,
                expected,
            )
            .total()
            * expected;
        let within_model = observed >= model_interval.lo - allowance_samples
            && observed <= model_interval.hi + allowance_samples;
        let (reg, unreg) = cpu_by_registration(trial);
        TrialModel {
            trial: trial.trial,
            seed: trial.seed,
            cpu_ns: trial.cpu_ns,
            period_ns: trial.period_ns,
            threads_spawned: trial.threads_spawned,
            expected,
            observed,
            samples: trial.samples,
            overruns: trial.overruns,
            flushed: trial.flushed,
            rejected: trial.rejected,
            ratio: observed / expected,
            variance,
            z,
            model_interval,
            allowance_samples,
            within_model,
            uncovered_cpu_ns: (trial.cpu_ns as f64 - reg - unreg).round() as i64,
        }
    }
}
