//! Real trials under each mode, with bounds that hold on a noisy 2-core
//! machine: each asserts the kernel behaviour the mode is known for, with
//! margins several times the model's standard deviation.

mod common;

use common::{perf_fds, posix_timers, serial, trial};
use harness::{Mode, Session, SessionConfig};
use workloads::WorkloadKind::Parallel;

fn ratio(r: &harness::TrialRecord) -> f64 {
    r.ratio.expect("a measured trial has a ratio")
}

#[test]
fn thread_timer_at_100_hz_is_faithful() {
    let _serial = serial();
    // 2 CPU s at 100 Hz: 200 expected samples, model sd < 1 sample; the
    // bound leaves room for thread start-up CPU no timer covers.
    for threads in [1, 2, 4] {
        let r = trial(
            "thread-timer",
            Parallel,
            threads,
            100,
            2.0,
            Default::default(),
        );
        assert!(
            (0.9..=1.1).contains(&ratio(&r)),
            "{threads} threads: ratio {}",
            ratio(&r)
        );
    }
}

#[test]
fn thread_timer_at_1000_hz_hits_the_tick_cap_and_overruns_explain_it() {
    let _serial = serial();
    let r = trial("thread-timer", Parallel, 2, 1000, 2.0, Default::default());
    // HZ is 100..1000 on Linux; at 1000 Hz requested, a CPU timer fires at
    // most once per tick, so the ratio is about HZ/1000 < 1 unless HZ=1000.
    let hz = harness::env::measure_timer_tick_hz(std::time::Duration::from_millis(200))
        .expect("measuring the tick");
    let expected = (hz / 1000.0).min(1.0);
    assert!(
        (ratio(&r) - expected).abs() < 0.1,
        "ratio {} vs HZ/1000 = {expected}",
        ratio(&r)
    );
    // Every missed expiry is reported as an overrun of a delivered one.
    let recovered = (r.samples + r.overruns) as f64 * r.period_ns as f64 / r.cpu_ns as f64;
    assert!(
        (0.9..=1.1).contains(&recovered),
        "samples+overruns ratio {recovered}"
    );
    let o = trial(
        "thread-timer+overrun",
        Parallel,
        2,
        1000,
        2.0,
        Default::default(),
    );
    assert!(
        (0.9..=1.1).contains(&ratio(&o)),
        "+overrun ratio {}",
        ratio(&o)
    );
    assert_eq!(o.weighted_samples, o.samples + o.overruns);
}

#[test]
fn setitimer_at_1000_hz_is_attenuated() {
    let _serial = serial();
    // One ITIMER_PROF check per tick sends at most one signal: at 1000 Hz
    // the ratio is at most about HZ/1000 whatever the parallelism.
    let r = trial("setitimer", Parallel, 2, 1000, 2.0, Default::default());
    assert!(ratio(&r) < 0.5, "ratio {}", ratio(&r));
    assert_eq!(r.overruns, 0, "setitimer signals carry no overrun");
}

#[test]
fn hybrid_filters_by_si_code() {
    let _serial = serial();
    let r = trial("hybrid", Parallel, 2, 100, 2.0, Default::default());
    // The registered threads are sampled by their own timers. (The test
    // harness's idle main thread is unregistered: when the running thread
    // has SIGPROF blocked or pending, the kernel hands setitimer's
    // process-wide signal to it and hybrid accepts it, so the trial's total
    // may exceed 1. That is hybrid's real over-count, measured by the
    // `foreign` workload, not asserted away here.)
    let (registered_weighted, _) = r.weighted_by_registration();
    let registered_cpu: u64 = r
        .threads_detail
        .iter()
        .filter(|t| t.registered)
        .filter_map(|t| t.cpu_ns)
        .sum();
    let registered_ratio = registered_weighted as f64 * r.period_ns as f64 / registered_cpu as f64;
    assert!(
        (0.9..=1.1).contains(&registered_ratio),
        "registered ratio {registered_ratio}"
    );
    // Registered threads own timers, so setitimer's signals landing on them are refused.
    assert!(r.rejected > 0, "no setitimer signal was refused");
}

#[test]
fn counts_add_up_per_thread() {
    let _serial = serial();
    for mode in [
        "setitimer",
        "thread-timer+overrun",
        "hybrid",
        "process-timer",
        "perf-event",
        #[cfg(feature = "pprof")]
        "pprof-rs",
    ] {
        let r = trial(mode, Parallel, 2, 250, 0.5, Default::default());
        let samples: u64 = r.threads_detail.iter().map(|t| t.samples).sum();
        let weighted: u64 = r.threads_detail.iter().map(|t| t.weighted_samples).sum();
        assert_eq!(samples, r.samples, "{mode}");
        assert_eq!(weighted, r.weighted_samples, "{mode}");
        let workers = r
            .threads_detail
            .iter()
            .filter(|t| t.kind == harness::ThreadKind::Worker)
            .count();
        assert_eq!(workers, 2, "{mode}");
        assert!(r
            .threads_detail
            .iter()
            .any(|t| t.kind == harness::ThreadKind::Coordinator));
    }
}

