//! The gate on simulated runs: an unchanged run passes, and each kind of
//! regression fails the rule that exists to catch it, and only that one.

mod common;

use analysis::gate::{evaluate, GateError, GateReport, Policy, RuleKind, LOST_SENSITIVITY};
use analysis::{analyze_run, AnalysisConfig, RunAnalysis};
use common::{env, failed, run, simulate, TrialSpec};
use harness::record::{RunRecord, TrialStatus};
use rand::rngs::StdRng;
use rand::SeedableRng;
use workloads::{WorkloadKind, WorkloadParams};

const POLICY: &str = r#"
description = "test policy"

[[accuracy]]
name = "overrun-weighted thread timers are faithful"
cells = { modes = ["thread-timer+overrun"], workloads = ["parallel"] }
inconclusive = "fail"

[[accuracy]]
name = "flush on 1 ms threads"
cells = { modes = ["thread-timer+overrun+flush"], workloads = ["short-lived"] }
inconclusive = "pass"

[[control]]
name = "setitimer collapses at 1000 Hz"
cells = { modes = ["setitimer"], workloads = ["parallel"], threads = [2], hz = [1000] }

[baseline]
name = "no drop against the baseline"
alpha = 0.001
drift = 0.01
"#;

/// What to change in a simulated run.
#[derive(Default, Clone, Copy)]
struct Doctor {
    /// Keep this share of `thread-timer+overrun`'s samples.
    accuracy_keep: Option<f64>,
    /// Keep this share of the control's expiries (0.25 normally).
    control_keep: Option<f64>,
    /// Keep this share of `thread-timer foreign`'s samples.
    foreign_keep: Option<f64>,
    /// Leave `thread-timer foreign` out.
    drop_foreign: bool,
}

fn specs(d: Doctor) -> Vec<TrialSpec> {
    let mut out = Vec::new();
    for trial in 0..3 {
        // Half a CPU second per thread, off a whole period by a little.
        let mut acc = TrialSpec::parallel("thread-timer+overrun", 2, 100, 500_003_000);
        acc.keep = d.accuracy_keep.unwrap_or(1.0);
        let mut control = TrialSpec::parallel("setitimer", 2, 1000, 500_003_000);
        control.keep = d.control_keep.unwrap_or(0.25);
        let mut foreign = TrialSpec::parallel("thread-timer", 2, 100, 500_003_000);
        foreign.workload = WorkloadKind::Foreign;
        foreign.params = WorkloadParams {
            foreign_share: Some(0.5),
            ..WorkloadParams::default()
        };
        foreign.workers = vec![(500_003_000, true), (500_003_000, false)];
        foreign.keep = d.foreign_keep.unwrap_or(1.0);
        // 1000 threads of 1 ms at 100 Hz: 0.1 period each, sd ≈ 9.5 %.
        let mut short = TrialSpec::parallel("thread-timer+overrun+flush", 2, 100, 1_000_000);
        short.workload = WorkloadKind::ShortLived;
        short.params = WorkloadParams {
            lifetime_ms: Some(1.0),
            ..WorkloadParams::default()
        };
        short.workers = vec![(1_000_000, true); 1000];
        let mut cells = vec![acc, control, short];
        if !d.drop_foreign {
            cells.push(foreign);
        }
        for mut s in cells {
            s.trial = trial;
            out.push(s);
        }
    }
    out
}

fn sim(seed: u64, d: Doctor) -> RunRecord {
    let mut rng = StdRng::seed_from_u64(seed);
    let trials = specs(d).iter().map(|s| simulate(&mut rng, s)).collect();
    run(env(None, 2, 250, "6.18.0-test"), seed, trials)
}

fn analysed(run: &RunRecord) -> RunAnalysis {
    analyze_run(run, &AnalysisConfig::default()).unwrap()
}

fn gate(policy: &str, run: &RunRecord, baseline: &RunRecord) -> GateReport {
    let policy = Policy::parse(policy, "test.toml").unwrap();
    evaluate(
        &policy,
        &analysed(run),
        Some(&analysed(baseline)),
        &AnalysisConfig::default(),
    )
    .unwrap()
}

fn failed_rules(report: &GateReport) -> Vec<(&str, RuleKind)> {
    report.failed().map(|r| (r.name.as_str(), r.kind)).collect()
}

#[test]
fn an_unchanged_run_passes() {
    let report = gate(
        POLICY,
        &sim(2, Doctor::default()),
        &sim(1, Doctor::default()),
    );
    assert!(report.passed, "{}", report.render_text());
    assert_eq!(report.rules.len(), 4);
    // The 1 ms cell cannot be decided from 3 CPU-s; the policy lets it pass, and says so.
    let flush = &report.rules[1];
    assert_eq!(flush.cells, 1);
    assert!(
        flush.notes.iter().any(|n| n.contains("inconclusive")),
        "{:?}",
        flush.notes
    );
    let text = report.render_text();
    assert!(text.contains("gate: PASS (4 of 4 rules passed"), "{text}");
    // The JSON verdict carries the same.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["passed"], true);
    assert_eq!(json["rules"][2]["kind"], "control");
}

