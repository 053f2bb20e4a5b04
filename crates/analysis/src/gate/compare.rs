//! The baseline rule's two-sample test: has a cell's ratio dropped
//! significantly below the baseline's?
//!
//! Each side is summarised the way [`crate::cell`] builds its spread
//! interval: the mean of the per-trial ratios with a *moderated* variance,
//! the trials' own sample variance pooled with the ideal model's
//! (thinning-extended) per-trial variance given `prior_df` degrees of
//! freedom. The drop `d = mean_base − mean_run` is then tested one-sided
//! with Welch's statistic `t = d / sqrt(se_base² + se_run² + 2·τ²)` against
//! a Student's t with Welch–Satterthwaite degrees of freedom.
//!
//! `τ` is the cell's between-run drift: a random effect that moves every
//! trial of a run alike (the machine's load while it ran; a loaded 2-core
//! box delays per-thread timer checks, which merges expiries). No run's
//! trials can show it, so it is measured on repeated runs and given by the
//! policy; each of the two runs carries its own, hence `2·τ²`. It is known,
//! not estimated from these trials, so it adds no degrees-of-freedom term.
//!
//! Why not plain Welch on the ratios: with three trials a side, each
//! variance rests on two degrees of freedom, and three trials that happen
//! to agree to 0.1 % would make a 0.5 % wobble "significant". The model
//! puts a floor under each side's variance that the trials alone cannot
//! talk down, while a side that really scatters (a loaded machine) still
//! widens the test. Why not a rank test: with 3 against 3 trials the
//! smallest one-sided Mann–Whitney p-value is 1/20, so it could never
//! reach a family-wise level over dozens of cells.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use crate::analyze::CellAnalysis;
use crate::stats::mean_and_variance;

/// One cell's trials, summarised for the test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Side {
    /// Trials with something expected.
    pub trials: usize,
    /// Mean per-trial ratio.
    pub mean: f64,
    /// Standard error of `mean`, from the moderated variance.
    pub se: f64,
    /// Degrees of freedom of `se`: `prior_df + trials − 1`.
    pub df: f64,
}

impl Side {
    /// Summarises a cell's trials; `prior_df` as in
    /// [`crate::AnalysisConfig::prior_df`].
    pub fn of(cell: &CellAnalysis, prior_df: f64) -> Option<Side> {
        let trials: Vec<_> = cell.trials.iter().filter(|t| t.expected > 0.0).collect();
        if trials.is_empty() {
            return None;
        }
        let k = trials.len() as f64;
        // The same thinning extension as the cell's intervals: a sampler
        // that keeps a fraction `r̂` of its expiries has binomial noise on
        // top of the ideal sampler's, beyond the allowance.
        let pooled = cell.estimate.pooled_ratio;
        let excess = ((pooled - 1.0).abs() - cell.estimate.allowance.total()).max(0.0);
        let s0_2 = trials
            .iter()
            .map(|t| {
                let v = pooled * pooled * t.variance.total + pooled * excess * t.expected;
                v / (t.expected * t.expected)
            })
            .sum::<f64>()
            / k;
        let ratios: Vec<f64> = trials.iter().map(|t| t.observed / t.expected).collect();
        let (mean, s2) = mean_and_variance(&ratios);
        let df = prior_df + (k - 1.0);
        let moderated = (prior_df * s0_2 + (k - 1.0) * s2) / df;
        Some(Side {
            trials: trials.len(),
            mean,
            se: (moderated / k).sqrt(),
            df,
        })
    }
}

/// The test of one cell against its baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DropTest {
    /// The baseline's cell.
    pub baseline: Side,
    /// This run's cell.
    pub run: Side,
    /// `baseline.mean − run.mean`: positive is a drop.
    pub drop: f64,
    /// The between-run drift `τ` assumed.
    pub drift: f64,
    /// Welch's statistic.
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// One-sided p-value of a drop at least this large if nothing changed.
    pub p: f64,
}

impl DropTest {
    /// Tests whether `run` lies significantly below `baseline`, given the
    /// cell's between-run drift `τ` (ratio units).
    pub fn new(baseline: Side, run: Side, drift: f64) -> DropTest {
        let drop = baseline.mean - run.mean;
        let (vb, vr) = (baseline.se.powi(2), run.se.powi(2));
        let var = vb + vr + 2.0 * drift * drift;
        if var.is_nan() || var <= 0.0 {
            // Both sides noiseless (e.g. a timer that never fires): any
            // drop at all is a change, none is none.
            let p = if drop > 0.0 { 0.0 } else { 1.0 };
            return DropTest {
                baseline,
                run,
                drop,
                drift,
                t: if drop > 0.0 { f64::INFINITY } else { 0.0 },
                df: f64::INFINITY,
                p,
            };
        }
        let t = drop / var.sqrt();
        let mut denom = 0.0;
        if baseline.df > 0.0 {
            denom += vb * vb / baseline.df;
        }
        if run.df > 0.0 {
            denom += vr * vr / run.df;
        }
        let df = if denom > 0.0 {
            var * var / denom
        } else {
            f64::INFINITY
        };
        let p = upper_tail(t, df);
        DropTest {
            baseline,
            run,
            drop,
            drift,
            t,
            df,
            p,
        }
    }

