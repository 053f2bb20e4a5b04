//! Fixture-driven tests: a trimmed real run, a synthetic run of another
//! "machine", and every way a run file can be wrong.
//!
//! `cargo test -p analysis --test fixtures -- --ignored regenerate` rewrites
//! the synthetic and malformed fixtures (the real one is a trimmed copy of a
//! `profbench run` and is not regenerated).

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use analysis::{
    analyze_run, compare_runs, load_run, write_report, AnalysisConfig, AnalysisError, Verdict,
    VerdictKind,
};
use common::{env, failed, run, simulate, TrialSpec};
use harness::record::{RunRecord, TrialStatus};
use rand::rngs::StdRng;
use rand::SeedableRng;
use workloads::{WorkloadKind, WorkloadParams};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The issue-2 acceptance run: setitimer, thread-timer and hybrid on
/// parallel and rayon, 1–4 threads, 100 and 1000 Hz, 2 CPU-s, 3 trials.
fn real() -> RunRecord {
    load_run(fixture("real_2core_parallel.json")).expect("real fixture loads")
}

/// `profbench run --matrix quick` on the same machine (trimmed).
fn real_quick() -> RunRecord {
    load_run(fixture("real_2core_quick.json")).expect("real quick fixture loads")
}

fn synthetic() -> RunRecord {
    load_run(fixture("synthetic_16core.json")).expect("synthetic fixture loads")
}

fn key_of<'a>(
    analysis: &'a analysis::RunAnalysis,
    mode: &str,
    workload: WorkloadKind,
    threads: usize,
    hz: u32,
) -> &'a analysis::CellAnalysis {
    analysis
        .cells
        .iter()
        .find(|c| {
            c.key.mode.to_string() == mode
                && c.key.workload == workload
                && c.key.threads == threads
                && c.key.hz == hz
        })
        .unwrap_or_else(|| panic!("no cell {mode} {workload} {threads} {hz}"))
}

#[test]
fn real_run_meets_the_acceptance_cells() {
    let analysis = analyze_run(&real(), &AnalysisConfig::default()).unwrap();
    assert_eq!(analysis.trials_total, 108);
    assert!(analysis.excluded.is_empty());

    // setitimer at 1000 Hz × 2 threads: attenuated, the lost fraction's
    // interval excludes 0.
    let cell = key_of(&analysis, "setitimer", WorkloadKind::Parallel, 2, 1000);
    match cell.estimate.verdict {
        Verdict::Attenuated {
            lost,
            lost_interval,
        } => {
            assert!(lost > 0.5, "{lost}");
            assert!(lost_interval.lo > 0.0, "{lost_interval:?}");
        }
        other => panic!("setitimer 1000 Hz × 2 is {other:?}"),
    }
    // thread-timer at 100 Hz × 2 threads: faithful.
    let cell = key_of(&analysis, "thread-timer", WorkloadKind::Parallel, 2, 100);
    assert_eq!(cell.estimate.verdict, Verdict::Faithful);

    // thread-timer at 1000 Hz: the HZ cap (ratio ≈ 250/1000), and the
    // overruns account for the rest.
    let cell = key_of(&analysis, "thread-timer", WorkloadKind::Parallel, 2, 1000);
    assert_eq!(cell.estimate.verdict.kind(), VerdictKind::Attenuated);
    assert!(
        (cell.estimate.ratio - 0.25).abs() < 0.02,
        "{}",
        cell.estimate.ratio
    );
    let with = cell.ratio_with_overruns.expect("overruns recorded");
    assert!((with - 1.0).abs() < 0.02, "{with}");

    // Onsets: setitimer and thread-timer are attenuated from 1 thread at
    // 1000 Hz; thread-timer at 100 Hz has no onset within 4 threads.
    let onset = |mode: &str, hz| {
        analysis
            .thread_onsets
            .iter()
            .find(|o| o.key.mode.to_string() == mode && o.key.hz == hz)
            .unwrap()
            .first_unfaithful
    };
    assert_eq!(onset("setitimer", 1000), Some(1));
    assert_eq!(onset("thread-timer", 100), None);
    let rate = analysis
        .rate_onsets
        .iter()
        .find(|o| o.key.mode.to_string() == "thread-timer" && o.key.threads == 2)
        .unwrap();
    assert_eq!(rate.first_unfaithful, Some(1000));
    assert_eq!(rate.last_faithful, Some(100));
}

