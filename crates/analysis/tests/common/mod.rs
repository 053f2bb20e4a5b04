//! A simulated sampler and record builders shared by the integration tests
//! and the fixture generator.
#![allow(dead_code)]

use harness::mode::Mode;
use harness::record::{
    Environment, RunConfig, RunRecord, ThreadKind, ThreadRecord, TrialRecord, TrialStatus,
    SCHEMA_VERSION,
};
use rand::rngs::StdRng;
use rand::RngExt;
use workloads::{WorkloadKind, WorkloadParams};

/// An environment like the 2-core HZ=250 test box.
pub fn env(label: Option<&str>, cpus: usize, hz: u32, kernel: &str) -> Environment {
    Environment {
        kernel: kernel.to_string(),
        arch: "x86_64".into(),
        hz,
        hz_source: "measured".into(),
        hz_measured: Some(f64::from(hz) * 0.998),
        cpus,
        cpu_model: Some("Simulated CPU".into()),
        perf_event_paranoid: Some(2),
        perf_event_available: false,
        perf_event_error: Some("perf_event_open: EACCES (paranoid 2)".into()),
        label: label.map(String::from),
    }
}

/// A run around trials.
pub fn run(env: Environment, seed: u64, trials: Vec<TrialRecord>) -> RunRecord {
    RunRecord {
        schema: SCHEMA_VERSION,
        env,
        config: RunConfig {
            matrix: Some("simulated".into()),
            seed,
            started_unix_s: 1_750_000_000,
            profbench_version: "0.1.0-sim".into(),
        },
        trials,
    }
}

/// How a simulated trial is built.
#[derive(Debug, Clone)]
pub struct TrialSpec {
    /// The mode, as on the command line.
    pub mode: &'static str,
    pub workload: WorkloadKind,
    pub threads: usize,
    pub hz: u32,
    pub params: WorkloadParams,
    pub trial: u32,
    /// Each worker's CPU, ns, and whether it is registered.
    pub workers: Vec<(u64, bool)>,
    /// The coordinator's own CPU, ns.
    pub coordinator_ns: u64,
    /// CPU `getrusage` counts outside every thread's clock, ns.
    pub gap_ns: u64,
    /// Probability that each ideal sample survives (1 = ideal sampler).
    pub keep: f64,
    /// The kernel tick rate: per-thread timers cannot fire faster.
    pub kernel_hz: u32,
    /// Samples landing on a helper thread of unknown CPU.
    pub unknown_samples: u64,
}

impl TrialSpec {
    /// `threads` registered workers of `each_ns` CPU, an ideal sampler.
    pub fn parallel(mode: &'static str, threads: usize, hz: u32, each_ns: u64) -> TrialSpec {
        TrialSpec {
            mode,
            workload: WorkloadKind::Parallel,
            threads,
            hz,
            params: WorkloadParams::default(),
            trial: 0,
            workers: vec![(each_ns, true); threads],
            coordinator_ns: 0,
            gap_ns: 0,
            keep: 1.0,
            kernel_hz: 100_000,
            unknown_samples: 0,
        }
    }
}

fn binomial(rng: &mut StdRng, n: u64, p: f64) -> u64 {
    if p >= 1.0 {
        return n;
    }
    (0..n).filter(|_| rng.random_bool(p.max(0.0))).count() as u64
}

/// `floor(x) + Bernoulli(frac(x))`: an ideal periodic sampler on a clock that
/// ran `x` periods, with a random phase (or `floor(x)` with a fixed one).
pub fn ideal_count(rng: &mut StdRng, periods: f64, random_phase: bool) -> u64 {
    let whole = periods.floor();
    let extra = random_phase && rng.random_bool((periods - whole).clamp(0.0, 1.0));
    whole as u64 + u64::from(extra)
}

