//! The per-trial error model against hand-computed cases.

mod common;

use analysis::model::{variance_parts, TrialModel};
use analysis::AnalysisConfig;
use common::{simulate, TrialSpec};
use harness::record::TrialRecord;
use rand::rngs::StdRng;
use rand::SeedableRng;

/// A trial of `mode` at 100 Hz (P = 10 ms) whose workers burned `cpus`.
fn trial(mode: &'static str, workers: Vec<(u64, bool)>) -> TrialRecord {
    let mut spec = TrialSpec::parallel(mode, workers.len(), 100, 0);
    spec.workers = workers;
    simulate(&mut StdRng::seed_from_u64(0), &spec)
}

#[test]
fn per_thread_variance_of_three_threads() {
    // 10.25, 3.5 and 7.9 periods (the coordinator burned 0, f = 0):
    // 0.25·0.75 + 0.5·0.5 + 0.9·0.1 = 0.5275.
    let t = trial(
        "thread-timer",
        vec![(102_500_000, true), (35_000_000, true), (79_000_000, true)],
    );
    let v = variance_parts(&t);
    assert!((v.total - 0.5275).abs() < 1e-9, "{v:?}");
    assert_eq!(v.phase_bias, 0.0);
    let m = TrialModel::of(&t, &AnalysisConfig::default());
    assert!((m.expected - 21.65).abs() < 1e-9);
    // z = (W − E)/sqrt(V), and the interval is E ± 3.2905·sqrt(V).
    let z = (m.observed - 21.65) / 0.5275f64.sqrt();
    assert!((m.z.unwrap() - z).abs() < 1e-9);
    assert!((m.model_interval.hi - (21.65 + 3.290_527 * 0.5275f64.sqrt())).abs() < 1e-5);
}

#[test]
fn process_wide_variance_is_of_the_total() {
    // setitimer: one clock, 21.65 periods in all: f = 0.65, 0.65·0.35.
    let t = trial(
        "setitimer",
        vec![(102_500_000, true), (35_000_000, true), (79_000_000, true)],
    );
    assert!((variance_parts(&t).total - 0.2275).abs() < 1e-9);
}

#[test]
fn fixed_phase_is_bias_not_noise() {
    // +nojitter: each thread gets exactly floor(c/P); the lost fractions
    // 0.25 + 0.5 + 0.9 = 1.65 samples are a bias, and there is no variance.
    let t = trial(
        "thread-timer+nojitter",
        vec![(102_500_000, true), (35_000_000, true), (79_000_000, true)],
    );
    let v = variance_parts(&t);
    assert_eq!(v.total, 0.0);
    assert!((v.phase_bias - 1.65).abs() < 1e-9);
    assert_eq!(t.weighted_samples, 10 + 3 + 7);
    let m = TrialModel::of(&t, &AnalysisConfig::default());
    assert_eq!(m.z, None);
    // perf-event counters also start a full period from zero.
    let t = trial("perf-event", vec![(35_000_000, true)]);
    assert!((variance_parts(&t).phase_bias - 0.5).abs() < 1e-9);
}

#[test]
fn unregistered_threads_by_mechanism() {
    let workers = vec![(102_500_000, true), (100_000_000, false)];
    // thread-timer never samples the unregistered thread: no variance from it.
    let t = trial("thread-timer", workers.clone());
    let v = variance_parts(&t);
    assert!((v.total - 0.1875).abs() < 1e-9);
    assert_eq!(v.unregistered, 0.0);
    // hybrid: setitimer's 20.25 expiries land on the unregistered thread
    // with probability 100/202.5: binomial.
    let t = trial("hybrid", workers);
    let v = variance_parts(&t);
    let p = 100.0 / 202.5;
    assert!((v.unregistered - 20.25 * p * (1.0 - p)).abs() < 1e-9);
    assert!((v.total - (0.1875 + v.unregistered)).abs() < 1e-9);
}

#[test]
fn uncovered_cpu_is_reported() {
    let mut spec = TrialSpec::parallel("thread-timer", 2, 100, 50_000_000);
    spec.gap_ns = 123_000;
    let t = simulate(&mut StdRng::seed_from_u64(1), &spec);
    let m = TrialModel::of(&t, &AnalysisConfig::default());
    assert_eq!(m.uncovered_cpu_ns, 123_000);
}
