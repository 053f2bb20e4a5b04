//! The workloads themselves: how each one splits its CPU budget over threads.

use std::collections::VecDeque;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;

use crate::burn::burn_cpu;
use crate::spawn::{Spawner, ThreadHandle, ThreadRole};
use crate::{WorkloadError, WorkloadKind, WorkloadSpec};

/// What a workload did, for the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkloadOutcome {
    /// Threads created over the whole run (for `rayon`, the pool's threads).
    pub threads_spawned: usize,
}

/// Runs a workload to completion, creating every thread through `spawner`
/// and waiting for all of them to exit.
pub fn run(spec: &WorkloadSpec, spawner: &dyn Spawner) -> Result<WorkloadOutcome, WorkloadError> {
    match spec.kind() {
        WorkloadKind::Parallel => parallel(spec, spawner),
        WorkloadKind::Rayon => rayon_pool(spec, spawner),
        WorkloadKind::ShortLived => short_lived(spec, spawner),
        WorkloadKind::Bursty => bursty(spec, spawner),
        WorkloadKind::Foreign => foreign(spec, spawner),
        WorkloadKind::Imbalanced => imbalanced(spec, spawner),
    }
}

/// Joins every handle, then reports the first error (of a join or of the
/// spawn that stopped the workload early), so no thread is left running.
fn join_all(
    handles: impl IntoIterator<Item = ThreadHandle>,
    earlier: Result<(), WorkloadError>,
) -> Result<(), WorkloadError> {
    let mut result = earlier;
    for handle in handles {
        let joined = handle.join();
        if result.is_ok() {
            result = joined.map_err(WorkloadError::from);
        }
    }
    result
}

/// Spawns one thread per `(role, budget)` pair, all at once, and waits for them.
fn burn_each(
    spawner: &dyn Spawner,
    budgets: impl IntoIterator<Item = (ThreadRole, Duration)>,
) -> Result<WorkloadOutcome, WorkloadError> {
    let mut handles = Vec::new();
    let mut spawned = Ok(());
    for (role, budget) in budgets {
        match spawner.spawn(
            role,
            Box::new(move || {
                burn_cpu(budget);
            }),
        ) {
            Ok(handle) => handles.push(handle),
            Err(e) => {
                spawned = Err(e.into());
                break;
            }
        }
    }
    let threads_spawned = handles.len();
    join_all(handles, spawned)?;
    Ok(WorkloadOutcome { threads_spawned })
}

fn share(cpu: Duration, parts: usize) -> Duration {
    cpu / parts as u32
}

fn parallel(spec: &WorkloadSpec, spawner: &dyn Spawner) -> Result<WorkloadOutcome, WorkloadError> {
    let each = share(spec.cpu(), spec.threads());
    burn_each(
        spawner,
        (0..spec.threads()).map(|_| (ThreadRole::Registered, each)),
    )
}

/// Tasks per pool thread: enough that work-stealing balances the load, few
/// enough that each task is long (≥ 1 ms at typical budgets) against the
/// scheduling overhead.
const RAYON_TASKS_PER_THREAD: usize = 16;

fn rayon_pool(
    spec: &WorkloadSpec,
    spawner: &dyn Spawner,
) -> Result<WorkloadOutcome, WorkloadError> {
    let tasks = spec.threads() * RAYON_TASKS_PER_THREAD;
    let per_task = share(spec.cpu(), tasks);
    let mut handles = Vec::with_capacity(spec.threads());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(spec.threads())
        .thread_name(|i| format!("profbench-rayon-{i}"))
        .spawn_handler(|builder| {
            let handle = spawner
                .spawn(ThreadRole::Registered, Box::new(move || builder.run()))
                .map_err(std::io::Error::other)?;
            handles.push(handle);
            Ok(())
        })
        .build();
    let pool = match pool {
        Ok(pool) => pool,
        Err(e) => {
            // Threads spawned before the failure exit once their pool is gone.
            join_all(handles, Ok(()))?;
            return Err(WorkloadError::Rayon(e.to_string()));
        }
    };
    pool.install(|| {
        (0..tasks).into_par_iter().for_each(|_| {
            burn_cpu(per_task);
        })
    });
    // Dropping the pool tells its threads to exit; join them so their CPU
    // is accounted inside the trial.
    drop(pool);
    let threads_spawned = handles.len();
    join_all(handles, Ok(()))?;
    Ok(WorkloadOutcome { threads_spawned })
}

