//! The command line end to end: what `run` writes, and that bad input of
//! every kind exits 2 with one line and writes nothing.

mod common;

use std::path::Path;
use std::process::Command;

use common::{one_line_failure, profbench};

fn assert_usage_error(args: &[&str], mentions: &str) {
    let stderr = one_line_failure(&profbench(args), 2, &format!("{args:?}"));
    assert!(
        stderr.to_lowercase().contains(&mentions.to_lowercase()),
        "{args:?}: {stderr:?} should mention {mentions:?}"
    );
}

fn no_results_in(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "files left in {}: {left:?}", dir.display());
}

#[test]
fn bad_run_input_exits_2_with_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let bad_matrix = dir.path().join("bad.toml");
    std::fs::write(
        &bad_matrix,
        "[[group]]\nmodes = [\"setitimer\"]\nworkloads = [\"parallel\"]\nthreads = [1]\nhz = [100]\ncolour = \"blue\"\n",
    )
    .unwrap();
    let bad_matrix = bad_matrix.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--hz", "0"], "--hz"),
        (&["--hz", "200000"], "--hz"),
        (&["--hz", "-5"], "--hz"),
        (&["--threads", "x"], "--threads"),
        (&["--threads", "0"], "--threads"),
        (&["--threads", "100000"], "--threads"),
        (&["--modes", "itimer"], "unknown mode"),
        (&["--modes", "thread-timer+fast"], "unknown option"),
        (&["--modes", "setitimer+overrun"], "si_overrun"),
        (&["--workloads", "spin"], "unknown workload"),
        (&["--cpu-seconds", "-1"], "cpu_seconds"),
        (&["--cpu-seconds", "abc"], "--cpu-seconds"),
        (&["--trials", "0"], "trials"),
        (&["--lifetime-ms", "0"], "lifetime"),
        (&["--workloads", "short-lived"], "lifetime_ms"),
        (&["--matrix", "nonesuch"], "not a preset"),
        (&["--matrix", bad_matrix], "line 6"),
        (&["--frobnicate"], "--frobnicate"),
    ];
    for (args, mentions) in cases {
        let mut all = vec!["run", "--out", out];
        all.extend_from_slice(args);
        assert_usage_error(&all, mentions);
        no_results_in(Path::new(out));
    }
}

#[test]
fn an_unwritable_out_is_refused_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let inside_file = file.join("out");
    assert_usage_error(
        &[
            "run",
            "--modes",
            "setitimer",
            "--out",
            inside_file.to_str().unwrap(),
        ],
        "output directory",
    );
}

#[test]
fn other_verbs_reject_bad_input() {
    assert_usage_error(&["frobnicate"], "frobnicate");
    assert_usage_error(&["burn", "--threads", "0"], "--threads");
    assert_usage_error(&["burn", "--workload", "spin"], "unknown workload");
    assert_usage_error(&["burn", "--cpu-seconds", "-2"], "cpu_seconds");
    assert_usage_error(&["burn", "--workload", "short-lived"], "lifetime");
    assert_usage_error(&["env", "--bogus"], "--bogus");
}

