//! Attribution: do the samples land on the threads that burned the CPU?
//!
//! A profile can have the right total and still blame the wrong code. For
//! every trial the threads with a known CPU time are compared two ways:
//!
//! * **total variation distance** between the sample shares and the CPU
//!   shares, `½ Σ |s_i/S − c_i/C|`: the fraction of the profile that sits on
//!   the wrong thread. It is the effect size, comparable across trials of any
//!   size.
//! * **chi-square goodness of fit** of the samples against the CPU shares.
//!   Weighted counts (overruns, flushes) are divided by the trial's mean
//!   weight first, so the statistic is in units of delivered signals (a
//!   sample weighing 4 is one random event, not four). Threads whose
//!   expected count is below `min_expected_per_bin` are pooled, smallest
//!   first, until every bin reaches it, so the chi-square approximation is
//!   valid even for `short-lived` trials with thousands of one-sample
//!   threads. Trials are independent, so a cell's statistic and degrees of
//!   freedom are the sums of its trials'.
//!
//! The test is a multinomial one; an ideal per-thread sampler is far less
//! noisy than multinomial, so the test is conservative for it and sensitive
//! to what matters: systematic misattribution. With tens of thousands of
//! samples it detects skews nobody cares about, hence the verdict also needs
//! the distance to reach `skew_tvd` to be called `skewed`.
//!
//! For `foreign` workloads and `hybrid`, the **registration split** holds
//! the samples of registered and unregistered threads each against their
//! own CPU ([`RegistrationSplit`]).

use harness::record::TrialRecord;
use serde::{Deserialize, Serialize};

use crate::cell::{RatioEstimate, TrialPoint};
use crate::config::AnalysisConfig;
use crate::model::{cpu_by_registration, variance_parts};
use crate::stats::{chi_square_p_value, median};

/// A pooled chi-square goodness-of-fit test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChiSquareTest {
    /// `Σ (O − E)² / E` over the bins.
    pub statistic: f64,
    /// Degrees of freedom: bins − 1, summed over trials.
    pub df: f64,
    /// Bins after pooling, summed over trials.
    pub bins: usize,
    /// Upper tail probability.
    pub p_value: f64,
}

/// What the attribution test concludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttributionVerdict {
    /// The chi-square test does not reject the CPU shares.
    Consistent,
    /// It rejects them, but the distance is below `skew_tvd`.
    SlightlySkewed,
    /// It rejects them and the distance reaches `skew_tvd`.
    Skewed,
    /// Fewer than two bins, or no samples: nothing to test.
    Untestable,
}

impl std::fmt::Display for AttributionVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AttributionVerdict::Consistent => "consistent",
            AttributionVerdict::SlightlySkewed => "slightly skewed",
            AttributionVerdict::Skewed => "skewed",
            AttributionVerdict::Untestable => "untestable",
        })
    }
}

/// Merges `(expected, observed)` bins, smallest expected first, until every
/// bin expects at least `min_expected`; a remainder too small to stand alone
/// joins the last bin. Sorting first pools like with like, which keeps the
/// test's power against a bias that hits small threads.
pub fn pool_bins(mut bins: Vec<(f64, f64)>, min_expected: f64) -> Vec<(f64, f64)> {
    bins.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut pooled: Vec<(f64, f64)> = Vec::new();
    let mut current = (0.0, 0.0);
    for (e, o) in bins {
        current = (current.0 + e, current.1 + o);
        if current.0 >= min_expected {
            pooled.push(current);
            current = (0.0, 0.0);
        }
    }
    if current.0 > 0.0 || current.1 > 0.0 {
        match pooled.last_mut() {
            Some(last) => *last = (last.0 + current.0, last.1 + current.1),
            None => pooled.push(current),
        }
    }
    pooled
}

/// `½ Σ |p_i − q_i|` over `(cpu, samples)` pairs, each normalised to its
/// total; `None` when either total is zero.
pub fn total_variation(pairs: &[(f64, f64)]) -> Option<f64> {
    let cpu: f64 = pairs.iter().map(|p| p.0).sum();
    let samples: f64 = pairs.iter().map(|p| p.1).sum();
    (cpu > 0.0 && samples > 0.0).then(|| {
        pairs
            .iter()
            .map(|(c, s)| (s / samples - c / cpu).abs())
            .sum::<f64>()
            / 2.0
    })
}