/// Simulates one trial.
pub fn simulate(rng: &mut StdRng, spec: &TrialSpec) -> TrialRecord {
    let mode: Mode = spec.mode.parse().expect("valid mode");
    let period_ns = 1_000_000_000 / u64::from(spec.hz);
    let p = period_ns as f64;
    let mut threads: Vec<ThreadRecord> = Vec::new();
    let mut push = |kind, registered, cpu: Option<u64>, tid: i32| {
        threads.push(ThreadRecord {
            tid,
            kind,
            registered,
            cpu_ns: cpu,
            armed_cpu_ns: None,
            lifetime_ns: cpu.unwrap_or(0) + 50_000,
            samples: 0,
            weighted_samples: 0,
            overruns: 0,
            flushed: 0,
            rejected: 0,
        })
    };
    push(
        ThreadKind::Coordinator,
        true,
        Some(spec.coordinator_ns),
        1000,
    );
    for (i, (cpu, registered)) in spec.workers.iter().enumerate() {
        let kind = if *registered {
            ThreadKind::Worker
        } else {
            ThreadKind::Foreign
        };
        push(kind, *registered, Some(*cpu), 1001 + i as i32);
    }
    let known: u64 = threads.iter().filter_map(|t| t.cpu_ns).sum();
    let cpu_ns = known + spec.gap_ns;
    let mechanism = mode.mechanism;
    let random_phase = mechanism.has_jitter() && !mode.options.nojitter;
    if mechanism.is_per_thread() {
        let cap = f64::from(spec.kernel_hz) / f64::from(spec.hz);
        for t in threads.iter_mut().filter(|t| t.registered) {
            let c = t.cpu_ns.unwrap_or(0) as f64;
            let expiries = ideal_count(rng, c / p, random_phase);
            // A timer checked at ticks fires at most once per tick.
            let fired = if cap < 1.0 {
                ((expiries as f64) * cap).round() as u64
            } else {
                expiries
            };
            let kept = binomial(rng, fired, spec.keep);
            t.samples = kept;
            t.overruns = expiries - fired;
        }
        if mechanism == harness::mode::Mechanism::Hybrid {
            // setitimer's expiries land on threads by CPU share; only the
            // unregistered keep them.
            let expiries = ideal_count(rng, cpu_ns as f64 / p, true);
            let unreg: Vec<usize> = (0..threads.len())
                .filter(|&i| !threads[i].registered)
                .collect();
            for _ in 0..expiries {
                let mut x = rng.random::<f64>() * cpu_ns as f64;
                let mut hit = None;
                for (i, t) in threads.iter().enumerate() {
                    let c = t.cpu_ns.unwrap_or(0) as f64;
                    if x < c {
                        hit = Some(i);
                        break;
                    }
                    x -= c;
                }
                match hit {
                    Some(i) if unreg.contains(&i) => {
                        threads[i].samples += u64::from(rng.random_bool(spec.keep));
                    }
                    Some(i) => threads[i].rejected += 1,
                    None => {}
                }
            }
        }
    } else {
        let expiries = ideal_count(rng, cpu_ns as f64 / p, true);
        let kept = binomial(rng, expiries, spec.keep);
        for _ in 0..kept {
            let mut x = rng.random::<f64>() * known as f64;
            for t in threads.iter_mut() {
                let c = t.cpu_ns.unwrap_or(0) as f64;
                if x < c {
                    t.samples += 1;
                    break;
                }
                x -= c;
            }
        }
    }
    for t in threads.iter_mut() {
        t.weighted_samples = t.samples + if mode.options.overrun { t.overruns } else { 0 };
    }
    if spec.unknown_samples > 0 {
        threads.push(ThreadRecord {
            tid: 999,
            kind: ThreadKind::Other,
            registered: false,
            cpu_ns: None,
            armed_cpu_ns: None,
            lifetime_ns: 0,
            samples: spec.unknown_samples,
            weighted_samples: spec.unknown_samples,
            overruns: 0,
            flushed: 0,
            rejected: 0,
        });
    }
    let samples: u64 = threads.iter().map(|t| t.samples).sum();
    let weighted: u64 = threads.iter().map(|t| t.weighted_samples).sum();
    TrialRecord {
        mode,
        workload: spec.workload,
        threads: spec.threads,
        hz: spec.hz,
        trial: spec.trial,
        seed: 42 + u64::from(spec.trial),
        status: TrialStatus::Ok,
        error: None,
        cpu_ns,
        wall_ns: cpu_ns / spec.threads.max(1) as u64,
        samples,
        weighted_samples: weighted,
        overruns: threads.iter().map(|t| t.overruns).sum(),
        flushed: 0,
        rejected: threads.iter().map(|t| t.rejected).sum(),
        period_ns,
        ratio: harness::record::ratio(weighted, period_ns, cpu_ns),
        params: spec.params,
        threads_spawned: spec.workers.len(),
        threads_detail: threads,
    }
}

/// A trial that did not measure anything.
pub fn failed(mode: &'static str, status: TrialStatus, error: &str, trial: u32) -> TrialRecord {
    TrialRecord {
        mode: mode.parse().unwrap(),
        workload: WorkloadKind::Parallel,
        threads: 2,
        hz: 100,
        trial,
        seed: 7,
        status,
        error: Some(error.to_string()),
        cpu_ns: 0,
        wall_ns: 0,
        samples: 0,
        weighted_samples: 0,
        overruns: 0,
        flushed: 0,
        rejected: 0,
        period_ns: 10_000_000,
        ratio: None,
        params: WorkloadParams::default(),
        threads_spawned: 0,
        threads_detail: Vec::new(),
    }
}
