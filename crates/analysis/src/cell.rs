//! Cells, their ratio estimate, and the verdict.
//!
//! A **cell** is every trial of one (mode, workload, threads, rate, workload
//! parameters): the repetitions of one question. Over its `k` measured
//! trials, with expected counts `E_i`, observed weighted counts `W_i`, model
//! variances `V_i` ([`crate::model`]) and ratios `r_i = W_i / E_i`:
//!
//! * **ratio**: the median of the `r_i` (robust to one odd trial); the
//!   pooled ratio `r̂ = ΣW / ΣE` is reported beside it.
//! * **model interval**: `r̂ ± z·sqrt(Σ V'_i) / ΣE`, `z` the two-sided normal
//!   quantile at the configured confidence. `V'_i = r̂²·V_i + r̂·x·E_i` extends
//!   the ideal model to a sampler that keeps each expiry with probability
//!   about `r̂`: binomial thinning, where `x = max(0, |1 − r̂| − a)` is the
//!   part of the deviation beyond the allowance `a` (a loss inside the
//!   allowance is uncovered CPU, which is deterministic, not thinning).
//!   Without this term a systematic loss like `setitimer`'s would get the
//!   ideal sampler's sub-sample interval.
//! * **spread interval**: the trial-to-trial spread, as a *moderated* t
//!   interval (Smyth 2004): the per-trial ratios' sample variance `s²`
//!   (`k − 1` degrees of freedom) is pooled with the model's per-trial
//!   variance `s₀² = mean(V'_i / E_i²)` given `d₀` prior degrees of freedom,
//!   `s̃² = (d₀·s₀² + (k−1)·s²) / (d₀ + k − 1)`, and the interval is
//!   `mean(r_i) ± t(d₀ + k − 1)·s̃/√k`. A plain t interval on 3 trials
//!   would use `t(2) = 31.6` at 99.9 %, ten times `z`, and leave even a
//!   perfect sampler inconclusive; the model alone would ignore real excess
//!   spread. With `d₀ = 4` (the
//!   default) and `k = 3`, a cell whose real spread dwarfs the model's still
//!   gets `t(6)·sqrt(2/6) = 3.44` standard errors of its own spread, about
//!   the nominal `z = 3.29` (its real coverage is then about 92 %, since the
//!   spread itself is estimated from 3 trials; 99 % from 10 trials). When
//!   the model is right the interval is wider than it needs to be.
//! * **interval**: the hull of the two (the wider on each side).
//!
//! # Decision rule
//!
//! With the interval `[lo, hi]`, the cell's allowance `a` ([`CellAllowance`],
//! from [`crate::config::Allowance`] over the cell's total CPU, spawned
//! threads and expected samples) and the resolution `δ` (default 0.05):
//!
//! 1. `hi < 1 − a`: **attenuated**. The lost fraction is `1 − ratio`, its
//!    interval `[1 − hi, 1 − lo]`, which excludes 0 (indeed `a`) by
//!    construction.
//! 2. `lo > 1 + a`: **inflated**, with the excess `ratio − 1` and `[lo − 1, hi − 1]`.
//! 3. `a ≤ δ` and `1 − δ ≤ lo` and `hi ≤ 1 + δ`: **faithful**: the data are
//!    consistent with the ideal sampler up to the allowance, and rule out
//!    any deviation larger than `δ`.
//! 4. Otherwise **inconclusive**: the interval reaches into the allowance
//!    band but also beyond `δ`, or the allowance itself is wider than `δ`
//!    (a trial of a dozen samples, where one sample is 8 %). The verdict says
//!    how many more CPU seconds, over all trials (run as longer trials),
//!    would let an interval of the same centre reach one of the three
//!    decisions, assuming its half-width shrinks as `1/√CPU` (true for
//!    thinning and for the spread; the ideal model's shrinks as `1/CPU`, so
//!    the figure errs high) and the quantum's part of `a` as `1/CPU`. No figure is given when no amount
//!    would do: the centre sits on the band's edge, or the part of `a` that
//!    does not shrink (relative plus per-thread) already exceeds `δ`.

