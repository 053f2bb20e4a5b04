//! `profbench external --profile FILE -- CMD [ARGS..]`: runs CMD, then
//! holds the pprof profile it wrote against the CPU the kernel charged it.
//!
//! The child's CPU is the change in `getrusage(RUSAGE_CHILDREN)` across
//! its `wait`: profbench has no other children while CMD runs, so the delta
//! is exactly what `wait4` would report for CMD (its user and system time,
//! plus that of any descendants it waited for, so a wrapper script is
//! measured with the program it runs), and needs no `unsafe`.
//!
//! A profile covers a window of the process's life (`time_nanos`,
//! `duration_nanos`), not all of it: start-up, a profiler's own set-up and
//! the writing of the profile fall outside. The verdict is on the whole
//! run, because that is what a user reads the profile against; to tell the
//! profiler's sampling apart from what it never tried to see, profbench also
//! polls the child's CPU (`/proc/PID/stat`, every 5 ms) and judges the
//! profile against the CPU spent inside its window. That poll follows CMD's
//! own process: a wrapper script that runs the profiled program as its
//! child (rather than `exec`ing it) shows no CPU in the window.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitCode, ExitStatus};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Result};
use harness::pprof_proto::{read_profile, CpuSource, ProfileSummary};

use crate::cli::ExternalArgs;
use crate::error::input;

/// Two-sided 99.9 % normal quantile: the analysis crate's default
/// confidence, so a verdict here means what it means in a report.
const Z_999: f64 = 3.290_526_731_491_9;

/// The share of the child's CPU a faithful profiler may still miss: CPU
/// outside its window (process start-up before the profiler starts, the
/// exit, writing the profile). The analysis crate's default `relative`
/// allowance.
const RELATIVE_ALLOWANCE: f64 = 0.01;

/// CPU per thread no timer can cover (thread creation and exit), ns: the
/// analysis crate's default `per_thread_ns`.
const PER_THREAD_NS: f64 = 30_000.0;

/// Where a profile's count lies against an ideal sampler's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the model interval widened by the allowance.
    Faithful,
    /// Below it: the profile misses CPU time.
    Attenuated,
    /// Above it: the profile claims CPU time that was not spent.
    Inflated,
}

impl Verdict {
    fn name(self) -> &'static str {
        match self {
            Verdict::Faithful => "faithful",
            Verdict::Attenuated => "attenuated",
            Verdict::Inflated => "inflated",
        }
    }
}

/// A profile held against the ideal sampler.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judgement {
    /// Samples an ideal sampler takes from the child's CPU: `cpu / period`.
    pub expected: f64,
    /// Samples the profile's CPU amounts to: `profiled / period`.
    pub observed: f64,
    /// `observed / expected`.
    pub ratio: f64,
    /// The faithful range of the ratio.
    pub lo: f64,
    /// The faithful range of the ratio.
    pub hi: f64,
    /// The verdict.
    pub verdict: Verdict,
}

/// The error model, in one place so that it can be swapped for the analysis
/// crate's when `external` moves to it.
///
/// An ideal sampler with a random phase gives a clock that ran `x` periods
/// `floor(x)` or `floor(x)+1` samples, variance `f(1−f) ≤ 1/4`; with one
/// clock per thread, the total's variance is at most `threads/4` (a
/// process-wide timer is one clock: `threads = 1`). The interval is
/// `E ± z·sqrt(threads/4)` with z for 99.9 %, widened by one sample (the
/// count is an integer), 1 % of `E` (CPU outside the profile's window) and
/// 30 µs of CPU per thread (thread start and exit). No Poisson assumption:
/// a periodic sampler is far less noisy than Poisson, and pretending
/// otherwise would hide real losses.
///
/// `cpu_uncertainty_ns` widens the interval by how far off the CPU time
/// itself may be (0 for rusage; the polling error for a window's CPU).
pub fn judge(
    cpu_ns: u64,
    profiled_ns: u64,
    period_ns: u64,
    threads: u32,
    cpu_uncertainty_ns: u64,
) -> Judgement {
    let period = period_ns.max(1) as f64;
    let expected = cpu_ns as f64 / period;
    let observed = profiled_ns as f64 / period;
    let sd = (f64::from(threads.max(1)) / 4.0).sqrt();
    let slack = Z_999 * sd
        + 1.0
        + cpu_uncertainty_ns as f64 / period
        + RELATIVE_ALLOWANCE * expected
        + PER_THREAD_NS * f64::from(threads) / period;
    let (lo_samples, hi_samples) = (expected - slack, expected + slack);
    let verdict = if observed < lo_samples {
        Verdict::Attenuated
    } else if observed > hi_samples {
        Verdict::Inflated
    } else {
        Verdict::Faithful
    };
    let per = |s: f64| {
        if expected > 0.0 {
            s / expected
        } else {
            f64::NAN
        }
    };
    Judgement {
        expected,
        observed,
        ratio: per(observed),
        lo: per(lo_samples.max(0.0)),
        hi: per(hi_samples),
        verdict,
    }
}

fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => format!("ended abnormally ({status})"),
    }
}

/// What identifies one version of a file: a profile with the same identity
/// after CMD ran was not written by it.
fn identity(path: &Path) -> Option<(u64, u64, u64, Option<SystemTime>)> {
    fs::metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino(), m.len(), m.modified().ok()))
}

/// How often the child's CPU is read while it runs.
const POLL: Duration = Duration::from_millis(5);

/// ns since the epoch: the clock a profile's `time_nanos` is on.
fn unix_ns(t: SystemTime) -> i128 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

/// Process CPU (user + system, live and exited threads) from
/// `/proc/PID/stat`, in ns; it is kept in clock ticks of `tick_ns`.
fn proc_cpu_ns(pid: u32, tick_ns: u64) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields restart
    // after the last ')'. utime and stime are fields 14 and 15.
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) * tick_ns)
}

/// The child's CPU over time: `(ns since the epoch, CPU ns)`, increasing.
struct CpuTrace {
    points: Vec<(i128, u64)>,
    tick_ns: u64,
}

impl CpuTrace {
    /// The CPU at wall time `t`, and how far off it may be: interpolated
    /// between the polls around `t` (it lies between their values), plus
    /// one clock tick of rounding. `None` outside the traced span.
    fn at(&self, t: i128) -> Option<(u64, u64)> {
        let after = self.points.iter().position(|&(pt, _)| pt >= t)?;
        let (t1, c1) = self.points[after];
        if t1 == t {
            return Some((c1, self.tick_ns));
        }
        if after == 0 {
            return None;
        }
        let (t0, c0) = self.points[after - 1];
        let c1 = c1.max(c0);
        let share = (t - t0) as f64 / (t1 - t0).max(1) as f64;
        let estimate = c0 + ((c1 - c0) as f64 * share).round() as u64;
        let off = (estimate - c0).max(c1 - estimate);
        Some((estimate, off + self.tick_ns))
    }
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

fn hz_of(period_ns: u64) -> f64 {
    1e9 / period_ns.max(1) as f64
}

/// Runs CMD and judges its profile.
pub fn run(args: ExternalArgs) -> Result<ExitCode> {
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| input("external: no command given after --"))?;
    let shown = args
        .command
        .iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let path = &args.profile;
    let before = identity(path);

