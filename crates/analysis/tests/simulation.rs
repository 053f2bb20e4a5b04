//! The verdicts against a simulated sampler whose truth is known.
//!
//! An ideal periodic sampler with a random phase (per thread:
//! `floor(c/P) + Bernoulli(frac(c/P))`) must be judged faithful; the rate at
//! which it is not is the analysis's false-alarm rate, measured here and
//! printed so it can be quoted (`cargo test -p analysis --test simulation
//! -- --nocapture`).

mod common;

use analysis::attribution::AttributionVerdict;
use analysis::{analyze_run, Allowance, AnalysisConfig, Verdict, VerdictKind};
use common::{env, run, simulate, TrialSpec};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const CELLS: usize = 2000;
const TRIALS: u32 = 3;

/// The bound the tests hold the false-alarm rate to: 1 %, ten times the
/// nominal 0.1 % of a 99.9 % interval, so the test is not flaky at 2000
/// cells while still catching an interval that is too narrow.
const FALSE_ALARM_BOUND: f64 = 0.01;

/// One simulated cell per index: a random mode, thread count, rate and CPU.
///
/// `keep` thins every sample (1 = ideal); `gap` adds the uncovered CPU
/// measured on the real machine (0.75 ms per trial + 21 µs per thread, see
/// `analysis::calibrate`) to the ground truth.
fn ideal_cell(
    rng: &mut StdRng,
    index: usize,
    keep: f64,
    gap: bool,
) -> Vec<harness::record::TrialRecord> {
    let modes = [
        "thread-timer",
        "thread-timer+overrun",
        "setitimer",
        "process-timer",
    ];
    let mode = modes[index % modes.len()];
    let threads = [1, 2, 4, 8][rng.random_range(0..4)];
    let hz = [100, 250][rng.random_range(0..2)];
    (0..TRIALS)
        .map(|trial| {
            let mut spec = TrialSpec::parallel(mode, threads, hz, 0);
            spec.trial = trial;
            spec.keep = keep;
            // Each thread's CPU differs, so the fractional parts are spread.
            spec.workers = (0..threads)
                .map(|_| (rng.random_range(400_000_000..1_200_000_000u64), true))
                .collect();
            spec.coordinator_ns = rng.random_range(0..5_000_000);
            if gap {
                spec.gap_ns = 750_000 + 21_000 * threads as u64;
            }
            simulate(rng, &spec)
        })
        .collect()
}

/// Each cell's verdict and attribution verdict.
fn judge(
    seed: u64,
    keep: f64,
    gap: bool,
    config: &AnalysisConfig,
) -> Vec<(Verdict, AttributionVerdict)> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..CELLS)
        .map(|i| {
            let trials = ideal_cell(&mut rng, i, keep, gap);
            let analysis =
                analyze_run(&run(env(None, 2, 250, "sim"), seed, trials), config).unwrap();
            assert_eq!(analysis.cells.len(), 1);
            let cell = &analysis.cells[0];
            (cell.estimate.verdict, cell.attribution.verdict)
        })
        .collect()
}

fn verdicts(seed: u64, keep: f64, config: &AnalysisConfig) -> Vec<Verdict> {
    judge(seed, keep, false, config)
        .into_iter()
        .map(|v| v.0)
        .collect()
}

/// The share of single trials outside the model interval (plus the
/// allowance): the per-trial z check on its own, without pooling or spread.
fn trial_outside_rate(seed: u64, config: &AnalysisConfig) -> f64 {
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut outside, mut total) = (0usize, 0usize);
    for i in 0..CELLS {
        let trials = ideal_cell(&mut rng, i, 1.0, false);
        let analysis = analyze_run(&run(env(None, 2, 250, "sim"), seed, trials), config).unwrap();
        for t in &analysis.cells[0].trials {
            total += 1;
            outside += usize::from(!t.within_model);
        }
    }
    outside as f64 / total as f64
}

fn count(verdicts: &[Verdict], kind: VerdictKind) -> usize {
    verdicts.iter().filter(|v| v.kind() == kind).count()
}

#[test]
fn ideal_sampler_is_faithful_at_the_stated_rate() {
    let config = AnalysisConfig::default();
    // With the real machine's uncovered CPU in the ground truth: the
    // default allowance must absorb it.
    let judged = judge(1, 1.0, true, &config);
    let v: Vec<Verdict> = judged.iter().map(|j| j.0).collect();
    let alarms = count(&v, VerdictKind::Attenuated) + count(&v, VerdictKind::Inflated);
    let faithful = count(&v, VerdictKind::Faithful);
    let rate = alarms as f64 / CELLS as f64;
    println!(
        "ideal sampler, default settings: {CELLS} cells of {TRIALS} trials: \
         {alarms} false alarms ({:.3} %), {faithful} faithful, {} inconclusive",
        100.0 * rate,
        count(&v, VerdictKind::Inconclusive)
    );
    assert!(rate <= FALSE_ALARM_BOUND, "false-alarm rate {rate}");
    assert!(
        faithful as f64 >= 0.99 * CELLS as f64,
        "only {faithful} faithful"
    );

    // Attribution: an ideal sampler spreads samples by CPU, so a rejection
    // is a false alarm too (single-thread cells are untestable).
    let skewed = judged
        .iter()
        .filter(|j| {
            matches!(
                j.1,
                AttributionVerdict::Skewed | AttributionVerdict::SlightlySkewed
            )
        })
        .count();
    let tested = judged
        .iter()
        .filter(|j| j.1 != AttributionVerdict::Untestable)
        .count();
    let attr_rate = skewed as f64 / tested as f64;
    println!(
        "ideal sampler attribution: {skewed} of {tested} testable cells rejected ({:.3} %)",
        100.0 * attr_rate
    );
    assert!(
        attr_rate <= FALSE_ALARM_BOUND,
        "attribution false-alarm rate {attr_rate}"
    );
}

