//! `profbench burn`: a known load, standalone.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use workloads::{StdSpawner, WorkloadParams, WorkloadSpec};

use crate::cli::BurnArgs;
use crate::error::input;

/// Runs one workload with plain threads and reports the CPU it used.
pub fn run(args: BurnArgs) -> Result<ExitCode> {
    let spec = WorkloadSpec::new(
        args.workload,
        args.threads as usize,
        Duration::from_secs_f64(args.cpu_seconds),
        WorkloadParams {
            lifetime_ms: args.lifetime_ms,
            ..Default::default()
        },
        args.seed,
    )
    .map_err(input)?;
    let cpu_before = harness::clock::rusage_self_cpu_ns();
    let start = Instant::now();
    let outcome = workloads::run(&spec, &StdSpawner)?;
    let cpu = harness::clock::rusage_self_cpu_ns() - cpu_before;
    println!(
        "burned {:.3} CPU s in {:.3} s wall on {} threads ({} {})",
        cpu as f64 / 1e9,
        start.elapsed().as_secs_f64(),
        outcome.threads_spawned,
        spec.kind(),
        if spec.threads() > 1 {
            "in parallel"
        } else {
            "alone"
        }
    );
    Ok(ExitCode::SUCCESS)
}
