//! What the sampler costs the program it samples.
//!
//! - `delivery/*`: one SIGPROF delivered to the calling thread and handled,
//!   absolute. The floor is an empty handler (reached by `tgkill`, and by
//!   `rt_tgsigqueueinfo` carrying a timer's `si_code`); each mode's row is
//!   profbench's real handler in a live session of that mode, reached by the
//!   same `rt_tgsigqueueinfo` call with the `si_code` the mode's own signals
//!   carry, so the difference to the floor is the handler's work.
//! - `handler-vs-floor/*`: the same two, paired: each batch of deliveries
//!   through the mode's handler is timed next to a batch of the same size,
//!   with the same `si_code`, through the empty handler (alternating which
//!   goes first), and criterion reports `1 µs × handler / floor`: read
//!   `1.07 µs` as 1.07 × the floor. On a shared machine the absolute rows
//!   drift with the load between one row and the next; a pair does not.
//! - `slowdown/*`: the process CPU time (`CLOCK_PROCESS_CPUTIME_ID`, so the
//!   handler's CPU is in it and a busy machine's wall clock is not) of a
//!   fixed amount of work on 2 threads with a mode sampling at 100 or
//!   1000 Hz, each run paired with an adjacent run of the same work with no
//!   sampler (alternating which goes first), reported as
//!   `100 ms × on / off`: read `100.4 ms` as +0.4 %. `slowdown/off` pairs
//!   two unsampled runs: it is the measurement's own noise.
//!
//! After criterion's report, a table of medians over every pair (with the
//! 10th–90th percentiles) is printed against the goals (reported, not
//! asserted): handler ≤ 1.2× the floor; slowdown ≤ 1 % at 100 Hz for every
//! mode.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode};
use harness::clock::process_cpu_ns;
use harness::probe::{codes, native_code, send_sigprof_to_self, EmptyHandler};
use harness::{Mode, Session, SessionConfig};
use nix::sys::pthread::{pthread_kill, pthread_self};
use nix::sys::signal::Signal;
use workloads::{Spawner, StdSpawner, ThreadRole};

const MODES: [&str; 6] = [
    "setitimer",
    "process-timer+overrun",
    "thread-timer",
    "thread-timer+overrun+flush",
    "hybrid",
    "perf-event",
];

/// Every pair's ratio, by row, for the summary.
static PAIRS: Mutex<BTreeMap<String, Vec<f64>>> = Mutex::new(BTreeMap::new());
/// Alternates which side of a pair runs first.
static FLIP: AtomicU64 = AtomicU64::new(0);

fn record(row: &str, ratio: f64) {
    PAIRS
        .lock()
        .unwrap()
        .entry(row.to_string())
        .or_default()
        .push(ratio);
}

/// Runs `a` and `b` one after the other, in alternating order, and returns
/// what each returned.
fn paired<T>(a: impl FnOnce() -> T, b: impl FnOnce() -> T) -> (T, T) {
    if FLIP.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
        let x = a();
        (x, b())
    } else {
        let y = b();
        (a(), y)
    }
}

fn session(mode: Mode, hz: u32) -> Option<Session> {
    match Session::start(SessionConfig { mode, hz, seed: 1 }) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("skipping {mode} at {hz} Hz: {e}");
            None
        }
    }
}

fn deliveries(iters: u64, code: i32) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        send_sigprof_to_self(code, 0).unwrap();
    }
    start.elapsed()
}

fn delivery(c: &mut Criterion) {
    let mut group = c.benchmark_group("delivery");
    {
        let _empty = EmptyHandler::install().expect("installing an empty handler");
        group.bench_function("floor-tgkill", |b| {
            b.iter(|| pthread_kill(pthread_self(), Signal::SIGPROF).unwrap())
        });
        group.bench_function("floor-sigqueueinfo", |b| {
            b.iter(|| send_sigprof_to_self(codes::SI_TIMER, 0).unwrap())
        });
    }
    for mode in MODES {
        let mode: Mode = mode.parse().unwrap();
        // 1 Hz: the session's own timers stay out of the measurement.
        let Some(session) = session(mode, 1) else {
            continue;
        };
        let code = native_code(mode.mechanism).expect("profbench's own modes have a native code");
        group.bench_function(mode.to_string(), |b| {
            b.iter(|| send_sigprof_to_self(code, 0).unwrap())
        });
        session.finish().unwrap();
    }
    group.finish();

    let mut group = c.benchmark_group("handler-vs-floor");
    for mode in MODES {
        let mode: Mode = mode.parse().unwrap();
        if session(mode, 1).map(|s| s.finish()).is_none() {
            continue;
        }
        let code = native_code(mode.mechanism).expect("profbench's own modes have a native code");
        let row = format!("handler-vs-floor/{mode}");
        group.bench_function(mode.to_string(), |b| {
            b.iter_custom(|iters| {
                let (floor, handler) = paired(
                    || {
                        let _empty = EmptyHandler::install().expect("an empty handler");
                        deliveries(iters, code)
                    },
                    || {
                        let s = session(mode, 1).expect("it started before");
                        let t = deliveries(iters, code);
                        s.finish().unwrap();
                        t
                    },
                );
                let ratio = handler.as_secs_f64() / floor.as_secs_f64();
                record(&row, ratio);
                Duration::from_secs_f64(1e-6 * ratio * iters as f64)
            })
        });
    }
    group.finish();
}