fn short_lived(
    spec: &WorkloadSpec,
    spawner: &dyn Spawner,
) -> Result<WorkloadOutcome, WorkloadError> {
    let lifetime_ms = spec
        .params()
        .lifetime_ms
        .expect("WorkloadSpec::new requires lifetime_ms for short-lived");
    let lifetime = Duration::from_secs_f64(lifetime_ms / 1e3);
    let count = (spec.cpu().as_secs_f64() / lifetime.as_secs_f64())
        .round()
        .max(1.0) as usize;
    let mut alive: VecDeque<ThreadHandle> = VecDeque::with_capacity(spec.threads());
    let mut result = Ok(());
    for _ in 0..count {
        if alive.len() == spec.threads() {
            // Equal lifetimes: the oldest thread is the next to finish.
            if let Some(oldest) = alive.pop_front() {
                if let Err(e) = oldest.join() {
                    result = Err(e.into());
                    break;
                }
            }
        }
        match spawner.spawn(
            ThreadRole::Registered,
            Box::new(move || {
                burn_cpu(lifetime);
            }),
        ) {
            Ok(handle) => alive.push_back(handle),
            Err(e) => {
                result = Err(e.into());
                break;
            }
        }
    }
    join_all(alive, result)?;
    Ok(WorkloadOutcome {
        threads_spawned: count,
    })
}

fn bursty(spec: &WorkloadSpec, spawner: &dyn Spawner) -> Result<WorkloadOutcome, WorkloadError> {
    let params = spec.params();
    let burst = Duration::from_secs_f64(params.burst_ms.expect("resolved by new") / 1e3);
    let duty = params.duty.expect("resolved by new");
    let workers = spec.threads();
    let rounds = (spec.cpu().as_secs_f64() / (burst.as_secs_f64() * workers as f64))
        .round()
        .max(1.0) as usize;
    // A worker is woken once per round; a round lasts burst/duty of wall
    // time on average, jittered ±50 % so wakes do not phase-lock with ticks.
    let round = burst.div_f64(duty);
    let mut rng = SmallRng::seed_from_u64(spec.seed());

    let mut senders = Vec::with_capacity(workers);
    let mut handles = Vec::with_capacity(workers);
    let mut result = Ok(());
    for _ in 0..workers {
        let (wake, woken) = mpsc::channel::<Duration>();
        match spawner.spawn(
            ThreadRole::Registered,
            Box::new(move || {
                while let Ok(budget) = woken.recv() {
                    burn_cpu(budget);
                }
            }),
        ) {
            Ok(handle) => {
                senders.push(wake);
                handles.push(handle);
            }
            Err(e) => {
                result = Err(e.into());
                break;
            }
        }
    }
    if result.is_ok() {
        'rounds: for _ in 0..rounds {
            for wake in &senders {
                if wake.send(burst).is_err() {
                    // The worker is gone (it panicked); its join reports it.
                    break 'rounds;
                }
            }
            std::thread::sleep(round.mul_f64(rng.random_range(0.5..1.5)));
        }
    }
    drop(senders);
    let threads_spawned = handles.len();
    join_all(handles, result)?;
    Ok(WorkloadOutcome { threads_spawned })
}

fn foreign(spec: &WorkloadSpec, spawner: &dyn Spawner) -> Result<WorkloadOutcome, WorkloadError> {
    let params = spec.params();
    let share_foreign = params.foreign_share.expect("resolved by new");
    let load = params.foreign_load.expect("resolved by new");
    let threads = spec.threads();
    let foreign = crate::foreign_threads(threads, share_foreign);
    // Interleave the roles so neither class is systematically started first.
    let roles: Vec<ThreadRole> = (0..threads)
        .map(|i| {
            if (i * foreign) / threads != ((i + 1) * foreign) / threads {
                ThreadRole::Foreign
            } else {
                ThreadRole::Registered
            }
        })
        .collect();
    let registered = threads - foreign;
    // The budget is split in proportion to each role's load, so the total
    // stays the trial's CPU time.
    let weight = |role: ThreadRole| match role {
        ThreadRole::Foreign => load,
        ThreadRole::Registered => 1.0,
    };
    let total_weight: f64 = roles.iter().map(|&r| weight(r)).sum();
    let budget = |role| spec.cpu().mul_f64(weight(role) / total_weight);
    if load > 0.0 {
        return burn_each(spawner, roles.into_iter().map(|role| (role, budget(role))));
    }
    // Idle foreign threads, blocked on a channel until the busy threads are
    // done: the kernel may pick them for process-wide signals.
    let (release, released) = mpsc::channel::<()>();
    let released = Arc::new(Mutex::new(released));
    let mut idle = Vec::new();
    let mut result = Ok(());
    for _ in 0..foreign {
        let released = Arc::clone(&released);
        let body = Box::new(move || {
            // Ends when the sender is dropped; one thread at a time holds the
            // lock, the others queue on it, all of them asleep.
            let _ = released.lock().map(|r| r.recv());
        });
        match spawner.spawn(ThreadRole::Foreign, body) {
            Ok(handle) => idle.push(handle),
            Err(e) => {
                result = Err(e.into());
                break;
            }
        }
    }
    let busy = result.and_then(|()| {
        burn_each(
            spawner,
            (0..registered).map(|_| (ThreadRole::Registered, budget(ThreadRole::Registered))),
        )
    });
    drop(release);
    let idle_count = idle.len();
    // The idle threads are joined whatever happened to the busy ones.
    let joined = join_all(idle, Ok(()));
    let busy = busy?;
    joined?;
    Ok(WorkloadOutcome {
        threads_spawned: busy.threads_spawned + idle_count,
    })
}

