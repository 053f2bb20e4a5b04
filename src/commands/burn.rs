//! `profbench burn`: a known load, standalone, optionally profiled by
//! pprof-rs (`--pprof FILE`), so `profbench external` has a ready target.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use harness::pprof_rs::SelfProfiler;
use harness::SamplerError;
use workloads::{StdSpawner, WorkloadParams, WorkloadSpec};

use crate::cli::BurnArgs;
use crate::error::input;
use crate::output;

/// The rate `--pprof` samples at without `--hz`: Go's, and a divisor of
/// 10⁶ µs, so pprof-rs's timer runs at exactly the period it writes.
const DEFAULT_PPROF_HZ: u32 = 100;

/// Runs one workload with plain threads and reports the CPU it used; with
/// `--pprof`, under pprof-rs, writing its profile.
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
    if args.hz.is_some() && args.pprof.is_none() {
        return Err(input(
            "--hz applies only with --pprof (the rate pprof-rs samples at)",
        ));
    }
    let hz = args.hz.unwrap_or(DEFAULT_PPROF_HZ);
    if let Some(path) = &args.pprof {
        // An unwritable destination is bad input: say so before burning.
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        output::prepare_dir(dir)?;
    }
    let profiler = match &args.pprof {
        Some(_) => Some(SelfProfiler::start(hz).map_err(|e| match e {
            e @ SamplerError::Unavailable { .. } => input(format!("--pprof: {e}")),
            e => anyhow::Error::new(e).context("starting pprof-rs"),
        })?),
        None => None,
    };
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
    if let (Some(profiler), Some(path)) = (profiler, &args.pprof) {
        let profile = profiler
            .finish()
            .context("finishing the pprof-rs profile")?;
        let gz = path.extension().is_some_and(|e| e == "gz");
        let bytes = if gz {
            harness::pprof_proto::gzip(&profile.bytes)
        } else {
            profile.bytes
        };
        output::write_atomic(path, &bytes)?;
        // The in-process view of the same run: what `external` should find,
        // less the CPU the process spends outside the profiled window.
        let ratio =
            profile.samples as f64 * profile.period_ns as f64 / profile.cpu_ns.max(1) as f64;
        println!(
            "pprof-rs at {} Hz: {} samples over {:.3} CPU s profiled (ratio {ratio:.3}); wrote {}",
            hz,
            profile.samples,
            profile.cpu_ns as f64 / 1e9,
            path.display()
        );
        // What no profile of this process can show: start-up, pprof-rs's
        // own set-up (it captures and symbolises a backtrace before its
        // timer starts) and the report, which it symbolises after.
        let process = harness::clock::rusage_self_cpu_ns();
        println!(
            "process CPU so far {:.3} s, {:.3} s of it outside the profiled window",
            process as f64 / 1e9,
            process.saturating_sub(profile.cpu_ns) as f64 / 1e9
        );
    }
    Ok(ExitCode::SUCCESS)
}
