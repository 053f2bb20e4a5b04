//! Attenuation onset: where a mode stops being faithful.
//!
//! `setitimer` keeps up until about period/tick threads run in parallel;
//! every CPU-clock timer is capped at HZ expiries per second. For each mode
//! the cells of the plain parallel workloads (`parallel`, `rayon`) are laid
//! along one axis with everything else fixed: threads at a fixed rate, and
//! rate at a fixed thread count. The onset is the smallest value whose
//! verdict is attenuated or inflated. Inconclusive cells neither start nor
//! stop an onset; they are counted so the report can say "none seen" rather
//! than "none".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use workloads::WorkloadKind;

use crate::analyze::CellAnalysis;
use crate::cell::{CellKey, VerdictKind};

/// The axis an onset is looked for along.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Axis {
    /// Parallel threads, at a fixed rate.
    Threads,
    /// Sampling rate, at a fixed thread count.
    Rate,
}

/// One cell along the axis.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OnsetPoint {
    /// Threads or Hz.
    pub x: u64,
    /// Its verdict.
    pub verdict: VerdictKind,
    /// Its ratio.
    pub ratio: f64,
}

/// Where one mode stops being faithful along one axis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Onset {
    /// The cells' key with the axis field zeroed.
    pub key: CellKey,
    /// Which axis.
    pub axis: Axis,
    /// The cells, by increasing `x`.
    pub points: Vec<OnsetPoint>,
    /// The smallest `x` that is attenuated or inflated.
    pub first_unfaithful: Option<u64>,
    /// The largest faithful `x` below it (or overall, when there is no onset).
    pub last_faithful: Option<u64>,
    /// Inconclusive cells below the onset (or overall).
    pub inconclusive_before: usize,
}

fn counts_for_onset(key: &CellKey) -> bool {
    matches!(key.workload, WorkloadKind::Parallel | WorkloadKind::Rayon)
}

/// The onsets along `axis` among the cells.
pub fn onsets(cells: &[CellAnalysis], axis: Axis) -> Vec<Onset> {
    let mut groups: BTreeMap<CellKey, Vec<OnsetPoint>> = BTreeMap::new();
    for cell in cells.iter().filter(|c| counts_for_onset(&c.key)) {
        let mut key = cell.key;
        let x = match axis {
            Axis::Threads => std::mem::take(&mut key.threads) as u64,
            Axis::Rate => u64::from(std::mem::take(&mut key.hz)),
        };
        groups.entry(key).or_default().push(OnsetPoint {
            x,
            verdict: cell.estimate.verdict.kind(),
            ratio: cell.estimate.ratio,
        });
    }
    groups
        .into_iter()
        .filter(|(_, points)| points.len() >= 2)
        .map(|(key, mut points)| {
            points.sort_by_key(|p| p.x);
            let onset_at = points
                .iter()
                .position(|p| matches!(p.verdict, VerdictKind::Attenuated | VerdictKind::Inflated));
            let before = &points[..onset_at.unwrap_or(points.len())];
            Onset {
                key,
                axis,
                first_unfaithful: onset_at.map(|i| points[i].x),
                last_faithful: before
                    .iter()
                    .rev()
                    .find(|p| p.verdict == VerdictKind::Faithful)
                    .map(|p| p.x),
                inconclusive_before: before
                    .iter()
                    .filter(|p| p.verdict == VerdictKind::Inconclusive)
                    .count(),
                points,
            }
        })
        .collect()
}
