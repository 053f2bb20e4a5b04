//! Stress: every mode at its highest useful rate while 10 000 short threads
//! are created and destroyed, then a bursty load. Nothing may crash, hang,
//! leak, allocate inside the signal handler, or lose track of a count.
//!
//! The whole file runs under a counting global allocator; a watchdog aborts
//! the process with a message (instead of hanging CI) if a trial deadlocks.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{perf_fds, posix_timers, serial, trial};
use harness::probe::{as_if_in_handler, HandlerAllocationCounter};
use harness::TrialRecord;
use workloads::{WorkloadKind, WorkloadParams};

#[global_allocator]
static ALLOCATOR: HandlerAllocationCounter = HandlerAllocationCounter::new();

/// Aborts the process if `done` is not set within `limit`.
fn watchdog(limit: Duration, done: &'static AtomicBool, what: &'static str) {
    std::thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < limit {
            if done.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("watchdog: {what} did not finish within {limit:?}: deadlock or livelock");
        std::process::abort();
    });
}

fn check_counts(r: &TrialRecord) {
    let samples: u64 = r.threads_detail.iter().map(|t| t.samples).sum();
    let weighted: u64 = r.threads_detail.iter().map(|t| t.weighted_samples).sum();
    assert_eq!(samples, r.samples, "{}: per-thread samples", r.mode);
    // A process-wide flush is the trial's, not a thread's.
    assert!(weighted <= r.weighted_samples, "{}", r.mode);
    if !r.mode.to_string().starts_with("process-timer") {
        assert_eq!(
            weighted, r.weighted_samples,
            "{}: per-thread weights",
            r.mode
        );
    }
}

#[test]
fn the_allocation_check_can_fail() {
    let before = ALLOCATOR.allocations_in_handler();
    as_if_in_handler(|| drop(std::hint::black_box(vec![1u8; 64])));
    assert!(ALLOCATOR.allocations_in_handler() > before);
}

#[test]
fn every_mode_survives_churn_and_bursts() {
    static DONE: AtomicBool = AtomicBool::new(false);
    let _serial = serial();
    watchdog(Duration::from_secs(240), &DONE, "the stress test");
    let timers_before = posix_timers();
    let fds_before = perf_fds();
    let handler_before = harness::current_sigprof_handler().unwrap();
    let started = Instant::now();
    let (mut threads, mut signals) = (0usize, 0u64);
    for (mode, hz) in [
        ("setitimer", 1000),
        ("process-timer+overrun+flush", 1000),
        ("thread-timer+overrun+flush", 1000),
        ("hybrid+overrun+flush", 1000),
        ("perf-event+flush", 10_000),
    ] {
        // 10 000 threads of 0.1 ms CPU, at most 4 alive at once.
        let churn = trial(
            mode,
            WorkloadKind::ShortLived,
            4,
            hz,
            1.0,
            WorkloadParams {
                lifetime_ms: Some(0.1),
                ..Default::default()
            },
        );
        assert_eq!(churn.threads_spawned, 10_000, "{mode}");
        let bursts = trial(
            mode,
            WorkloadKind::Bursty,
            4,
            hz,
            0.4,
            WorkloadParams {
                burst_ms: Some(0.5),
                duty: Some(0.5),
                ..Default::default()
            },
        );
        for r in [&churn, &bursts] {
            check_counts(r);
            assert!(r.samples > 0, "{mode} {}: no signal handled", r.workload);
            threads += r.threads_spawned;
            signals += r.samples + r.rejected;
        }
        assert_eq!(posix_timers(), timers_before, "{mode} leaked a timer");
        assert_eq!(perf_fds(), fds_before, "{mode} leaked a perf fd");
        assert_eq!(
            harness::current_sigprof_handler().unwrap(),
            handler_before,
            "{mode}"
        );
        assert!(harness::itimer_prof().unwrap().value.is_zero(), "{mode}");
    }
    DONE.store(true, Ordering::Relaxed);
    assert_eq!(
        ALLOCATOR.allocations_in_handler(),
        0,
        "the handler allocated"
    );
    println!(
        "stress: {threads} threads churned, {signals} signals handled, {:.1} s, 0 allocations in the handler, 0 leaks",
        started.elapsed().as_secs_f64()
    );
}