use std::cmp::Ordering;
use std::fmt;

use harness::mode::Mode;
use harness::record::TrialRecord;
use serde::{Deserialize, Serialize};
use workloads::{WorkloadKind, WorkloadParams};

use crate::config::AnalysisConfig;
use crate::stats::{mean_and_variance, median, two_sided_t, two_sided_z, Interval};

/// What identifies a cell: every trial with the same key is a repetition.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct CellKey {
    /// The mode, options included.
    pub mode: Mode,
    /// The workload.
    pub workload: WorkloadKind,
    /// Threads alive at once.
    pub threads: usize,
    /// Requested rate, Hz.
    pub hz: u32,
    /// The workload's parameters (`lifetime_ms` for short-lived).
    #[serde(flatten)]
    pub params: WorkloadParams,
}

fn cmp_param(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => x.total_cmp(&y),
    }
}

impl Ord for CellKey {
    fn cmp(&self, other: &Self) -> Ordering {
        let params = self
            .params
            .named()
            .into_iter()
            .zip(other.params.named())
            .fold(Ordering::Equal, |acc, ((_, a), (_, b))| {
                acc.then(cmp_param(a, b))
            });
        self.mode
            .cmp(&other.mode)
            .then(self.workload.cmp(&other.workload))
            .then(params)
            .then(self.hz.cmp(&other.hz))
            .then(self.threads.cmp(&other.threads))
    }
}

impl PartialOrd for CellKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for CellKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for CellKey {}

impl CellKey {
    /// The cell a trial belongs to.
    pub fn of(trial: &TrialRecord) -> CellKey {
        CellKey {
            mode: trial.mode,
            workload: trial.workload,
            threads: trial.threads,
            hz: trial.hz,
            params: trial.params,
        }
    }

    /// The workload parameters that are set, as `name=value` pairs joined by
    /// commas; empty when none are.
    pub fn params_label(&self) -> String {
        self.params
            .named()
            .into_iter()
            .filter_map(|(name, v)| v.map(|v| format!("{name}={v}")))
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl fmt::Display for CellKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} threads={} hz={}",
            self.mode, self.workload, self.threads, self.hz
        )?;
        let params = self.params_label();
        if !params.is_empty() {
            write!(f, " {params}")?;
        }
        Ok(())
    }
}

/// The four verdicts, without their numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictKind {
    /// Within the model and allowance, and precise enough to rule out a `resolution` deviation.
    Faithful,
    /// Significantly below.
    Attenuated,
    /// Significantly above.
    Inflated,
    /// Not enough samples to tell.
    Inconclusive,
}

impl fmt::Display for VerdictKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VerdictKind::Faithful => "faithful",
            VerdictKind::Attenuated => "attenuated",
            VerdictKind::Inflated => "inflated",
            VerdictKind::Inconclusive => "inconclusive",
        })
    }
}

/// What a cell's trials say about the mode (the rule is in the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// The profile's total is right, to within the allowance and `resolution`.
    Faithful,
    /// The profile misses CPU.
    Attenuated {
        /// `1 − ratio`.
        lost: f64,
        /// Its interval; excludes 0.
        lost_interval: Interval,
    },
    /// The profile shows more CPU than was burned.
    Inflated {
        /// `ratio − 1`.
        excess: f64,
        /// Its interval; excludes 0.
        excess_interval: Interval,
    },
    /// Too few samples to decide.
    Inconclusive {
        /// More CPU seconds, over all trials of the cell, that would decide
        /// it; `None` when no amount would (the allowance is as wide as the
        /// resolution and the estimate sits on its edge).
        more_cpu_s: Option<f64>,
    },
}

impl Verdict {
    /// The verdict without its numbers.
    pub fn kind(&self) -> VerdictKind {
        match self {
            Verdict::Faithful => VerdictKind::Faithful,
            Verdict::Attenuated { .. } => VerdictKind::Attenuated,
            Verdict::Inflated { .. } => VerdictKind::Inflated,
            Verdict::Inconclusive { .. } => VerdictKind::Inconclusive,
        }
    }

