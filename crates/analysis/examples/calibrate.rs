//! Prints the allowance fit of `analysis::calibrate` for run files:
//! `cargo run -p analysis --example calibrate -- RUN.json...`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut runs = Vec::new();
    for file in std::env::args().skip(1) {
        match analysis::load_run(&file) {
            Ok(run) => runs.push(run),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let refs: Vec<_> = runs.iter().collect();
    let Some(fit) = analysis::calibrate::fit_allowance(&refs, 1.0) else {
        eprintln!("nothing to fit (no usable trials, or a single thread count)");
        return ExitCode::from(2);
    };
    let g = fit.gap;
    println!(
        "uncovered CPU over {} trials: {:.5} % of CPU + {:.1} µs per spawned thread + {:.1} µs per trial \
         (largest share of one trial {:.4} %; covering trials of many threads takes {:.1} µs a thread)",
        g.trials,
        100.0 * g.relative,
        g.per_thread_ns / 1e3,
        g.per_trial_ns / 1e3,
        100.0 * g.max_share,
        g.covering_per_thread_ns / 1e3
    );
    for r in &fit.references {
        println!(
            "reference {:<50} pooled {:.4} residual {:.4} %",
            r.key.to_string(),
            r.pooled_ratio,
            100.0 * r.residual
        );
    }
    let s = fit.suggested;
    println!(
        "suggested allowance: relative {:.3} %, per thread {:.0} µs, {} sample per trial",
        100.0 * s.relative,
        s.per_thread_ns / 1e3,
        s.quantum_samples
    );
    ExitCode::SUCCESS
}
