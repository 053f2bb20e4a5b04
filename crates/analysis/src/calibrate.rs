//! How the default [`Allowance`] is measured, as code that measures it again.
//!
//! The allowance has three parts ([`Allowance`]); each is read off real runs:
//!
//! 1. **per_thread_ns** and the CPU-proportional part of **relative** come
//!    from the *uncovered CPU* of every measured trial: `getrusage`'s total
//!    minus the CPU of every thread with a known clock. A least-squares fit
//!    `gap = α·C + β·threads_spawned + γ` gives `β`, the CPU per spawned
//!    thread no thread clock contains, and `α`, the share of the CPU outside
//!    them ([`GapFit`]). When every trial burned the same CPU (the usual
//!    `--cpu-seconds` run) `α` cannot be told from `γ`; it is taken as 0
//!    and `β`, `γ` are fitted through the median gap of each thread count.
//! 2. **quantum_samples** is one sample per trial: the count is an integer,
//!    and a process-wide timer's last due expiry in a trial is detected at
//!    the tick after the burning thread stopped, so it is lost (measured:
//!    `setitimer` at 100 Hz on 1 thread gets 199 of 200.03 expected, every
//!    trial).
//! 3. **relative** must then cover the *reference cells*, where the kernel
//!    gives an honest sampler nothing to lose: `parallel`/`rayon`, periods of
//!    at least two ticks, no more threads than CPUs, and for process-wide
//!    timers no more than `period/tick` threads; `thread-timer` with jitter,
//!    `setitimer` and `process-timer`. For each, the residual
//!    `|1 − median ratio| − quantum − per-thread part` is what only a
//!    relative term can explain ([`ReferenceResidual`]). The median, because
//!    a single odd trial is the spread interval's business, not a bias.
//!
//! [`fit_allowance`] suggests `relative = max(2·α, 2·largest residual,
//! 0.5 %)`, rounded up to 0.1 %, and for `per_thread_ns` what it takes to
//! cover the uncovered CPU of every trial that spawned at least ten threads
//! once `relative·C` is taken off (those are the trials where the
//! per-thread term, not `relative`, must do the work), rounded up to a
//! microsecond. Only runs without such trials fall back to `1.5·β`: the
//! fitted slope is fragile (the per-trial constant and a few thread counts
//! trade off against each other), the covering value is not.
//!
//! # The measurement behind the defaults
//!
//! Two runs on the 2-core HZ=250 machine (kernel 6.18, AMD EPYC), both
//! committed under `tests/fixtures/`:
//!
//! * `real_2core_parallel.json`: `profbench run --modes
//!   setitimer,thread-timer,hybrid --workloads parallel,rayon --threads
//!   1,2,4 --hz 100,1000 --cpu-seconds 2 --trials 3` (108 trials);
//! * `real_2core_quick.json`: `profbench run --matrix quick` (102 trials;
//!   the committed copy leaves out the 1 ms short-lived cells, 1000
//!   threads a trial, and two of the four 10 ms ones).
//!
//! On both full runs together the fit gave `β = 21.2 µs` per spawned thread
//! and `γ = 0.75 ms` per trial (on the committed copies, without the 1 ms
//! trials, the slope comes out at 51 µs: the fragility above); the
//! short-lived trials' uncovered CPU was at most 3.1 % of a trial's CPU
//! (1 ms threads) and needed 34.6 µs per thread to be covered (a 10 ms
//! trial: 8.6 ms uncovered over 100 threads), on the full runs and on the
//! committed copies alike. Every
//! reference cell's median ratio was within 0.07 % of 1 once one sample per
//! trial is allowed. Hence the defaults: `relative` 0.5 % (the floor),
//! `per_thread_ns` 35 µs, `quantum_samples` 1. `cargo run -p analysis
//! --example calibrate -- RUN.json...` prints the fit; the fixture test
//! `the_default_allowance_covers_the_real_runs` checks that the defaults
//! still cover what the committed runs suggest.

use harness::mode::Mechanism;
use harness::record::RunRecord;
use serde::Serialize;
use workloads::WorkloadKind;

use crate::cell::CellKey;
use crate::config::Allowance;
use crate::load::partition_trials;
use crate::stats::{mean_and_variance, median};

/// The floor of the suggested relative allowance: one run on one machine
/// is not enough to go tighter (a judgement, not a measurement).
pub const MIN_RELATIVE: f64 = 0.005;

/// Trials with at least this many spawned threads must have their
/// uncovered CPU covered by the per-thread term.
pub const MANY_THREADS: usize = 10;