#[test]
fn the_default_allowance_covers_the_real_runs() {
    // The calibration's own check: what the committed real runs suggest is
    // within the defaults (see `analysis::calibrate`).
    let (a, b) = (real(), real_quick());
    let fit = analysis::calibrate::fit_allowance(&[&a, &b], 1.0).expect("fit");
    assert!(!fit.references.is_empty());
    let d = analysis::Allowance::DEFAULT;
    assert!(
        fit.suggested.relative <= d.relative + 1e-12,
        "{:?}",
        fit.suggested
    );
    assert!(
        fit.suggested.per_thread_ns <= d.per_thread_ns + 1e-6,
        "{:?}",
        fit.suggested
    );
    println!("fit on the real fixtures: {:?}", fit.gap);
}

#[test]
fn real_quick_matrix_verdicts() {
    let analysis = analyze_run(&real_quick(), &AnalysisConfig::default()).unwrap();
    let kind = |mode: &str, workload, threads, hz| {
        key_of(&analysis, mode, workload, threads, hz)
            .estimate
            .verdict
            .kind()
    };
    use VerdictKind::*;
    use WorkloadKind::*;
    // The gate's positive control and accuracy cells.
    assert_eq!(kind("setitimer", Parallel, 2, 1000), Attenuated);
    assert_eq!(kind("thread-timer", Parallel, 2, 100), Faithful);
    // The HZ cap, and the overrun weighting that undoes it.
    assert_eq!(kind("thread-timer", Parallel, 2, 1000), Attenuated);
    assert_eq!(kind("thread-timer+overrun", Parallel, 2, 1000), Faithful);
    assert_eq!(kind("process-timer+overrun", Parallel, 2, 1000), Faithful);
    // perf-event is hrtimer driven: no cap.
    assert_eq!(kind("perf-event", Parallel, 2, 1000), Faithful);
    // Unregistered threads are invisible to per-thread timers.
    assert_eq!(kind("thread-timer", Foreign, 2, 100), Attenuated);
    // Short-lived 10 ms threads: thread-timer loses about a fifth, the
    // flush correction brings it back.
    let short = |mode: &str| {
        analysis
            .cells
            .iter()
            .find(|c| c.key.mode.to_string() == mode && c.key.params.lifetime_ms == Some(10.0))
            .unwrap()
    };
    let tt = short("thread-timer");
    assert_eq!(tt.estimate.verdict.kind(), Attenuated);
    assert!(
        (0.7..0.9).contains(&tt.estimate.ratio),
        "{}",
        tt.estimate.ratio
    );
    assert_eq!(
        short("thread-timer+overrun+flush").estimate.verdict.kind(),
        Faithful
    );
}

