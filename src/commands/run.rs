//! `profbench run`: a matrix of trials, written atomically, summarised.

use std::path::Path;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use harness::matrix::{Matrix, Overrides};
use harness::record::{RunRecord, TrialStatus};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::RunArgs;
use crate::error::input;
use crate::output;
use crate::summary;

/// Loads `--matrix`: a preset name, or a TOML file.
pub fn load_matrix(name: &str) -> Result<Matrix> {
    if let Some(m) = Matrix::preset(name) {
        return Ok(m);
    }
    let path = Path::new(name);
    let text = std::fs::read_to_string(path).map_err(|e| {
        input(format!(
            "--matrix {name}: not a preset (quick, default, full) and not a readable file: {e}"
        ))
    })?;
    Matrix::parse(&text, name).map_err(input)
}

/// Runs the matrix the arguments describe.
pub fn run(args: RunArgs) -> Result<ExitCode> {
    let overrides = Overrides {
        modes: args.modes,
        workloads: args.workloads,
        threads: args.threads,
        hz: args.hz,
        lifetime_ms: args.lifetime_ms,
        cpu_seconds: args.cpu_seconds,
        trials: args.trials,
        seed: args.seed,
    };
    let mut matrix = match &args.matrix {
        Some(name) => load_matrix(name)?,
        None if overrides.has_lists() => Matrix::from_flags(),
        None => Matrix::preset("default").expect("the default preset exists"),
    };
    matrix.apply(&overrides);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let specs = matrix.expand(cpus).map_err(input)?;
    output::prepare_dir(&args.out)?;

    let started_unix_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let env = harness::env::detect(args.label);
    let cpu_total: f64 = specs.iter().map(|s| s.cpu.as_secs_f64()).sum();
    eprintln!(
        "profbench: {} trials from {} ({:.0} CPU s of work on {} cores, HZ={})",
        specs.len(),
        matrix.origin,
        cpu_total,
        env.cpus,
        env.hz
    );
    let bar = ProgressBar::new(specs.len() as u64);
    if args.quiet {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} trials, {elapsed} elapsed, ETA {eta}  {msg}",
        )
        .expect("valid template"),
    );
    let mut trials = Vec::with_capacity(specs.len());
    for spec in &specs {
        bar.set_message(format!(
            "{} {} ×{} @{} Hz",
            spec.mode, spec.workload, spec.threads, spec.hz
        ));
        let record = harness::run_trial(spec);
        if record.status == TrialStatus::Failed {
            bar.suspend(|| {
                eprintln!(
                    "warning: trial failed: {} {} ×{} @{} Hz: {}",
                    record.mode,
                    record.workload,
                    record.threads,
                    record.hz,
                    record.error.as_deref().unwrap_or("unknown error")
                )
            });
        }
        trials.push(record);
        bar.inc(1);
    }
    bar.finish_and_clear();

    let run = RunRecord::new(env, &matrix, started_unix_s, trials);
    let json_path = args.out.join("run.json");
    let csv_path = args.out.join("run.csv");
    // Compact: a run's per-thread detail can hold 100 000 threads.
    output::write_atomic(&json_path, &serde_json::to_vec(&run)?)?;
    output::write_atomic(
        &csv_path,
        &summary::csv(&run).context("formatting run.csv")?,
    )?;
    // A run's own analysis cannot fail on input it just wrote; if it does,
    // the table goes without verdicts and the reason is shown.
    let analysis = analysis::analyze_run(&run, &analysis::AnalysisConfig::default())
        .map_err(|e| eprintln!("warning: no verdicts: {e}"))
        .ok();
    print!("{}", summary::table(&run, analysis.as_ref()));
    eprintln!("wrote {} and {}", json_path.display(), csv_path.display());
    Ok(ExitCode::SUCCESS)
}
