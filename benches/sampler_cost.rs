//! What the sampler costs the program it samples.
//!
//! - `delivery/*`: one SIGPROF delivered to the calling thread and handled.
//!   The floor is an empty handler (reached by `tgkill`, and by
//!   `rt_tgsigqueueinfo` carrying a timer's `si_code`); each mode's row is
//!   profbench's real handler in a live session of that mode, reached by the
//!   same `rt_tgsigqueueinfo` call with the `si_code` the mode's own signals
//!   carry, so the difference to the floor is the handler's work.
//! - `slowdown/*`: process CPU time of a fixed amount of work on 2 threads,
//!   with each mode sampling at 100 and 1000 Hz, against the same work with
//!   no sampler. Measured in CPU time (`CLOCK_PROCESS_CPUTIME_ID`), not wall
//!   time, so a busy machine slows both sides alike.
//!
//! Goals (reported, not asserted): handler ≤ 1.2× the floor; slowdown ≤ 1 %
//! at 100 Hz for every mode.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, Criterion};
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
        let session = match Session::start(SessionConfig {
            mode,
            hz: 1,
            seed: 1,
        }) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("skipping {mode}: {e}");
                continue;
            }
        };
        let code = native_code(mode.mechanism).expect("profbench's own modes have a native code");
        group.bench_function(mode.to_string(), |b| {
            b.iter(|| send_sigprof_to_self(code, 0).unwrap())
        });
        session.finish().unwrap();
    }
    group.finish();
}

/// Steps of fixed work per thread: about 20 ms of CPU here.
const STEPS: u64 = 20_000_000;
const THREADS: usize = 2;

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

fn cpu_of(iters: u64, mut once: impl FnMut()) -> Duration {
    let start = process_cpu_ns();
    for _ in 0..iters {
        once();
    }
    Duration::from_nanos(process_cpu_ns() - start)
}

fn slowdown(c: &mut Criterion) {
    let mut group = c.benchmark_group("slowdown");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));
    group.bench_function("off", |b| {
        b.iter_custom(|iters| cpu_of(iters, || fixed_work(&StdSpawner)))
    });
    for hz in [100, 1000] {
        for mode in MODES {
            let mode: Mode = mode.parse().unwrap();
            group.bench_function(format!("{mode}@{hz}Hz"), |b| {
                b.iter_custom(|iters| {
                    cpu_of(iters, || {
                        let session = Session::start(SessionConfig { mode, hz, seed: 1 }).unwrap();
                        fixed_work(&session.spawner());
                        session.finish().unwrap();
                    })
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, delivery, slowdown);

// `criterion_main!` with one step first: cargo builds plotters once for the
// whole workspace, with the analysis crate's features, so criterion's
// charts render their text through ab_glyph too, which knows no font until
// one is registered. The analysis crate's embedded DejaVu Sans is.
fn main() {
    analysis::plot::register_fonts();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