fn tiny_run(out: &Path, seed: &str) -> serde_json::Value {
    let result = profbench(&[
        "run",
        "--quiet",
        "--modes",
        "setitimer,thread-timer",
        "--workloads",
        "parallel",
        "--threads",
        "1",
        "--hz",
        "100",
        "--cpu-seconds",
        "0.05",
        "--trials",
        "2",
        "--seed",
        seed,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let text = std::fs::read_to_string(out.join("run.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn trial_list(run: &serde_json::Value) -> Vec<String> {
    run["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{} {} {} {} {} {}",
                t["mode"], t["workload"], t["threads"], t["hz"], t["trial"], t["seed"]
            )
        })
        .collect()
}

#[test]
fn run_writes_json_and_csv_and_repeats_its_trial_list() {
    let dir = tempfile::tempdir().unwrap();
    let a = tiny_run(&dir.path().join("a"), "7");
    let b = tiny_run(&dir.path().join("b"), "7");
    let c = tiny_run(&dir.path().join("c"), "8");
    assert_eq!(a["schema"], 1);
    assert!(a["env"]["hz"].as_u64().unwrap() >= 100);
    assert_eq!(trial_list(&a).len(), 4);
    assert_eq!(trial_list(&a), trial_list(&b), "same seed, same trials");
    assert_ne!(
        trial_list(&a),
        trial_list(&c),
        "another seed, other trial seeds"
    );
    let csv = std::fs::read_to_string(dir.path().join("a/run.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "a header and one row per trial");
    assert!(csv.starts_with("mode,workload,threads,hz,"));
    for t in a["trials"].as_array().unwrap() {
        assert_eq!(t["status"], "ok");
        let detail = t["threads_detail"].as_array().unwrap();
        let sum: u64 = detail.iter().map(|d| d["samples"].as_u64().unwrap()).sum();
        assert_eq!(sum, t["samples"].as_u64().unwrap());
    }
}

#[test]
fn a_run_killed_midway_leaves_no_results() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut child = Command::new(common::BIN)
        .args([
            "run",
            "--quiet",
            "--modes",
            "thread-timer",
            "--workloads",
            "parallel",
            "--threads",
            "1",
            "--hz",
            "100",
            "--cpu-seconds",
            "0.5",
            "--trials",
            "20",
            "--out",
        ])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Long enough to be inside the trials (env detection takes ~0.3 s).
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended before it was killed"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    no_results_in(&out);
}

#[test]
fn env_prints_the_environment() {
    let out = profbench(&["env", "--json"]);
    assert!(out.status.success());
    let env: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(env["cpus"].as_u64().unwrap() >= 1);
    assert!(env["hz"].as_u64().unwrap() >= 100);
    assert!(!env["kernel"].as_str().unwrap().is_empty());
}

#[test]
fn report_sets_runs_side_by_side_and_rejects_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    tiny_run(&dir.path().join("a"), "1");
    tiny_run(&dir.path().join("b"), "2");
    let a = dir.path().join("a/run.json");
    let b = dir.path().join("b/run.json");
    let out = dir.path().join("report");
    let result = profbench(&[
        "report",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains(a.to_str().unwrap()) && report.contains(b.to_str().unwrap()));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains(a.to_str().unwrap()));

    let truncated = dir.path().join("truncated.json");
    let text = std::fs::read_to_string(&a).unwrap();
    std::fs::write(&truncated, &text[..text.len() / 2]).unwrap();
    let foreign = dir.path().join("foreign.json");
    std::fs::write(&foreign, r#"{"name": "not a run"}"#).unwrap();
    let future = dir.path().join("future.json");
    let mut bumped: serde_json::Value = serde_json::from_str(&text).unwrap();
    bumped["schema"] = 99.into();
    std::fs::write(&future, bumped.to_string()).unwrap();
    let empty_out = dir.path().join("never");
    for (file, mentions) in [
        (dir.path().join("missing.json"), "cannot read"),
        (truncated, "truncated"),
        (foreign, "schema"),
        (future, "schema version 99"),
    ] {
        assert_usage_error(
            &[
                "report",
                file.to_str().unwrap(),
                "--out",
                empty_out.to_str().unwrap(),
            ],
            mentions,
        );
        no_results_in(&empty_out);
    }
}

#[test]
fn plot_draws_the_charts_a_run_has_and_names_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/analysis/tests/fixtures/real_2core_parallel.json");
    // The default output directory is the run file's.
    let run_dir = dir.path().join("run");
    std::fs::create_dir_all(&run_dir).unwrap();
    let run = run_dir.join("run.json");
    std::fs::copy(&fixture, &run).unwrap();
    let result = profbench(&["plot", run.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    assert!(
        stderr.contains("no foreign chart: the run has no `foreign` cells"),
        "{stderr}"
    );
    let mut files: Vec<String> = std::fs::read_dir(run_dir.join("plots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "attenuation.png",
            "attenuation.svg",
            "rate-cap.png",
            "rate-cap.svg"
        ]
    );
    let png = std::fs::read(run_dir.join("plots/attenuation.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));

    // --out puts plots/ under the given directory.
    let out = dir.path().join("elsewhere");
    let result = profbench(&[
        "plot",
        run.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(result.status.success());
    assert!(out.join("plots/rate-cap.svg").exists());

    // Bad input: exit 2, one line, nothing written.
    let never = dir.path().join("never");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"schema\": 1, \"trials\": 3}").unwrap();
    for (file, mentions) in [
        (dir.path().join("missing.json"), "cannot read"),
        (bad, "not a profbench run file"),
    ] {
        assert_usage_error(
            &[
                "plot",
                file.to_str().unwrap(),
                "--out",
                never.to_str().unwrap(),
            ],
            mentions,
        );
        no_results_in(&never);
    }
}