/// Steps of fixed work per thread: about 50 ms of CPU on the 2-core EPYC VM.
const STEPS: u64 = 20_000_000;
const THREADS: usize = 2;
/// What `on / off = 1` is reported as.
const NOMINAL_S: f64 = 0.1;

fn fixed_work(spawner: &dyn Spawner) {
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            spawner
                .spawn(
                    ThreadRole::Registered,
                    Box::new(|| {
                        black_box(workloads::burn::spin_steps(STEPS));
                    }),
                )
                .unwrap()
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

/// Process CPU of the fixed work with no sampler.
fn off_cpu() -> f64 {
    let start = process_cpu_ns();
    fixed_work(&StdSpawner);
    (process_cpu_ns() - start) as f64
}

/// Process CPU of the fixed work with a session sampling; the session's own
/// start and finish are left out (a profiler starts once per program, not
/// once per 100 ms of work).
fn on_cpu(mode: Mode, hz: u32) -> f64 {
    let session = Session::start(SessionConfig { mode, hz, seed: 1 }).unwrap();
    let start = process_cpu_ns();
    fixed_work(&session.spawner());
    let cpu = (process_cpu_ns() - start) as f64;
    session.finish().unwrap();
    cpu
}

fn slowdown(c: &mut Criterion) {
    let mut group = c.benchmark_group("slowdown");
    // Each iteration is a pair of ~100 ms runs: flat sampling, the same
    // number of pairs in every sample.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(12));
    let mut pairs = |name: String, on: &dyn Fn() -> f64| {
        let row = format!("slowdown/{name}");
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut sum = 0.0;
                for _ in 0..iters {
                    let (off, on) = paired(off_cpu, on);
                    record(&row, on / off);
                    sum += on / off;
                }
                Duration::from_secs_f64(NOMINAL_S * sum)
            })
        });
    };
    pairs("off".into(), &off_cpu);
    for hz in [100, 1000] {
        for mode in MODES {
            let mode: Mode = mode.parse().unwrap();
            if session(mode, hz).map(|s| s.finish()).is_none() {
                continue;
            }
            pairs(format!("{mode}@{hz}Hz"), &move || on_cpu(mode, hz));
        }
    }
    group.finish();
}

/// The median and the 10th and 90th percentiles.
fn spread(values: &[f64]) -> Option<(f64, f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    Some((at(0.5), at(0.1), at(0.9)))
}

fn summary() {
    let pairs = PAIRS.lock().unwrap();
    if pairs.is_empty() {
        return;
    }
    let ratio = |row: String| -> String {
        match pairs
            .get(&row)
            .and_then(|v| spread(v).map(|s| (s, v.len())))
        {
            Some(((m, lo, hi), n)) => format!("{m:.3}× ({lo:.3}–{hi:.3}, n={n})"),
            None => "-".into(),
        }
    };
    let percent = |row: String| -> String {
        match pairs
            .get(&row)
            .and_then(|v| spread(v).map(|s| (s, v.len())))
        {
            Some(((m, lo, hi), n)) => format!(
                "{:+.2} % ({:+.2}…{:+.2}, n={n})",
                (m - 1.0) * 100.0,
                (lo - 1.0) * 100.0,
                (hi - 1.0) * 100.0
            ),
            None => "-".into(),
        }
    };
    println!("\nWhat the sampler costs: medians over pairs (10th–90th percentile)");
    println!(
        "{:<28} {:<30} {:<32} {:<32}",
        "mode", "handler ÷ floor", "slowdown @ 100 Hz", "slowdown @ 1000 Hz"
    );
    println!(
        "{:<28} {:<30} {:<32} {:<32}",
        "(no sampler: off ÷ off)",
        "",
        percent("slowdown/off".into()),
        ""
    );
    for mode in MODES {
        println!(
            "{:<28} {:<30} {:<32} {:<32}",
            mode,
            ratio(format!("handler-vs-floor/{mode}")),
            percent(format!("slowdown/{mode}@100Hz")),
            percent(format!("slowdown/{mode}@1000Hz"))
        );
    }
    println!("goals: handler ≤ 1.2× the floor; slowdown ≤ 1 % at 100 Hz");
}

fn main() {
    // cargo builds plotters once for the whole workspace, with the analysis
    // crate's features, so criterion's charts render their text through
    // ab_glyph too, which knows no font until one is registered.
    analysis::plot::register_fonts();
    let mut c = Criterion::default().configure_from_args();
    delivery(&mut c);
    slowdown(&mut c);
    c.final_summary();
    summary();
}