#[test]
fn synthetic_run_answers_every_question() {
    let analysis = analyze_run(&synthetic(), &AnalysisConfig::default()).unwrap();
    // Failed and unavailable trials are listed, with their errors, and not analysed.
    assert_eq!(analysis.excluded.len(), 4);
    assert!(analysis
        .excluded
        .iter()
        .any(|e| e.status == TrialStatus::Unavailable
            && e.error.as_deref().unwrap().contains("EACCES")));
    assert!(analysis
        .cells
        .iter()
        .all(|c| c.key.mode.to_string() != "perf-event"));

    // Short-lived: a curve per (mode, rate, threads), with a crossing.
    assert_eq!(analysis.lifetime_curves.len(), 1);
    let curve = &analysis.lifetime_curves[0];
    assert_eq!(curve.points.len(), 3);
    assert!(curve.points[0].estimate.ratio < curve.points[2].estimate.ratio);

    // Foreign: thread-timer never samples the unregistered class.
    let cell = key_of(&analysis, "thread-timer", WorkloadKind::Foreign, 4, 100);
    let split = cell.registration.as_ref().expect("foreign cells are split");
    assert_eq!(split.unregistered.weighted_samples, 0.0);
    assert_eq!(split.unregistered.threads, 2);
    let unreg = split.unregistered.estimate.as_ref().unwrap();
    assert_eq!(unreg.verdict.kind(), VerdictKind::Attenuated);
    assert_eq!(
        split.registered.estimate.as_ref().unwrap().verdict.kind(),
        VerdictKind::Faithful
    );
    // …and the whole cell, against all CPU, loses about half.
    assert_eq!(cell.estimate.verdict.kind(), VerdictKind::Attenuated);
    // hybrid samples them through setitimer.
    let hybrid = key_of(&analysis, "hybrid", WorkloadKind::Foreign, 4, 100);
    let split = hybrid.registration.as_ref().unwrap();
    assert!(split.unregistered.weighted_samples > 0.0);
    assert!(split.unknown_cpu_samples > 0.0);
    assert!(split.rejected > 0);
    // The registration split agrees with the record's own helper.
    let trials: Vec<_> = synthetic()
        .trials
        .into_iter()
        .filter(|t| t.mode.to_string() == "hybrid" && t.workload == WorkloadKind::Foreign)
        .collect();
    let (reg, unreg) = trials
        .iter()
        .map(|t| t.weighted_by_registration())
        .fold((0, 0), |(a, b), (r, u)| (a + r, b + u));
    assert_eq!(reg as f64, split.registered.weighted_samples);
    assert_eq!(
        unreg as f64,
        split.unregistered.weighted_samples + split.unknown_cpu_samples
    );

    // Imbalanced: an ideal per-thread sampler attributes consistently.
    let cell = key_of(&analysis, "thread-timer", WorkloadKind::Imbalanced, 4, 100);
    assert_eq!(
        cell.attribution.verdict,
        analysis::attribution::AttributionVerdict::Consistent
    );
    assert!(cell.attribution.tvd.unwrap() < 0.05);
}

#[test]
fn two_runs_make_one_side_by_side_report() {
    let dir = tempfile::tempdir().unwrap();
    let runs = vec![
        ("real_2core_parallel.json".to_string(), real()),
        ("synthetic_16core.json".to_string(), synthetic()),
    ];
    let path = write_report(&runs, dir.path()).unwrap();
    assert_eq!(path, dir.path().join("report.md"));
    // Written atomically: nothing else is left in the directory.
    let entries: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1);

    let text = fs::read_to_string(&path).unwrap();
    let real_col = "2 cores, 6.18.44-fc-v595, HZ=250";
    let sim_col = "sim-16-core";
    for heading in [
        "## Environment",
        "## Parallel attenuation",
        "## Rate cap",
        "## Other workloads",
        "## Short-lived bias",
        "## Attribution",
        "### Imbalanced",
        "## Foreign threads",
        "## Failed and unavailable trials",
    ] {
        assert!(text.contains(heading), "missing {heading}");
    }
    // Every table heads its run columns with the environment names.
    let env_header = text.lines().find(|l| l.starts_with("|  |")).unwrap();
    assert!(
        env_header.contains(real_col) && env_header.contains(sim_col),
        "{env_header}"
    );
    // A cell both runs have shows two verdicts on one row…
    let row = text
        .lines()
        .find(|l| l.starts_with("| setitimer | parallel | 1000 | 2 |"))
        .unwrap();
    assert_eq!(row.matches("attenuated").count(), 2, "{row}");
    // …and a cell only one has shows a dash for the other.
    let row = text
        .lines()
        .find(|l| l.starts_with("| setitimer | parallel | 100 | 8 |"))
        .unwrap();
    assert!(row.contains("| — |"), "{row}");
    assert!(text.contains("EACCES"));

    // The same data is there as JSON for the gate and the plots.
    let cmp = compare_runs(&runs, &AnalysisConfig::default()).unwrap();
    let json = serde_json::to_value(&cmp).unwrap();
    assert_eq!(json["runs"].as_array().unwrap().len(), 2);
    assert_eq!(json["runs"][1]["column"], sim_col);
}

#[test]
fn same_machine_twice_gets_distinct_columns() {
    let runs = vec![
        ("a.json".to_string(), real()),
        ("b.json".to_string(), real()),
    ];
    let cmp = compare_runs(&runs, &AnalysisConfig::default()).unwrap();
    assert_ne!(cmp.runs[0].column, cmp.runs[1].column);
    assert!(cmp.runs[1].column.contains("b.json"));
}

