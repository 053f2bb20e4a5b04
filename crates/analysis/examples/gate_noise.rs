//! How much a cell's ratio moves between runs of an unchanged tree, and how
//! often the baseline test would cry wolf: every run is held against every
//! other, cell by cell.
//!
//! `cargo run --release -p analysis --example gate_noise -- [--policy FILE.toml] RUN.json...`
//!
//! For each cell: the run means, their spread between runs against the
//! spread the trials inside each run predict (the test's own standard
//! errors), the between-run drift `tau` that the difference implies, and
//! the smallest p-value of the drop test over all ordered pairs, without
//! drift and with the policy's (`-` for cells the policy excludes). A
//! between-run spread well above the within-run one is a shared, run-level
//! effect (machine load) that three trials cannot see.

use std::collections::BTreeMap;
use std::process::ExitCode;

use analysis::gate::{DropTest, Policy, Side};
use analysis::{analyze_run, load_run, AnalysisConfig, CellKey};

fn main() -> ExitCode {
    let mut files: Vec<String> = std::env::args().skip(1).collect();
    let mut policy = None;
    if files.first().map(String::as_str) == Some("--policy") && files.len() > 1 {
        match Policy::load(&files[1]) {
            Ok(p) => policy = p.baseline,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
        files.drain(..2);
    }
    if files.len() < 2 {
        eprintln!("usage: gate_noise [--policy FILE.toml] RUN.json RUN.json...");
        return ExitCode::from(2);
    }
    let config = AnalysisConfig::default();
    let mut sides: BTreeMap<CellKey, Vec<Side>> = BTreeMap::new();
    for f in &files {
        let run = match load_run(f) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        let a = analyze_run(&run, &config).expect("default settings are valid");
        for c in &a.cells {
            if let Some(s) = Side::of(c, config.prior_df) {
                sides.entry(c.key).or_default().push(s);
            }
        }
    }
    println!(
        "{:<60} {:>5} {:>7} {:>7} {:>7} {:>7} {:>9} {:>6} {:>9}",
        "cell", "runs", "mean", "sd_runs", "se_rms", "tau", "min_p", "drift", "p_drift"
    );
    let tested = sides
        .keys()
        .filter(|k| {
            policy
                .as_ref()
                .is_some_and(|b| b.cells.matches(k) && !b.exclude.iter().any(|s| s.matches(k)))
        })
        .count();
    if let Some(b) = &policy {
        println!(
            "policy: alpha {} over {tested} tested cells = {:.1e} per cell",
            b.alpha,
            b.alpha / tested.max(1) as f64
        );
    }
    for (key, s) in &sides {
        let n = s.len() as f64;
        let mean = s.iter().map(|x| x.mean).sum::<f64>() / n;
        let sd = (s.iter().map(|x| (x.mean - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let se_rms = (s.iter().map(|x| x.se * x.se).sum::<f64>() / n).sqrt();
        let tau = (sd * sd - se_rms * se_rms).max(0.0).sqrt();
        let drift = policy.as_ref().and_then(|b| {
            (b.cells.matches(key) && !b.exclude.iter().any(|s| s.matches(key)))
                .then(|| b.drift_of(key))
        });
        let (mut min_p, mut min_p_drift) = (1.0f64, 1.0f64);
        for (i, b) in s.iter().enumerate() {
            for (j, r) in s.iter().enumerate() {
                if i != j {
                    min_p = min_p.min(DropTest::new(*b, *r, 0.0).p);
                    if let Some(d) = drift {
                        min_p_drift = min_p_drift.min(DropTest::new(*b, *r, d).p);
                    }
                }
            }
        }
        println!(
            "{:<60} {:>5} {:>7.3} {:>7.4} {:>7.4} {:>7.4} {:>9.1e} {:>6} {:>9}",
            key.to_string(),
            s.len(),
            mean,
            sd,
            se_rms,
            tau,
            min_p,
            drift.map_or("-".into(), |d| format!("{d:.3}")),
            drift.map_or("-".into(), |_| format!("{min_p_drift:.1e}"))
        );
    }
    ExitCode::SUCCESS
}