#[test]
fn sessions_leave_nothing_behind() {
    let _serial = serial();
    let timers_before = posix_timers();
    let fds_before = perf_fds();
    let handler_before = harness::current_sigprof_handler().unwrap();
    for mode in [
        "setitimer",
        "process-timer+overrun+flush",
        "thread-timer+flush",
        "hybrid",
        "perf-event+flush",
        // pprof-rs sets SIGPROF to SIG_IGN when it stops; the session must
        // put back what was there before.
        #[cfg(feature = "pprof")]
        "pprof-rs",
    ] {
        let _ = trial(mode, Parallel, 2, 1000, 0.2, Default::default());
        assert_eq!(posix_timers(), timers_before, "{mode} left a POSIX timer");
        assert_eq!(perf_fds(), fds_before, "{mode} left a perf fd");
        assert_eq!(
            harness::current_sigprof_handler().unwrap(),
            handler_before,
            "{mode}"
        );
        assert!(
            harness::itimer_prof().unwrap().value.is_zero(),
            "{mode} left ITIMER_PROF armed"
        );
    }
}

#[test]
fn a_second_session_is_refused() {
    let _serial = serial();
    let config = SessionConfig {
        mode: "thread-timer".parse::<Mode>().unwrap(),
        hz: 100,
        seed: 1,
    };
    let first = Session::start(config).unwrap();
    let second = Session::start(config);
    assert!(matches!(second, Err(harness::SamplerError::Busy)));
    first.finish().unwrap();
    Session::start(config).unwrap().finish().unwrap();
}

#[test]
fn bad_rates_are_refused() {
    let _serial = serial();
    for hz in [0, harness::sampler::MAX_HZ + 1] {
        let r = Session::start(SessionConfig {
            mode: Mode::plain(harness::Mechanism::Setitimer),
            hz,
            seed: 1,
        });
        assert!(matches!(r, Err(harness::SamplerError::BadRate(_))), "{hz}");
    }
}

#[cfg(feature = "pprof")]
#[test]
fn pprof_rs_at_100_hz_on_one_thread_is_faithful_and_attributed() {
    let _serial = serial();
    // 1 CPU s at 100 Hz on one thread: 100 expected samples from one
    // process-wide ITIMER_PROF, whose count is off by at most ±1 when the
    // kernel keeps up. The bound of ±15 % is generous on purpose: it must
    // hold on a shared 2-core VM and in a debug build (where pprof-rs's
    // unwinding runs unoptimised), and it still catches a broken count
    // (zero, doubled, or samples lost to an unmapped thread).
    let r = trial("pprof-rs", Parallel, 1, 100, 1.0, Default::default());
    assert!(
        (0.85..=1.15).contains(&ratio(&r)),
        "pprof-rs ratio {}",
        ratio(&r)
    );
    assert_eq!(r.period_ns, 10_000_000);
    assert_eq!((r.overruns, r.flushed, r.rejected), (0, 0, 0));
    assert_eq!(r.weighted_samples, r.samples);
    // The worker's samples land on the worker (pprof-rs names it by
    // pthread_self(), which the session recorded), and the per-thread
    // counts add up to the trial's.
    let worker = r
        .threads_detail
        .iter()
        .find(|t| t.kind == harness::ThreadKind::Worker)
        .expect("a worker record");
    assert!(
        worker.samples * 10 >= r.samples * 9,
        "worker has {} of {} samples: {:?}",
        worker.samples,
        r.samples,
        r.threads_detail
    );
    let sum: u64 = r.threads_detail.iter().map(|t| t.samples).sum();
    assert_eq!(sum, r.samples);
}

#[cfg(feature = "pprof")]
#[test]
fn pprof_rs_refuses_to_run_beside_a_session() {
    let _serial = serial();
    let config = SessionConfig {
        mode: "setitimer".parse::<Mode>().unwrap(),
        hz: 100,
        seed: 1,
    };
    let session = Session::start(config).unwrap();
    assert!(matches!(
        harness::pprof_rs::SelfProfiler::start(100),
        Err(harness::SamplerError::Busy)
    ));
    let pprof = Session::start(SessionConfig {
        mode: "pprof-rs".parse::<Mode>().unwrap(),
        ..config
    });
    assert!(matches!(pprof, Err(harness::SamplerError::Busy)));
    session.finish().unwrap();
    // And a pprof-rs session holds the lock like any other.
    let pprof = Session::start(SessionConfig {
        mode: "pprof-rs".parse::<Mode>().unwrap(),
        ..config
    })
    .unwrap();
    assert!(matches!(
        Session::start(config),
        Err(harness::SamplerError::Busy)
    ));
    pprof.finish().unwrap();
    assert!(harness::itimer_prof().unwrap().value.is_zero());
}