fn load_err(name: &str) -> AnalysisError {
    let err = load_run(fixture(name)).expect_err(name);
    assert!(err.is_bad_input(), "{err}");
    assert!(
        err.to_string().contains(name),
        "the message names the file: {err}"
    );
    err
}

#[test]
fn every_bad_run_file_has_its_own_error() {
    assert!(matches!(
        load_err("missing.json"),
        AnalysisError::Read { .. }
    ));
    assert!(matches!(
        load_err("truncated.json"),
        AnalysisError::Truncated { .. }
    ));
    assert!(matches!(
        load_err("empty.json"),
        AnalysisError::Truncated { .. }
    ));
    assert!(matches!(
        load_err("not_json.txt"),
        AnalysisError::NotJson { .. }
    ));
    assert!(matches!(
        load_err("schema_99.json"),
        AnalysisError::UnknownSchema { found: 99, .. }
    ));
    assert!(matches!(
        load_err("foreign.json"),
        AnalysisError::NotARun { .. }
    ));
    assert!(matches!(
        load_err("wrong_shape.json"),
        AnalysisError::NotARun { .. }
    ));
    // One line each, for the CLI's stderr.
    for name in ["truncated.json", "schema_99.json", "foreign.json"] {
        assert_eq!(load_err(name).to_string().lines().count(), 1);
    }
}

#[test]
fn an_unwritable_report_is_not_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    fs::write(&blocker, "x").unwrap();
    let err = write_report(&[("r".into(), real())], &blocker).unwrap_err();
    assert!(matches!(err, AnalysisError::Write { .. }), "{err}");
    assert!(!err.is_bad_input());
    assert!(matches!(
        write_report(&[], dir.path()).unwrap_err(),
        AnalysisError::NoRuns
    ));
}

// ---- fixture generation ----

fn params(f: impl FnOnce(&mut WorkloadParams)) -> WorkloadParams {
    let mut p = WorkloadParams::default();
    f(&mut p);
    p
}

/// A run on an imaginary 16-core machine: the parallel cells at more
/// threads, short-lived, foreign and imbalanced workloads, and trials that
/// failed or could not run.
fn synthetic_16core() -> RunRecord {
    let mut rng = StdRng::seed_from_u64(16);
    let mut trials = Vec::new();
    let kernel_hz = 250;
    for mode in ["setitimer", "thread-timer"] {
        for threads in [2usize, 8] {
            for hz in [100u32, 1000] {
                for trial in 0..3 {
                    let mut spec =
                        TrialSpec::parallel(mode, threads, hz, 500_000_000 / threads as u64);
                    spec.trial = trial;
                    spec.kernel_hz = kernel_hz;
                    spec.coordinator_ns = 100_000;
                    spec.gap_ns = 86_000 + 35_000 * threads as u64;
                    if mode == "setitimer" {
                        // One signal per tick for the whole process.
                        spec.keep =
                            (f64::from(kernel_hz) / (threads as f64 * f64::from(hz))).min(1.0);
                    }
                    trials.push(simulate(&mut rng, &spec));
                }
            }
        }
    }
    for (lifetime_ms, keep) in [(3.0, 0.47), (10.0, 0.79), (30.0, 0.94)] {
        for trial in 0..3 {
            let each = (lifetime_ms * 1e6) as u64;
            let count = (150_000_000 / each) as usize;
            let mut spec = TrialSpec::parallel("thread-timer", 2, 100, each);
            spec.workload = WorkloadKind::ShortLived;
            spec.params = params(|p| p.lifetime_ms = Some(lifetime_ms));
            spec.workers = vec![(each, true); count];
            spec.trial = trial;
            spec.keep = keep;
            spec.gap_ns = 35_000 * count as u64;
            trials.push(simulate(&mut rng, &spec));
        }
    }
    for mode in ["thread-timer", "hybrid"] {
        for trial in 0..3 {
            let mut spec = TrialSpec::parallel(mode, 4, 100, 500_000_000);
            spec.workload = WorkloadKind::Foreign;
            spec.params = params(|p| p.foreign_share = Some(0.5));
            spec.workers = vec![
                (500_000_000, true),
                (500_000_000, false),
                (500_000_000, true),
                (500_000_000, false),
            ];
            spec.trial = trial;
            spec.unknown_samples = if mode == "hybrid" { 2 } else { 0 };
            trials.push(simulate(&mut rng, &spec));
        }
    }
    for mode in ["setitimer", "thread-timer"] {
        for trial in 0..3 {
            let mut spec = TrialSpec::parallel(mode, 4, 100, 0);
            spec.workload = WorkloadKind::Imbalanced;
            spec.params = params(|p| p.hot_share = Some(0.5));
            spec.workers = vec![
                (300_000_000, true),
                (100_000_000, true),
                (100_000_000, true),
                (100_000_000, true),
            ];
            spec.trial = trial;
            trials.push(simulate(&mut rng, &spec));
        }
    }
    for trial in 0..3 {
        trials.push(failed(
            "perf-event",
            TrialStatus::Unavailable,
            "perf_event_open: EACCES (perf_event_paranoid = 3)",
            trial,
        ));
    }
    trials.push(failed(
        "thread-timer",
        TrialStatus::Failed,
        "worker thread panicked: burn budget overrun",
        3,
    ));
    run(
        env(Some("sim-16-core"), 16, kernel_hz, "6.1.0-sim"),
        16,
        trials,
    )
}