#[test]
fn bare_model_false_alarm_rate() {
    // Without the relative and per-thread allowance, only the one-sample
    // quantum: this measures the statistics themselves.
    let config = AnalysisConfig {
        allowance: Allowance {
            relative: 0.0,
            per_thread_ns: 0.0,
            quantum_samples: 1.0,
        },
        ..AnalysisConfig::default()
    };
    let v = verdicts(2, 1.0, &config);
    let alarms = count(&v, VerdictKind::Attenuated) + count(&v, VerdictKind::Inflated);
    let rate = alarms as f64 / CELLS as f64;
    println!(
        "ideal sampler, quantum-only allowance: {alarms} false alarms in {CELLS} cells ({:.3} %)",
        100.0 * rate
    );
    assert!(rate <= FALSE_ALARM_BOUND, "false-alarm rate {rate}");
    let per_trial = trial_outside_rate(2, &config);
    println!(
        "single trials outside the 99.9 % model interval + one sample: {:.3} %",
        100.0 * per_trial
    );
    assert!(per_trial <= FALSE_ALARM_BOUND, "per-trial rate {per_trial}");
    let bare = AnalysisConfig {
        allowance: Allowance::NONE,
        ..AnalysisConfig::default()
    };
    println!(
        "single trials outside the bare 99.9 % normal interval: {:.3} %",
        100.0 * trial_outside_rate(2, &bare)
    );
    // And with no allowance at all, for the record (not asserted: the
    // quantum exists because this is what the normal approximation does to
    // a handful of Bernoulli variables near 0 or 1).
    let v = verdicts(
        3,
        1.0,
        &AnalysisConfig {
            allowance: Allowance::NONE,
            ..AnalysisConfig::default()
        },
    );
    let alarms = count(&v, VerdictKind::Attenuated) + count(&v, VerdictKind::Inflated);
    println!(
        "ideal sampler, no allowance: {alarms} false alarms in {CELLS} cells ({:.3} %)",
        100.0 * alarms as f64 / CELLS as f64
    );
}

#[test]
fn half_rate_sampler_is_attenuated() {
    let v = verdicts(4, 0.5, &AnalysisConfig::default());
    let mut covered = 0;
    for verdict in &v {
        match verdict {
            Verdict::Attenuated {
                lost,
                lost_interval,
            } => {
                assert!(lost_interval.lo > 0.0, "{lost_interval:?}");
                assert!((0.2..0.8).contains(lost), "{lost}");
                covered += usize::from(lost_interval.contains(0.5));
            }
            other => panic!("a sampler keeping half is {other:?}"),
        }
    }
    let coverage = covered as f64 / CELLS as f64;
    println!(
        "half-rate sampler: all {CELLS} attenuated; the lost interval holds 0.5 in {:.2} %",
        100.0 * coverage
    );
    assert!(coverage >= 0.99, "coverage {coverage}");
}

#[test]
fn tiny_cell_is_inconclusive_and_says_how_much_more() {
    let config = AnalysisConfig::default();
    let mut rng = StdRng::seed_from_u64(5);
    let tiny = |rng: &mut StdRng, each_ns: u64| {
        (0..TRIALS)
            .map(|trial| {
                let mut spec = TrialSpec::parallel("thread-timer", 2, 100, each_ns);
                spec.trial = trial;
                simulate(rng, &spec)
            })
            .collect::<Vec<_>>()
    };
    // Two threads of 23 ms at 100 Hz: under five expected samples a trial.
    let analysis = analyze_run(
        &run(env(None, 2, 250, "sim"), 5, tiny(&mut rng, 23_000_000)),
        &config,
    )
    .unwrap();
    let more = match analysis.cells[0].estimate.verdict {
        Verdict::Inconclusive {
            more_cpu_s: Some(more),
        } => more,
        other => panic!("tiny cell judged {other:?}"),
    };
    let cpu_s = analysis.cells[0].estimate.cpu_s;
    assert!(more > 0.0);
    // Given that much more CPU, the same ideal sampler is decided.
    let factor = (cpu_s + more) / cpu_s;
    let each = (23_000_000.0 * factor) as u64;
    let decided = (0..50)
        .filter(|_| {
            let a = analyze_run(
                &run(env(None, 2, 250, "sim"), 5, tiny(&mut rng, each)),
                &config,
            )
            .unwrap();
            a.cells[0].estimate.verdict.kind() == VerdictKind::Faithful
        })
        .count();
    println!(
        "tiny cell: {cpu_s:.3} CPU-s, asked for {more:.2} more; with it {decided}/50 are faithful"
    );
    assert!(decided >= 45, "{decided}/50");
}
