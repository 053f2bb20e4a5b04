//! The knobs of the analysis, with the defaults every report uses unless
//! told otherwise. They are `Serialize`/`Deserialize` so a gate policy can
//! carry its own.

use serde::{Deserialize, Serialize};

use crate::cell::CellAllowance;
use crate::error::AnalysisError;

/// How much a faithful sampler may miss, beyond the model's random error,
/// before it is called attenuated (or inflated).
///
/// The ideal-sampler model (see [`crate::model`]) holds the samples against
/// `getrusage`, but the ground truth contains CPU no profiling timer can see,
/// and the count itself is an integer. The allowance, in units of the ratio,
/// for a cell of `k` trials that burned `C` ns in all, spawned `n` threads in
/// all and expected `E` samples in all, is
///
/// ```text
/// a = relative + per_thread_ns · n / C + quantum_samples · k / E
/// ```
///
/// * `relative`: a share of the CPU that even an honest sampler may miss on
///   a machine where the kernel gives it no reason to (see
///   [`crate::calibrate`] for the reference cells).
/// * `per_thread_ns`: CPU per spawned thread that `getrusage` charges but no
///   thread's own clock contains: `clone`, the set-up before the thread's
///   timer is armed, the exit path after its last clock read. It is CPU
///   time, not samples, on purpose: an allowance of a fraction of a
///   *sample* per thread would excuse exactly the short-lived bias the
///   suite exists to show. (For 1 ms threads the whole allowance comes to
///   about 4 % of the CPU: such a cell can be faithful, but only just.)
/// * `quantum_samples`: samples per trial. The count is an integer, the
///   normal approximation to a sum of Bernoulli variables is poor when
///   their fractional parts sit near 0 or 1 (one thread with `f = 0.01`
///   that does get its extra sample is 10 σ out), and a process-wide timer's
///   last due expiry is only found at the tick after the workload stopped.
///
/// The defaults were measured, see [`crate::calibrate`]: on the 2-core
/// HZ=250 machine the uncovered CPU was about 21 µs per spawned thread plus
/// 0.75 ms per trial, at most 3.1 % of a trial of 1 ms threads, and every
/// reference cell's median ratio was within 0.07 % of 1 once one sample per
/// trial is allowed. So `relative` is the 0.5 % floor and `per_thread_ns`
/// is 35 µs, what covers every measured trial of ten threads or more.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Allowance {
    /// Fraction of the total CPU.
    pub relative: f64,
    /// CPU per spawned thread, ns.
    pub per_thread_ns: f64,
    /// Samples per trial.
    pub quantum_samples: f64,
}

impl Allowance {
    /// The measured defaults (see [`crate::calibrate`] for how).
    pub const DEFAULT: Allowance = Allowance {
        relative: 0.005,
        per_thread_ns: 35_000.0,
        quantum_samples: 1.0,
    };

    /// No allowance at all: the bare statistical model (used to measure the
    /// model's own false-alarm rate).
    pub const NONE: Allowance = Allowance {
        relative: 0.0,
        per_thread_ns: 0.0,
        quantum_samples: 0.0,
    };

    /// The allowance in ratio units for `trials` trials that burned `cpu_ns`
    /// of CPU, spawned `threads_spawned` threads and expected `expected`
    /// samples, all summed; split by how it scales.
    pub fn for_cell(
        &self,
        trials: usize,
        cpu_ns: f64,
        threads_spawned: f64,
        expected: f64,
    ) -> CellAllowance {
        let per_thread = if cpu_ns > 0.0 {
            self.per_thread_ns * threads_spawned / cpu_ns
        } else {
            0.0
        };
        let quantum = if expected > 0.0 {
            self.quantum_samples * trials as f64 / expected
        } else {
            0.0
        };
        CellAllowance {
            fixed: self.relative + per_thread,
            quantum,
        }
    }
}

impl Default for Allowance {
    fn default() -> Self {
        Allowance::DEFAULT
    }
}

/// Every setting of the analysis.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnalysisConfig {
    /// Two-sided confidence of every interval and test (default 0.999: a
    /// report holds dozens of cells, and a gate must not cry wolf).
    pub confidence: f64,
    /// The deviation from 1 a cell must be able to rule out to be called
    /// faithful, and the one "how much more CPU" is sized to detect
    /// (default 0.05).
    pub resolution: f64,
    /// Systematic slack beyond the random error (see [`Allowance`]).
    pub allowance: Allowance,
    /// Prior degrees of freedom given to the model's variance when it is
    /// combined with the trial-to-trial spread (default 4; see
    /// [`crate::cell`] for why 4).
    pub prior_df: f64,
    /// Smallest expected count of a chi-square bin; threads with fewer
    /// expected samples are pooled (default 5, the textbook rule).
    pub min_expected_per_bin: f64,
    /// Total variation distance from which a significant misattribution is
    /// called `skewed` rather than `slightly-skewed` (default 0.05).
    pub skew_tvd: f64,
    /// The ratio the short-lived curves are asked to reach (default 0.95).
    pub target_ratio: f64,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            confidence: 0.999,
            resolution: 0.05,
            allowance: Allowance::DEFAULT,
            prior_df: 4.0,
            min_expected_per_bin: 5.0,
            skew_tvd: 0.05,
            target_ratio: 0.95,
        }
    }
}

impl AnalysisConfig {
    /// Checks that every setting is in its range.
    pub fn validate(&self) -> Result<(), AnalysisError> {
        let bad = |what: String| Err(AnalysisError::Settings(what));
        if !(self.confidence > 0.5 && self.confidence < 1.0) {
            return bad(format!(
                "confidence must be in (0.5, 1), got {}",
                self.confidence
            ));
        }
        if !(self.resolution > 0.0 && self.resolution < 1.0) {
            return bad(format!(
                "resolution must be in (0, 1), got {}",
                self.resolution
            ));
        }
        let a = self.allowance;
        for (name, value) in [
            ("allowance.relative", a.relative),
            ("allowance.per_thread_ns", a.per_thread_ns),
            ("allowance.quantum_samples", a.quantum_samples),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return bad(format!("{name} must be finite and >= 0, got {value}"));
            }
        }
        if a.relative >= self.resolution {
            return bad(format!(
                "allowance.relative ({}) must be below the resolution ({}), \
                 or nothing could ever be called faithful",
                a.relative, self.resolution
            ));
        }
        if !(self.prior_df.is_finite() && self.prior_df > 0.0) {
            return bad(format!("prior_df must be > 0, got {}", self.prior_df));
        }
        if !(self.min_expected_per_bin.is_finite() && self.min_expected_per_bin > 0.0) {
            return bad(format!(
                "min_expected_per_bin must be > 0, got {}",
                self.min_expected_per_bin
            ));
        }
        if !(self.skew_tvd > 0.0 && self.skew_tvd < 1.0) {
            return bad(format!("skew_tvd must be in (0, 1), got {}", self.skew_tvd));
        }
        if !(self.target_ratio > 0.0 && self.target_ratio.is_finite()) {
            return bad(format!(
                "target_ratio must be > 0, got {}",
                self.target_ratio
            ));
        }
        Ok(())
    }
}
