//! Short-lived bias: the ratio as a function of thread lifetime.
//!
//! A per-thread timer dies with its thread, and CPU timers are only checked
//! at ticks, so a thread that exits before a tick delivers its due expiry
//! takes the sample with it. The `short-lived` workload sweeps the lifetime;
//! each (mode, rate, threads) gets a curve of cells, and the lifetime from
//! which the mode reaches a target ratio (0.95 by default).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analyze::CellAnalysis;
use crate::cell::{CellKey, RatioEstimate};
use crate::stats::log_interpolate;

/// Where a curve reaches the target ratio.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reached", rename_all = "kebab-case")]
pub enum Crossing {
    /// Between two measured lifetimes, interpolated on log-lifetime.
    At {
        /// The interpolated lifetime, ms.
        lifetime_ms: f64,
    },
    /// Already at the smallest lifetime measured: the crossing is there or below.
    AtOrBelowSmallest {
        /// The smallest lifetime measured, ms.
        lifetime_ms: f64,
    },
    /// Not even at the largest lifetime measured.
    NotReached {
        /// The largest lifetime measured, ms.
        largest_ms: f64,
    },
}

/// Finds where `(lifetime, ratio)` points reach `target`, as the smallest
/// lifetime from which *every* larger measured lifetime is at or above it:
/// a noisy dip at a long lifetime pushes the crossing past it rather than
/// being ignored. Between the last point below and the next one the
/// lifetime is interpolated linearly in `ln(lifetime)`. `None` for no points.
pub fn crossing(points: &[(f64, f64)], target: f64) -> Option<Crossing> {
    let mut points: Vec<(f64, f64)> = points.to_vec();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (first, last) = (*points.first()?, *points.last()?);
    match points.iter().rposition(|p| p.1 < target) {
        None => Some(Crossing::AtOrBelowSmallest {
            lifetime_ms: first.0,
        }),
        Some(i) if i + 1 == points.len() => Some(Crossing::NotReached { largest_ms: last.0 }),
        Some(i) => {
            let (below, above) = (points[i], points[i + 1]);
            Some(Crossing::At {
                lifetime_ms: log_interpolate(below.0, below.1, above.0, above.1, target),
            })
        }
    }
}

/// One measured lifetime of a curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LifetimePoint {
    /// The threads' CPU lifetime, ms.
    pub lifetime_ms: f64,
    /// The cell's estimate.
    pub estimate: RatioEstimate,
}

/// The ratio against lifetime for one (mode, workload, threads, rate).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LifetimeCurve {
    /// The cells' key with `lifetime_ms` cleared.
    pub key: CellKey,
    /// By increasing lifetime.
    pub points: Vec<LifetimePoint>,
    /// The ratio asked for.
    pub target: f64,
    /// Where the (median) ratio reaches it.
    pub crossing: Crossing,
}

/// Every lifetime curve among the cells.
pub fn lifetime_curves(cells: &[CellAnalysis], target: f64) -> Vec<LifetimeCurve> {
    let mut groups: BTreeMap<CellKey, Vec<LifetimePoint>> = BTreeMap::new();
    for cell in cells {
        let Some(lifetime_ms) = cell.key.params.lifetime_ms else {
            continue;
        };
        let mut key = cell.key;
        key.params.lifetime_ms = None;
        groups.entry(key).or_default().push(LifetimePoint {
            lifetime_ms,
            estimate: cell.estimate.clone(),
        });
    }
    groups
        .into_iter()
        .filter_map(|(key, mut points)| {
            points.sort_by(|a, b| a.lifetime_ms.total_cmp(&b.lifetime_ms));
            let xy: Vec<(f64, f64)> = points
                .iter()
                .map(|p| (p.lifetime_ms, p.estimate.ratio))
                .collect();
            Some(LifetimeCurve {
                key,
                crossing: crossing(&xy, target)?,
                points,
                target,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossings() {
        let curve = [
            (1.0, 0.24),
            (3.0, 0.47),
            (10.0, 0.79),
            (30.0, 0.94),
            (100.0, 0.99),
        ];
        match crossing(&curve, 0.95).unwrap() {
            Crossing::At { lifetime_ms } => {
                // 0.94 → 0.99 between 30 and 100 ms: a fifth of the way in log.
                let want = (30f64.ln() + 0.2 * (100f64.ln() - 30f64.ln())).exp();
                assert!((lifetime_ms - want).abs() < 1e-9, "{lifetime_ms}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            crossing(&[(1.0, 0.97), (3.0, 0.99)], 0.95),
            Some(Crossing::AtOrBelowSmallest { lifetime_ms: 1.0 })
        );
        assert_eq!(
            crossing(&[(1.0, 0.2), (30.0, 0.9)], 0.95),
            Some(Crossing::NotReached { largest_ms: 30.0 })
        );
        // A dip at 10 ms after reaching at 3 ms moves the crossing past it.
        match crossing(&[(1.0, 0.5), (3.0, 0.96), (10.0, 0.93), (30.0, 0.97)], 0.95).unwrap() {
            Crossing::At { lifetime_ms } => assert!(lifetime_ms > 10.0 && lifetime_ms < 30.0),
            other => panic!("{other:?}"),
        }
        assert_eq!(crossing(&[], 0.95), None);
    }
}
