//! Small numerical building blocks: intervals, quantiles (from statrs),
//! medians, the fractional-part variance of the ideal sampler.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal, StudentsT};

/// A closed interval `[lo, hi]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

impl Interval {
    /// The interval between two numbers, in whichever order they come.
    pub fn new(a: f64, b: f64) -> Interval {
        Interval {
            lo: a.min(b),
            hi: a.max(b),
        }
    }

    /// `centre ± half_width`.
    pub fn around(centre: f64, half_width: f64) -> Interval {
        Interval::new(centre - half_width.abs(), centre + half_width.abs())
    }

    /// The smallest interval that holds both.
    pub fn hull(self, other: Interval) -> Interval {
        Interval {
            lo: self.lo.min(other.lo),
            hi: self.hi.max(other.hi),
        }
    }

    /// The interval with both ends raised to at least `floor`.
    pub fn clamp_below(self, floor: f64) -> Interval {
        Interval {
            lo: self.lo.max(floor),
            hi: self.hi.max(floor),
        }
    }

    /// Whether `x` lies inside (ends included).
    pub fn contains(&self, x: f64) -> bool {
        self.lo <= x && x <= self.hi
    }

    /// Half the width.
    pub fn half_width(&self) -> f64 {
        (self.hi - self.lo) / 2.0
    }

    /// The interval of `1 − x` for `x` in this one: a ratio's interval as a
    /// lost fraction's.
    pub fn complement(&self) -> Interval {
        Interval::new(1.0 - self.hi, 1.0 - self.lo)
    }

    /// The interval of `x − 1`: a ratio's interval as an excess's.
    pub fn excess(&self) -> Interval {
        Interval::new(self.lo - 1.0, self.hi - 1.0)
    }
}

/// The standard normal's quantile at `p`.
pub fn normal_quantile(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// `z` such that a standard normal lies within `±z` with probability
/// `confidence` (3.29 at 0.999).
pub fn two_sided_z(confidence: f64) -> f64 {
    normal_quantile(1.0 - (1.0 - confidence) / 2.0)
}

/// `t` such that a Student's t with `df` degrees of freedom lies within `±t`
/// with probability `confidence`.
///
/// # Panics
/// If `df` is not positive (callers guarantee it).
pub fn two_sided_t(confidence: f64, df: f64) -> f64 {
    let t = StudentsT::new(0.0, 1.0, df).expect("degrees of freedom are positive");
    t.inverse_cdf(1.0 - (1.0 - confidence) / 2.0)
}

/// The normal interval `centre ± z·sd` at `confidence`.
pub fn normal_interval(centre: f64, sd: f64, confidence: f64) -> Interval {
    Interval::around(centre, two_sided_z(confidence) * sd)
}

/// Upper tail probability of a chi-square with `df` degrees of freedom.
pub fn chi_square_p_value(statistic: f64, df: f64) -> f64 {
    match ChiSquared::new(df) {
        Ok(dist) => dist.sf(statistic.max(0.0)),
        Err(_) => f64::NAN,
    }
}

/// The variance `f(1−f)` of `floor(x) + Bernoulli(frac(x))`, `f = frac(x)`:
/// what an ideal periodic sampler with a uniformly random phase adds to a
/// clock that ran `x` periods.
pub fn fractional_variance(periods: f64) -> f64 {
    let f = periods - periods.floor();
    f * (1.0 - f)
}

/// The median; `None` for no values.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// Mean and unbiased sample variance (0 for fewer than two values).
pub fn mean_and_variance(values: &[f64]) -> (f64, f64) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, 0.0);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, 0.0);
    }
    let ss: f64 = values.iter().map(|x| (x - mean).powi(2)).sum();
    (mean, ss / (n - 1) as f64)
}

/// Linear interpolation on `ln x`: the `x` between `(x0, y0)` and `(x1, y1)`
/// where the line reaches `y`. Lifetimes span decades, so a crossing is
/// interpolated on their logarithm.
pub fn log_interpolate(x0: f64, y0: f64, x1: f64, y1: f64, y: f64) -> f64 {
    if (y1 - y0).abs() < f64::EPSILON || x0 <= 0.0 || x1 <= 0.0 {
        return x1;
    }
    let t = ((y - y0) / (y1 - y0)).clamp(0.0, 1.0);
    (x0.ln() + t * (x1.ln() - x0.ln())).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractional_variance_by_hand() {
        // Three threads that ran 10.25, 3.5 and 7.9 periods:
        // 0.25·0.75 + 0.5·0.5 + 0.9·0.1 = 0.1875 + 0.25 + 0.09 = 0.5275.
        let v: f64 = [10.25, 3.5, 7.9].into_iter().map(fractional_variance).sum();
        assert!((v - 0.5275).abs() < 1e-12, "{v}");
        assert_eq!(fractional_variance(4.0), 0.0);
    }

    #[test]
    fn quantiles_match_tables() {
        assert!((two_sided_z(0.95) - 1.959_964).abs() < 1e-5);
        assert!((two_sided_z(0.999) - 3.290_527).abs() < 1e-5);
        // t tables: t(0.975, 2) = 4.303, t(0.9995, 10) = 4.587.
        assert!((two_sided_t(0.95, 2.0) - 4.302_653).abs() < 1e-4);
        assert!((two_sided_t(0.999, 10.0) - 4.586_894).abs() < 1e-4);
    }

    #[test]
    fn normal_interval_against_statrs() {
        // A count with mean 200 and variance 0.5275: the interval's ends are
        // the N(200, 0.5275) quantiles at 0.0005 and 0.9995.
        let sd = 0.5275f64.sqrt();
        let iv = normal_interval(200.0, sd, 0.999);
        let n = Normal::new(200.0, sd).unwrap();
        assert!((iv.lo - n.inverse_cdf(0.0005)).abs() < 1e-9);
        assert!((iv.hi - n.inverse_cdf(0.9995)).abs() < 1e-9);
        assert!((n.cdf(iv.hi) - n.cdf(iv.lo) - 0.999).abs() < 1e-9);
    }

    #[test]
    fn chi_square_tail() {
        // chi2(0.95, 3) = 7.815.
        assert!((chi_square_p_value(7.814_728, 3.0) - 0.05).abs() < 1e-6);
    }

    #[test]
    fn medians_and_means() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        let (m, v) = mean_and_variance(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m, 2.5);
        assert!((v - 5.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn log_interpolation() {
        // Halfway in y between 1 ms and 100 ms is 10 ms on a log axis.
        let x = log_interpolate(1.0, 0.9, 100.0, 1.0, 0.95);
        assert!((x - 10.0).abs() < 1e-9, "{x}");
    }

    #[test]
    fn intervals() {
        let a = Interval::new(0.3, 0.2);
        assert_eq!(a, Interval { lo: 0.2, hi: 0.3 });
        let h = a.hull(Interval::around(0.35, 0.1));
        assert!((h.lo - 0.2).abs() < 1e-12 && (h.hi - 0.45).abs() < 1e-12);
        let lost = a.complement();
        assert!((lost.lo - 0.7).abs() < 1e-12 && (lost.hi - 0.8).abs() < 1e-12);
    }
}