/// A run as fixture text: one trial per line, diffable, and a third of the
/// pretty size.
fn render_run(run: &RunRecord) -> String {
    let head = serde_json::json!({ "schema": run.schema, "env": run.env, "config": run.config });
    let mut text = serde_json::to_string_pretty(&head).unwrap();
    text.truncate(text.len() - 2);
    text.push_str(",\n  \"trials\": [\n");
    let lines: Vec<String> = run
        .trials
        .iter()
        .map(|t| serde_json::to_string(t).unwrap())
        .collect();
    text.push_str(&lines.join(",\n"));
    text.push_str("\n  ]\n}\n");
    // (Not compared for equality: serde_json's float parsing may differ in
    // the last bit without its `float_roundtrip` feature.)
    let back = RunRecord::from_json(&text).expect("the fixture reads back");
    assert_eq!(back.trials.len(), run.trials.len());
    text
}

/// The generated fixtures, by file name. The real runs they derive from
/// (`real_2core_*.json`) are measurements and are not regenerated.
fn generated_fixtures() -> Vec<(&'static str, String)> {
    let real_text = fs::read_to_string(fixture("real_2core_parallel.json")).unwrap();
    let real = RunRecord::from_json(&real_text).unwrap();
    // A future version's file: the real header, no trials, schema 99.
    let future = serde_json::json!({
        "schema": 99, "env": real.env, "config": real.config, "trials": []
    });
    vec![
        ("synthetic_16core.json", render_run(&synthetic_16core())),
        // Cut mid-record, as an interrupted write would leave it.
        ("truncated.json", real_text[..2500].to_string()),
        ("empty.json", String::new()),
        (
            "schema_99.json",
            serde_json::to_string_pretty(&future).unwrap(),
        ),
        (
            "not_json.txt",
            "mode,workload,threads,hz,ratio\nsetitimer,parallel,2,1000,0.22\n".into(),
        ),
        (
            "foreign.json",
            "{\n  \"name\": \"left-pad\",\n  \"version\": \"1.3.0\",\n  \"dependencies\": {}\n}\n"
                .into(),
        ),
        (
            "wrong_shape.json",
            "{ \"schema\": 1, \"env\": { \"kernel\": \"6.1\" }, \"trials\": \"none\" }\n".into(),
        ),
    ]
}

/// The committed fixtures are what the generators above write. After a
/// deliberate change of a generator (or of the record format), rewrite them
/// with `REGENERATE_FIXTURES=1 cargo test -p analysis --test fixtures`.
#[test]
fn generated_fixtures_are_current() {
    let regenerate = std::env::var_os("REGENERATE_FIXTURES").is_some();
    for (name, text) in generated_fixtures() {
        if regenerate {
            fs::write(fixture(name), &text).unwrap();
        } else {
            let committed = fs::read_to_string(fixture(name)).unwrap();
            assert!(
                committed == text,
                "{name} is stale: rerun with REGENERATE_FIXTURES=1"
            );
        }
    }
}