fn imbalanced(
    spec: &WorkloadSpec,
    spawner: &dyn Spawner,
) -> Result<WorkloadOutcome, WorkloadError> {
    let threads = spec.threads();
    let cpu = spec.cpu();
    if threads == 1 {
        return burn_each(spawner, [(ThreadRole::Registered, cpu)]);
    }
    let hot = cpu.mul_f64(spec.params().hot_share.expect("resolved by new"));
    let light = (cpu - hot) / (threads as u32 - 1);
    burn_each(
        spawner,
        std::iter::once((ThreadRole::Registered, hot))
            .chain((1..threads).map(|_| (ThreadRole::Registered, light))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spawn::{SpawnError, ThreadBody};
    use crate::WorkloadParams;
    use std::sync::Mutex;

    /// Counts the roles it is asked for and runs every thread on std.
    #[derive(Default)]
    struct CountingSpawner {
        roles: Mutex<Vec<ThreadRole>>,
    }

    impl Spawner for CountingSpawner {
        fn spawn(&self, role: ThreadRole, body: ThreadBody) -> Result<ThreadHandle, SpawnError> {
            self.roles.lock().unwrap().push(role);
            crate::StdSpawner.spawn(role, body)
        }
    }

    fn spec(kind: WorkloadKind, threads: usize, ms: u64, params: WorkloadParams) -> WorkloadSpec {
        WorkloadSpec::new(kind, threads, Duration::from_millis(ms), params, 7).unwrap()
    }

    #[test]
    fn every_workload_runs_through_the_spawner() {
        for kind in WorkloadKind::ALL {
            let params = match kind {
                WorkloadKind::ShortLived => WorkloadParams {
                    lifetime_ms: Some(1.0),
                    ..Default::default()
                },
                _ => WorkloadParams::default(),
            };
            let spawner = CountingSpawner::default();
            let outcome = run(&spec(kind, 3, 30, params), &spawner).unwrap();
            let roles = spawner.roles.lock().unwrap();
            assert_eq!(roles.len(), outcome.threads_spawned, "{kind}");
            let expected = if kind == WorkloadKind::ShortLived {
                30
            } else {
                3
            };
            assert_eq!(outcome.threads_spawned, expected, "{kind}");
            let foreign = roles.iter().filter(|r| **r == ThreadRole::Foreign).count();
            let want_foreign = if kind == WorkloadKind::Foreign { 2 } else { 0 };
            assert_eq!(foreign, want_foreign, "{kind}");
        }
    }

    #[test]
    fn idle_foreign_threads_wait_for_the_busy_ones() {
        let params = WorkloadParams {
            foreign_share: Some(0.5),
            foreign_load: Some(0.0),
            ..Default::default()
        };
        let spawner = CountingSpawner::default();
        let outcome = run(&spec(WorkloadKind::Foreign, 4, 20, params), &spawner).unwrap();
        assert_eq!(outcome.threads_spawned, 4);
        let roles = spawner.roles.lock().unwrap();
        assert_eq!(
            roles.iter().filter(|r| **r == ThreadRole::Foreign).count(),
            2
        );
        // Everything idle: nothing would burn the CPU.
        let all_foreign = WorkloadParams {
            foreign_share: Some(1.0),
            foreign_load: Some(0.0),
            ..Default::default()
        };
        assert!(WorkloadSpec::new(
            WorkloadKind::Foreign,
            2,
            Duration::from_millis(20),
            all_foreign,
            0
        )
        .is_err());
    }

    #[test]
    fn parameters_are_validated() {
        let cpu = Duration::from_secs(1);
        let p = WorkloadParams {
            lifetime_ms: Some(1.0),
            ..Default::default()
        };
        assert!(WorkloadSpec::new(WorkloadKind::Parallel, 2, cpu, p, 0).is_err());
        assert!(WorkloadSpec::new(WorkloadKind::ShortLived, 2, cpu, p, 0).is_ok());
        assert!(WorkloadSpec::new(
            WorkloadKind::ShortLived,
            2,
            cpu,
            WorkloadParams::default(),
            0
        )
        .is_err());
        assert!(
            WorkloadSpec::new(WorkloadKind::Parallel, 0, cpu, WorkloadParams::default(), 0)
                .is_err()
        );
        let bad_duty = WorkloadParams {
            duty: Some(0.0),
            ..Default::default()
        };
        assert!(WorkloadSpec::new(WorkloadKind::Bursty, 2, cpu, bad_duty, 0).is_err());
        let s =
            WorkloadSpec::new(WorkloadKind::Bursty, 2, cpu, WorkloadParams::default(), 0).unwrap();
        assert_eq!(s.params().burst_ms, Some(crate::DEFAULT_BURST_MS));
        assert!("nope".parse::<WorkloadKind>().is_err());
        assert_eq!(
            "short-lived".parse::<WorkloadKind>().unwrap(),
            WorkloadKind::ShortLived
        );
    }
}
