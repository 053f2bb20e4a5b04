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

/// `(samples + overruns)·period / CPU`: every expiry, delivered or merged.
fn ratio_with_overruns(r: &harness::TrialRecord) -> f64 {
    (r.samples + r.overruns) as f64 * r.period_ns as f64 / r.cpu_ns as f64
}

#[test]
fn thread_timer_at_100_hz_is_faithful() {
    let _serial = serial();
    // 2 CPU s at 100 Hz: 200 expected samples, model sd < 1 sample; the
    // bound leaves room for thread start-up CPU no timer covers. On a quiet
    // machine the raw ratio is 0.98–1.0 for 1, 2 and 4 threads. When other
    // processes compete for the cores, the tick (which checks a CPU timer
    // only on the thread it interrupts) misses some of a thread's run time
    // and two expiries arrive as one signal plus an overrun: the raw ratio
    // drops (0.87 seen at load average 7), the expiries are not lost. So the
    // raw ratio gets a loose bound and the expiry count the tight one.
    for threads in [1, 2, 4] {
        let r = trial(
            "thread-timer",
            Parallel,
            threads,
            100,
            2.0,
            Default::default(),
        );
        let every_expiry = ratio_with_overruns(&r);
        assert!(
            (0.9..=1.1).contains(&every_expiry),
            "{threads} threads: expiries {every_expiry}"
        );
        assert!(
            (0.6..=1.1).contains(&ratio(&r)),
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
    let recovered = ratio_with_overruns(&r);
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
    // Counted with overruns, as in `thread_timer_at_100_hz_is_faithful`.
    let registered = r.threads_detail.iter().filter(|t| t.registered);
    let expiries: u64 = registered.clone().map(|t| t.samples + t.overruns).sum();
    let registered_cpu: u64 = registered.filter_map(|t| t.cpu_ns).sum();
    let registered_ratio = expiries as f64 * r.period_ns as f64 / registered_cpu as f64;
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
        // A thread with a timer of its own says when (in its CPU time) it
        // was armed; the CPU before that was invisible to the timer.
        for t in &r.threads_detail {
            let has_own = mode.starts_with("thread-timer")
                || mode.starts_with("hybrid")
                || mode.starts_with("perf-event");
            match (t.armed_cpu_ns, t.cpu_ns, has_own && t.registered) {
                (Some(armed), Some(cpu), true) => assert!(armed <= cpu, "{mode}: {t:?}"),
                (None, _, false) => {}
                _ => panic!("{mode}: armed_cpu_ns does not match the mode: {t:?}"),
            }
        }
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

#[test]
fn the_handler_counts_weighs_and_filters_what_it_receives() {
    use harness::probe::{codes, send_sigprof_to_self};
    let _serial = serial();
    for (mode, accepted, refused) in [
        ("thread-timer", codes::SI_TIMER, codes::SI_KERNEL),
        ("thread-timer+overrun", codes::SI_TIMER, codes::SI_KERNEL),
        ("setitimer", codes::SI_KERNEL, codes::SI_TIMER),
        ("perf-event", codes::POLL_IN, codes::SI_KERNEL),
    ] {
        // 1 Hz: the session's own timers stay silent for the test's few µs.
        let session = Session::start(SessionConfig {
            mode: mode.parse::<Mode>().unwrap(),
            hz: 1,
            seed: 1,
        })
        .unwrap();
        send_sigprof_to_self(accepted, 3).unwrap();
        send_sigprof_to_self(accepted, 0).unwrap();
        send_sigprof_to_self(refused, 0).unwrap();
        // A user's `kill -PROF` is never a sample.
        send_sigprof_to_self(libc::SI_USER, 0).unwrap();
        let m = session.finish().unwrap();
        assert_eq!(m.samples, 2, "{mode}");
        assert_eq!(m.rejected, 2, "{mode}");
        let overrun = if accepted == codes::SI_TIMER { 3 } else { 0 };
        assert_eq!(m.overruns, overrun, "{mode}");
        let weighted = if mode.ends_with("+overrun") {
            2 + overrun
        } else {
            2
        };
        assert_eq!(m.weighted_samples, weighted, "{mode}");
        let coordinator = m
            .threads
            .iter()
            .find(|t| t.kind == harness::ThreadKind::Coordinator)
            .unwrap();
        assert_eq!(
            coordinator.samples, 2,
            "{mode}: the signals landed on the coordinator"
        );
    }
}

#[test]
fn hybrid_keeps_timer_signals_only_on_threads_with_timers() {
    use harness::probe::{codes, send_sigprof_to_self};
    let _serial = serial();
    let session = Session::start(SessionConfig {
        mode: "hybrid".parse::<Mode>().unwrap(),
        hz: 1,
        seed: 1,
    })
    .unwrap();
    // The coordinator owns a timer: it keeps SI_TIMER and refuses SI_KERNEL.
    send_sigprof_to_self(codes::SI_TIMER, 0).unwrap();
    send_sigprof_to_self(codes::SI_KERNEL, 0).unwrap();
    // A foreign thread owns none: the opposite.
    let spawner = session.spawner();
    use workloads::Spawner;
    spawner
        .spawn(
            workloads::ThreadRole::Foreign,
            Box::new(|| {
                send_sigprof_to_self(codes::SI_TIMER, 0).unwrap();
                send_sigprof_to_self(codes::SI_KERNEL, 0).unwrap();
                send_sigprof_to_self(codes::SI_KERNEL, 0).unwrap();
            }),
        )
        .unwrap()
        .join()
        .unwrap();
    let m = session.finish().unwrap();
    let of = |kind| m.threads.iter().find(|t| t.kind == kind).unwrap();
    let coordinator = of(harness::ThreadKind::Coordinator);
    assert_eq!((coordinator.samples, coordinator.rejected), (1, 1));
    let foreign = of(harness::ThreadKind::Foreign);
    assert_eq!((foreign.samples, foreign.rejected), (2, 1));
    assert!(!foreign.registered);
}

#[test]
fn someone_elses_handler_is_restored() {
    let _serial = serial();
    let theirs = harness::probe::EmptyHandler::install().unwrap();
    let their_address = harness::current_sigprof_handler().unwrap();
    for mode in ["setitimer", "thread-timer", "perf-event"] {
        let _ = trial(mode, Parallel, 2, 1000, 0.2, Default::default());
        assert_eq!(
            harness::current_sigprof_handler().unwrap(),
            their_address,
            "{mode}"
        );
    }
    drop(theirs);
    assert_ne!(harness::current_sigprof_handler().unwrap(), their_address);
}

#[test]
fn a_failing_timer_create_fails_the_trial_and_leaks_nothing() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let _serial = serial();
    let timers_before = posix_timers();
    let (soft, hard) = getrlimit(Resource::RLIMIT_SIGPENDING).unwrap();
    // POSIX timers preallocate their signal against RLIMIT_SIGPENDING, so
    // with a limit of 0 every timer_create fails with EAGAIN.
    setrlimit(Resource::RLIMIT_SIGPENDING, 0, hard).unwrap();
    let spec = |mode: &str| harness::TrialSpec {
        mode: mode.parse().unwrap(),
        workload: Parallel,
        threads: 2,
        hz: 100,
        cpu: std::time::Duration::from_millis(100),
        params: Default::default(),
        trial: 0,
        seed: 1,
    };
    let thread_timer = harness::run_trial(&spec("thread-timer"));
    let process_timer = harness::run_trial(&spec("process-timer"));
    // setitimer's signals are not preallocated: it still works.
    let setitimer = harness::run_trial(&spec("setitimer"));
    setrlimit(Resource::RLIMIT_SIGPENDING, soft, hard).unwrap();
    for r in [&thread_timer, &process_timer] {
        assert_eq!(r.status, harness::TrialStatus::Failed, "{}", r.mode);
        let error = r.error.as_deref().unwrap();
        assert!(error.contains("os error 11"), "{}: {error}", r.mode);
    }
    assert_eq!(
        setitimer.status,
        harness::TrialStatus::Ok,
        "{:?}",
        setitimer.error
    );
    assert_eq!(posix_timers(), timers_before);
    assert!(harness::itimer_prof().unwrap().value.is_zero());
}

#[test]
fn someone_elses_itimer_is_not_mixed_with_ours() {
    let _serial = serial();
    // Their handler first, so their timer's signal cannot kill the test.
    let _theirs = harness::probe::EmptyHandler::install().unwrap();
    let itimer = harness::probe::ProfItimer::arm(std::time::Duration::from_secs(10)).unwrap();
    let config = SessionConfig {
        mode: "setitimer".parse::<Mode>().unwrap(),
        hz: 100,
        seed: 1,
    };
    assert!(matches!(
        Session::start(config),
        Err(harness::SamplerError::ItimerInUse)
    ));
    itimer.disarm().unwrap();
    Session::start(config).unwrap().finish().unwrap();
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