/// The uncovered CPU, fitted as `gap = α·C + β·n + γ`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GapFit {
    /// Trials fitted.
    pub trials: usize,
    /// `α`: uncovered CPU per CPU.
    pub relative: f64,
    /// `β`: uncovered CPU per spawned thread, ns.
    pub per_thread_ns: f64,
    /// `γ`: uncovered CPU per trial, ns.
    pub per_trial_ns: f64,
    /// The largest uncovered share of one trial's CPU.
    pub max_share: f64,
    /// The per-thread CPU that covers every trial of at least
    /// [`MANY_THREADS`] threads, after the suggested relative term, ns.
    pub covering_per_thread_ns: f64,
}

/// What a reference cell leaves for the relative allowance to explain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReferenceResidual {
    /// The cell.
    pub key: CellKey,
    /// Its trials.
    pub trials: usize,
    /// The median trial's ratio.
    pub median_ratio: f64,
    /// `ΣW / ΣE`.
    pub pooled_ratio: f64,
    /// `|1 − median| − quantum part − per-thread part`.
    pub residual: f64,
}

/// The measurement and the allowance it suggests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllowanceFit {
    /// The uncovered-CPU fit.
    pub gap: GapFit,
    /// Every reference cell.
    pub references: Vec<ReferenceResidual>,
    /// The allowance the measurement supports.
    pub suggested: Allowance,
}

/// Solves the normal equations of a least-squares fit `y ≈ X·b` (three
/// columns); `None` when they are singular.
fn least_squares(rows: &[([f64; 3], f64)]) -> Option<[f64; 3]> {
    let mut a = [[0.0f64; 4]; 3];
    for (x, y) in rows {
        for i in 0..3 {
            for j in 0..3 {
                a[i][j] += x[i] * x[j];
            }
            a[i][3] += x[i] * y;
        }
    }
    // Gauss–Jordan with partial pivoting on the 3×4 augmented matrix. A
    // pivot that elimination shrank to rounding noise relative to its
    // column's own sum of squares means a column is a combination of the
    // others: singular.
    let scale: Vec<f64> = (0..3).map(|i| a[i][i].abs()).collect();
    for col in 0..3 {
        let pivot = (col..3).max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))?;
        if a[pivot][col].abs() <= 1e-10 * scale[col] {
            return None;
        }
        a.swap(col, pivot);
        let pivot_row = a[col];
        for (_, row) in a.iter_mut().enumerate().filter(|(i, _)| *i != col) {
            let f = row[col] / pivot_row[col];
            for (x, p) in row.iter_mut().zip(pivot_row).skip(col) {
                *x -= f * p;
            }
        }
    }
    Some([a[0][3] / a[0][0], a[1][3] / a[1][1], a[2][3] / a[2][2]])
}

/// [`least_squares`] on the first two columns only.
fn least_squares_2(rows: &[([f64; 3], f64)]) -> Option<[f64; 3]> {
    let (mut a, mut b, mut c, mut d, mut e) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (x, y) in rows {
        a += x[0] * x[0];
        b += x[0] * x[1];
        c += x[1] * x[1];
        d += x[0] * y;
        e += x[1] * y;
    }
    let det = a * c - b * b;
    (det.abs() > 1e-9 * (a * c).abs().max(1e-300))
        .then(|| [(d * c - b * e) / det, (a * e - b * d) / det, 0.0])
}

fn round_up(x: f64, step: f64) -> f64 {
    (x / step).ceil() * step
}