    let tick_ns = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|&t| t > 0)
        .map_or(10_000_000, |t| 1_000_000_000 / t as u64);
    let (user0, sys0) = harness::clock::rusage_children_ns();
    let started = Instant::now();
    // Before the spawn, the child's CPU is exactly 0.
    let spawned_ns = unix_ns(SystemTime::now());
    let mut child = Command::new(program)
        .args(rest)
        .spawn()
        .map_err(|e| input(format!("cannot run {}: {e}", program.to_string_lossy())))?;
    let mut trace = CpuTrace {
        points: vec![(spawned_ns, 0)],
        tick_ns,
    };
    let status = loop {
        // Read before reaping: an exited child's totals stay readable
        // until it is waited for.
        if let Some(cpu) = proc_cpu_ns(child.id(), tick_ns) {
            trace.points.push((unix_ns(SystemTime::now()), cpu));
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(POLL),
            Err(e) => return Err(anyhow!("waiting for {shown}: {e}")),
        }
    };
    let wall = started.elapsed();
    let (user1, sys1) = harness::clock::rusage_children_ns();
    let (user, sys) = (user1.saturating_sub(user0), sys1.saturating_sub(sys0));
    let child_cpu = user + sys;
    if !status.success() {
        return Err(anyhow!(
            "{shown} {}; no profile was read",
            describe_status(status)
        ));
    }

    let bytes = fs::read(path).map_err(|e| {
        input(format!(
            "{}: cannot read the profile CMD should have written: {e}",
            path.display()
        ))
    })?;
    if before.is_some() && identity(path) == before {
        return Err(input(format!(
            "{}: CMD did not rewrite it (it still holds an earlier profile)",
            path.display()
        )));
    }
    let profile = read_profile(&bytes).map_err(|e| input(format!("{}: {e}", path.display())))?;
    let summary =
        ProfileSummary::of(&profile).map_err(|e| input(format!("{}: {e}", path.display())))?;

    let (threads, threads_from) = match (args.threads, summary.threads_named) {
        (Some(n), _) => (n, "--threads".to_string()),
        (None, 0) => (
            1,
            "no thread labels in the profile: one clock assumed".to_string(),
        ),
        (None, n) => (
            n.min(u32::MAX as usize) as u32,
            "distinct thread labels in the profile".to_string(),
        ),
    };
    let judgement = judge(child_cpu, summary.cpu_ns, summary.period_ns, threads, 0);
    // The CPU inside the profile's own window, when it says where that is.
    let window = match (summary.time_ns, summary.duration_ns) {
        (Some(start), Some(duration)) => {
            let (start, end) = (start as i128, start as i128 + duration as i128);
            trace
                .at(start)
                .zip(trace.at(end))
                .map(|((c0, u0), (c1, u1))| (c1.saturating_sub(c0), u0 + u1, duration))
        }
        _ => None,
    };

    let mut rows: Vec<(&str, String)> = vec![
        ("command", shown),
        (
            "child CPU",
            format!(
                "{:.3} s (user {:.3} + system {:.3}) in {:.3} s wall",
                secs(child_cpu),
                secs(user),
                secs(sys),
                wall.as_secs_f64()
            ),
        ),
        (
            "profile",
            format!(
                "{}: {} samples in {} records; sample types {}",
                path.display(),
                summary.samples,
                summary.records,
                summary.sample_types.join(", ")
            ),
        ),
        (
            "period",
            format!(
                "{:.3} ms ({:.1} Hz)",
                summary.period_ns as f64 / 1e6,
                hz_of(summary.period_ns)
            ),
        ),
        (
            "duration",
            summary.duration_ns.map_or("not recorded".to_string(), |d| {
                format!("{:.3} s wall", secs(d))
            }),
        ),
        (
            "profiled CPU",
            format!(
                "{:.3} s ({})",
                secs(summary.cpu_ns),
                match summary.source {
                    CpuSource::CpuNanoseconds => "cpu/nanoseconds summed",
                    CpuSource::SamplesTimesPeriod => "samples × period",
                }
            ),
        ),
        (
            "expected",
            format!(
                "{:.1} samples (child CPU / period); the profile holds {:.1}",
                judgement.expected, judgement.observed
            ),
        ),
        (
            "ratio",
            format!(
                "{:.3} (faithful within {:.3}..{:.3}; {} {}, {threads_from})",
                judgement.ratio,
                judgement.lo,
                judgement.hi,
                threads,
                if threads == 1 { "clock" } else { "clocks" },
            ),
        ),
        ("verdict", judgement.verdict.name().to_string()),
    ];
    match window {
        Some((0, _, _)) => rows.push((
            "in its window",
            "unknown: CMD's own process burned no CPU during the profile \
             (if CMD is a wrapper that runs the profiled program, exec it instead)"
                .to_string(),
        )),
        Some((cpu, uncertainty, duration)) => {
            let w = judge(cpu, summary.cpu_ns, summary.period_ns, threads, uncertainty);
            rows.push((
                "in its window",
                format!(
                    "{:.3} ± {:.3} CPU s during the profile's {:.3} s (/proc/PID/stat): \
                     ratio {:.3} (faithful within {:.3}..{:.3}), {}",
                    secs(cpu),
                    secs(uncertainty),
                    secs(duration),
                    w.ratio,
                    w.lo,
                    w.hi,
                    w.verdict.name()
                ),
            ));
            rows.push((
                "outside it",
                format!(
                    "{:.3} CPU s: start-up, the profiler's own set-up, writing the profile, exit",
                    secs(child_cpu.saturating_sub(cpu))
                ),
            ));
        }
        None => rows.push((
            "in its window",
            "unknown: the profile does not say when it ran (time_nanos, duration_nanos), \
             or it ran outside the child's life"
                .to_string(),
        )),
    }
    if let Some(hz) = args.hz {
        let asked = harness::sampler::period_ns(hz);
        // pprof-rs and Go write 1e9/hz; allow rounding to whole µs.
        let off = (summary.period_ns as f64 - asked as f64).abs() / asked as f64;
        if off > 0.005 {
            rows.push((
                "flag",
                format!(
                    "the profile's period is {:.3} ms ({:.1} Hz), not the {:.3} ms of --hz {hz}",
                    summary.period_ns as f64 / 1e6,
                    hz_of(summary.period_ns),
                    asked as f64 / 1e6
                ),
            ));
        }
    }
    if summary.samples == 0.0 {
        rows.push((
            "note",
            "the profile is well formed but holds no samples".to_string(),
        ));
    }
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in rows {
        println!("{k:width$}  {v}");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_interval_is_tight_for_few_clocks_and_has_the_allowance() {
        // 4 CPU s at 100 Hz, 2 clocks: E = 400, slack = 3.29·0.707 + 1 + 4 + 0.006.
        let j = judge(4_000_000_000, 4_000_000_000, 10_000_000, 2, 0);
        assert_eq!(j.verdict, Verdict::Faithful);
        assert!((j.expected - 400.0).abs() < 1e-9);
        assert!((j.lo - 0.9817).abs() < 1e-3, "{}", j.lo);
        assert!((j.hi - 1.0183).abs() < 1e-3, "{}", j.hi);
        // 3 % missing is a real loss at 400 samples.
        assert_eq!(
            judge(4_000_000_000, 3_880_000_000, 10_000_000, 2, 0).verdict,
            Verdict::Attenuated
        );
        assert_eq!(
            judge(4_000_000_000, 4_120_000_000, 10_000_000, 2, 0).verdict,
            Verdict::Inflated
        );
        // With no CPU at all, any sample is inflation and the ratio is undefined.
        let none = judge(0, 100_000_000, 10_000_000, 1, 0);
        assert_eq!(none.verdict, Verdict::Inflated);
        assert!(none.ratio.is_nan());
        // An uncertain CPU time widens the interval by as many samples.
        let wide = judge(4_000_000_000, 3_880_000_000, 10_000_000, 2, 100_000_000);
        assert_eq!(wide.verdict, Verdict::Faithful);
    }

    #[test]
    fn cpu_trace_interpolates_and_bounds_its_error() {
        let trace = CpuTrace {
            points: vec![(0, 0), (100, 0), (200, 1000), (300, 1000)],
            tick_ns: 10,
        };
        assert_eq!(trace.at(0), Some((0, 10)));
        assert_eq!(trace.at(150), Some((500, 510)));
        assert_eq!(trace.at(200), Some((1000, 10)));
        assert_eq!(trace.at(250), Some((1000, 10)));
        assert_eq!(trace.at(-1), None);
        assert_eq!(trace.at(301), None);
    }

    #[test]
    fn reads_cpu_from_proc_stat() {
        let me = std::process::id();
        let tick = 10_000_000;
        assert!(proc_cpu_ns(me, tick).is_some());
        assert!(proc_cpu_ns(u32::MAX, tick).is_none());
    }
}