#[test]
fn a_faithful_mode_made_attenuated_fails_accuracy() {
    let doctored = Doctor {
        accuracy_keep: Some(0.7),
        ..Doctor::default()
    };
    let report = gate(POLICY, &sim(2, doctored), &sim(1, Doctor::default()));
    let failed = failed_rules(&report);
    assert!(
        failed.contains(&(
            "overrun-weighted thread timers are faithful",
            RuleKind::Accuracy
        )),
        "{failed:?}"
    );
    let rule = report.failed().next().unwrap();
    let f = &rule.failures[0];
    assert!(f
        .label
        .starts_with("thread-timer+overrun parallel threads=2 hz=100"));
    assert!(f.observed.starts_with("attenuated"), "{}", f.observed);
    // ≈ 0.7 observed against ≥ 0.985 required: about 28 points short.
    let by = f.by.unwrap();
    assert!(by > 0.2 && by < 0.35, "{by}");
    let text = report.render_text();
    assert!(text.contains("FAIL overrun-weighted thread timers are faithful (accuracy)"));
    assert!(text.contains("gate: FAIL"), "{text}");
}

#[test]
fn a_positive_control_made_faithful_fails_with_lost_sensitivity() {
    let doctored = Doctor {
        control_keep: Some(1.0),
        ..Doctor::default()
    };
    let report = gate(POLICY, &sim(2, doctored), &sim(1, Doctor::default()));
    assert_eq!(
        failed_rules(&report),
        vec![("setitimer collapses at 1000 Hz", RuleKind::Control)]
    );
    let f = &report.failed().next().unwrap().failures[0];
    assert!(f.message.starts_with(LOST_SENSITIVITY), "{}", f.message);
    assert!(f.observed.starts_with("faithful"), "{}", f.observed);
    assert!(report.render_text().contains(LOST_SENSITIVITY));
}

#[test]
fn a_removed_cell_fails_the_baseline_naming_it() {
    let doctored = Doctor {
        drop_foreign: true,
        ..Doctor::default()
    };
    let report = gate(POLICY, &sim(2, doctored), &sim(1, Doctor::default()));
    assert_eq!(
        failed_rules(&report),
        vec![("no drop against the baseline", RuleKind::Baseline)]
    );
    let f = &report.failed().next().unwrap().failures[0];
    assert_eq!(f.observed, "missing");
    assert_eq!(
        f.label,
        "thread-timer foreign threads=2 hz=100 foreign_share=0.5"
    );
}

#[test]
fn a_significant_drop_fails_the_baseline_and_a_small_one_does_not() {
    // The foreign cell is attenuated by design (0.5): no accuracy rule
    // covers it, only the baseline does.
    let dropped = Doctor {
        foreign_keep: Some(0.5),
        ..Doctor::default()
    };
    let report = gate(POLICY, &sim(2, dropped), &sim(1, Doctor::default()));
    assert_eq!(
        failed_rules(&report),
        vec![("no drop against the baseline", RuleKind::Baseline)]
    );
    let f = &report.failed().next().unwrap().failures[0];
    assert!(f.label.starts_with("thread-timer foreign"), "{}", f.label);
    let by = f.by.unwrap();
    assert!(by > 0.18 && by < 0.32, "{by}");

    // A drop within the drift passes.
    let slight = Doctor {
        foreign_keep: Some(0.98),
        ..Doctor::default()
    };
    let report = gate(POLICY, &sim(2, slight), &sim(1, Doctor::default()));
    assert!(report.passed, "{}", report.render_text());

    // The same drop in an excluded cell is not tested; the cell must still be there.
    let excluded = POLICY.replace(
        "drift = 0.01",
        "drift = 0.01\nexclude = [ { workloads = [\"foreign\"] } ]",
    );
    let report = gate(&excluded, &sim(2, dropped), &sim(1, Doctor::default()));
    assert!(report.passed, "{}", report.render_text());
    assert!(report.rules[3]
        .notes
        .iter()
        .any(|n| n.contains("1 cell(s) excluded")));
    let gone = Doctor {
        drop_foreign: true,
        ..Doctor::default()
    };
    let report = gate(&excluded, &sim(2, gone), &sim(1, Doctor::default()));
    assert!(!report.passed);

    // A larger drift for the cell absorbs the drop.
    let drifty = POLICY.replace(
        "drift = 0.01",
        "drift = 0.01\n[[baseline.drift_for]]\ncells = { workloads = [\"foreign\"] }\nsd = 0.1",
    );
    let report = gate(&drifty, &sim(2, dropped), &sim(1, Doctor::default()));
    assert!(report.passed, "{}", report.render_text());
}