    /// Applies the decision rule of the module docs.
    pub fn decide(
        ratio: f64,
        interval: Interval,
        allowance: CellAllowance,
        cpu_s: f64,
        config: &AnalysisConfig,
    ) -> Verdict {
        let a = allowance.total();
        if interval.hi < 1.0 - a {
            return Verdict::Attenuated {
                lost: 1.0 - ratio,
                lost_interval: interval.complement(),
            };
        }
        if interval.lo > 1.0 + a {
            return Verdict::Inflated {
                excess: ratio - 1.0,
                excess_interval: interval.excess(),
            };
        }
        if decides(interval, a, config.resolution) {
            return Verdict::Faithful;
        }
        Verdict::Inconclusive {
            more_cpu_s: more_cpu_s(interval, allowance, cpu_s, config.resolution),
        }
    }
}

/// Whether an interval that reaches into the allowance band is narrow enough
/// to call faithful.
fn decides(interval: Interval, a: f64, resolution: f64) -> bool {
    a <= resolution && interval.lo >= 1.0 - resolution && interval.hi <= 1.0 + resolution
}

/// The extra CPU seconds after which an interval of the same centre, its
/// half-width shrinking as `1/√CPU` and the quantum's share of the
/// allowance as `1/CPU`, would reach one of the three decisions. `None` when
/// no amount would (up to a million times the CPU so far).
fn more_cpu_s(
    interval: Interval,
    allowance: CellAllowance,
    cpu_s: f64,
    resolution: f64,
) -> Option<f64> {
    let centre = (interval.lo + interval.hi) / 2.0;
    let h = interval.half_width();
    let decided_at = |scale: f64| {
        let h = h / scale.sqrt();
        let a = allowance.fixed + allowance.quantum / scale;
        let iv = Interval::around(centre, h);
        iv.hi < 1.0 - a || iv.lo > 1.0 + a || decides(iv, a, resolution)
    };
    const MAX_SCALE: f64 = 1e6;
    let mut hi = 1.0;
    while !decided_at(hi) {
        hi *= 2.0;
        if hi > MAX_SCALE {
            return None;
        }
    }
    // Bisect between a scale that does not decide and one that does.
    let mut lo = hi / 2.0;
    for _ in 0..40 {
        let mid = (lo + hi) / 2.0;
        if decided_at(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(cpu_s * (hi - 1.0).max(0.0))
}

/// A cell's allowance, split by how it scales with more CPU.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CellAllowance {
    /// `relative + per_thread_ns·n/C`: does not shrink with more of the same
    /// trials (a short-lived cell's thread count grows with its CPU).
    pub fixed: f64,
    /// `quantum_samples · k / E`: shrinks as `1/CPU` with longer trials.
    pub quantum: f64,
}

impl CellAllowance {
    /// The allowance `a`, ratio units.
    pub fn total(&self) -> f64 {
        self.fixed + self.quantum
    }
}

/// What one trial contributes to a ratio estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrialPoint {
    /// Expected samples.
    pub expected: f64,
    /// Observed (weighted) samples.
    pub observed: f64,
    /// The ideal model's variance of `observed`.
    pub variance: f64,
}

/// A ratio over repeated trials, its intervals and verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RatioEstimate {
    /// Trials it pools.
    pub trials: usize,
    /// CPU seconds the trials burned, in all.
    pub cpu_s: f64,
    /// `ΣE`.
    pub expected: f64,
    /// `ΣW`.
    pub observed: f64,
    /// The median per-trial ratio: the number the report shows.
    pub ratio: f64,
    /// `ΣW / ΣE`.
    pub pooled_ratio: f64,
    /// Every trial's ratio, in trial order.
    pub trial_ratios: Vec<f64>,
    /// The model's interval (thinning-extended), at the configured confidence.
    pub model_interval: Interval,
    /// The moderated-t interval of the trial-to-trial spread.
    pub spread_interval: Interval,
    /// The hull of the two: what the verdict uses.
    pub interval: Interval,
    /// The allowance, ratio units.
    pub allowance: CellAllowance,
    /// The verdict.
    pub verdict: Verdict,
}