    /// The drop that would have been just significant at `alpha`: the
    /// test's resolution on this cell.
    pub fn smallest_significant_drop(&self, alpha: f64) -> f64 {
        let se = (self.baseline.se.powi(2) + self.run.se.powi(2) + 2.0 * self.drift.powi(2)).sqrt();
        upper_quantile(alpha, self.df) * se
    }
}

/// Beyond this many degrees of freedom the t is taken as the normal: they
/// differ by under 0.1 % in the tails used here, and statrs' incomplete beta
/// needs time that grows with the degrees of freedom.
const NORMAL_DF: f64 = 1e4;

/// `P(T > t)` for a Student's t with `df` degrees of freedom.
fn upper_tail(t: f64, df: f64) -> f64 {
    if df > NORMAL_DF {
        return Normal::standard().sf(t);
    }
    match StudentsT::new(0.0, 1.0, df) {
        Ok(dist) => dist.sf(t),
        Err(_) => f64::NAN,
    }
}

/// `q` with `P(T > q) = alpha`.
fn upper_quantile(alpha: f64, df: f64) -> f64 {
    if df > NORMAL_DF {
        return Normal::standard().inverse_cdf(1.0 - alpha);
    }
    match StudentsT::new(0.0, 1.0, df) {
        Ok(dist) => dist.inverse_cdf(1.0 - alpha),
        Err(_) => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(mean: f64, se: f64) -> Side {
        Side {
            trials: 3,
            mean,
            se,
            df: 6.0,
        }
    }

    #[test]
    fn welch_by_hand() {
        // se² = 0.01² + 0.02² = 5e-4; t = 0.05 / 0.02236 = 2.236;
        // df = (5e-4)² / ((1e-4)²/6 + (4e-4)²/6) = 2.5e-7 / 2.8333e-8 = 8.82.
        let d = DropTest::new(side(1.0, 0.01), side(0.95, 0.02), 0.0);
        assert!((d.t - 2.236_068).abs() < 1e-5, "{}", d.t);
        assert!((d.df - 8.823_529).abs() < 1e-5, "{}", d.df);
        // t(8.82) upper tail at 2.236 is about 0.026.
        assert!(d.p > 0.02 && d.p < 0.035, "{}", d.p);
        // A rise is never a drop.
        let up = DropTest::new(side(0.95, 0.02), side(1.0, 0.01), 0.0);
        assert!(up.p > 0.95);
    }

    #[test]
    fn huge_degrees_of_freedom_are_quick_and_normal() {
        // Nearly noiseless sides and a drift: df in the billions.
        let d = DropTest::new(side(0.5, 1e-7), side(0.45, 1e-7), 0.02);
        assert!(d.df > 1e9, "{}", d.df);
        let z = 0.05 / (2.0f64 * 0.0004).sqrt();
        assert!((d.p - Normal::standard().sf(z)).abs() < 1e-9);
        assert!(d.smallest_significant_drop(1e-5).is_finite());
    }

    #[test]
    fn noiseless_sides() {
        assert_eq!(DropTest::new(side(0.0, 0.0), side(0.0, 0.0), 0.0).p, 1.0);
        assert_eq!(DropTest::new(side(0.1, 0.0), side(0.0, 0.0), 0.0).p, 0.0);
    }

    #[test]
    fn resolution_matches_the_test() {
        for drift in [0.0, 0.02] {
            let d = DropTest::new(side(1.0, 0.01), side(1.0, 0.01), drift);
            let r = d.smallest_significant_drop(0.001);
            let at = DropTest::new(side(1.0, 0.01), side(1.0 - r, 0.01), drift);
            assert!((at.p - 0.001).abs() < 1e-6, "{}", at.p);
        }
    }

    #[test]
    fn drift_is_known_variance() {
        // se² = 2·0.01² + 2·0.02² = 1e-3; t = 0.1 / 0.0316 = 3.162; the
        // drift adds no df term: df = 1e-6 / (2·(1e-4)²/6) = 300.
        let d = DropTest::new(side(1.0, 0.01), side(0.9, 0.01), 0.02);
        assert!((d.t - 3.162_278).abs() < 1e-5, "{}", d.t);
        assert!((d.df - 300.0).abs() < 1e-6, "{}", d.df);
        // A noiseless cell with a drift is tested against the drift alone.
        let n = DropTest::new(side(0.5, 0.0), side(0.4, 0.0), 0.05);
        assert!((n.t - 0.1 / (2.0f64 * 0.0025).sqrt()).abs() < 1e-9);
        assert!(n.p > 0.05, "{}", n.p);
    }
}