#[test]
fn inconclusive_fails_where_the_policy_says_so() {
    let strict = POLICY.replace("inconclusive = \"pass\"", "inconclusive = \"fail\"");
    let report = gate(
        &strict,
        &sim(2, Doctor::default()),
        &sim(1, Doctor::default()),
    );
    assert_eq!(
        failed_rules(&report),
        vec![("flush on 1 ms threads", RuleKind::Accuracy)]
    );
    let f = &report.failed().next().unwrap().failures[0];
    assert!(f.observed.starts_with("inconclusive"), "{}", f.observed);
    assert!(f.message.contains("more CPU-s"), "{}", f.message);
}

#[test]
fn rules_that_check_nothing_fail() {
    // perf-event did not run at all (unavailable) and nothing else matches.
    let mut r = sim(2, Doctor::default());
    for t in 0..3 {
        r.trials.push(failed(
            "perf-event",
            TrialStatus::Unavailable,
            "perf_event_open: EACCES",
            t,
        ));
    }
    let policy = format!(
        "{POLICY}\n[[accuracy]]\nname = \"perf\"\ncells = {{ modes = [\"perf-event\"] }}\ninconclusive = \"fail\"\n\
         [[control]]\nname = \"nothing\"\ncells = {{ hz = [5000] }}\n"
    );
    let report = gate(&policy, &r, &sim(1, Doctor::default()));
    assert_eq!(
        failed_rules(&report),
        vec![("perf", RuleKind::Accuracy), ("nothing", RuleKind::Control)]
    );
    let perf = report.failed().next().unwrap();
    assert!(perf.failures[0].message.contains("EACCES"));
    assert!(perf.failures[1].message.contains("checks nothing"));
    let nothing = report.failed().nth(1).unwrap();
    assert!(nothing.failures[0].message.starts_with(LOST_SENSITIVITY));
}

#[test]
fn a_baseline_from_another_machine_fails() {
    let mut base = sim(1, Doctor::default());
    base.env.cpus = 16;
    let report = gate(POLICY, &sim(2, Doctor::default()), &base);
    let rule = report.failed().next().unwrap();
    assert_eq!(rule.kind, RuleKind::Baseline);
    assert!(rule.failures[0].message.contains("make baseline"));
}

#[test]
fn bad_policies_are_refused_with_the_line() {
    let err = |text: &str| Policy::parse(text, "p.toml").unwrap_err().to_string();
    let unknown = POLICY.replace("alpha = 0.001", "alpha = 0.001\ncolour = \"blue\"");
    let e = err(&unknown);
    assert!(e.contains("line 21") && e.contains("colour"), "{e}");
    let e = err(&POLICY.replace("hz = [1000] }", "hz = [1000], hertz = 5 }"));
    assert!(e.contains("line 16") && e.contains("hertz"), "{e}");
    let e = err(&POLICY.replace("\"setitimer\"]", "\"itimer\"]"));
    assert!(e.contains("unknown"), "{e}");
    let e = err(&POLICY.replace("inconclusive = \"pass\"", "inconclusive = \"maybe\""));
    assert!(e.contains("line 12"), "{e}");
    let e = err(&POLICY.replace("inconclusive = \"pass\"\n", ""));
    assert!(e.contains("inconclusive"), "{e}");
    let e = err(&POLICY.replace("flush on 1 ms threads", "setitimer collapses at 1000 Hz"));
    assert!(e.contains("two rules have this name"), "{e}");
    assert!(err("description = \"empty\"\n").contains("check nothing"));
    let e = err(&POLICY.replace("threads = [2], hz = [1000]", "hz_min = 1000, hz_max = 100"));
    assert!(e.contains("hz_min"), "{e}");
    assert!(err(&POLICY.replace("alpha = 0.001", "alpha = 0.7")).contains("alpha"));
    assert!(err(&POLICY.replace("drift = 0.01", "drift = -1.0")).contains("drift"));
    assert!(err("[[accuracy]\n").contains("p.toml"));
}

#[test]
fn a_baseline_rule_without_a_baseline_is_an_error() {
    let policy = Policy::parse(POLICY, "p.toml").unwrap();
    let r = analysed(&sim(2, Doctor::default()));
    match evaluate(&policy, &r, None, &AnalysisConfig::default()) {
        Err(e @ GateError::NoBaseline { .. }) => {
            assert!(e.to_string().contains("no drop against the baseline"))
        }
        other => panic!("{other:?}"),
    }
}
