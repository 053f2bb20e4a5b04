//! Helpers shared by the sampler integration tests.
//!
//! A process has one SIGPROF disposition and one ITIMER_PROF, and
//! `cargo test` runs the tests of a file as threads of one process, so every
//! test that samples holds [`serial`] for its whole duration (nextest runs
//! each test in its own process, where the lock is free).

#![allow(dead_code)]

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use harness::{run_trial, Mode, TrialRecord, TrialSpec};
use workloads::{WorkloadKind, WorkloadParams};

static SERIAL: Mutex<()> = Mutex::new(());

/// Serialises sampler tests within one process.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs one trial and checks it measured something.
pub fn trial(
    mode: &str,
    workload: WorkloadKind,
    threads: usize,
    hz: u32,
    cpu_s: f64,
    params: WorkloadParams,
) -> TrialRecord {
    let spec = TrialSpec {
        mode: mode.parse::<Mode>().unwrap(),
        workload,
        threads,
        hz,
        cpu: Duration::from_secs_f64(cpu_s),
        params,
        trial: 0,
        seed: 42,
    };
    let record = run_trial(&spec);
    assert_eq!(
        record.status,
        harness::TrialStatus::Ok,
        "{mode} {workload} failed: {:?}",
        record.error
    );
    record
}

/// The POSIX timers this process owns, as listed in /proc/self/timers.
pub fn posix_timers() -> usize {
    std::fs::read_to_string("/proc/self/timers")
        .map(|s| s.lines().filter(|l| l.starts_with("ID:")).count())
        .unwrap_or(0)
}

/// Open perf event descriptors of this process.
pub fn perf_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter(|target| target.to_string_lossy().contains("perf_event"))
                .count()
        })
        .unwrap_or(0)
}