/// Fits the allowance to runs (see the module docs); `None` without a
/// usable trial, or when the thread counts do not vary enough to separate
/// the per-thread term (the fit then has nothing to say).
pub fn fit_allowance(runs: &[&RunRecord], quantum_samples: f64) -> Option<AllowanceFit> {
    let mut rows = Vec::new();
    let mut max_share: f64 = 0.0;
    for run in runs {
        for t in partition_trials(run).0 {
            let known: f64 = t
                .threads_detail
                .iter()
                .filter_map(|d| d.cpu_ns)
                .map(|c| c as f64)
                .sum();
            let gap = t.cpu_ns as f64 - known;
            max_share = max_share.max(gap / t.cpu_ns as f64);
            rows.push(([t.cpu_ns as f64, t.threads_spawned as f64, 1.0], gap));
        }
    }
    // Runs sized at one CPU budget make `C` and the intercept collinear;
    // then the CPU-proportional term is not identifiable and is left out,
    // and β and γ are fitted through the median gap of each thread count:
    // a trial whose gap caught a preemption is an outlier, not a trend.
    let cpus: Vec<f64> = rows.iter().map(|r| r.0[0]).collect();
    let (mean_cpu, var_cpu) = mean_and_variance(&cpus);
    let [alpha, beta, gamma] = if var_cpu.sqrt() > 0.1 * mean_cpu {
        least_squares(&rows)?
    } else {
        let mut by_threads: std::collections::BTreeMap<u64, Vec<f64>> = Default::default();
        for ([_, n, _], y) in &rows {
            by_threads.entry(*n as u64).or_default().push(*y);
        }
        let medians: Vec<([f64; 3], f64)> = by_threads
            .iter()
            .flat_map(|(n, gaps)| {
                // Each group weighs by its size, as its trials would.
                let m = median(gaps).unwrap_or(0.0);
                std::iter::repeat_n(([*n as f64, 1.0, 0.0], m), gaps.len())
            })
            .collect();
        let [beta, gamma, _] = least_squares_2(&medians)?;
        [0.0, beta, gamma]
    };
    let mut gap = GapFit {
        trials: rows.len(),
        relative: alpha,
        per_thread_ns: beta,
        per_trial_ns: gamma,
        max_share,
        covering_per_thread_ns: 0.0,
    };
    let per_thread_ns = round_up(1.5 * beta.max(0.0), 1_000.0);

    let mut references = Vec::new();
    for run in runs {
        let tick_ns = 1e9 / f64::from(run.env.hz.max(1));
        let mut cells: std::collections::BTreeMap<CellKey, Vec<_>> = Default::default();
        for t in partition_trials(run).0 {
            cells.entry(CellKey::of(t)).or_default().push(t);
        }
        for (key, trials) in cells {
            let period = trials[0].period_ns as f64;
            let mechanism = key.mode.mechanism;
            let per_thread_ok = mechanism == Mechanism::ThreadTimer && !key.mode.options.nojitter;
            let process_ok = matches!(mechanism, Mechanism::Setitimer | Mechanism::ProcessTimer)
                && key.threads as f64 <= (period / tick_ns).floor();
            let reference = matches!(key.workload, WorkloadKind::Parallel | WorkloadKind::Rayon)
                && period >= 2.0 * tick_ns
                && key.threads <= run.env.cpus
                && (per_thread_ok || process_ok);
            if !reference {
                continue;
            }
            let cpu: f64 = trials.iter().map(|t| t.cpu_ns as f64).sum();
            let expected = cpu / period;
            let observed: f64 = trials.iter().map(|t| t.weighted_samples as f64).sum();
            let spawned: f64 = trials.iter().map(|t| t.threads_spawned as f64).sum();
            let ratios: Vec<f64> = trials
                .iter()
                .map(|t| t.weighted_samples as f64 * period / t.cpu_ns as f64)
                .collect();
            let typical = median(&ratios).unwrap_or(observed / expected);
            let explained =
                quantum_samples * trials.len() as f64 / expected + per_thread_ns * spawned / cpu;
            references.push(ReferenceResidual {
                key,
                trials: trials.len(),
                median_ratio: typical,
                pooled_ratio: observed / expected,
                residual: ((1.0 - typical).abs() - explained).max(0.0),
            });
        }
    }
    let worst = references.iter().map(|r| r.residual).fold(0.0, f64::max);
    let relative = round_up((2.0 * alpha.max(0.0)).max(2.0 * worst), 0.001).max(MIN_RELATIVE);
    // Where many threads were spawned, the per-thread term must cover what
    // the relative one leaves of each trial's uncovered CPU.
    let covering = runs
        .iter()
        .flat_map(|run| partition_trials(run).0)
        .filter(|t| t.threads_spawned >= MANY_THREADS)
        .map(|t| {
            let known: f64 = t
                .threads_detail
                .iter()
                .filter_map(|d| d.cpu_ns)
                .map(|c| c as f64)
                .sum();
            (t.cpu_ns as f64 - known - relative * t.cpu_ns as f64) / t.threads_spawned as f64
        })
        .fold(0.0, f64::max);
    gap.covering_per_thread_ns = covering;
    let many = runs
        .iter()
        .flat_map(|run| partition_trials(run).0)
        .any(|t| t.threads_spawned >= MANY_THREADS);
    let per_thread_ns = if many {
        round_up(covering, 1_000.0)
    } else {
        per_thread_ns
    };
    Some(AllowanceFit {
        gap,
        references,
        suggested: Allowance {
            relative,
            per_thread_ns,
            quantum_samples,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_squares_recovers_a_plane() {
        let rows: Vec<([f64; 3], f64)> =
            [(1.0, 1.0), (2.0, 1.0), (2.0, 4.0), (5.0, 2.0), (3.0, 3.0)]
                .into_iter()
                .map(|(c, n)| ([c, n, 1.0], 0.01 * c + 50.0 * n + 7.0))
                .collect();
        let [a, b, g] = least_squares(&rows).unwrap();
        assert!((a - 0.01).abs() < 1e-9 && (b - 50.0).abs() < 1e-7 && (g - 7.0).abs() < 1e-7);
        // Thread count constant: β and γ cannot be told apart.
        let flat: Vec<([f64; 3], f64)> = (1..5).map(|c| ([f64::from(c), 2.0, 1.0], 1.0)).collect();
        assert!(least_squares(&flat).is_none());
    }
}