/// One trial's attribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrialAttribution {
    /// Total variation distance; `None` without samples or CPU.
    pub tvd: Option<f64>,
    /// `(statistic, bins)` of the pooled chi-square; `None` below two bins.
    pub chi_square: Option<(f64, usize)>,
    /// Weighted samples on threads whose CPU is unknown.
    pub unattributed_samples: f64,
}

/// Attribution of one trial.
pub fn trial_attribution(trial: &TrialRecord, min_expected: f64) -> TrialAttribution {
    let pairs: Vec<(f64, f64)> = trial
        .threads_detail
        .iter()
        .filter_map(|t| t.cpu_ns.map(|c| (c as f64, t.weighted_samples as f64)))
        .collect();
    let unattributed_samples = trial
        .threads_detail
        .iter()
        .filter(|t| t.cpu_ns.is_none())
        .map(|t| t.weighted_samples as f64)
        .sum();
    let tvd = total_variation(&pairs);
    let cpu: f64 = pairs.iter().map(|p| p.0).sum();
    let weighted: f64 = pairs.iter().map(|p| p.1).sum();
    // Back to units of delivered signals: the mean weight of a sample.
    let mean_weight = if trial.samples > 0 {
        (trial.weighted_samples as f64 / trial.samples as f64).max(1.0)
    } else {
        1.0
    };
    let events = weighted / mean_weight;
    let chi_square = (cpu > 0.0 && events > 0.0)
        .then(|| {
            let bins = pool_bins(
                pairs
                    .iter()
                    .map(|(c, s)| (events * c / cpu, s / mean_weight))
                    .collect(),
                min_expected,
            );
            (bins.len() >= 2).then(|| {
                let stat = bins
                    .iter()
                    .filter(|(e, _)| *e > 0.0)
                    .map(|(e, o)| (o - e).powi(2) / e)
                    .sum::<f64>();
                (stat, bins.len())
            })
        })
        .flatten();
    TrialAttribution {
        tvd,
        chi_square,
        unattributed_samples,
    }
}

/// A cell's attribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attribution {
    /// Most threads with a known CPU in one trial.
    pub threads: usize,
    /// Median total variation distance over trials.
    pub tvd: Option<f64>,
    /// Largest total variation distance over trials.
    pub tvd_max: Option<f64>,
    /// The chi-square test summed over trials.
    pub chi_square: Option<ChiSquareTest>,
    /// Weighted samples on threads of unknown CPU, over all trials.
    pub unattributed_samples: f64,
    /// What the test concludes.
    pub verdict: AttributionVerdict,
}

/// Attribution over a cell's trials.
pub fn cell_attribution(trials: &[&TrialRecord], config: &AnalysisConfig) -> Attribution {
    let per_trial: Vec<TrialAttribution> = trials
        .iter()
        .map(|t| trial_attribution(t, config.min_expected_per_bin))
        .collect();
    let tvds: Vec<f64> = per_trial.iter().filter_map(|a| a.tvd).collect();
    let (stat, bins) = per_trial
        .iter()
        .filter_map(|a| a.chi_square)
        .fold((0.0, 0usize), |(s, b), (ts, tb)| (s + ts, b + tb));
    let tested = per_trial.iter().filter(|a| a.chi_square.is_some()).count();
    let chi_square = (tested > 0).then(|| {
        let df = (bins - tested) as f64;
        ChiSquareTest {
            statistic: stat,
            df,
            bins,
            p_value: chi_square_p_value(stat, df),
        }
    });
    let tvd = median(&tvds);
    let verdict = match (&chi_square, tvd) {
        (Some(test), Some(d)) => {
            if test.p_value >= 1.0 - config.confidence {
                AttributionVerdict::Consistent
            } else if d >= config.skew_tvd {
                AttributionVerdict::Skewed
            } else {
                AttributionVerdict::SlightlySkewed
            }
        }
        _ => AttributionVerdict::Untestable,
    };
    Attribution {
        threads: trials
            .iter()
            .map(|t| {
                t.threads_detail
                    .iter()
                    .filter(|d| d.cpu_ns.is_some())
                    .count()
            })
            .max()
            .unwrap_or(0),
        tvd,
        tvd_max: tvds.iter().copied().reduce(f64::max),
        chi_square,
        unattributed_samples: per_trial.iter().map(|a| a.unattributed_samples).sum(),
        verdict,
    }
}