impl RatioEstimate {
    /// Estimates a ratio from trials (see the module docs); `None` when there
    /// is nothing to estimate (no trials, or nothing expected).
    pub fn from_trials(
        points: &[TrialPoint],
        allowance: CellAllowance,
        cpu_s: f64,
        config: &AnalysisConfig,
    ) -> Option<RatioEstimate> {
        let points: Vec<TrialPoint> = points
            .iter()
            .copied()
            .filter(|p| p.expected > 0.0)
            .collect();
        if points.is_empty() {
            return None;
        }
        let k = points.len() as f64;
        let expected: f64 = points.iter().map(|p| p.expected).sum();
        let observed: f64 = points.iter().map(|p| p.observed).sum();
        let pooled = observed / expected;

        let excess = ((pooled - 1.0).abs() - allowance.total()).max(0.0);
        let thinned = |p: &TrialPoint| pooled * pooled * p.variance + pooled * excess * p.expected;
        let model_var: f64 = points.iter().map(thinned).sum();
        let z = two_sided_z(config.confidence);
        let model_interval = Interval::around(pooled, z * model_var.sqrt() / expected);

        let ratios: Vec<f64> = points.iter().map(|p| p.observed / p.expected).collect();
        let (mean, s2) = mean_and_variance(&ratios);
        let s0_2 = points
            .iter()
            .map(|p| thinned(p) / (p.expected * p.expected))
            .sum::<f64>()
            / k;
        let df = config.prior_df + (k - 1.0);
        let moderated = (config.prior_df * s0_2 + (k - 1.0) * s2) / df;
        let t = two_sided_t(config.confidence, df);
        let spread_interval = Interval::around(mean, t * (moderated / k).sqrt());

        // A ratio cannot be negative; a symmetric interval around a small
        // one would say it could (and a lost fraction above 100 %).
        let model_interval = model_interval.clamp_below(0.0);
        let spread_interval = spread_interval.clamp_below(0.0);
        let interval = model_interval.hull(spread_interval);
        let ratio = median(&ratios).unwrap_or(pooled);
        let verdict = Verdict::decide(ratio, interval, allowance, cpu_s, config);
        Some(RatioEstimate {
            trials: points.len(),
            cpu_s,
            expected,
            observed,
            ratio,
            pooled_ratio: pooled,
            trial_ratios: ratios,
            model_interval,
            spread_interval,
            interval,
            allowance,
            verdict,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AnalysisConfig {
        AnalysisConfig::default()
    }

    #[test]
    fn decision_rule_cases() {
        let c = config();
        let a = CellAllowance {
            fixed: 0.02,
            quantum: 0.0,
        };
        // Entirely below the band.
        let v = Verdict::decide(0.4, Interval::new(0.35, 0.45), a, 6.0, &c);
        match v {
            Verdict::Attenuated {
                lost,
                lost_interval,
            } => {
                assert!((lost - 0.6).abs() < 1e-12);
                assert!((lost_interval.lo - 0.55).abs() < 1e-12);
                assert!((lost_interval.hi - 0.65).abs() < 1e-12);
            }
            other => panic!("{other:?}"),
        }
        // Below 1 but inside the allowance band: not attenuated.
        assert_eq!(
            Verdict::decide(0.985, Interval::new(0.975, 0.99), a, 6.0, &c),
            Verdict::Faithful
        );
        assert_eq!(
            Verdict::decide(1.2, Interval::new(1.1, 1.3), a, 6.0, &c).kind(),
            VerdictKind::Inflated
        );
        // Too wide: inconclusive, and more CPU is asked for.
        match Verdict::decide(1.0, Interval::new(0.9, 1.1), a, 6.0, &c) {
            Verdict::Inconclusive {
                more_cpu_s: Some(more),
            } => {
                // h = 0.1 must halve to fit ±0.05: four times the CPU, 18 s more.
                assert!((more - 18.0).abs() < 1e-6, "{more}");
            }
            other => panic!("{other:?}"),
        }
        // A dozen samples: the quantum alone is 8 %, wider than δ, so even a
        // perfect interval is not faithful yet, and more CPU is asked for.
        let coarse = CellAllowance {
            fixed: 0.01,
            quantum: 1.0 / 12.0,
        };
        match Verdict::decide(1.0, Interval::new(1.0, 1.0), coarse, 0.12, &c) {
            Verdict::Inconclusive {
                more_cpu_s: Some(more),
            } => {
                // (0.01 + q/s ≤ 0.05) ⇔ s ≥ 2.083: 0.13 s more.
                assert!(
                    (more - 0.12 * (1.0 / 12.0 / 0.04 - 1.0)).abs() < 1e-6,
                    "{more}"
                );
            }
            other => panic!("{other:?}"),
        }
        // The fixed allowance alone beyond δ: no amount of CPU helps.
        let hopeless = CellAllowance {
            fixed: 0.3,
            quantum: 0.0,
        };
        assert_eq!(
            Verdict::decide(1.0, Interval::new(0.99, 1.01), hopeless, 1.0, &c),
            Verdict::Inconclusive { more_cpu_s: None }
        );
    }

    #[test]
    fn ideal_trials_are_faithful() {
        let points = [
            TrialPoint {
                expected: 200.3,
                observed: 200.0,
                variance: 0.6,
            },
            TrialPoint {
                expected: 199.8,
                observed: 200.0,
                variance: 0.5,
            },
            TrialPoint {
                expected: 200.1,
                observed: 201.0,
                variance: 0.4,
            },
        ];
        let a = CellAllowance {
            fixed: 0.01,
            quantum: 0.0,
        };
        let e = RatioEstimate::from_trials(&points, a, 6.0, &config()).unwrap();
        assert_eq!(e.verdict, Verdict::Faithful);
        assert!(e.interval.contains(1.0));
        assert_eq!(e.trials, 3);
    }

    #[test]
    fn systematic_loss_gets_a_realistic_interval() {
        // A sampler that keeps 40 % of 2000 expected samples: the thinned
        // model's sd is sqrt(0.4·0.59·2000)/2000 ≈ 1.1 %, not the ideal
        // sampler's sqrt(0.25)/2000.
        let points: Vec<TrialPoint> = [790.0, 805.0, 800.0]
            .into_iter()
            .map(|w| TrialPoint {
                expected: 2000.0,
                observed: w,
                variance: 0.25,
            })
            .collect();
        let a = CellAllowance {
            fixed: 0.01,
            quantum: 0.0,
        };
        let e = RatioEstimate::from_trials(&points, a, 6.0, &config()).unwrap();
        assert!(
            e.model_interval.half_width() > 0.015,
            "{:?}",
            e.model_interval
        );
        match e.verdict {
            Verdict::Attenuated { lost_interval, .. } => {
                assert!(lost_interval.lo > 0.5 && lost_interval.hi < 0.7)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keys_order_and_compare() {
        let mut a = CellKey {
            mode: "thread-timer".parse().unwrap(),
            workload: WorkloadKind::ShortLived,
            threads: 2,
            hz: 100,
            params: WorkloadParams {
                lifetime_ms: Some(3.0),
                ..WorkloadParams::default()
            },
        };
        let mut b = a;
        b.params.lifetime_ms = Some(1.0);
        assert!(b < a);
        assert_ne!(a, b);
        a.params.lifetime_ms = Some(1.0);
        assert_eq!(a, b);
        assert_eq!(a.params_label(), "lifetime_ms=1");
        assert_eq!(
            a.to_string(),
            "thread-timer short-lived threads=2 hz=100 lifetime_ms=1"
        );
    }
}
