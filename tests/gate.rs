//! `profbench gate` end to end, on the committed policy and baseline: the
//! baseline passes against itself, doctored copies of it fail the rule that
//! exists to catch each regression (exit 1), and bad input exits 2 with one
//! line.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `profbench gate ARGS` from the repository root, so the default
/// policy and baseline are the committed ones.
fn gate(args: &[&str]) -> Output {
    Command::new(common::BIN)
        .current_dir(root())
        .arg("gate")
        .args(args)
        .output()
        .expect("profbench runs")
}

fn baseline() -> Value {
    let text = std::fs::read_to_string(root().join("results/baseline.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn write(dir: &Path, name: &str, run: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string(run).unwrap()).unwrap();
    path.to_str().unwrap().to_string()
}

fn is_cell(t: &Value, mode: &str, workload: &str, hz: u64, lifetime: Option<f64>) -> bool {
    t["mode"] == mode
        && t["workload"] == workload
        && t["hz"] == hz
        && t["lifetime_ms"].as_f64() == lifetime
}

/// Scales the samples of one cell's trials by `factor`.
fn scale(run: &mut Value, cell: impl Fn(&Value) -> bool, factor: f64) {
    let mut hit = 0;
    for t in run["trials"].as_array_mut().unwrap() {
        if cell(t) {
            for field in ["samples", "weighted_samples"] {
                let v = t[field].as_u64().unwrap() as f64;
                t[field] = Value::from((v * factor).round() as u64);
            }
            let ratio = t["weighted_samples"].as_f64().unwrap() * t["period_ns"].as_f64().unwrap()
                / t["cpu_ns"].as_f64().unwrap();
            t["ratio"] = Value::from(ratio);
            hit += 1;
        }
    }
    assert!(hit > 0, "no trial doctored");
}

/// The JSON verdict of a failing gate, and its failed rules by name.
fn failing(run: &str) -> (Value, Vec<String>) {
    let out = gate(&[run, "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdict: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["passed"], false);
    let failed = verdict["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["passed"] == false)
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    (verdict, failed)
}

fn failures_of<'a>(verdict: &'a Value, rule: &str) -> &'a Vec<Value> {
    verdict["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == rule)
        .unwrap_or_else(|| panic!("no rule {rule}"))["failures"]
        .as_array()
        .unwrap()
}

#[test]
fn the_baseline_passes_against_itself() {
    let out = gate(&["results/baseline.json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("gate: PASS"), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
    let out = gate(&["results/baseline.json", "--json"]);
    let verdict: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["passed"], true);
    for kind in ["accuracy", "control", "baseline"] {
        assert!(
            verdict["rules"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["kind"] == kind),
            "no {kind} rule"
        );
    }
}

#[test]
fn a_faithful_mode_made_attenuated_fails_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = baseline();
    scale(
        &mut run,
        |t| is_cell(t, "thread-timer+overrun", "parallel", 1000, None),
        0.6,
    );
    let (verdict, failed) = failing(&write(dir.path(), "run.json", &run));
    let rule = "thread-timer+overrun faithful at 1000 Hz";
    assert!(failed.iter().any(|r| r == rule), "{failed:?}");
    let f = &failures_of(&verdict, rule)[0];
    assert_eq!(
        f["label"],
        "thread-timer+overrun parallel threads=2 hz=1000"
    );
    assert!(f["observed"].as_str().unwrap().starts_with("attenuated"));
    let by = f["by"].as_f64().unwrap();
    assert!(by > 0.3 && by < 0.45, "{by}");
}

#[test]
fn a_positive_control_made_faithful_fails_with_lost_sensitivity() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = baseline();
    // What setitimer would report if the kernel lost nothing.
    for t in run["trials"].as_array_mut().unwrap() {
        if is_cell(t, "setitimer", "parallel", 1000, None) && t["threads"] == 2 {
            let ideal = (t["cpu_ns"].as_f64().unwrap() / t["period_ns"].as_f64().unwrap()).round();
            t["samples"] = Value::from(ideal as u64);
            t["weighted_samples"] = Value::from(ideal as u64);
        }
    }
    let path = write(dir.path(), "run.json", &run);
    let (verdict, failed) = failing(&path);
    let rule = "setitimer collapses: 2 threads at 1000 Hz";
    assert_eq!(failed, vec![rule.to_string()]);
    let f = &failures_of(&verdict, rule)[0];
    assert!(f["message"]
        .as_str()
        .unwrap()
        .starts_with("detector lost its sensitivity"));
    // The table says so too.
    let text = String::from_utf8_lossy(&gate(&[&path]).stdout).into_owned();
    assert!(text.contains("FAIL setitimer collapses"), "{text}");
    assert!(text.contains("detector lost its sensitivity"), "{text}");
}

#[test]
fn a_removed_cell_fails_the_baseline_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = baseline();
    // A cell no accuracy or control rule covers, excluded from the drop
    // test: only its presence is checked.
    run["trials"]
        .as_array_mut()
        .unwrap()
        .retain(|t| !(t["mode"] == "hybrid" && t["workload"] == "imbalanced"));
    let (verdict, failed) = failing(&write(dir.path(), "run.json", &run));
    let rule = "no significant drop against the baseline";
    assert_eq!(failed, vec![rule.to_string()]);
    let f = &failures_of(&verdict, rule)[0];
    assert_eq!(f["observed"], "missing");
    assert_eq!(
        f["label"],
        "hybrid imbalanced threads=2 hz=100 hot_share=0.5"
    );
}

#[test]
fn a_dropped_ratio_fails_the_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = baseline();
    // thread-timer on 10 ms threads is attenuated by design (its control
    // still passes); only the baseline can see it get worse.
    scale(
        &mut run,
        |t| is_cell(t, "thread-timer", "short-lived", 100, Some(10.0)),
        0.3,
    );
    let (verdict, failed) = failing(&write(dir.path(), "run.json", &run));
    let rule = "no significant drop against the baseline";
    assert_eq!(failed, vec![rule.to_string()]);
    let f = &failures_of(&verdict, rule)[0];
    assert_eq!(
        f["label"],
        "thread-timer short-lived threads=2 hz=100 lifetime_ms=10"
    );
    assert!(f["by"].as_f64().unwrap() > 0.4);
}

fn assert_bad_input(args: &[&str], mentions: &str) {
    let out = gate(args);
    let stderr = common::one_line_failure(&out, 2, &format!("{args:?}"));
    assert!(
        stderr.to_lowercase().contains(&mentions.to_lowercase()),
        "{args:?}: {stderr:?} should mention {mentions:?}"
    );
    assert!(out.stdout.is_empty(), "{args:?}: wrote a verdict");
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let text = std::fs::read_to_string(root().join("results/baseline.json")).unwrap();
    std::fs::write(d("truncated.json"), &text[..text.len() / 2]).unwrap();
    std::fs::write(d("not-a-run.json"), r#"{"name": "not a run"}"#).unwrap();
    let policy = std::fs::read_to_string(root().join("results/gate.toml")).unwrap();
    std::fs::write(
        d("unknown-key.toml"),
        policy.replacen("alpha = ", "colour = \"blue\"\nalpha = ", 1),
    )
    .unwrap();
    let line = policy
        .lines()
        .position(|l| l.starts_with("alpha = "))
        .unwrap()
        + 1;
    std::fs::write(
        d("no-baseline.toml"),
        "[[control]]\nname = \"c\"\ncells = { modes = [\"setitimer\"], hz = [1000] }\n",
    )
    .unwrap();
    let base = "results/baseline.json";
    let cases: Vec<(Vec<String>, String)> = vec![
        (vec![d("missing.json")], "cannot read run file".into()),
        (vec![d("truncated.json")], "truncated".into()),
        (vec![d("not-a-run.json")], "schema".into()),
        (
            vec![base.into(), "--policy".into(), d("missing.toml")],
            "cannot read policy file".into(),
        ),
        (
            vec![base.into(), "--policy".into(), d("unknown-key.toml")],
            format!("line {line}"),
        ),
        (
            vec![base.into(), "--baseline".into(), d("missing.json")],
            "baseline: cannot read".into(),
        ),
        (
            vec![base.into(), "--baseline".into(), d("truncated.json")],
            "baseline: run file".into(),
        ),
        (
            vec![
                base.into(),
                "--policy".into(),
                d("no-baseline.toml"),
                "--baseline".into(),
                base.into(),
            ],
            "no [baseline] rule".into(),
        ),
        (vec![], "RUN.json".into()),
        (
            vec![base.into(), "--frobnicate".into()],
            "--frobnicate".into(),
        ),
    ];
    for (args, mentions) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_bad_input(&args, mentions);
    }
    // A policy without a baseline rule needs no baseline at all.
    let out = gate(&[base, "--policy", &d("no-baseline.toml")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