/// One registration class of a cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassShare {
    /// Threads of the class with a known CPU, most in one trial.
    pub threads: usize,
    /// Their CPU seconds over all trials.
    pub cpu_s: f64,
    /// Their weighted samples over all trials.
    pub weighted_samples: f64,
    /// Samples against their own CPU, with interval and verdict; `None`
    /// when the class burned nothing.
    pub estimate: Option<RatioEstimate>,
}

/// Registered against unregistered threads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegistrationSplit {
    /// Threads the sampler knew.
    pub registered: ClassShare,
    /// Threads it did not (`foreign` workers).
    pub unregistered: ClassShare,
    /// Weighted samples on threads of unknown CPU (idle helpers that caught
    /// a process-wide signal: `hybrid`'s over-counting shows up here).
    pub unknown_cpu_samples: f64,
    /// Signals refused by the mode's filter, over all trials.
    pub rejected: u64,
}

/// The registered/unregistered split of a cell. Each class's ratio is its
/// weighted samples against its own threads' CPU, with the model variance of
/// [`crate::model::VarianceParts`] and an allowance of `relative` plus the
/// quantum (thread creation is not in a thread's own clock, so no
/// per-thread term).
pub fn registration_split(trials: &[&TrialRecord], config: &AnalysisConfig) -> RegistrationSplit {
    let class = |registered: bool| {
        let mut points = Vec::new();
        let (mut cpu_ns, mut samples, mut threads) = (0.0, 0.0, 0usize);
        for trial in trials {
            let (reg_cpu, unreg_cpu) = cpu_by_registration(trial);
            let c = if registered { reg_cpu } else { unreg_cpu };
            let w: f64 = trial
                .threads_detail
                .iter()
                .filter(|t| t.cpu_ns.is_some() && t.registered == registered)
                .map(|t| t.weighted_samples as f64)
                .sum();
            let n = trial
                .threads_detail
                .iter()
                .filter(|t| t.cpu_ns.is_some() && t.registered == registered)
                .count();
            let parts = variance_parts(trial);
            points.push(TrialPoint {
                expected: c / trial.period_ns as f64,
                observed: w,
                variance: if registered {
                    parts.registered
                } else {
                    parts.unregistered
                },
            });
            cpu_ns += c;
            samples += w;
            threads = threads.max(n);
        }
        let expected: f64 = points.iter().map(|p| p.expected).sum();
        let allowance = config
            .allowance
            .for_cell(trials.len(), cpu_ns, 0.0, expected);
        ClassShare {
            threads,
            cpu_s: cpu_ns / 1e9,
            weighted_samples: samples,
            estimate: RatioEstimate::from_trials(&points, allowance, cpu_ns / 1e9, config),
        }
    };
    RegistrationSplit {
        registered: class(true),
        unregistered: class(false),
        unknown_cpu_samples: trials
            .iter()
            .flat_map(|t| &t.threads_detail)
            .filter(|t| t.cpu_ns.is_none())
            .map(|t| t.weighted_samples as f64)
            .sum(),
        rejected: trials.iter().map(|t| t.rejected).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_reaches_the_minimum() {
        let bins = vec![
            (0.5, 1.0),
            (100.0, 98.0),
            (2.0, 2.0),
            (3.0, 3.0),
            (0.4, 0.0),
        ];
        let pooled = pool_bins(bins, 5.0);
        // 0.4 + 0.5 + 2 + 3 = 5.9 forms one bin, 100 the other.
        assert_eq!(pooled.len(), 2);
        assert!((pooled[0].0 - 5.9).abs() < 1e-12 && (pooled[0].1 - 6.0).abs() < 1e-12);
        assert!(pooled.iter().all(|(e, _)| *e >= 5.0));
        let total: f64 = pooled.iter().map(|p| p.0).sum();
        assert!((total - 105.9).abs() < 1e-9);
        // A remainder joins the last bin.
        let pooled = pool_bins(vec![(6.0, 6.0), (1.0, 1.0), (6.0, 5.0)], 5.0);
        assert_eq!(pooled.len(), 2);
    }

    #[test]
    fn tvd_by_hand() {
        // CPU 50/50, samples 80/20: distance 0.3.
        let d = total_variation(&[(5.0, 80.0), (5.0, 20.0)]).unwrap();
        assert!((d - 0.3).abs() < 1e-12);
        assert_eq!(total_variation(&[(1.0, 0.0)]), None);
    }
}
