//! The command line (clap derive). Names follow DESIGN.md's CLI contract.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use harness::matrix::{check_cpu_seconds, check_trials, ThreadCount};
use harness::sampler::MAX_HZ;
use harness::Mode;
use workloads::WorkloadKind;

/// Measures how faithfully SIGPROF-based CPU profilers report CPU time.
#[derive(Debug, Parser)]
#[command(name = "profbench", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a matrix of trials; write run.json and run.csv; print a summary.
    Run(RunArgs),
    /// Print the environment block: kernel, HZ, cores, timer and perf support.
    Env(EnvArgs),
    /// Analyse run files: report.md, report.html and charts, several runs side by side.
    Report(ReportArgs),
    /// Draw the charts of a run, SVG and PNG, into DIR/plots/.
    Plot(PlotArgs),
    /// Burn a known load standalone (to point another profiler at).
    Burn(BurnArgs),
    /// Run CMD, then hold the pprof profile it wrote against its CPU time.
    External(ExternalArgs),
    /// Hold a run against the gate policy and baseline: exit 0 pass, 1 fail, 2 bad input.
    Gate(GateArgs),
}

fn parse_hz(s: &str) -> Result<u32, String> {
    let hz: u32 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a rate in Hz"))?;
    if (1..=MAX_HZ).contains(&hz) {
        Ok(hz)
    } else {
        Err(format!("rate must be within 1..={MAX_HZ} Hz, got {hz}"))
    }
}

fn parse_cpu_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds"))?;
    check_cpu_seconds(v)
}

fn parse_trials(s: &str) -> Result<u32, String> {
    let v: i64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of trials"))?;
    check_trials(v)
}

fn parse_lifetime(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a lifetime in ms"))?;
    if v.is_finite() && v > 0.0 && v <= 60_000.0 {
        Ok(v)
    } else {
        Err(format!("lifetime must be within (0, 60000] ms, got {v}"))
    }
}

/// `profbench run`.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct RunArgs {
    /// A preset (quick, default, full) or a matrix TOML file. Without it and
    /// without lists, `default` runs; with lists only, they form one group.
    #[arg(long, value_name = "NAME|FILE.toml")]
    pub matrix: Option<String>,
    /// Modes, e.g. setitimer,thread-timer+overrun (replace the matrix's).
    #[arg(long, value_delimiter = ',', value_name = "M,..")]
    pub modes: Option<Vec<Mode>>,
    /// Workloads: parallel, rayon, short-lived, bursty, foreign, imbalanced.
    #[arg(long, value_delimiter = ',', value_name = "W,..")]
    pub workloads: Option<Vec<WorkloadKind>>,
    /// Thread counts: numbers, `cores`, `K*cores`, `cores/K`.
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    pub threads: Option<Vec<ThreadCount>>,
    /// Sampling rates in Hz.
    #[arg(long, value_delimiter = ',', value_name = "R,..", value_parser = parse_hz)]
    pub hz: Option<Vec<u32>>,
    /// Thread lifetimes in ms of CPU (short-lived workload).
    #[arg(long = "lifetime-ms", value_delimiter = ',', value_name = "L,..", value_parser = parse_lifetime)]
    pub lifetime_ms: Option<Vec<f64>>,
    /// CPU seconds per trial, all threads together.
    #[arg(long = "cpu-seconds", value_name = "S", value_parser = parse_cpu_seconds)]
    pub cpu_seconds: Option<f64>,
    /// Repetitions of every cell.
    #[arg(long, value_name = "K", value_parser = parse_trials)]
    pub trials: Option<u32>,
    /// The run's seed.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Output directory for run.json and run.csv.
    #[arg(long, value_name = "DIR", default_value = "results/latest")]
    pub out: PathBuf,
    /// A label for this machine in side-by-side reports.
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
    /// Do not show the progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// `profbench report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Run files (run.json) to analyse; several are set side by side.
    #[arg(required = true, value_name = "RUN.json")]
    pub runs: Vec<PathBuf>,
    /// Output directory (default: the first run file's directory).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `profbench plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// The run file (run.json) to draw.
    #[arg(value_name = "RUN.json")]
    pub run: PathBuf,
    /// Output directory; the charts go into its plots/ (default: the run file's directory).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `profbench gate`.
#[derive(Debug, Args)]
pub struct GateArgs {
    /// The run file (run.json) to judge.
    #[arg(value_name = "RUN.json")]
    pub run: PathBuf,
    /// The policy (default results/gate.toml).
    #[arg(long, value_name = "FILE.toml")]
    pub policy: Option<PathBuf>,
    /// The baseline run (default results/baseline.json), for the policy's [baseline] rule.
    #[arg(long, value_name = "FILE.json")]
    pub baseline: Option<PathBuf>,
    /// Write the verdict as JSON to stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// `profbench env`.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `profbench burn`.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct BurnArgs {
    /// The workload to run.
    #[arg(long, default_value = "parallel", value_name = "W")]
    pub workload: WorkloadKind,
    /// Threads.
    #[arg(long, default_value_t = 2, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=workloads::MAX_THREADS as i64))]
    pub threads: u32,
    /// CPU seconds, all threads together.
    #[arg(long = "cpu-seconds", default_value_t = 2.0, value_name = "S", value_parser = parse_cpu_seconds)]
    pub cpu_seconds: f64,
    /// Thread lifetime in ms (short-lived).
    #[arg(long = "lifetime-ms", value_name = "L", value_parser = parse_lifetime)]
    pub lifetime_ms: Option<f64>,
    /// Seed of the workload's random choices.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Profile the burn with pprof-rs and write the profile here (pprof
    /// protobuf; gzipped if FILE ends in .gz).
    #[arg(long, value_name = "FILE")]
    pub pprof: Option<PathBuf>,
    /// pprof-rs's sampling rate (with --pprof; default 100).
    #[arg(long, value_name = "R", value_parser = parse_hz)]
    pub hz: Option<u32>,
}

/// `profbench external`.
#[derive(Debug, Args)]
pub struct ExternalArgs {
    /// The pprof profile CMD writes (profile.proto, gzipped or not).
    #[arg(long, value_name = "FILE")]
    pub profile: PathBuf,
    /// The rate CMD's profiler was asked for; a profile whose period
    /// disagrees is flagged.
    #[arg(long, value_name = "R", value_parser = parse_hz)]
    pub hz: Option<u32>,
    /// Threads that burned CMD's CPU, for the error model (default: the
    /// distinct `thread` labels in the profile, or 1 when it has none).
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=workloads::MAX_THREADS as i64))]
    pub threads: Option<u32>,
    /// The command to run, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}
